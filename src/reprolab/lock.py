"""Brings dvc.lock up to date with what Snakemake built, so `dvc status` is clean and
`dvc repro` does not redo finished work."""

import json
import subprocess
from pathlib import Path


def stale_finished_stages(plan):
    """The DVC stages that `dvc status` reports as changed and whose outputs all exist."""
    status = subprocess.run(["dvc", "status", "--json"], check=True, capture_output=True, text=True).stdout
    changed = set(json.loads(status or "{}"))
    return [job.name for job in plan.jobs if job.name in changed and all(Path(output).exists() for output in job.outputs.values())]


def commit_finished(plan):
    """Runs `dvc commit --force` on those stages only: committing up-to-date stages would
    re-checkout (and re-time) their outputs for nothing."""
    stages = stale_finished_stages(plan)
    if not stages:
        print("dvc.lock is up to date")
        return
    print(f"recording {len(stages)} stages Snakemake built in dvc.lock (dvc commit)", flush=True)
    subprocess.run(["dvc", "commit", "--force", "--quiet", *stages], check=True)
