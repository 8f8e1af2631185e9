"""dvc.yaml, written from the plan: a configure stage that turns params.yaml into job files, then a
stage per job depending on its job file, inputs and code. No stage lists params keys: DVC would
parse params.yaml once per stage, which made a no-op `dvc status` grow with the square of the graph."""

from pathlib import Path

import yaml

from reprolab.atomic import write_text
from reprolab.planning.code import code_files
from reprolab.planning.graph import STAGE_OUTPUTS
from reprolab.planning.loading import SAFE_LOADER, ParamsError
from reprolab.planning.paths import path
from reprolab.planning.variants import study_settings

DVC_YAML = "dvc.yaml"
DVC_YAML_HEADER = "# Generated from params.yaml by `reprolab sync` (Snakemake runs it too). Do not edit by hand.\n"
# Outputs kept in git rather than DVC's cache, so results read without running anything.
GIT_TRACKED = set(STAGE_OUTPUTS["report"] + STAGE_OUTPUTS["plot"] + STAGE_OUTPUTS["index"])
CONFIGURE = "configure"


def dvc_stages(plan):
    """dvc.yaml's content: the configure stage, then one stage per job; git keeps the reports and
    the job files (regenerated, never cached), DVC's cache the rest."""
    stages = {CONFIGURE: {"cmd": plan.configure_command, "deps": plan.configure_inputs() + list(code_files("configure")),
                          "outs": [{job.job_file: {"cache": False}} for job in plan.jobs]}}
    for job in plan.jobs:
        outs, metrics = [], []
        for kind, output in job.outputs.items():
            if kind == "study_metrics":
                metrics.append({output: {"cache": False}})
            elif kind in GIT_TRACKED:
                outs.append({output: {"cache": False}})
            else:
                outs.append(output)
        stages[job.name] = {"cmd": job.command, "deps": job.dependencies, "outs": outs, **({"metrics": metrics} if metrics else {})}
    plots = [{path("curves", study=name): {"x": "epoch", "y": list(study_settings(plan.params, name)["variants"]),
                                           "y_label": "test error % (mean over seeds)", "template": "linear"}}
             for name in plan.params["studies"]]
    return {"stages": stages, "plots": plots}


def stages_in(file):
    """The `stages` mapping of a dvc.yaml or dvc.lock, read with libyaml (~10x faster than DVC's round-trip reader)."""
    return (yaml.load(Path(file).read_text(), Loader=SAFE_LOADER) or {}).get("stages", {})


def stage_names(plan):
    return [CONFIGURE] + [job.name for job in plan.jobs]


def render_dvc_yaml(plan):
    """dvc.yaml's text, with libyaml's emitter (same text, ~8x faster) when present."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return DVC_YAML_HEADER + yaml.dump(dvc_stages(plan), Dumper=dumper, sort_keys=False, width=200)


def sync_dvc_yaml(plan, root="."):
    """Rewrites dvc.yaml when the plan changed; returns True if it wrote."""
    target = Path(root) / DVC_YAML
    text = render_dvc_yaml(plan)
    if target.exists() and target.read_text() == text:
        return False
    write_text(target, text)
    return True


def ensure_dvc_yaml(plan, root="."):
    """Keeps dvc.yaml in step with params.yaml when `dvc repro` runs the configure stage or a report.
    A change within jobs is rewritten quietly; a change of jobs (a study, variant or plot added or
    removed) stops the stage and asks for a rerun, so DVC never silently skips new jobs. Only for
    the default params file, the one dvc.yaml describes."""
    target = Path(root) / DVC_YAML
    if plan.params_path != "params.yaml" or (target.exists() and target.read_text() == render_dvc_yaml(plan)):
        return
    previous = set(stages_in(target)) if target.exists() else None
    sync_dvc_yaml(plan, root)
    if previous is None:  # no dvc.yaml yet: DVC is not running this stage
        return
    planned = set(stage_names(plan))
    added, removed = planned - previous, previous - planned
    if added or removed:
        changes = ", ".join([f"new {name}" for name in sorted(added)][:4] + [f"removed {name}" for name in sorted(removed)][:4])
        raise ParamsError(
            f"{DVC_YAML} did not match {plan.params_path} ({changes}) and has been regenerated: "
            "run `dvc repro` (or `snakemake`) again to run the new graph"
        )
