"""Job files: the plan hands each job what it needs (its settings, files, threads, code) in
data/jobs/<job>.json, written once per `snakemake` call or by DVC's configure stage, so a job process
reads one small file instead of parsing params.yaml and rebuilding the whole graph. A job depends on
its file, so it reruns exactly when what it reads changes. Imported by every job: json only."""

import difflib
import json
from pathlib import Path

from reprolab.atomic import write_text

JOBS_FOLDER = "data/jobs"


class JobFileError(ValueError):
    """A job file is missing or unreadable; the message says how to write it."""


def render(plan, job):
    return json.dumps({"name": job.name, "stage": job.stage, "wildcards": job.wildcards, "params": plan.params_path,
                       "settings": job.settings, "inputs": job.inputs, "outputs": job.outputs, "threads": job.threads,
                       "gpus": job.gpus, "code": list(job.code)}, indent=1, sort_keys=True) + "\n"


def write_job_files(plan, root="."):
    """Writes the job file of every planned job whose content changed, leaving the others untouched
    (Snakemake compares modification times), and removes the files of jobs no longer planned.
    Returns the names written."""
    folder = Path(root) / JOBS_FOLDER
    written = []
    for job in plan.jobs:
        target, text = Path(root) / job.job_file, render(plan, job)
        if not target.exists() or target.read_text() != text:
            write_text(target, text)
            written.append(job.name)
    planned = {Path(job.job_file).name for job in plan.jobs}
    for stale in folder.glob("*.json"):
        if stale.name not in planned:
            stale.unlink()
    return written


def read_job(job_file):
    """A job's record, or an error naming the file, the closest planned job and how to write them."""
    job_file = Path(job_file)
    try:
        return json.loads(job_file.read_text())
    except FileNotFoundError:
        planned = sorted(candidate.name for candidate in job_file.parent.glob("*.json"))
        close = difflib.get_close_matches(job_file.name, planned, n=1)
        hint = f" (did you mean {job_file.parent / close[0]}?)" if close else ""
        raise JobFileError(f"{job_file}: no such job file{hint}; `reprolab configure` (or any `snakemake` call) writes one per job "
                           f"params.yaml plans, and `reprolab plan` lists them") from None
    except json.JSONDecodeError as error:
        raise JobFileError(f"{job_file}: not a job file ({error}); rewrite it with `reprolab configure`") from None
