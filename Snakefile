# reprolab: the job graph of params.yaml, run by Snakemake. `snakemake --cores all` reproduces
# every study; the same graph is written to dvc.yaml for `dvc repro`. No Keras import here:
# Snakemake parses this file on every call. `snakemake --lint` is clean (tests/test_environment.py
# fails on a new lint): the rules' helpers live in reprolab.snakemake_rules, each rule declares the
# conda environment made from the lock.

from reprolab import plan as planning
from reprolab.snakemake_rules import from_plan, log_path

if config:
    raise WorkflowError(
        f"--config/--configfile values {sorted(config)} are not read: set them in params.yaml, the one "
        "source of truth for Snakemake and DVC (e.g. `scale: full` for the papers' epochs and seeds)"
    )

PLAN = planning.build_plan("params.yaml")
planning.sync_dvc_yaml(PLAN)
PATHS = planning.PATHS
job_inputs, job_command, job_settings, job_gpus = (from_plan(PLAN, attribute) for attribute in ("dependencies", "command", "settings", "gpus"))


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    study="[a-z][a-z0-9_]*",
    variant="[a-z][a-z0-9_]*",
    seed=r"\d+",
    plot="[a-z][a-z0-9_]*",
    sweep="[a-z][a-z0-9_]*",


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        PLAN.final_outputs(),
    default_target: True


onsuccess:
    shell("reprolab commit-lock")
