"""The `report` stage: one study's runs into reports/<study>/ (README.md, a self-contained
report.html, the tables, verdicts.json for the index and the standard figures)."""

from pathlib import Path

import numpy as np

from reprolab import outcomes
from reprolab.atomic import write_json, write_text
from reprolab.plan import path
from reprolab.reporting import document, figures, ranking, verdicts
from reprolab.reporting.page import build_document, decision_text, measured_text
from reprolab.reporting.provenance import provenance
from reprolab.reporting.summary import best_row, collect, compare_with_baseline, proxy_inputs, summarise
from reprolab.reporting.tables import write_tables


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
