"""Trains seeds 0, 1, 2 of one config on random digits twice, under whatever KERAS_BACKEND names:
alone (one `engine.train` each, as separate jobs would) and together (`seeds_at_once.train_together`,
seed 0 first trained alone to RESUME_EPOCH and left as a checkpoint, as a killed job leaves it).
Writes each seed's model.keras, history.csv and train.json (the record) per mode.

    python seeds_together.py CASE.json RESUME_EPOCH RESULT_DIRECTORY
"""

import json
import sys
from pathlib import Path

from reprolab.training import runtime

runtime.configure(threads=1, seed=0)

import numpy as np  # noqa: E402

from reprolab.training import engine, seeds_at_once  # noqa: E402

SEEDS = (0, 1, 2)
case_path, resume_epoch, result_directory = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
config = json.loads(case_path.read_text())
rng = np.random.default_rng(0)
data = {"x_train": rng.uniform(-1, 1, size=(64, 16, 16, 1)).astype("float32"), "y_train": rng.integers(0, 10, size=64),
        "x_test": rng.uniform(-1, 1, size=(32, 16, 16, 1)).astype("float32"), "y_test": rng.integers(0, 10, size=32)}


def outputs(mode, seed):
    folder = result_directory / mode / f"seed{seed}"
    return {kind: folder / name for kind, name in (("model", "model.keras"), ("history", "history.csv"), ("train_info", "train.json"))}


def prepare(mode, seed):
    runtime.reseed(seed)
    return engine.prepare(config, data, seed, result_directory / mode / f"seed{seed}" / "backup", f"[{mode} seed{seed}]")


for seed in SEEDS:
    runtime.reseed(seed)
    record = engine.train(config, data, seed, outputs("alone", seed), result_directory / "alone" / f"seed{seed}" / "backup", f"[alone seed{seed}]")
    outputs("alone", seed)["train_info"].write_text(json.dumps(record))
if resume_epoch:
    seeds_at_once.train_together([prepare("together", 0)], resume_epoch)  # stops there, its checkpoint kept
runs = [prepare("together", seed) for seed in SEEDS]
seeds_at_once.train_together(runs, config["epochs"])
for seed, seed_run in zip(SEEDS, runs):
    record = engine.finish(seed_run, outputs("together", seed), 0.0)
    outputs("together", seed)["train_info"].write_text(json.dumps(record))
