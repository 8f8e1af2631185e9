# Helpers shared by the rules: every rule takes its inputs and command from the plan.

def job_inputs(stage):
    return lambda wildcards: PLAN.job(stage, **wildcards).inputs

def job_command(stage):
    return lambda wildcards: PLAN.job(stage, **wildcards).command

def job_settings(stage):
    """The digest of the params values a job reads, as a rule param: Snakemake's `params` rerun
    trigger then redoes the job when one of those values changes in params.yaml, as `dvc repro` does."""
    return lambda wildcards: PLAN.job(stage, **wildcards).settings

def job_gpus(stage):
    return lambda wildcards: PLAN.job(stage, **wildcards).gpus

def log_path(stage, name):
    return PATHS["log"].format(stage=stage, name=name)
