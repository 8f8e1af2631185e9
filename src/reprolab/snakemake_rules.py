"""What the Snakemake rules read from the plan, kept out of the Snakefiles (Snakemake's lint: no
functions beside rules). Every rule takes its inputs (job file, files, code stamp), command and GPUs
from its job in the plan; a job reruns when its job file or code changes, as under `dvc repro`."""

from reprolab.planning.paths import PATHS


def from_plan(plan, attribute):
    """An accessor for rules: stage -> a function of the wildcards giving that job's `attribute`."""

    def accessor(stage):
        return lambda wildcards: getattr(plan.job(stage, **wildcards), attribute)

    return accessor


def log_path(stage, name):
    return PATHS["log"].format(stage=stage, name=name)
