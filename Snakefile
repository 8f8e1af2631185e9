# reprolab: the job graph of params.yaml, run by Snakemake. `snakemake --cores all` reproduces
# every study; the same graph is written to dvc.yaml for `dvc repro`. Each call writes the job files
# that changed (data/jobs/) and the stamps of the code they run (data/jobs/code/): a job reads its
# file, not params.yaml, and reruns when it or its code changes. No Keras import here: Snakemake
# parses this file on every call. `snakemake --lint` is clean
# (tests/test_environment.py fails on a new lint): the rules' helpers live in
# reprolab.snakemake_rules, each rule declares the conda environment made from the lock.

from reprolab.planning.dvc_yaml import sync_dvc_yaml
from reprolab.planning.graph import TRAIN_THREADS, build_plan
from reprolab.planning.jobs import write_job_files
from reprolab.planning.paths import PATHS
from reprolab.planning.stamps import write_code_stamps
from reprolab.snakemake_rules import from_plan, log_path

if config:
    raise WorkflowError(
        f"--config/--configfile values {sorted(config)} are not read: set them in params.yaml, the one "
        "source of truth for Snakemake and DVC (e.g. `scale: full` for the papers' epochs and seeds)"
    )

PLAN = build_plan("params.yaml")
sync_dvc_yaml(PLAN)
write_job_files(PLAN)
write_code_stamps(PLAN)
job_inputs, job_command, job_gpus = (from_plan(PLAN, attribute) for attribute in ("snakemake_inputs", "command", "gpus"))


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    study="[a-z][a-z0-9_]*",
    variant="[a-z][a-z0-9_]*",
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
