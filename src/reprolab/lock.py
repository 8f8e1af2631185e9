"""Brings dvc.lock up to date with what Snakemake built, so `dvc status` is clean and
`dvc repro` does not redo finished work."""

import json
import subprocess
from pathlib import Path

from reprolab.planning.dvc_yaml import dvc_stages, stage_names, stages_in

LOCK = "dvc.lock"


def stale_finished_stages(plan):
    """The DVC stages that `dvc status` reports as changed and whose inputs and outputs all exist.
    Inputs too: after a partial run in a fresh clone, another study's reports (kept in git) exist
    without the runs they were made from, and DVC cannot record a stage with a missing dependency."""
    status = subprocess.run(["dvc", "status", "--json"], check=True, capture_output=True, text=True).stdout
    changed = set(json.loads(status or "{}"))
    stages = dvc_stages(plan)["stages"]
    return [name for name, stage in stages.items()
            if name in changed and all(Path(file).exists() for file in stage["deps"] + [next(iter(out)) if isinstance(out, dict) else out
                                                                                          for out in stage["outs"] + stage.get("metrics", [])])]


def prune_removed_stages(plan, root="."):
    """Drops from dvc.lock the entries of stages dvc.yaml no longer has (a removed variant, an older
    graph): DVC keeps them, and parsing them is most of a no-op `dvc status`. Returns their number."""
    from dvc.utils.serialize import modify_yaml

    target = Path(root) / LOCK
    if not target.exists():
        return 0
    planned = set(stage_names(plan))
    # DVC's round-trip editor takes ~10 s to read and rewrite the lock, so it runs only when there is something to remove
    removed = [name for name in stages_in(target) if name not in planned]
    if removed:
        with modify_yaml(target) as lock:
            for name in removed:
                del lock["stages"][name]
    return len(removed)


def commit_finished(plan):
    """Records those stages in dvc.lock, in one pass and without relinking outputs: committing
    up-to-date stages, or relinking, would touch outputs for nothing, and `dvc commit STAGE ...`
    rewrites dvc.lock once per stage (measured: 1.5 s a stage with 120 stages)."""
    from dvc.repo import Repo

    removed = prune_removed_stages(plan)
    if removed:
        print(f"removed {removed} stages dvc.yaml no longer has from dvc.lock", flush=True)
    stages = set(stale_finished_stages(plan))
    if not stages:
        print("dvc.lock is up to date")
        return
    print(f"recording {len(stages)} stages Snakemake built in dvc.lock (dvc commit)", flush=True)
    with Repo() as repo, repo.lock:
        chosen = [stage for stage in repo.index.stages if stage.addressing in stages]
        for stage in chosen:
            stage.save()
            stage.commit(relink=False)
        chosen[0].dvcfile.dump_stages(chosen, update_pipeline=False)
