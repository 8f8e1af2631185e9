"""A study's machine-readable results: summary.csv, metrics.json (`dvc metrics`) and curves.csv (`dvc plots`)."""

import csv
import io

import numpy as np

from reprolab.atomic import write_json, write_text
from reprolab.planning.paths import path
from reprolab.reporting.changes import claim_texts
from reprolab.reporting.page import number


def _csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _rounded(value):
    return None if value is None else round(value, 4)


def study_metrics(rows, judged, proxy_analysis=None):
    """What metrics.json holds: per variant its failed runs and test error with its 95% interval; per
    claim its measured value, interval and verdict; per proxy its Spearman rho and interval. So
    `dvc metrics diff` and `dvc exp show` show a claim moving."""
    metrics = {row["variant"]: {"failed_runs": row["failed_runs"], "runs": row["runs"],
                                **({"test_error_percent": _rounded(row["test"]["mean"]), "test_error_std": _rounded(row["test"]["std"]),
                                    "test_error_low": _rounded(row["test"]["low"]), "test_error_high": _rounded(row["test"]["high"]),
                                    "train_error_percent": _rounded(row["train"]["mean"])} if row["test"] else {})} for row in rows}
    for key, claim in zip(claim_texts(judged), judged):
        measured = claim["measured"] or {}
        metrics[key] = {"value": _rounded(measured.get("mean", measured.get("difference"))), "low": _rounded(measured.get("low")),
                                        "high": _rounded(measured.get("high")), "verdict": claim["verdict"]}
    if proxy_analysis:
        metrics["proxies"] = {row["proxy"]: {"spearman": _rounded(row["spearman"]), "low": _rounded(row["spearman_interval"][0]),
                                             "high": _rounded(row["spearman_interval"][1])} for row in proxy_analysis["rows"]}
    return metrics


def write_tables(study_name, runs, rows, metrics):
    """summary.csv, metrics.json (DVC metrics, from study_metrics) and curves.csv (DVC plots: mean test error per epoch)."""
    write_text(path("summary", study=study_name), _csv_text(
        ["variant", "status", "failed_runs", "runs", "test_error_mean", "test_error_std", "test_error_low", "test_error_high", "train_error_mean",
         "train_error_std", "validation_error_mean", "reference_test_error", "test_minus_reference", "parameters", "macs", "epochs", "wall_seconds_mean"],
        [[row["variant"], row["status"], row["failed_runs"], row["runs"], *((row["test"] or {}).get(key) for key in ("mean", "std", "low", "high")),
          *((row["train"] or {}).get(key) for key in ("mean", "std")), (row["validation"] or {}).get("mean"), row["reference_test_error"],
          row["test_minus_reference"], row["parameters"], row["macs"], row["epochs"], row["wall_seconds_mean"]] for row in rows]))
    write_json(path("study_metrics", study=study_name), metrics)
    curves = {}
    for variant, variant_runs in runs.items():
        for run in variant_runs:
            for entry in run["history"]:
                curves.setdefault(variant, {}).setdefault(int(entry["epoch"]), []).append(float(entry["test_error_percent"]))
    epochs = sorted({epoch for curve in curves.values() for epoch in curve})
    write_text(path("curves", study=study_name), _csv_text(
        ["epoch", *curves], [[epoch, *(number(np.mean(curve[epoch]), 4) if epoch in curve else "" for curve in curves.values())] for epoch in epochs]))
