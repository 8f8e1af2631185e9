"""Pipeline overhead: a no-op `snakemake --cores all` and a no-op `dvc status` on this finished
pipeline, beside the same tools' no-op on a trivial one-rule / one-stage project, plus
`reprolab plan`. Run from the repository root after a complete `snakemake --cores all`:

    python benchmarks/overhead.py --repeats 5 >> benchmarks/RESULTS.md
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

TRIVIAL_SNAKEFILE = 'rule all:\n    input: "out.txt"\n\nrule make:\n    output: "out.txt"\n    shell: "echo done > {output}"\n'
TRIVIAL_DVC_YAML = "stages:\n  make:\n    cmd: echo done > out.txt\n    outs:\n      - out.txt\n"


def seconds(command, cwd, repeats):
    """Median wall time of `command` over `repeats` runs (after one warm-up run)."""
    subprocess.run(command, cwd=cwd, shell=True, check=True, capture_output=True)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, shell=True, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def trivial_project(folder):
    """A one-rule Snakemake project that is also a one-stage DVC project, already built."""
    folder = Path(folder)
    (folder / "Snakefile").write_text(TRIVIAL_SNAKEFILE)
    (folder / "dvc.yaml").write_text(TRIVIAL_DVC_YAML)
    for command in ("git init -q", "dvc init -q", "dvc config core.analytics false", "dvc repro -q", "snakemake --cores 1 -q --touch"):
        subprocess.run(command, cwd=folder, shell=True, check=True, capture_output=True)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    repository = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        trivial = trivial_project(folder)
        rows = [
            ("no-op `snakemake --cores all`", seconds("snakemake --cores all -q", repository, arguments.repeats),
             seconds("snakemake --cores all -q", trivial, arguments.repeats)),
            ("no-op `dvc status`", seconds("dvc status", repository, arguments.repeats), seconds("dvc status", trivial, arguments.repeats)),
            ("`reprolab plan`", seconds("reprolab plan", repository, arguments.repeats), None),
        ]
    jobs = subprocess.run("reprolab plan | grep -c '\"name\"'", cwd=repository, shell=True, capture_output=True, text=True).stdout.strip()
    print(f"\n### Pipeline overhead, {datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{jobs} jobs, median of {arguments.repeats}\n")
    print("| command | this pipeline (s) | trivial project (s) | ratio |")
    print("| --- | --- | --- | --- |")
    for name, ours, trivial_seconds in rows:
        ratio = "—" if trivial_seconds is None else f"{ours / trivial_seconds:.2f}×"
        print(f"| {name} | {ours:.2f} | {'—' if trivial_seconds is None else f'{trivial_seconds:.2f}'} | {ratio} |")


if __name__ == "__main__":
    main()
