"""Bytes, inference latency and throughput of the `compression` study's trained models (seed 0 of
each variant, from data/runs/compression after `snakemake reports/compression/README.md`), measured
on an otherwise idle machine with the same code the train jobs use (training/inference.py): one
thread by default, as a job, on the backend KERAS_BACKEND names. Prints a Markdown table.

    python benchmarks/compression.py
    python benchmarks/compression.py --threads 2
"""

import argparse
import json
from pathlib import Path

from reprolab.planning.checks import read_params
from reprolab.planning.paths import path
from reprolab.planning.variants import study_settings
from reprolab.training import runtime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--params", default="params.yaml")
    arguments = parser.parse_args()
    runtime.configure(threads=arguments.threads, seed=0)
    import keras

    from reprolab import data as datasets
    import reprolab.training.engine  # noqa: F401  (registers the custom layers for loading)
    from reprolab.training import inference

    params = read_params(arguments.params)
    study = study_settings(params, "compression")
    test_images = datasets.load_prepared(path("prepared", dataset=study["dataset"]), path("prepared_meta", dataset=study["dataset"]))[0]["x_test"]
    described = runtime.describe()
    print(f"backend {described['backend']} on {described['device']}, {arguments.threads} thread(s), seed 0 of each variant; latency: one "
          f"example, median of {inference.LATENCY_REPEATS}; throughput: batches of {inference.THROUGHPUT_BATCH}, median of "
          f"{inference.THROUGHPUT_REPEATS}\n")
    print("| variant | test error % (seed 0) | saved kB | packed kB | packed format | latency ms | examples / s |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for variant in study["variants"]:
        wildcards = {"study": "compression", "variant": variant, "seed": study["seeds"][0]}
        if not Path(path("model", **wildcards)).exists():
            print(f"| `{variant}` | not trained: run `snakemake --cores all reports/compression/README.md` first | | | | | |")
            continue
        model = keras.saving.load_model(path("model", **wildcards), compile=False, safe_mode=True)
        measured = inference.measure(model, path("model", **wildcards), test_images)
        error = json.loads(Path(path("metrics", **wildcards)).read_text())["test_error_percent"]
        print(f"| `{variant}` | {error:.2f} | {measured['saved_bytes'] / 1000:.1f} | {measured['packed_bytes'] / 1000:.1f} | "
              f"{measured['packed_format']} | {measured['latency_ms']:.3f} | {measured['throughput_per_second']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
