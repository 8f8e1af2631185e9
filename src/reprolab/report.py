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
from reprolab import document, figures, outcomes, ranking, stats, sweeps, verdicts
from reprolab.atomic import write_json, write_text
from reprolab.plan import path

CHANCE_ERROR = 90.0  # zero-cost proxies rank a diverged architecture at chance accuracy


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
    accuracy = [100.0 - float(np.mean(list(all_errors(variant_runs).values()))) for variant_runs in runs.values()]
    scores = {seed: {name: [record["variants"][variant]["scores"][seed][name] for variant in runs] for name in params_config.PROXIES}
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
            "failed_runs": len(variant_runs) - len(finished),
            "trained_runs": len(finished),
            "runs": len(variant_runs),
        })
    return rows


def best_row(rows):
    finished = [row for row in rows if row["test"]]
    return min(finished, key=lambda row: row["test"]["mean"]) if finished else None


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
        "CPUs the runs were made on": machines(all_runs),
        "library versions": ", ".join(f"{name} {version}" for name, version in first["train"]["runtime"]["versions"].items()),
        "runs": f"{len(all_runs)} ({sum(run['train']['status'] == 'ok' for run in all_runs)} ok)",
        "total training time": f"{sum(run['train']['wall_seconds'] for run in all_runs) / 60:.1f} min",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machines(all_runs):
    """The CPU model, its kernel-relevant ISA flags and the kernel settings (runtime.PORTABLE_KERNELS)
    of the runs, with how many runs each made: more than one entry means round-off may differ
    between runs (oneDNN picks kernels by instruction set)."""
    counts = {}
    for run in all_runs:
        cpu, kernels = run["train"]["runtime"].get("cpu"), run["train"]["runtime"].get("kernels")
        key = "not recorded" if cpu is None else f"{cpu['model']} ({' '.join(cpu['flags'])}" + (
            f"; {', '.join(f'{name}={value}' for name, value in kernels.items())})" if kernels else "; kernel settings not recorded)")
        counts[key] = counts.get(key, 0) + 1
    listed = "; ".join(f"{key}: {count} runs" for key, count in counts.items())
    return listed if len(counts) == 1 else f"RUNS DIFFER IN CPU OR KERNEL SETTINGS: {listed}"


def _number(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}"


def _signed(value):
    return "" if value is None else f"{value:+.2f}"


def _interval(summary):
    if not summary or summary["low"] is None:
        return ""
    return f"[{summary['low']:.2f}, {summary['high']:.2f}]"


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


def paper_table_blocks(table, runs):
    """The card's `paper_table`: per row, best and mean test accuracy over all seeds without and
    with the change (as the paper averages them; a diverged run counts at chance) and the runs that
    failed, beside the published best / mean."""

    def cell(variant):
        accuracies = [100.0 - error for error in all_errors(runs[variant]).values()]
        failed, total = verdicts.failures(runs[variant])
        return f"{max(accuracies):.1f} / {np.mean(accuracies):.1f}", f"{failed}/{total}"

    def published(reference):
        return "" if not reference else f"{reference['best']:.1f} / {reference['mean']:.1f}"

    rows = []
    for row in table["rows"]:
        (without, failed_without), (with_change, failed_with) = cell(row["without"]), cell(row["with"])
        rows.append([f"{row['label']} (`{row['without']}`, `{row['with']}`)", without, failed_without, with_change, failed_with,
                     published(row.get("published_without")), published(row.get("published_with"))])
    return [
        document.heading(2, table["title"]),
        document.paragraph("Cells: best / mean test accuracy over all seeds, failed runs included as the paper's means include "
                           "them (a diverged run counts at chance); failed: runs that diverged or collapsed (rule above)."),
        document.table(["setting", "without", "failed", "with", "failed", "published without", "published with"], rows),
    ]


def _comparison_blocks(study, comparisons):
    """The section comparing each variant with the baseline."""
    return [
        document.heading(2, f"Each variant against the baseline `{study['baseline']}`"),
        document.paragraph(
            "Exploratory: difference in test error (variant − baseline, percentage points) paired over the seeds both trained, "
            f"with its 95% t-interval, the paired t-test's two-sided p-value and that p-value Holm-adjusted over the "
            f"{sum(item['p_holm'] is not None for item in comparisons)} comparisons of this table that have one; the reading "
            "follows the adjusted p-value (below 0.05), so the table does not rank the noise of many uncorrected comparisons. "
            "An interval that excludes zero can still read \"not significant after Holm\". The claims above are stated in "
            "advance, one test each, and are not adjusted."),
        document.table(
            ["variant", "difference", "95% interval", "p-value", "p (Holm)", "seeds", "reading"],
            [[f"`{item['variant']}`", _signed(item["difference"] and item["difference"]["mean"]), _interval(item["difference"]),
              _p_value(item["difference"] and item["difference"]["p_value"]), _p_value(item["p_holm"]),
              "" if not item["difference"] else len(item["difference"]["seeds"]), item["reading"]] for item in comparisons]),
    ]


def _p_value(value):
    return "" if value is None else f"{value:.3f}"


def measured_text(claim):
    """A claim's measured value with its interval, in the claim's own units."""
    measured = claim["measured"]
    if not measured:
        return "no runs to compare"
    if claim.get("measure") == "failure_rate":
        return (f"{measured['difference']:+.2f} [{measured['low']:.2f}, {measured['high']:.2f}] "
                f"({measured['rate_a']:.0%} vs {measured['rate_b']:.0%} failed), p = {measured['p_value']:.3f}")
    value = _number(measured["mean"]) if claim["kind"] in ("reproduces", "correlates") else _signed(measured["mean"])
    interval = _interval(measured)
    return f"{value} {interval}".strip() + (f" (n = {measured['n']})" if measured.get("n") else "")


def decision_text(claim):
    """Why a claim is undecided and what would decide it."""
    if claim["verdict"] != "inconclusive":
        return ""
    if claim["kind"] in ranking.CLAIM_KINDS:
        return claim["reason"]
    needed, measured = claim["seeds_needed"], claim["measured"]
    if claim.get("measure") != "failure_rate" and (not measured or measured["n"] < 2):
        return "fewer than two seeds trained in both variants: the spread, and so the seeds needed, are unknown"
    seeds = f"about {needed} seeds per variant would decide it" if needed else "no number of seeds up to 200 decides it at the measured effect"
    return f"{claim['reason']}; {seeds}"


def scope_blocks(study, verdicts_judged):
    """The "scope of reproducibility" table: each claim with the source's figure beside the measured one."""
    return [
        document.heading(2, "Scope of reproducibility"),
        document.table(
            ["claim", "source", "published", "measured", "verdict", "undecided because", "deviation that could explain a gap"],
            [[claim["text"], claim["source"], claim.get("published", ""), measured_text(claim), f"**{claim['verdict']}**",
              decision_text(claim), claim.get("deviation", "")] for claim in verdicts_judged]),
        document.paragraph(verdicts.VERDICT_RULE),
        document.paragraph(outcomes.FAILURE_RULE),
    ]


def _mean_std(summary):
    if not summary:
        return ""
    return f"{summary['mean']:.2f}" if summary["std"] is None else f"{summary['mean']:.2f} ± {summary['std']:.2f}"


def sweep_blocks(study_name, study):
    """Each sweep's validation curve: the values tried, their failed runs and validation error, the pick."""
    blocks = []
    for sweep_name, sweep in study.get("sweeps", {}).items():
        record = sweeps.read_pick(study_name, sweep_name)
        users = [name for name, variant in study["variants"].items() if sweep_name in ((variant or {}).get("picked") or [])]
        blocks += [
            document.heading(2, f"Sweep `{sweep_name}`: {sweep['key']} picked on validation"),
            document.paragraph(
                f"`{sweep['variant']}` trained at each value on the training split minus the validation examples, seeds "
                f"{', '.join(map(str, record['seeds']))}; picked: **{record['picked']}** ({record['rule']}). "
                f"Variants that train with it: {', '.join(f'`{name}`' for name in users)}. The test set played no part."),
            document.table(["value", "variant", "failed", "validation error % (trained runs)", "picked"],
                           [[point["value"], f"`{point['variant']}`", f"{point['failed']}/{point['runs']}",
                             _mean_std(stats.summary(point["validation_error_per_seed"])) if point["validation_error_per_seed"] else "",
                             "**yes**" if point["value"] == record["picked"] else ""] for point in record["points"]]),
        ]
    return blocks


def build_document(study_name, study, runs, rows, comparisons, verdicts_judged, source, proxy_analysis=None):
    """The study report's blocks, shared by the Markdown and the HTML."""
    best = best_row(rows)
    blocks = [document.heading(1, study["title"])]
    if study.get("question"):
        blocks.append(document.paragraph(study["question"]))
    if verdicts_judged:
        blocks += scope_blocks(study, verdicts_judged)
    if study.get("deviations"):
        blocks.append(document.heading(2, "Deviations from the papers' protocol"))
        blocks.append(document.bullets(study["deviations"]))
    blocks.append(document.heading(2, "Results"))
    blocks.append(document.paragraph(
        f"Dataset `{study['dataset']}`, seeds {', '.join(map(str, study['seeds']))}"
        + (f", baseline `{study['baseline']}`. " if "baseline" in study else ". ") +
        "Errors are in percent over the runs that trained: mean ± standard deviation, the 95% t-interval of the mean (none "
        "for a single run), then each seed's value; failed runs are counted in `failed` and named in `status`. Validation "
        "error is on the examples held out of training (blank where a variant trains on all of them). Published values "
        "are blank where the literature gives none. Generated by `reprolab report`; do not edit."))
    blocks.append(document.table(
        ["variant", "failed", "test error %", "95% interval", "per seed", "train error %", "validation error %",
         "published test %", "published train %", "measured − published (test)", "params", "MACs", "epochs", "batch", "s / run", "status"],
        [[f"`{row['variant']}`" + (" **(best)**" if row is best else ""), f"{row['failed_runs']}/{row['runs']}", _mean_std(row["test"]),
          _interval(row["test"]), _per_seed(row["test_per_seed"], runs[row["variant"]]), _mean_std(row["train"]), _mean_std(row["validation"]),
          _number(row["reference_test_error"]), _number(row["reference_train_error"]), _signed(row["test_minus_reference"]),
          row["parameters"], "" if row["macs"] is None else row["macs"], row["epochs"], row["batch_size"],
          f"{row['wall_seconds_mean']:.0f}", "trained" if not row["failed_runs"] else row["status"]] for row in rows]))
    blocks += sweep_blocks(study_name, study)
    if proxy_analysis:
        blocks += proxy_blocks(proxy_analysis)
    if "paper_table" in study:
        blocks += paper_table_blocks(study["paper_table"], runs)
    if comparisons:
        blocks += _comparison_blocks(study, comparisons)
    if verdicts_judged:
        blocks.append(document.heading(2, "Claims: what was measured"))
        blocks.append(document.table(["claim", "measured quantity", "value [95% interval]", "verdict"],
                                     [[claim["text"], claim["quantity"], measured_text(claim), f"**{claim['verdict']}**"] for claim in verdicts_judged]))
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
    blocks.append(document.image("figures/test_error.png", "test error per variant over the runs that trained, 95% intervals where n ≥ 2"))
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


def _rounded(value):
    return None if value is None else round(value, 4)


def write_tables(study_name, runs, rows, judged):
    """summary.csv, metrics.json (DVC metrics: per variant, and each claim's measured value and
    verdict, so `dvc metrics diff` shows a claim moving) and curves.csv (DVC plots: mean test error per epoch)."""
    write_text(path("summary", study=study_name), _csv_text(
        ["variant", "status", "failed_runs", "runs", "test_error_mean", "test_error_std", "test_error_low", "test_error_high", "train_error_mean",
         "train_error_std", "validation_error_mean", "reference_test_error", "test_minus_reference", "parameters", "macs", "epochs", "wall_seconds_mean"],
        [[row["variant"], row["status"], row["failed_runs"], row["runs"], *((row["test"] or {}).get(key) for key in ("mean", "std", "low", "high")),
          *((row["train"] or {}).get(key) for key in ("mean", "std")), (row["validation"] or {}).get("mean"), row["reference_test_error"],
          row["test_minus_reference"], row["parameters"], row["macs"], row["epochs"], row["wall_seconds_mean"]] for row in rows]))
    variants = {row["variant"]: {"failed_runs": row["failed_runs"], "runs": row["runs"],
                                 **({"test_error_percent": _rounded(row["test"]["mean"]), "test_error_std": _rounded(row["test"]["std"]),
                                     "train_error_percent": _rounded(row["train"]["mean"])} if row["test"] else {})} for row in rows}
    claims = {f"claim{index + 1}": {"value": _rounded(claim["measured"] and claim["measured"].get("mean", claim["measured"].get("difference"))),
                                    "verdict": claim["verdict"]} for index, claim in enumerate(judged)}
    write_json(path("study_metrics", study=study_name), {**variants, **claims})
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
    finished = [run for run in runs[best["variant"]] if outcomes.trained(run)]
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
    judged = verdicts.judge_claims(study, rows, runs, proxy_analysis)
    write_tables(study_name, runs, rows, judged)
    draw_figures(study_name, study, runs, rows)
    blocks = build_document(study_name, study, runs, rows, comparisons, judged, provenance(plan.params, study_name, runs), proxy_analysis)
    folder = Path(path("report", study=study_name)).parent
    write_text(path("report", study=study_name), document.to_markdown(blocks))
    write_text(path("report_html", study=study_name), document.to_html(blocks, study["title"], folder))
    best = best_row(rows)
    baseline = next((row for row in rows if row["variant"] == study.get("baseline")), None)
    failed = [row for row in rows if row["failed_runs"]]
    write_json(path("verdicts", study=study_name), {
        "title": study["title"],
        "status": "every run trained" if not failed else "; ".join(f"{row['variant']}: {row['failed_runs']}/{row['runs']} failed" for row in failed),
        "baseline": baseline and {"variant": baseline["variant"], "test_error": baseline["test"] and baseline["test"]["mean"],
                                  "published": baseline["reference_test_error"]},
        "best": best and {"variant": best["variant"], "test_error": best["test"]["mean"], "std": best["test"]["std"]},
        "claims": [{"text": claim["text"], "source": claim["source"], "quantity": claim["quantity"], "verdict": claim["verdict"],
                    "published": claim.get("published", ""), "measured": measured_text(claim), "undecided": decision_text(claim),
                    "seeds_needed": claim.get("seeds_needed")} for claim in judged],
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
    if plot["kind"] == "sweep":
        record = sweeps.read_pick(study_name, plot["sweep"])
        points = [(point["value"], point["validation_error_per_seed"], point["failed"], point["runs"]) for point in record["points"]]
        sweep = study["sweeps"][plot["sweep"]]
        figures.error_against({f"`{sweep['variant']}`": points}, sweep.get("label", sweep["key"]), None,
                              f"{plot['title']} (picked: {record['picked']})", target, measured="validation error %")
        return
    lines = {}
    for row in summarise(study, runs):
        config = params_config.resolve_variant(plan.params, study_name, row["variant"])
        lines.setdefault(params_config.setting(config, plot["series"]), []).append(
            (params_config.setting(config, plot["x"]), list(row["test_per_seed"].values()), row["failed_runs"], len(runs[row["variant"]])))
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
        lines.setdefault(series, []).append((x, values, row["failed_runs"], len(runs[row["variant"]])))
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
            spread = "" if best["std"] is None else f" ± {best['std']:.2f}"
            headline += f"{'; ' if baseline else ''}best `{best['variant']}` {best['test_error']:.2f}{spread}%"
        lines.append([summary["title"], headline, summary["status"], f"[{name}/README.md]({name}/README.md)"])
    claims = [[f"`{name}`", claim["text"], claim["source"], claim["published"], claim["measured"], f"**{claim['verdict']}**", claim["undecided"]]
              for name, summary in studies.items() for claim in summary["claims"]]
    counts = {verdict: sum(claim[5] == f"**{verdict}**" for claim in claims) for verdict in ("supported", "contradicted", "inconclusive")}
    blocks = [
        document.heading(1, "reprolab reports"),
        document.paragraph("Generated by `reprolab index` from each study's report; errors in percent, mean over seeds."),
        document.table(["study", "headline", "status", "report"], lines),
        document.heading(2, "Reproducibility"),
        document.paragraph(f"{len(claims)} claims: " + ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) + "."),
        document.paragraph(verdicts.VERDICT_RULE),
        document.paragraph(outcomes.FAILURE_RULE),
        document.table(["study", "claim", "source", "published", "measured [95% interval]", "verdict", "undecided because"], claims),
    ]
    write_text(path("index"), document.to_markdown(blocks))
    write_text(path("index_html"), document.to_html(blocks, "reprolab reports", Path(path("index")).parent))
