"""A study's runs read back and summarised: per variant the trained runs' test, train and validation
error over seeds, the failed runs counted, and exploratory paired comparisons with the baseline."""

import csv
import json
from pathlib import Path

import numpy as np

from reprolab.planning.variants import card_for, study_settings
from reprolab.planning.checks import PROXIES
from reprolab import outcomes
from reprolab.planning.paths import path
from reprolab.reporting import stats


CHANCE_ERROR = 90.0  # zero-cost proxies rank a diverged architecture at chance accuracy


def _read_csv(file_path):
    with open(file_path, newline="") as handle:
        return list(csv.DictReader(handle))


def collect(params, study_name, variants=None):
    """The study (its settings and card) and, per variant (all, or those named), the per-seed
    metrics, train records and histories."""
    study = {**study_settings(params, study_name), **card_for(params, study_name)}
    runs = {}
    for variant in variants or study["variants"]:
        runs[variant] = []
        for seed in study["seeds"]:
            wildcards = {"study": study_name, "variant": variant, "seed": seed}
            runs[variant].append({
                "seed": seed,
                "metrics": json.loads(Path(path("metrics", **wildcards)).read_text()),
                "train": json.loads(Path(path("train_info", **wildcards)).read_text()),
                "history": _read_csv(path("history", **wildcards)),
            })
    return study, runs


def proxy_inputs(study_name, runs):
    """Per architecture (variant), its trained accuracy (100 - test error, mean over seeds, a
    diverged run at chance) and, per proxy init seed, every proxy's score: what ranking.analyse reads."""
    record = json.loads(Path(path("proxies", study=study_name)).read_text())
    accuracy = [100.0 - float(np.mean(list(all_errors(variant_runs).values()))) for variant_runs in runs.values()]
    scores = {seed: {name: [record["variants"][variant]["scores"][seed][name] for variant in runs] for name in PROXIES}
              for seed in record["seeds"]}
    return accuracy, scores


def all_errors(variant_runs):
    """Per-seed final test error of every run, a diverged one at chance: what a ranking or a
    paper's best / mean over all runs reads."""
    return {run["seed"]: CHANCE_ERROR if run["train"]["status"] == "diverged" else run["metrics"]["test_error_percent"] for run in variant_runs}


def run_status(run):
    """'trained', 'diverged at epoch N' or 'collapsed' for one run."""
    status = outcomes.outcome(run)
    return f"diverged at epoch {run['train']['diverged_epoch']}" if status == "diverged" else status


def summarise(study, runs):
    """One row per variant. Statistics use the runs that trained; the failed ones are counted and named in `status`."""
    references = study.get("references", {}).get("variants", {})
    rows = []
    for variant, variant_runs in runs.items():
        finished = [run for run in variant_runs if outcomes.trained(run)]
        problems = [f"seed {run['seed']} {run_status(run)}" for run in variant_runs if not outcomes.trained(run)]
        test = {run["seed"]: run["metrics"]["test_error_percent"] for run in finished}
        train = {run["seed"]: run["metrics"]["train_error_percent"] for run in finished}
        validation = {run["seed"]: run["metrics"]["validation_error_percent"] for run in finished
                      if run["metrics"].get("validation_error_percent") is not None}
        reference = references.get(variant, {})
        test_summary = stats.summary(test.values()) if test else None
        rows.append({
            "variant": variant,
            "status": "ok" if not problems else "; ".join(problems),
            "test": test_summary,
            "train": stats.summary(train.values()) if train else None,
            "validation": stats.summary(validation.values()) if validation else None,
            "test_per_seed": test,
            "test_misses_mean": float(np.mean([run["metrics"]["test_errors"] for run in finished])) if finished else None,
            "test_examples": variant_runs[0]["metrics"]["test_examples"],
            "train_per_seed": train,
            "reference_test_error": reference.get("test_error"),
            "reference_train_error": reference.get("train_error"),
            "test_minus_reference": None if reference.get("test_error") is None or not test else test_summary["mean"] - reference["test_error"],
            "parameters": variant_runs[0]["train"]["parameters"],
            "macs": variant_runs[0]["train"].get("macs"),
            "epochs": variant_runs[0]["train"]["config"]["epochs"],
            "batch_size": variant_runs[0]["train"]["config"]["batch_size"],
            "inference": inference_medians(finished),
            "wall_seconds_mean": float(np.mean([run["train"]["wall_seconds"] for run in variant_runs])),
            "diverged_runs": sum(run["train"]["status"] == "diverged" for run in variant_runs),
            "failed_runs": len(variant_runs) - len(finished),
            "trained_runs": len(finished),
            "runs": len(variant_runs),
        })
    return rows


INFERENCE_KEYS = ("sparsity", "saved_bytes", "packed_bytes", "latency_ms", "throughput_per_second")


def inference_medians(finished):
    """Median over the trained runs of what `measure_inference` recorded (None where it was not)."""
    if not finished or "packed_bytes" not in finished[0]["metrics"]:
        return None
    return {**{key: float(np.median([run["metrics"][key] for run in finished])) for key in INFERENCE_KEYS},
            "packed_format": finished[0]["metrics"]["packed_format"]}


def best_row(rows):
    finished = [row for row in rows if row["test"]]
    return min(finished, key=lambda row: row["test"]["mean"]) if finished else None


def example_variants(study, rows):
    """The variants whose confusion matrix and misclassified digits a page shows: the card's
    `examples` (those its claims name), else the baseline, else the most accurate variant."""
    if study.get("examples"):
        return study["examples"]
    if "baseline" in study:
        return [study["baseline"]]
    best = best_row(rows)
    return [best["variant"]] if best else []


def compare_with_baseline(rows, baseline):
    """Paired test-error differences (variant - baseline) over the seeds both trained, each p-value
    Holm-adjusted over all the comparisons, which decides the reading."""
    by_variant = {row["variant"]: row for row in rows}
    comparisons = [{"variant": row["variant"], "difference": stats.paired_difference(row["test_per_seed"], by_variant[baseline]["test_per_seed"])}
                   for row in rows if row["variant"] != baseline]
    adjusted = stats.holm([item["difference"] and item["difference"]["p_value"] for item in comparisons])
    for item, p_value in zip(comparisons, adjusted):
        item["p_holm"] = p_value
        item["reading"] = _reading(item["difference"], p_value)
    return comparisons


def _reading(difference, p_holm):
    if difference is None or difference["low"] is None:
        return "too few seeds trained in both to compare"
    if p_holm is None or p_holm >= 0.05:
        return "not significant after Holm's adjustment"
    return "lower test error than the baseline" if difference["mean"] < 0 else "higher test error than the baseline"
