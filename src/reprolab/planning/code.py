"""The source each stage runs, under src/reprolab/: a change to one reruns exactly the stages that
run it, in DVC (deps) and Snakemake (inputs), and a run records the sha256 of the code that made it.
A train job adds its model's own module; the planning package is the configure stage's code, whose
decisions reach the other stages through their job files."""

import hashlib
from pathlib import Path

SOURCE = "src/reprolab/"
TRAINING = tuple(f"training/{name}.py" for name in (
    "checkpoint", "derived", "engine", "evaluate", "inference", "optimizers", "per_example", "runtime", "seeds_at_once", "stage", "timing"))
ENGINE = ("atomic.py", "data.py", "dataset_sizes.py", "environment.py", "nesting.py", "outcomes.py", "sweeps.py", "planning/jobs.py",
          "planning/paths.py", "models/factory.py", "models/layers.py", "models/macs.py", "models/normalization.py",
          "models/pruning.py") + TRAINING
PLANNING = tuple(f"planning/{name}.py" for name in ("checks", "code", "dvc_yaml", "graph", "jobs", "loading", "paths", "stamps", "variants"))
PLANNING_IMPORTS = ("atomic.py", "dataset_sizes.py", "nesting.py")
# A report, plot or index job rebuilds the plan (a page shows the graph's commands) and reads the lock.
REPORTING = ("environment.py", "outcomes.py", "sweeps.py") + PLANNING_IMPORTS + PLANNING + tuple(f"reporting/{name}.py" for name in (
    "changes", "document", "figures", "index", "page", "plots", "provenance", "ranking", "stats", "study", "summary", "tables", "verdicts"))
CODE = {
    "configure": PLANNING_IMPORTS + PLANNING,
    "prepare": ("atomic.py", "data.py", "dataset_sizes.py", "planning/jobs.py", "planning/paths.py"),
    "train": ENGINE,
    "proxies": ("training/proxies.py",) + ENGINE,
    "pick": ("atomic.py", "nesting.py", "outcomes.py", "sweeps.py", "planning/jobs.py", "planning/paths.py"),
    "report": REPORTING,
    "plot": REPORTING,
    "index": REPORTING,
}


# A model's modules, where its network is built by more than models/<name>.py.
MODEL_MODULES = {"recurrent": ("recurrent", "lstm_variants"), "dense": ("dense", "binary")}


def model_files(model):
    """The modules under models/ that build the network `model` names."""
    return {f"models/{module}.py" for module in MODEL_MODULES.get(model, (model,))}


def code_files(stage, models=()):
    """The source files a job of `stage` runs, with the modules of the models it builds."""
    return tuple(SOURCE + name for name in sorted(set(CODE[stage]).union(*(model_files(model) for model in models))))


def code_digest(files, root="."):
    """sha256 over the files' names and contents: which code made a run."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (Path(root) / name).read_bytes())
    return digest.hexdigest()
