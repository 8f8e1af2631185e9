"""Runs the speed benchmarks and appends a dated section to benchmarks/RESULTS.md: training speed
on every installed Keras backend (per-example SGD, mini-batch throughput, and on JAX several seeds
trained together against one alone), pipeline overhead
beside the bare tools, and, with --pipeline, the whole default pipeline's wall time.

    python benchmarks/run.py --pipeline                          # the committed figures (the pipeline: ~45 min on 2 cores)
    python benchmarks/run.py --tiny --repo DIR --output FILE     # a smoke run on a tiny project (the tests)

Needs the prepared USPS set (any `snakemake` run makes it) unless --tiny.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import overhead

from reprolab.atomic import write_text
from reprolab.planning.graph import build_plan

HERE = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")
BATCH_SIZES = ("1", "32", "256", "1024")
TARGET_SECONDS, TARGET_SPEEDUP = 20.0, 8.0  # issue 4: one 23-pass `paper` run, TensorFlow on the CPU


def pipeline_wall_time(repository):
    """Wall seconds of `snakemake --cores all --forceall`: every job, from the raw data on."""
    started = time.perf_counter()
    subprocess.run(["snakemake", "--cores", "all", "--forceall", "-q"], cwd=repository, check=True, capture_output=True)
    return time.perf_counter() - started


def training_speed(backend, arguments):
    """training.py's measurements on one backend, in a process of its own (the backend is fixed at import)."""
    command = [sys.executable, str(HERE / "training.py"), "--examples", str(arguments.examples), "--epochs", str(arguments.epochs),
               "--synthetic", str(arguments.synthetic), "--accelerator", arguments.accelerator]
    print(f"training speed on {backend} ...", file=sys.stderr, flush=True)
    result = subprocess.run(command, cwd=arguments.repo, env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmarks/training.py failed on {backend}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def training_tables(results):
    per_step = ["| backend | device | path | µs / example-step | speed-up over plain fit | run of the per-example loop |",
                "| --- | --- | --- | --- | --- | --- |"]
    throughput = ["| backend | device | " + " | ".join(f"batch {size} (ex/s)" for size in BATCH_SIZES) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in BATCH_SIZES) + " |"]
    for result in results:
        backend, device = result["runtime"]["backend"], result["runtime"]["device"]
        plain = result["seconds_per_step"]["plain fit(batch_size=1)"]
        for name, step in result["seconds_per_step"].items():
            whole = (f"{result['whole_run_seconds']:.1f} s for {result['epochs']} passes over {result['examples']} examples"
                     if name.startswith("per-example") else "")
            per_step.append(f"| {backend} | {device} | `{name}` | {step * 1e6:.0f} | {plain / step:.1f}× | {whole} |")
        throughput.append(f"| {backend} | {device} | " + " | ".join(f"{result['examples_per_second'][size]:,.0f}" for size in BATCH_SIZES) + " |")
    together = ["| backend | device | one seed alone (s) | seeds together (s) | seeds together, in units of one seed |",
                "| --- | --- | --- | --- | --- |"]
    for result in results:
        figures = result["seeds_at_once"]
        if figures:
            together.append(f"| {result['runtime']['backend']} | {result['runtime']['device']} | {figures['one_seed_seconds']:.1f} | "
                            f"{figures['seeds']} in {figures['together_seconds']:.1f} | "
                            f"{figures['together_seconds'] / figures['one_seed_seconds']:.2f} (one by one: {figures['seeds']}) |")
    return per_step + [""] + throughput + ([""] + together if len(together) > 2 else [])


def target_lines(results, arguments):
    """Whether the per-example targets are met, from the TensorFlow figures of a full-size run."""
    tensorflow = [result for result in results if result["runtime"]["backend"] == "tensorflow"]
    if arguments.tiny or not tensorflow or arguments.epochs != 23:
        return []
    result = tensorflow[0]
    speedup = result["seconds_per_step"]["plain fit(batch_size=1)"] / result["seconds_per_step"]["per-example loop (pipeline path)"]
    met = result["whole_run_seconds"] <= TARGET_SECONDS and speedup >= TARGET_SPEEDUP
    return [f"Target (23-pass `paper` run on TensorFlow, {result['runtime']['device']}: ≤ {TARGET_SECONDS:.0f} s and ≥ {TARGET_SPEEDUP:.0f}× "
            f"plain fit): {'met' if met else 'NOT met'}, {result['whole_run_seconds']:.1f} s and {speedup:.1f}×.", ""]


def section(arguments, results, overhead_rows, pipeline_seconds, jobs):
    versions = sorted({f"{name} {version}" for result in results for name, version in result["runtime"]["versions"].items()})
    lines = [f"### {'Smoke run' if arguments.tiny else 'Benchmarks'}, {datetime.date.today()}, {platform.machine()}, "
             f"{os.cpu_count()} cores, python {platform.python_version()}", "",
             f"Libraries: {', '.join(versions)}. Training: one thread per job; per-example runs over "
             f"{'random digits' if arguments.synthetic else 'the 7291 USPS training digits'}; plain paths timed on {arguments.examples} examples.", ""]
    if pipeline_seconds is not None:
        lines += [f"Whole pipeline (`snakemake --cores all --forceall`, {jobs} jobs): {pipeline_seconds / 60:.0f} min {pipeline_seconds % 60:.0f} s.", ""]
    lines += ["| command | this pipeline (s) | trivial project (s) | ratio |", "| --- | --- | --- | --- |"]
    for name, ours, trivial in overhead_rows:
        lines.append(f"| {name} | {ours:.2f} | {'—' if trivial is None else f'{trivial:.2f}'} | {'—' if trivial is None else f'{ours / trivial:.2f}×'} |")
    return "\n".join(lines + [""] + training_tables(results) + [""] + target_lines(results, arguments)) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="the pipeline to measure (default: this repository)")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md", help="the Markdown file the section is appended to")
    parser.add_argument("--pipeline", action="store_true", help="also time the whole pipeline from scratch (rebuilds every output)")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: random digits, one short pass, one repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=23)
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=BACKENDS, help="the Keras backends to time (those installed)")
    arguments = parser.parse_args()
    arguments.synthetic = 0
    if arguments.tiny:
        arguments.repeats, arguments.examples, arguments.epochs, arguments.synthetic = 1, 32, 1, 64
    jobs = len(build_plan(arguments.repo / "params.yaml").jobs)
    pipeline_seconds = pipeline_wall_time(arguments.repo) if arguments.pipeline else None
    print("pipeline overhead ...", file=sys.stderr, flush=True)
    overhead_rows = overhead.measure(arguments.repo, arguments.repeats)
    results = [training_speed(backend, arguments) for backend in arguments.backends if importlib.util.find_spec(backend)]
    existing = arguments.output.read_text() if arguments.output.exists() else "# Benchmark results\n"
    write_text(arguments.output, existing.rstrip("\n") + "\n\n" + section(arguments, results, overhead_rows, pipeline_seconds, jobs))
    print(f"appended to {arguments.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
