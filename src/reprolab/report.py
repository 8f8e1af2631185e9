"""Turns a study's runs into reports/<study>/: README.md and a self-contained report.html with
the measured errors beside the published ones, paired comparisons with the baseline, claim
verdicts, figures and provenance; summary.csv, metrics.json (`dvc metrics`), curves.csv
(`dvc plots`) and verdicts.json (for the index). `run_index` writes reports/index.{md,html}."""

import csv
import datetime
import hashlib
import io
import json
import subprocess
from pathlib import Path

import numpy as np

from reprolab import config as params_config
from reprolab import document, figures, ranking, stats
from reprolab.atomic import write_json, write_text
from reprolab.plan import path

VERDICT_RULE = (
    "A claim is **supported** when the whole 95% interval of the measured quantity lies on the claimed side "
    "(below zero for a difference claimed to lower test error; inside ± the tolerance around zero for a "
    "difference claimed to be negligible; inside the published value ± the stated tolerance for a reproduced "
    "figure), **contradicted** when the whole interval lies on the other side, and **inconclusive** when the "
    "interval straddles the boundary or too few seeds finished. In claims a run that diverged counts at "
    "chance, 90% test error."
)
CHANCE_ERROR = 90.0


def _read_csv(file_path):
    with open(file_path, newline="") as handle:
        return list(csv.DictReader(handle))


def collect(params, study_name, variants=None):
    """The study (its settings and card) and, per variant (all, or those named), the per-seed
    metrics, train records and histories."""
    study = {**params_config.study_settings(params, study_name), **params_config.read_card(study_name)}
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
    accuracy = [100.0 - float(np.mean(list(claim_errors(variant_runs).values()) or [CHANCE_ERROR])) for variant_runs in runs.values()]
    scores = {seed: {name: [record["variants"][variant]["scores"][seed][name] for variant in runs] for name in params_config.PROXIES}
              for seed in record["seeds"]}
    return accuracy, scores


def run_status(run):
    """'ok', 'diverged at epoch N' or 'failed' for one run."""
    status = run["train"]["status"]
    return f"diverged at epoch {run['train']['diverged_epoch']}" if status == "diverged" else status


def summarise(study, runs):
    """One row per variant. Statistics use the runs that finished ok; the others are named in `status`."""
    references = study.get("references", {}).get("variants", {})
    rows = []
    for variant, variant_runs in runs.items():
        finished = [run for run in variant_runs if run["train"]["status"] == "ok"]
        problems = [f"seed {run['seed']} {run_status(run)}" for run in variant_runs if run["train"]["status"] != "ok"]
        test = {run["seed"]: run["metrics"]["test_error_percent"] for run in finished}
        train = {run["seed"]: run["metrics"]["train_error_percent"] for run in finished}
        reference = references.get(variant, {})
        test_summary = stats.summary(test.values()) if test else None
        rows.append({
            "variant": variant,
            "status": "ok" if not problems else "; ".join(problems),
            "test": test_summary,
            "train": stats.summary(train.values()) if train else None,
            "test_per_seed": test,
            "train_per_seed": train,
            "reference_test_error": reference.get("test_error"),
            "reference_train_error": reference.get("train_error"),
            "test_minus_reference": None if reference.get("test_error") is None or not test else test_summary["mean"] - reference["test_error"],
            "parameters": variant_runs[0]["train"]["parameters"],
            "macs": variant_runs[0]["train"].get("macs"),
            "epochs": variant_runs[0]["train"]["config"]["epochs"],
            "batch_size": variant_runs[0]["train"]["config"]["batch_size"],
            "wall_seconds_mean": float(np.mean([run["train"]["wall_seconds"] for run in variant_runs])),
            "diverged_runs": sum(run["train"]["status"] == "diverged" for run in variant_runs),
        })
    return rows


def best_row(rows):
    finished = [row for row in rows if row["test"]]
    return min(finished, key=lambda row: row["test"]["mean"]) if finished else None


def compare_with_baseline(rows, baseline):
    """Paired test-error differences (variant - baseline) over shared finished seeds."""
    by_variant = {row["variant"]: row for row in rows}
    comparisons = []
    for row in rows:
        if row["variant"] == baseline:
            continue
        difference = stats.paired_difference(row["test_per_seed"], by_variant[baseline]["test_per_seed"])
        comparisons.append({"variant": row["variant"], "difference": difference, "reading": _reading(difference)})
    return comparisons


def _reading(difference):
    if difference is None or difference["low"] is None:
        return "too few shared seeds to compare"
    if difference["low"] <= 0 <= difference["high"]:
        return "no detectable difference"
    return "lower test error than the baseline" if difference["high"] < 0 else "higher test error than the baseline"


def claim_errors(variant_runs, epoch=None):
    """Per-seed test error a claim compares: the final one, or the history's at `epoch`; a run that
    diverged (by then) counts at chance."""
    errors = {}
    for run in variant_runs:
        diverged_epoch = run["train"]["diverged_epoch"]
        if diverged_epoch is not None and (epoch is None or diverged_epoch <= epoch):
            errors[run["seed"]] = CHANCE_ERROR
        elif epoch is not None:
            errors[run["seed"]] = float(run["history"][epoch - 1]["test_error_percent"])
        elif run["train"]["status"] == "ok":
            errors[run["seed"]] = run["metrics"]["test_error_percent"]
    return errors


def judge_claims(study, rows, runs, proxy_analysis=None):
    """Each declared claim with the measured quantity, its interval and the verdict by VERDICT_RULE
    (claims about proxies by ranking.judge)."""
    by_variant = {row["variant"]: row for row in rows}
    verdicts = []
    for claim in study.get("claims", []):
        if claim["kind"] in ranking.CLAIM_KINDS:
            verdicts.append(ranking.judge(claim, proxy_analysis))
            continue
        row = by_variant[claim["variant"]]
        if claim["kind"] == "reproduces":
            reference = row["reference_test_error"]
            tolerance = claim["tolerance"]
            measured = row["test"]
            verdict = stats.interval_verdict(measured and measured["low"], measured and measured["high"],
                                             supported_if_within=(reference - tolerance, reference + tolerance))
            quantity = f"test error of `{claim['variant']}` vs published {reference:.2f} ± {tolerance:.2f}"
            verdicts.append({**claim, "quantity": quantity, "measured": measured, "verdict": verdict})
            continue
        epoch = claim.get("epoch")
        measured = stats.paired_difference(claim_errors(runs[claim["variant"]], epoch), claim_errors(runs[claim["over"]], epoch))
        low, high = measured and measured["low"], measured and measured["high"]
        if claim["kind"] == "matches":
            verdict = stats.interval_verdict(low, high, supported_if_within=(-claim["tolerance"], claim["tolerance"]))
        else:
            verdict = stats.interval_verdict(low, high, supported_if_below=0.0)
        when = f" after epoch {epoch}" if epoch else ""
        bound = f", within ± {claim['tolerance']:.2f}" if claim["kind"] == "matches" else ""
        quantity = f"test error{when} of `{claim['variant']}` minus `{claim['over']}` (paired over seeds{bound})"
        verdicts.append({**claim, "quantity": quantity, "measured": measured, "verdict": verdict})
    return verdicts


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
    all_runs = [run for variant_runs in runs.values() for run in variant_runs]
    return {
        "git commit": _git("rev-parse", "HEAD") or "unknown (not a git checkout)",
        "git tree": "dirty (uncommitted changes)" if dirty else "clean",
        "resolved params sha256": hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest(),
        "scale": params.get("scale", "default"),
        "dataset sha256": first["metrics"]["dataset_sha256"],
        "Keras backend": first["train"]["runtime"]["backend"],
        "device": first["train"]["runtime"]["device"],
        "machine": first["train"]["runtime"]["machine"],
        "library versions": ", ".join(f"{name} {version}" for name, version in first["train"]["runtime"]["versions"].items()),
        "runs": f"{len(all_runs)} ({sum(run['train']['status'] == 'ok' for run in all_runs)} ok)",
        "total training time": f"{sum(run['train']['wall_seconds'] for run in all_runs) / 60:.1f} min",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _number(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}"


def _signed(value):
    return "" if value is None else f"{value:+.2f}"


def _interval(summary):
    if not summary or summary["low"] is None:
        return ""
    return f"[{summary['low']:.2f}, {summary['high']:.2f}]"


def _mean_std(summary):
    return "" if not summary else f"{summary['mean']:.2f} ± {summary['std']:.2f}"


def _per_seed(values, runs):
    return " ".join(f"{values[run['seed']]:.2f}" if run["seed"] in values else f"({run_status(run)})" for run in runs)


def proxy_blocks(analysis):
    """The report's section on zero-cost proxies: rank correlations with accuracy beside the
    published ones, against params and FLOPs, top-k hits and noise over init seeds."""
    rows = analysis["rows"]

    def estimate(value, interval):
        return "" if value is None else f"{value:.2f}" + ("" if interval[0] is None else f" [{interval[0]:.2f}, {interval[1]:.2f}]")

    first, seeds = analysis["seeds"][0], ", ".join(map(str, analysis["seeds"]))
    return [
        document.heading(2, "Zero-cost proxies"),
        document.paragraph(
            f"{analysis['architectures']} architectures. Each proxy is scored at initialisation on one fixed batch; the correlations "
            f"use its scores at init seed {first} against trained accuracy (100 − test error, mean over training seeds), with "
            f"bootstrap 95% intervals over architectures ({ranking.RESAMPLES} resamples). `vote` is the majority of "
            f"{', '.join(ranking.VOTERS)}. Published ρ: NAS-Bench-201 CIFAR-10, a different search space and a full training "
            f"budget. Noise: ρ over init seeds {seeds} (mean ± sd) and the mean rank agreement between init seeds."),
        document.table(
            ["proxy", "Spearman ρ [95%]", "published ρ", "Kendall τ [95%]", "ρ with params", "ρ with FLOPs",
             "ρ − ρ(params) [95%]", "ρ − ρ(FLOPs) [95%]", f"top-{ranking.TOP} hits", "ρ over init seeds", "init-seed agreement"],
            [[f"`{row['proxy']}`", estimate(row["spearman"], row["spearman_interval"]), _number(row["published_spearman"]),
              estimate(row["kendall"], row["kendall_interval"]), _number(row["spearman_with_params"]), _number(row["spearman_with_flops"]),
              estimate(*row["minus_params"]), estimate(*row["minus_flops"]), f"{row['top_hits']:.0%}",
              f"{row['spearman_over_seeds'][0]:.2f} ± {row['spearman_over_seeds'][1]:.2f}", _number(row["seed_agreement"])] for row in rows]),
        document.paragraph(ranking.beats_baselines(analysis)),
    ]


FAILED_ACCURACY = 20.0  # a run below this test accuracy (chance is 10%) failed to train


def paper_table_blocks(table, runs):
    """The card's `paper_table`: per row, best and mean test accuracy over seeds without and with
    the change (a diverged run counts at chance) and the share of runs that failed to train, beside
    the published best / mean."""

    def cell(variant):
        accuracies = [100.0 - error for error in claim_errors(runs[variant]).values()]
        failed = sum(accuracy < FAILED_ACCURACY for accuracy in accuracies)
        return f"{max(accuracies):.1f} / {np.mean(accuracies):.1f}", f"{failed}/{len(accuracies)}"

    def published(reference):
        return "" if not reference else f"{reference['best']:.1f} / {reference['mean']:.1f}"

    rows = []
    for row in table["rows"]:
        (without, failed_without), (with_change, failed_with) = cell(row["without"]), cell(row["with"])
        rows.append([f"{row['label']} (`{row['without']}`, `{row['with']}`)", without, failed_without, with_change, failed_with,
                     published(row.get("published_without")), published(row.get("published_with"))])
    return [
        document.heading(2, table["title"]),
        document.paragraph(f"Cells: best / mean test accuracy over seeds (a diverged run counts at chance); failed: runs below "
                           f"{FAILED_ACCURACY:.0f}% accuracy, i.e. near chance."),
        document.table(["setting", "without", "failed", "with", "failed", "published without", "published with"], rows),
    ]


def _comparison_blocks(study, comparisons):
    """The section comparing each variant with the baseline."""
    return [
        document.heading(2, f"Each variant against the baseline `{study['baseline']}`"),
        document.paragraph(
            "Difference in test error (variant − baseline, percentage points) paired over the seeds both finished, with its "
            "95% t-interval and the paired t-test's two-sided p-value. Where the interval spans zero the report says "
            "\"no detectable difference\" instead of ranking the noise."),
        document.table(
            ["variant", "difference", "95% interval", "p-value", "seeds", "reading"],
            [[f"`{item['variant']}`", _signed(item["difference"] and item["difference"]["mean"]), _interval(item["difference"]),
              "" if not item["difference"] or item["difference"]["p_value"] is None else f"{item['difference']['p_value']:.3f}",
              "" if not item["difference"] else len(item["difference"]["seeds"]), item["reading"]] for item in comparisons]),
    ]


def build_document(study, runs, rows, comparisons, verdicts, source, proxy_analysis=None):
    """The study report's blocks, shared by the Markdown and the HTML."""
    best = best_row(rows)
    blocks = [document.heading(1, study["title"])]
    if study.get("question"):
        blocks.append(document.paragraph(study["question"]))
    if verdicts:
        blocks.append(document.bullets([f"Claim: {claim['text']} ({claim['source']}): **{claim['verdict']}**" for claim in verdicts]))
    blocks.append(document.paragraph(
        f"Dataset `{study['dataset']}`, seeds {', '.join(map(str, study['seeds']))}"
        + (f", baseline `{study['baseline']}`. " if "baseline" in study else ". ") +
        "Errors are in percent: mean ± standard deviation over the seeds that finished, the 95% t-interval of the mean, "
        "then each seed's value. Published values are blank where the literature gives none. Generated by "
        "`reprolab report`; do not edit."))
    blocks.append(document.heading(2, "Results"))
    blocks.append(document.table(
        ["variant", "test error %", "95% interval", "per seed", "train error %", "per seed",
         "published test %", "published train %", "measured − published (test)", "params", "MACs", "epochs", "batch", "s / run", "diverged", "status"],
        [[f"`{row['variant']}`" + (" **(best)**" if row is best else ""), _mean_std(row["test"]), _interval(row["test"]),
          _per_seed(row["test_per_seed"], runs[row["variant"]]), _mean_std(row["train"]), _per_seed(row["train_per_seed"], runs[row["variant"]]),
          _number(row["reference_test_error"]), _number(row["reference_train_error"]), _signed(row["test_minus_reference"]),
          row["parameters"], "" if row["macs"] is None else row["macs"], row["epochs"], row["batch_size"],
          f"{row['wall_seconds_mean']:.0f}", f"{row['diverged_runs']}/{len(runs[row['variant']])}", row["status"]] for row in rows]))
    if proxy_analysis:
        blocks += proxy_blocks(proxy_analysis)
    if "paper_table" in study:
        blocks += paper_table_blocks(study["paper_table"], runs)
    if comparisons:
        blocks += _comparison_blocks(study, comparisons)
    if verdicts:
        blocks.append(document.heading(2, "Claims"))
        blocks.append(document.paragraph(VERDICT_RULE))
        blocks.append(document.table(
            ["claim", "source", "measured", "value", "95% interval", "verdict"],
            [[claim["text"], claim["source"], claim["quantity"], _signed(claim["measured"] and claim["measured"]["mean"])
              if claim["kind"] != "reproduces" else _number(claim["measured"] and claim["measured"]["mean"]),
              _interval(claim["measured"]), f"**{claim['verdict']}**"] for claim in verdicts]))
    references = study.get("references", {})
    listed = [(f"`{variant}`: {reference.get('label', '')}", reference) for variant, reference in references.get("variants", {}).items()]
    listed += [(reference.get("label", ""), reference) for reference in references.get("other", [])]
    if listed:
        blocks.append(document.heading(2, "Published figures"))
        blocks.append(document.table(["compared with", "train error %", "test error %", "source"],
                                     [[label, _number(reference.get("train_error")), _number(reference.get("test_error")), reference["source"]]
                                      for label, reference in listed]))
    blocks.append(document.heading(2, "Figures"))
    blocks.append(document.image("figures/learning_curves.png", "test error and training loss per epoch"))
    blocks.append(document.image("figures/test_error.png", "test error per variant with 95% intervals"))
    best_name = best["variant"] if best else "the best variant"
    blocks.append(document.image("figures/confusion.png", f"confusion matrix of {best_name}"))
    blocks.append(document.image("figures/misclassified.png", f"misclassified test images of {best_name}"))
    for plot in study.get("plots", []):
        blocks.append(document.image(f"plots/{plot['name']}.png", plot["title"]))
    blocks.append(document.heading(2, "Provenance"))
    blocks.append(document.bullets([f"{key}: `{value}`" for key, value in source.items()]))
    return blocks


def _csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_tables(study_name, runs, rows):
    """summary.csv, metrics.json (DVC metrics) and curves.csv (DVC plots: mean test error per epoch)."""
    write_text(path("summary", study=study_name), _csv_text(
        ["variant", "status", "test_error_mean", "test_error_std", "test_error_low", "test_error_high", "train_error_mean",
         "train_error_std", "reference_test_error", "test_minus_reference", "parameters", "macs", "epochs", "wall_seconds_mean"],
        [[row["variant"], row["status"], *((row["test"] or {}).get(key) for key in ("mean", "std", "low", "high")),
          *((row["train"] or {}).get(key) for key in ("mean", "std")), row["reference_test_error"], row["test_minus_reference"],
          row["parameters"], row["macs"], row["epochs"], row["wall_seconds_mean"]] for row in rows]))
    write_json(path("study_metrics", study=study_name), {
        row["variant"]: {"test_error_percent": round(row["test"]["mean"], 4), "test_error_std": round(row["test"]["std"], 4),
                         "train_error_percent": round(row["train"]["mean"], 4)}
        for row in rows if row["test"]
    })
    curves = {}
    for variant, variant_runs in runs.items():
        for run in variant_runs:
            for entry in run["history"]:
                curves.setdefault(variant, {}).setdefault(int(entry["epoch"]), []).append(float(entry["test_error_percent"]))
    epochs = sorted({epoch for curve in curves.values() for epoch in curve})
    write_text(path("curves", study=study_name), _csv_text(
        ["epoch", *curves], [[epoch, *(_number(np.mean(curve[epoch]), 4) if epoch in curve else "" for curve in curves.values())] for epoch in epochs]))


def draw_figures(study_name, study, runs, rows):
    """The PNGs under reports/<study>/figures/ (a figure that cannot be drawn says why instead)."""
    folder = Path(path("report", study=study_name)).parent / "figures"
    figures.learning_curves(runs, folder / "learning_curves.png")
    figures.error_bars([row for row in rows if row["test"]], folder / "test_error.png")
    best = best_row(rows)
    if not best:
        for name in ("confusion.png", "misclassified.png"):
            figures.message("no run of this study finished", folder / name)
        return
    finished = [run for run in runs[best["variant"]] if run["train"]["status"] == "ok"]
    confusion = np.sum([run["metrics"]["confusion"] for run in finished], axis=0)
    figures.confusion_matrix(confusion, f"{best['variant']}: test set, summed over {len(finished)} seeds", folder / "confusion.png")
    dataset = study["dataset"]
    with np.load(path("prepared", dataset=dataset)) as arrays:
        images = arrays["x_test"]
    seed = finished[0]["seed"]
    if images.ndim != 4:
        figures.message(f"{dataset} holds no images", folder / "misclassified.png")
        return
    with np.load(path("predictions", study=study_name, variant=best["variant"], seed=seed)) as predictions:
        figures.misclassified_grid(images, predictions["labels"], predictions["predicted"],
                                   f"{best['variant']} seed {seed}: misclassified test images (true→predicted)", folder / "misclassified.png")


def run(plan, study_name):
    """The `report` stage for one study."""
    study, runs = collect(plan.params, study_name)
    rows = summarise(study, runs)
    comparisons = compare_with_baseline(rows, study["baseline"]) if "baseline" in study else []
    proxy_analysis = None
    if "proxies" in study:
        published = {name: reference["spearman"] for name, reference in study.get("references", {}).get("proxies", {}).items()}
        proxy_analysis = ranking.analyse(*proxy_inputs(study_name, runs), published)
    verdicts = judge_claims(study, rows, runs, proxy_analysis)
    write_tables(study_name, runs, rows)
    draw_figures(study_name, study, runs, rows)
    blocks = build_document(study, runs, rows, comparisons, verdicts, provenance(plan.params, study_name, runs), proxy_analysis)
    folder = Path(path("report", study=study_name)).parent
    write_text(path("report", study=study_name), document.to_markdown(blocks))
    write_text(path("report_html", study=study_name), document.to_html(blocks, study["title"], folder))
    best = best_row(rows)
    baseline = next((row for row in rows if row["variant"] == study.get("baseline")), None)
    write_json(path("verdicts", study=study_name), {
        "title": study["title"],
        "status": "complete" if all(row["status"] == "ok" for row in rows) else "; ".join(
            f"{row['variant']}: {row['status']}" for row in rows if row["status"] != "ok"),
        "baseline": baseline and {"variant": baseline["variant"], "test_error": baseline["test"] and baseline["test"]["mean"],
                                  "published": baseline["reference_test_error"]},
        "best": best and {"variant": best["variant"], "test_error": best["test"]["mean"], "std": best["test"]["std"]},
        "claims": [{key: claim[key] for key in ("text", "source", "quantity", "verdict")} for claim in verdicts],
    })
    return rows


def run_plot(plan, study_name, plot_name):
    """The `plot` stage: one of the card's `plots`, drawn from the runs of its variants."""
    plot = next(plot for plot in params_config.read_card(study_name)["plots"] if plot["name"] == plot_name)
    study, runs = collect(plan.params, study_name, params_config.plot_variants(params_config.study_settings(plan.params, study_name), plot))
    target = path("plot", study=study_name, plot=plot_name)
    if plot["kind"] == "proxies":
        accuracy, scores = proxy_inputs(study_name, runs)
        first = next(iter(scores.values()))
        figures.proxies_against_accuracy(accuracy, {**first, "vote": ranking.vote(first)}, plot["title"], target)
        return
    if plot["kind"] == "signal_propagation":
        figures.signal_propagation({variant: variant_runs[0]["train"]["signal_propagation"] for variant, variant_runs in runs.items()}, target)
        return
    if plot["kind"] == "timing":
        lines, bands = timing_series(plan.params, study_name, study, runs, plot["regularizer"])
        x_label = "deficit length: epochs of blurred inputs" if plot["regularizer"] == "blur" else "switch epoch k"
        closed = gap_closed(lines, bands) if plot["regularizer"] == "blur" else {}
        title = plot["title"] + ("".join(["; the restart closes ", " / ".join(f"{share:.0%}" for share in closed.values()),
                                          " of the gap at k = ", " / ".join(map(str, closed))]) if closed else "")
        figures.error_against(lines, x_label, None, title, target, bands)
        return
    lines = {}
    for row in summarise(study, runs):
        config = params_config.resolve_variant(plan.params, study_name, row["variant"])
        lines.setdefault(params_config.setting(config, plot["series"]), []).append(
            (params_config.setting(config, plot["x"]), list(row["test_per_seed"].values()), row["diverged_runs"], len(runs[row["variant"]])))
    figures.error_against(_by_x(lines), plot["x"], plot["series"], plot["title"], target)


def timing_series(params, study_name, study, runs, regularizer):
    """A timing plot's lines (removed after k / applied from k; for the blur, its length with and
    without a learning-rate restart) and bands (the variants that never switch: always and never
    for a regulariser, no deficit for the blur), from each variant's `timing` window."""
    lines, bands = {}, {}
    for row in summarise(study, runs):
        config = params_config.resolve_variant(params, study_name, row["variant"])
        timing = config.get("timing", {})
        window = timing.get(regularizer)
        values = list(row["test_per_seed"].values())
        if window is None:
            if regularizer == "blur":
                label = "no deficit"
            else:
                present = config["optimizer"].get("weight_decay") if regularizer == "weight_decay" else config["augment_shift_pixels"]
                label = "always" if present else "never"
            bands[f"{label} (`{row['variant']}`)"] = values
            continue
        if regularizer == "blur":
            series, x = ("learning rate restarted" if timing.get("reset_learning_rate") else "no restart"), window["until"]
        else:
            series, x = ("removed after epoch k", window["until"]) if "until" in window else ("applied from epoch k", window["from"])
        lines.setdefault(series, []).append((x, values, row["diverged_runs"], len(runs[row["variant"]])))
    return _by_x(lines), bands


def _by_x(lines):
    """Each series' points in order of their x."""
    return {series: sorted(points, key=lambda point: point[0]) for series, points in lines.items()}


def gap_closed(lines, bands):
    """Per deficit length, the share of the gap to the no-deficit band (mean errors) that
    restarting the learning rate closes: (no restart - restarted) / (no restart - no deficit)."""
    if len(bands) != 1 or not {"no restart", "learning rate restarted"} <= set(lines):
        return {}
    clean = float(np.mean(next(iter(bands.values()))))
    restarted = {x: float(np.mean(values)) for x, values, _, _ in lines["learning rate restarted"] if values}
    shares = {}
    for x, values, _, _ in lines["no restart"]:
        if values and x in restarted and np.mean(values) > clean:
            shares[x] = (np.mean(values) - restarted[x]) / (np.mean(values) - clean)
    return shares


def run_index(plan):
    """reports/index.md and index.html: each study's headline and the verdict on every claim."""
    studies = {name: json.loads(Path(path("verdicts", study=name)).read_text()) for name in plan.params["studies"]}
    lines = []
    for name, summary in studies.items():
        baseline, best = summary["baseline"], summary["best"]
        headline = ((f"`{baseline['variant']}` {_number(baseline['test_error'])}% test error"
                     + (f" (published {_number(baseline['published'])}%)" if baseline["published"] is not None else "")) if baseline else "")
        if best:
            headline += f"{'; ' if baseline else ''}best `{best['variant']}` {best['test_error']:.2f} ± {best['std']:.2f}%"
        lines.append([summary["title"], headline, summary["status"], f"[{name}/README.md]({name}/README.md)"])
    claims = [[f"`{name}`", claim["text"], claim["source"], claim["quantity"], f"**{claim['verdict']}**"]
              for name, summary in studies.items() for claim in summary["claims"]]
    blocks = [
        document.heading(1, "reprolab reports"),
        document.paragraph("Generated by `reprolab index` from each study's report; errors in percent, mean over seeds."),
        document.table(["study", "headline", "status", "report"], lines),
        document.heading(2, "Reproducibility"),
        document.paragraph(VERDICT_RULE),
        document.table(["study", "claim", "source", "measured", "verdict"], claims),
    ]
    write_text(path("index"), document.to_markdown(blocks))
    write_text(path("index_html"), document.to_html(blocks, "reprolab reports", Path(path("index")).parent))
