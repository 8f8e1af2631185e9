"""Values picked on the validation split. A study's `sweeps` train one variant at several values of
one key (the points, ordinary train/evaluate jobs); the `pick` job reads their validation errors
only and writes the value it picks, which variants listing the sweep in `picked` train with."""

import json
from pathlib import Path

import numpy as np

from reprolab.nesting import deep_merge, nested
from reprolab import outcomes
from reprolab.atomic import write_json
from reprolab.planning.paths import path

PICK_RULE = ("the value with the fewest failed runs on the validation split (diverged, or collapsed by the failure rule "
             "applied to validation predictions), then the lowest mean validation error of the runs that trained; "
             "ties go to the value listed first")


def point_summary(runs):
    """A sweep point's failed runs and mean validation error of the others, from metrics.json alone
    (the validation confusion matrix, never the test set's)."""
    errors, failed = [], 0
    for train_info, metrics in runs:
        if train_info["status"] == "diverged" or outcomes.collapsed(metrics["validation_error_percent"], metrics["validation_confusion"]):
            failed += 1
        else:
            errors.append(metrics["validation_error_percent"])
    return {"runs": len(runs), "failed": failed, "validation_error_per_seed": errors,
            "validation_error_mean": float(np.mean(errors)) if errors else None}


def choose(points):
    """The index of the picked point by PICK_RULE."""
    def rank(index):
        mean = points[index]["validation_error_mean"]
        return points[index]["failed"], np.inf if mean is None else mean, index

    return min(range(len(points)), key=rank)


def pick(job):
    """The `pick` stage: scores each point of the sweep on validation and writes the pick."""
    study_name, sweep_name = job["wildcards"]["study"], job["wildcards"]["sweep"]
    sweep, seeds = job["settings"]["sweep"], job["settings"]["seeds"]
    points = []
    for value, variant in job["settings"]["points"]:
        runs = []
        for seed in seeds:
            wildcards = {"study": study_name, "variant": variant, "seed": seed}
            runs.append((json.loads(Path(path("train_info", **wildcards)).read_text()), json.loads(Path(path("metrics", **wildcards)).read_text())))
        points.append({"value": value, "variant": variant, **point_summary(runs)})
    picked = points[choose(points)]
    record = {"study": study_name, "sweep": sweep_name, "key": sweep["key"], "picked": picked["value"], "picked_variant": picked["variant"],
              "seeds": seeds, "rule": PICK_RULE, "points": points}
    write_json(path("pick", study=study_name, sweep=sweep_name), record)
    return record


def read_pick(study_name, sweep_name):
    return json.loads(Path(path("pick", study=study_name, sweep=sweep_name)).read_text())


def with_picks(config, study_name):
    """The config with the picked value of every sweep it lists in `picked` set under the sweep's key."""
    for sweep_name in config.get("picked", []):
        record = read_pick(study_name, sweep_name)
        config = deep_merge(config, nested(record["key"], record["picked"]))
    return config
