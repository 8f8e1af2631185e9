"""The source each stage runs, under src/reprolab/: a change to one reruns exactly the stages that
run it, in DVC (deps) and Snakemake (inputs), and a run records the sha256 of the code that made it.
A train job adds its model's own module; the planning package is the configure stage's code, whose
decisions reach the other stages through their job files."""

import hashlib
from pathlib import Path

SOURCE = "src/reprolab/"
TRAINING = tuple(f"training/{name}.py" for name in (
    "checkpoint", "engine", "evaluate", "optimizers", "per_example", "runtime", "seeds_at_once", "stage", "timing"))
ENGINE = ("atomic.py", "data.py", "environment.py", "outcomes.py", "sweeps.py", "planning/jobs.py", "planning/paths.py",
          "models/factory.py", "models/layers.py", "models/macs.py", "models/normalization.py") + TRAINING
PLANNING = tuple(f"planning/{name}.py" for name in ("checks", "code", "dvc_yaml", "graph", "jobs", "loading", "paths", "variants"))
# A report, plot or index job rebuilds the plan (a page shows the graph's commands) and reads the lock.
REPORTING = ("atomic.py", "environment.py", "outcomes.py", "sweeps.py") + PLANNING + tuple(f"reporting/{name}.py" for name in (
    "changes", "document", "figures", "index", "page", "plots", "provenance", "ranking", "stats", "study", "summary", "tables", "verdicts"))
CODE = {
    "configure": ("atomic.py",) + PLANNING,
    "prepare": ("atomic.py", "data.py", "planning/jobs.py", "planning/paths.py"),
    "train": ENGINE,
    "proxies": ("training/proxies.py",) + ENGINE,
    "pick": ("atomic.py", "outcomes.py", "sweeps.py", "planning/jobs.py", "planning/paths.py"),
    "report": REPORTING,
    "plot": REPORTING,
    "index": REPORTING,
}


def code_files(stage, models=()):
    """The source files a job of `stage` runs, with the modules of the models it builds."""
    return tuple(SOURCE + name for name in sorted(set(CODE[stage]) | {f"models/{model}.py" for model in models}))


def code_digest(files, root="."):
    """sha256 over the files' names and contents: which code made a run."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (Path(root) / name).read_bytes())
    return digest.hexdigest()
