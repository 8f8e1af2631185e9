"""What the Snakemake rules read from the plan, kept out of the Snakefiles (Snakemake's lint: no
functions beside rules). Every rule takes its inputs, command, settings digest and GPUs from its
job in the plan; `fixed` holds wildcard values a rule spells out in its paths (a study's own train
rule under seeds_at_once). The settings digest is a rule param, so Snakemake's `params` rerun
trigger redoes a job when a value it reads changes in params.yaml, as `dvc repro` does."""

from reprolab.plan import PATHS


def from_plan(plan, attribute):
    """An accessor for rules: (stage, **fixed) -> a function of the wildcards giving that job's `attribute`."""

    def accessor(stage, **fixed):
        return lambda wildcards: getattr(plan.job(stage, **fixed, **wildcards), attribute)

    return accessor


def log_path(stage, name):
    return PATHS["log"].format(stage=stage, name=name)
