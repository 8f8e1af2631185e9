"""The `report` stage: one study's runs into reports/<study>/ (README.md, a self-contained
report.html, the tables, verdicts.json for the index and the standard figures)."""

from pathlib import Path

import numpy as np

from reprolab import outcomes
from reprolab.atomic import write_json, write_text
from reprolab.planning.paths import path
from reprolab.reporting import document, figures, ranking, verdicts
from reprolab.reporting.page import build_document, decision_text, measured_text
from reprolab.reporting.provenance import provenance
from reprolab.reporting.summary import best_row, collect, compare_with_baseline, example_variants, proxy_inputs, summarise
from reprolab.reporting.changes import since_committed
from reprolab.reporting.tables import study_metrics, write_tables


def draw_figures(study_name, study, runs, rows):
    """The PNGs under reports/<study>/figures/ (a figure that cannot be drawn says why instead)."""
    folder = Path(path("report", study=study_name)).parent / "figures"
    figures.learning_curves(runs, folder / "learning_curves.png")
    figures.error_bars(rows, folder / "test_error.png")
    shown = [(variant, [run for run in runs[variant] if outcomes.trained(run)]) for variant in example_variants(study, rows)]
    shown = [(variant, trained) for variant, trained in shown if trained]
    if not shown:
        for name in ("confusion.png", "misclassified.png"):
            figures.message("no run of the variants shown trained", folder / name)
        return
    figures.confusion_matrices(
        [(f"{variant}: test set, summed over {len(trained)} {'seed' if len(trained) == 1 else 'seeds'} "
          f"({sum(run['metrics']['test_errors'] for run in trained)} misses of {sum(run['metrics']['test_examples'] for run in trained)})",
          np.sum([run["metrics"]["confusion"] for run in trained], axis=0)) for variant, trained in shown], folder / "confusion.png")
    panels = []
    for variant, trained in shown:
        seed, dataset = trained[0]["seed"], trained[0]["train"]["config"]["dataset"]
        with np.load(path("prepared", dataset=dataset)) as arrays, \
                np.load(path("predictions", study=study_name, variant=variant, seed=seed)) as predictions:
            panels.append((f"{variant} seed {seed}", arrays["x_test"], predictions["labels"], predictions["predicted"]))
    figures.misclassified_grids(panels, folder / "misclassified.png")


def reproduce_commands(plan, study_name, study):
    """Per variant: the Snakemake target of its runs, and the command of its train job (every seed
    trained and evaluated)."""
    return {variant: (f"snakemake --cores all {path('runs', study=study_name, variant=variant)}",
                      [plan.job("train", study=study_name, variant=variant).command]) for variant in study["variants"]}


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
    metrics = study_metrics(rows, judged, proxy_analysis)
    changes = since_committed(study_name, metrics, judged)
    write_tables(study_name, runs, rows, metrics)
    draw_figures(study_name, study, runs, rows)
    blocks = build_document(study_name, study, runs, rows, comparisons, judged, provenance(plan.params, study_name, runs), changes,
                            reproduce_commands(plan, study_name, study), proxy_analysis)
    folder = Path(path("report", study=study_name)).parent
    write_text(path("report", study=study_name), document.to_markdown(blocks))
    write_text(path("report_html", study=study_name), document.to_html(blocks, study["title"], folder))
    best = best_row(rows)
    baseline = next((row for row in rows if row["variant"] == study.get("baseline")), None)
    failed = [row for row in rows if row["failed_runs"]]
    write_json(path("verdicts", study=study_name), {
        "title": study["title"],
        "main_claim": study.get("main_claim", 1),
        "status": "every run trained" if not failed else "; ".join(f"{row['variant']}: {row['failed_runs']}/{row['runs']} failed" for row in failed),
        "baseline": baseline and {"variant": baseline["variant"], "test_error": baseline["test"] and baseline["test"]["mean"],
                                  "published": baseline["reference_test_error"]},
        "best": best and {"variant": best["variant"], "test_error": best["test"]["mean"], "std": best["test"]["std"]},
        "claims": [{"text": claim["text"], "source": claim["source"], "quantity": claim["quantity"], "verdict": claim["verdict"],
                    "published": claim.get("published", ""), "measured": measured_text(claim), "undecided": decision_text(claim),
                    "seeds_needed": claim.get("seeds_needed")} for claim in judged],
    })
    return rows
