# Helpers shared by the rules: every rule takes its inputs and command from the plan.

def job_inputs(stage):
    return lambda wildcards: PLAN.job(stage, **wildcards).inputs

def job_command(stage):
    return lambda wildcards: PLAN.job(stage, **wildcards).command

def job_gpus(stage):
    return lambda wildcards: PLAN.job(stage, **wildcards).gpus

def log_path(stage, name):
    return PATHS["log"].format(stage=stage, name=name)
