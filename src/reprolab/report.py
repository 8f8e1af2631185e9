"""Turns a study's run outputs into reports/<study>/: a Markdown page with the measured errors
beside the published ones, a learning-curve figure, summary.csv, metrics.json (for `dvc metrics`)
and curves.csv (for `dvc plots`); and reports/index.md across studies."""

import csv
import datetime
import hashlib
import io
import json
import statistics
import subprocess
from pathlib import Path

from reprolab import config as params_config
from reprolab.atomic import atomic_path, write_json, write_text
from reprolab.plan import path


def _read_csv(file_path):
    with open(file_path, newline="") as handle:
        return list(csv.DictReader(handle))


def collect(params, study_name):
    """Per variant, the per-seed metrics, train records and histories of a study."""
    study = params_config.study_settings(params, study_name)
    runs = {}
    for variant in study["variants"]:
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


def mean_and_std(values):
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(study, runs):
    """One row per variant: errors as mean, std and per-seed values, references and their difference."""
    references = study.get("references", {}).get("variants", {})
    rows = []
    for variant, variant_runs in runs.items():
        test = [run["metrics"]["test_error_percent"] for run in variant_runs]
        train = [run["metrics"]["train_error_percent"] for run in variant_runs]
        diverged = [f"seed {run['seed']} at epoch {run['train']['diverged_epoch']}" for run in variant_runs if run["train"]["status"] == "diverged"]
        test_mean, test_std = mean_and_std(test)
        train_mean, train_std = mean_and_std(train)
        reference = references.get(variant, {})
        rows.append({
            "variant": variant,
            "status": "ok" if not diverged else "diverged: " + ", ".join(diverged),
            "seeds": " ".join(str(run["seed"]) for run in variant_runs),
            "test_error_mean": test_mean,
            "test_error_std": test_std,
            "test_error_per_seed": " ".join(f"{value:.2f}" for value in test),
            "train_error_mean": train_mean,
            "train_error_std": train_std,
            "train_error_per_seed": " ".join(f"{value:.2f}" for value in train),
            "reference_test_error": reference.get("test_error"),
            "reference_train_error": reference.get("train_error"),
            "test_minus_reference": None if reference.get("test_error") is None else test_mean - reference["test_error"],
            "reference": reference.get("label", ""),
            "parameters": variant_runs[0]["train"]["parameters"],
            "epochs": variant_runs[0]["train"]["config"]["epochs"],
            "batch_size": variant_runs[0]["train"]["config"]["batch_size"],
            "wall_seconds_mean": statistics.fmean(run["train"]["wall_seconds"] for run in variant_runs),
        })
    return rows


def mean_curves(runs):
    """Per variant, epoch -> mean test error over seeds."""
    curves = {}
    for variant, variant_runs in runs.items():
        by_epoch = {}
        for run in variant_runs:
            for row in run["history"]:
                by_epoch.setdefault(int(row["epoch"]), []).append(float(row["test_error_percent"]))
        curves[variant] = {epoch: statistics.fmean(values) for epoch, values in sorted(by_epoch.items())}
    return curves


def plot_curves(runs, figure_path):
    """Test error per epoch: the mean over seeds per variant with a band from min to max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=120)
    for variant, variant_runs in runs.items():
        epochs = sorted({int(row["epoch"]) for run in variant_runs for row in run["history"]})
        per_epoch = [[float(row["test_error_percent"]) for run in variant_runs for row in run["history"] if int(row["epoch"]) == epoch] for epoch in epochs]
        means = [statistics.fmean(values) for values in per_epoch]
        line, = axes.plot(epochs, means, label=variant)
        axes.fill_between(epochs, [min(v) for v in per_epoch], [max(v) for v in per_epoch], color=line.get_color(), alpha=0.15)
    axes.set_xlabel("epoch (pass over the training set)")
    axes.set_ylabel("test error % (mean over seeds, band: min-max)")
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(figure_path) as temporary:
        figure.savefig(temporary)
    plt.close(figure)


def _git(*arguments):
    try:
        return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance(params, study_name, runs):
    """What produced these numbers: commit, params hash, dataset, backend, device, versions."""
    resolved = {variant: params_config.resolve_variant(params, study_name, variant) for variant in runs}
    first = next(iter(runs.values()))[0]
    dirty = _git("status", "--porcelain", "--", ".", ":!reports", ":!dvc.lock", ":!dvc.yaml")
    return {
        "git_commit": _git("rev-parse", "HEAD") or "unknown (not a git checkout)",
        "git_tree": "dirty (uncommitted changes)" if dirty else "clean",
        "params_sha256": hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest(),
        "scale": params.get("scale", "default"),
        "dataset_sha256": first["metrics"]["dataset_sha256"],
        "backend": first["train"]["runtime"]["backend"],
        "device": first["train"]["runtime"]["device"],
        "machine": first["train"]["runtime"]["machine"],
        "versions": first["train"]["runtime"]["versions"],
        "total_train_seconds": sum(run["train"]["wall_seconds"] for variant_runs in runs.values() for run in variant_runs),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _number(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value):
    return "—" if value is None else f"{value:+.2f}"


def render_markdown(study_name, study, rows, source):
    """The study page: question, results beside references, other published figures, curves, provenance."""
    best = min(rows, key=lambda row: row["test_error_mean"])
    lines = [f"# {study['title']}", ""]
    if study.get("question"):
        lines += [study["question"], ""]
    lines += [
        f"Dataset `{study['dataset']}`, seeds {study['seeds']}, baseline `{study['baseline']}`. Errors are in percent, "
        "mean ± standard deviation over seeds; the per-seed values follow. Generated by `reprolab report`; do not edit.",
        "",
        "| variant | test error % | per seed | train error % | per seed | published test / train % | measured − published (test) | params | epochs | batch | s / run | status |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        marker = " **(best)**" if row is best else ""
        published = "—" if row["reference_test_error"] is None else f"{_number(row['reference_test_error'])} / {_number(row['reference_train_error'])}"
        lines.append(
            f"| `{row['variant']}`{marker} | {row['test_error_mean']:.2f} ± {row['test_error_std']:.2f} | {row['test_error_per_seed']} "
            f"| {row['train_error_mean']:.2f} ± {row['train_error_std']:.2f} | {row['train_error_per_seed']} | {published} "
            f"| {_signed(row['test_minus_reference'])} "
            f"| {row['parameters']} | {row['epochs']} | {row['batch_size']} | {row['wall_seconds_mean']:.0f} | {row['status']} |"
        )
    references = study.get("references", {})
    sourced = [(variant, reference) for variant, reference in references.get("variants", {}).items()]
    if sourced or references.get("other"):
        lines += ["", "## Published figures", "", "| compared with | train error % | test error % | source |", "| --- | --- | --- | --- |"]
        for variant, reference in sourced:
            lines.append(f"| `{variant}`: {reference.get('label', '')} | {_number(reference.get('train_error'))} | {_number(reference.get('test_error'))} | {reference['source']} |")
        for reference in references.get("other", []):
            lines.append(f"| {reference.get('label', '')} | {_number(reference.get('train_error'))} | {_number(reference.get('test_error'))} | {reference['source']} |")
    lines += ["", "## Learning curves", "", "![test error per epoch](figures/learning_curves.png)", "", "## Provenance", ""]
    lines += [f"- {key.replace('_', ' ')}: `{value}`" for key, value in source.items()]
    return "\n".join(lines) + "\n"


def run(plan, study_name):
    """The `report` stage for one study."""
    study, runs = collect(plan.params, study_name)
    rows = summarise(study, runs)
    wildcards = {"study": study_name}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text(path("summary", **wildcards), buffer.getvalue())
    write_json(path("study_metrics", **wildcards), {
        row["variant"]: {
            "test_error_percent": round(row["test_error_mean"], 4),
            "test_error_std": round(row["test_error_std"], 4),
            "train_error_percent": round(row["train_error_mean"], 4),
        } for row in rows
    })
    curves = mean_curves(runs)
    epochs = sorted({epoch for curve in curves.values() for epoch in curve})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["epoch", *curves])
    for epoch in epochs:
        writer.writerow([epoch, *(_number(curve.get(epoch), 4) if epoch in curve else "" for curve in curves.values())])
    write_text(path("curves", **wildcards), buffer.getvalue())
    plot_curves(runs, path("curves_figure", **wildcards))
    write_text(path("report", **wildcards), render_markdown(study_name, study, rows, provenance(plan.params, study_name, runs)))
    return rows


def run_index(plan):
    """reports/index.md: one line per study with its baseline and best variant."""
    lines = ["# reprolab reports", "", "Generated by `reprolab index` from each study's metrics; errors in percent, mean over seeds.", "",
             "| study | baseline: measured (published) test error % | best variant: test error % | report |", "| --- | --- | --- | --- |"]
    for study_name in plan.params["studies"]:
        study = params_config.study_settings(plan.params, study_name)
        metrics = json.loads(Path(path("study_metrics", study=study_name)).read_text())
        baseline = study["baseline"]
        published = study.get("references", {}).get("variants", {}).get(baseline, {}).get("test_error")
        best = min(metrics, key=lambda variant: metrics[variant]["test_error_percent"])
        lines.append(
            f"| {study['title']} | `{baseline}`: {metrics[baseline]['test_error_percent']:.2f} ({_number(published)}) "
            f"| `{best}`: {metrics[best]['test_error_percent']:.2f} | [{study_name}/README.md]({study_name}/README.md) |"
        )
    write_text(path("index"), "\n".join(lines) + "\n")
