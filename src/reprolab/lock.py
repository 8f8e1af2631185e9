"""Brings dvc.lock up to date with what Snakemake built, so `dvc status` is clean and
`dvc repro` does not redo finished work."""

import subprocess
from pathlib import Path


def finished_stages(plan):
    """The DVC stage names whose outputs all exist."""
    return [job.name for job in plan.jobs if all(Path(output).exists() for output in job.outputs.values())]


def commit_finished(plan):
    """Runs `dvc commit --force` on every finished stage (hashing outputs into DVC's cache)."""
    stages = finished_stages(plan)
    if not stages:
        print("no finished stages to record in dvc.lock")
        return
    print(f"recording {len(stages)} finished stages in dvc.lock (dvc commit)", flush=True)
    subprocess.run(["dvc", "commit", "--force", "--quiet", *stages], check=True)
