"""The graph at scale: a synthetic params.yaml of many studies (tiny digits studies of `--variants`
variants x 3 seeds each, no training), every job's outputs written as small dummy files and recorded
(`dvc commit`, `snakemake --touch`), then the wall time of a no-op `dvc status` and `snakemake -n`
beside a trivial one-stage project in the same run. Prints a Markdown table; ~1 min per 1,000 jobs.
`--without-code` drops every stage's code dependencies from dvc.yaml before recording: what DVC
costs at this size with no code tracked, the floor any layout of the code dependencies stands on.

    python benchmarks/graph_scale.py --studies 5 50     # today's size (~130 jobs) and 10x
    python benchmarks/graph_scale.py --studies 7 --without-code
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from overhead import seconds, trivial_project

from reprolab.planning.dvc_yaml import CONFIGURE
from reprolab.planning.graph import build_plan

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("Snakefile", "workflow", "src")
COMMANDS = ("dvc status", "dvc repro", "snakemake -n --cores all -q")


def synthetic_params(studies, variants):
    """`studies` copies of a digits study with `variants` variants differing in learning rate."""
    base = {"model": {"name": "mlp", "depth": 1, "width": 8, "initialization": "he"}, "loss": "cross_entropy",
            "optimizer": {"name": "sgd", "learning_rate": 0.1}, "schedule": {"name": "constant"}, "epochs": 1, "batch_size": 32,
            "shuffle": True, "augment_shift_pixels": 0, "hold_out_validation": False}
    study = {"dataset": "digits", "seeds": [0, 1, 2], "base": base,
             "variants": {f"v{index:03d}": {"optimizer": {"learning_rate": round(0.001 * (index + 1), 6)}} for index in range(variants)}}
    return {"scale": "default", "datasets": {"digits": {"source": "digits"}},
            "studies": {f"study{index:03d}": study for index in range(studies)}}


def build_project(folder, studies, variants, without_code):
    """A git + DVC project of the synthetic graph with every output present and recorded."""
    for name in COPIED:
        source = ROOT / name
        (shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")) if source.is_dir()
         else shutil.copy(source, folder / name))
    for card in (folder / "workflow" / "studies").glob("*.yaml"):
        card.unlink()
    params = synthetic_params(studies, variants)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name in params["studies"]:
        (folder / "workflow" / "studies" / f"{name}.yaml").write_text(f"title: synthetic {name}\n")
    subprocess.run("git init -q && dvc init -q && dvc config core.analytics false && reprolab sync && reprolab configure",
                   cwd=folder, shell=True, check=True, capture_output=True)
    plan = build_plan(folder / "params.yaml")
    if without_code:
        stages = yaml.safe_load((folder / "dvc.yaml").read_text())
        for stage in stages["stages"].values():
            stage["deps"] = [name for name in stage.get("deps", []) if not name.startswith("src/")]
        (folder / "dvc.yaml").write_text(yaml.safe_dump(stages, sort_keys=False))
    for job in plan.jobs:
        for kind, output in job.outputs.items():
            target = folder / output
            if kind == "runs":
                for seed in params["studies"][job.wildcards["study"]]["seeds"]:
                    for file_name in ("model.keras", "history.csv", "train.json", "metrics.json", "predictions.npz"):
                        (target / f"seed{seed}").mkdir(parents=True, exist_ok=True)
                        (target / f"seed{seed}" / file_name).write_text(f"{output} {seed} {file_name}\n")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(f"{output}\n")
    started = time.perf_counter()
    # Snakemake would write the code dependencies back into dvc.yaml: without them, DVC alone
    subprocess.run("dvc commit -f -q" + ("" if without_code else " && snakemake --cores 1 -q --touch"), cwd=folder, shell=True,
                   check=True, capture_output=True)
    return len(plan.jobs) + 1, time.perf_counter() - started  # the jobs and DVC's configure stage


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, nargs="+", default=[5, 50])
    parser.add_argument("--variants", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--without-code", action="store_true", help="no code dependencies in dvc.yaml (and no Snakemake)")
    arguments = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as trivial_folder:
        trivial = trivial_project(trivial_folder)
        bare = {command: seconds(command, trivial, arguments.repeats) for command in COMMANDS}
        for studies in arguments.studies:
            with tempfile.TemporaryDirectory() as folder:
                print(f"building {studies} studies x {arguments.variants} variants ...", file=sys.stderr, flush=True)
                stages, record_seconds = build_project(Path(folder), studies, arguments.variants, arguments.without_code)
                status = subprocess.run("dvc status", cwd=folder, shell=True, capture_output=True, text=True).stdout
                assert "up to date" in status, f"the synthetic project is not clean: {status[:500]}"
                measured = {command: seconds(command, folder, arguments.repeats) for command in COMMANDS
                            if not (arguments.without_code and command.startswith("snakemake"))}
                lines = sum(1 for _ in open(Path(folder) / "dvc.yaml"))
                rows.append((studies, stages, lines, measured, record_seconds))
    print(f"| studies x variants | DVC stages (incl. {CONFIGURE}) | dvc.yaml lines | "
          + " | ".join(f"no-op `{command.split(' --')[0]}` s (x bare)" for command in COMMANDS) + " | recording all outputs s |")
    print("|" + " --- |" * (len(COMMANDS) + 4))
    for studies, stages, lines, measured, record_seconds in rows:
        cells = [f"{measured[command]:.2f} ({measured[command] / bare[command]:.1f}x)" if command in measured else "—" for command in COMMANDS]
        print(f"| {studies} x {arguments.variants} | {stages} | {lines:,} | " + " | ".join(cells) + f" | {record_seconds:.0f} |")
    print("\nbare one-stage project: " + ", ".join(f"`{command.split(' --')[0]}` {bare[command]:.2f} s" for command in COMMANDS))


if __name__ == "__main__":
    main()
