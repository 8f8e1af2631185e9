# Helpers shared by the rules: every rule takes its inputs and command from the plan.

# `fixed`: wildcard values a rule spells out in its paths (a study's own train rule under seeds_at_once).

def job_inputs(stage, **fixed):
    return lambda wildcards: PLAN.job(stage, **fixed, **wildcards).inputs

def job_command(stage, **fixed):
    return lambda wildcards: PLAN.job(stage, **fixed, **wildcards).command

def job_settings(stage, **fixed):
    """The digest of the params values a job reads, as a rule param: Snakemake's `params` rerun
    trigger then redoes the job when one of those values changes in params.yaml, as `dvc repro` does."""
    return lambda wildcards: PLAN.job(stage, **fixed, **wildcards).settings

def job_gpus(stage, **fixed):
    return lambda wildcards: PLAN.job(stage, **fixed, **wildcards).gpus

def log_path(stage, name):
    return PATHS["log"].format(stage=stage, name=name)
