"""Pipeline overhead: a no-op `snakemake --cores all`, `snakemake -n`, `dvc status` and `dvc repro` on a
finished pipeline, beside the same tools' no-op on a trivial one-rule / one-stage project, plus
`reprolab plan`. `benchmarks/run.py` calls `measure`."""

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


def measure(repository, repeats):
    """(command, seconds on `repository`, seconds on a trivial project or None) for each no-op."""
    with tempfile.TemporaryDirectory() as folder:
        trivial = trivial_project(folder)
        return [
            ("no-op `snakemake --cores all`", seconds("snakemake --cores all -q", repository, repeats),
             seconds("snakemake --cores all -q", trivial, repeats)),
            ("no-op `snakemake -n --cores all`", seconds("snakemake -n --cores all -q", repository, repeats),
             seconds("snakemake -n --cores all -q", trivial, repeats)),
            ("no-op `dvc status`", seconds("dvc status", repository, repeats), seconds("dvc status", trivial, repeats)),
            ("no-op `dvc repro`", seconds("dvc repro", repository, repeats), seconds("dvc repro", trivial, repeats)),
            ("`reprolab plan`", seconds("reprolab plan", repository, repeats), None),
        ]
