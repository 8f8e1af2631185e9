"""Reports built from fixture runs (no training): the numbers, intervals, verdicts and statuses
in the table are those of the fixtures, failed runs (diverged, collapsed) are counted and kept
out of the statistics, and the HTML is one self-contained file that renders in a real headless
Chromium (its screenshot stays under the test's temp dir)."""

import json
import os
import math
import re
import shutil

import numpy as np
import pytest
import yaml

from reprolab import outcomes
from reprolab.planning.graph import build_plan
from reprolab.planning.paths import path
from reprolab.reporting import changes, index, page, plots, provenance, stats, study, verdicts

T_975_2 = 4.302652729911275  # the 97.5% quantile of Student's t with 2 degrees of freedom
TEST_ERRORS = {  # variant -> per-seed test error %, seeds 0, 1, 2
    "base": [5.0, 5.5, 7.0],
    "better": [2.0, 3.0, 4.0],
    "same": [5.1, 5.4, 7.2],
    "broken": [4.0, 90.0, 5.0],  # seed 1 diverged
    "collapsed": [4.5, 90.0, 5.5],  # seed 1 answers one digit for every image
}
TEST_EXAMPLES = 200
FAILED = {("broken", 1): "diverged", ("collapsed", 1): "collapsed"}
PARAMS = {
    "datasets": {"digits": {"source": "digits"}},
    "studies": {"fixture": {
        "dataset": "digits",
        "seeds": [0, 1, 2],
        "baseline": "base",
        "base": {"model": {"name": "lecun1989", "activation": "tanh", "output_activation": "tanh", "dropout": 0.0},
                 "loss": "mse_pm1", "optimizer": {"name": "sgd", "learning_rate": 0.03}, "schedule": {"name": "constant"},
                 "epochs": 3, "batch_size": 1, "shuffle": False, "augment_shift_pixels": 0},
        "variants": {name: {} for name in TEST_ERRORS},
    }},
}
CARD = {
    "title": "Fixture study",
    "question": "Do the fixture numbers come through?",
    "notes": ["the fixture's notes come first"],
    "deviations": ["fixture runs are written by hand"],
    "claims": [{"source": "fixture", "published": "a fixture figure", **claim} for claim in [
        {"text": "better beats base", "kind": "improves", "variant": "better", "over": "base"},
        {"text": "same beats better", "kind": "improves", "variant": "same", "over": "better"},
        {"text": "same beats base", "kind": "improves", "variant": "same", "over": "base"},
        {"text": "base reaches 6.00", "kind": "reproduces", "variant": "base", "tolerance": 0.5},
        {"text": "same matches base", "kind": "matches", "variant": "same", "over": "base", "tolerance": 1.0},
        {"text": "better matches base", "kind": "matches", "variant": "better", "over": "base", "tolerance": 0.5},
        {"text": "better beats base early", "kind": "improves", "variant": "better", "over": "base", "epoch": 1},
        {"text": "same costs little where better helps", "kind": "matches", "variant": "same", "over": "base", "tolerance": 1.0,
         "effect": {"variant": "better", "over": "base"}},
        {"text": "same costs little where same helps", "kind": "matches", "variant": "same", "over": "base", "tolerance": 1.0,
         "effect": {"variant": "same", "over": "base"}},
        {"text": "base fails less than collapsed", "kind": "improves", "measure": "failure_rate", "variant": "base", "over": "collapsed"},
        {"text": "collapsed trains where it trains", "kind": "matches", "variant": "collapsed", "over": "base", "tolerance": 1.0},
    ]],
    "plots": [{"name": "error_vs_epochs", "kind": "error_vs", "title": "fixture plot", "x": "epochs", "series": "loss",
               "variants": ["base", "better", "broken"]}],
    "references": {"variants": {"base": {"source": "fixture paper", "train_error": 0.5, "test_error": 6.0},
                                "better": {"source": "fixture paper", "test_error": 2.5}}},
    "paper_table": {"title": "Paper layout", "rows": [
        {"label": "fixture row", "without": "base", "with": "broken", "published_without": {"best": 97.4, "mean": 91.7}}]},
}


def misses(test_error):
    return round(test_error * TEST_EXAMPLES / 100)


def error_cell(values):
    """The results table's test error cell: mean ± sd with the mean misses of the TEST_EXAMPLES."""
    counts = [misses(value) for value in values]
    count = f"{np.mean(counts):.0f}" if float(np.mean(counts)).is_integer() else f"≈{np.mean(counts):.0f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f} ({count} of {TEST_EXAMPLES})"


def write_run(variant, seed, test_error, failure=None):
    wildcards = {"study": "fixture", "variant": variant, "seed": seed}
    diverged = failure == "diverged"
    labels = np.arange(20) % 10
    predicted = np.zeros(20, dtype=int) if failure else labels.copy()
    if not failure:
        predicted[:3] = (labels[:3] + 1) % 10
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    folder = path("model", **wildcards).rsplit("/", 1)[0]
    os.makedirs(folder, exist_ok=True)
    status = "diverged" if diverged else "ok"
    config = {**PARAMS["studies"]["fixture"]["base"], "dataset": "digits"}
    with open(path("train_info", **wildcards), "w") as handle:
        json.dump({"status": status, "diverged_epoch": 2 if diverged else None, "epochs_completed": 2 if diverged else 3,
                   "parameters": 9760, "macs": 63660, "wall_seconds": 10.0 + seed, "config": config,
                   "runtime": {"backend": "tensorflow", "device": "cpu", "machine": "fixture", "versions": {"keras": "3"}}}, handle)
    with open(path("metrics", **wildcards), "w") as handle:
        json.dump({"status": status, "test_error_percent": test_error, "test_errors": misses(test_error), "test_examples": TEST_EXAMPLES, "train_error_percent": test_error / 10,
                   "confusion": confusion.tolist(), "dataset_sha256": "f" * 64}, handle)
    with open(path("history", **wildcards), "w") as handle:
        handle.write("epoch,loss,train_error_percent,test_error_percent,learning_rate,seconds\n")
        for epoch in range(1, 4):
            loss = "nan" if diverged and epoch >= 2 else str(1.0 / epoch)
            handle.write(f"{epoch},{loss},{test_error / 10 + 3 - epoch},{test_error + 3 - epoch},0.03,1.0\n")
    np.savez(path("predictions", **wildcards), labels=labels, predicted=predicted, outputs=np.zeros((20, 10)))


@pytest.fixture
def fixture_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    (tmp_path / "workflow" / "studies").mkdir(parents=True)
    (tmp_path / "workflow" / "studies" / "fixture.yaml").write_text(yaml.safe_dump(CARD))
    (tmp_path / "data" / "prepared").mkdir(parents=True)
    np.savez(path("prepared", dataset="digits"), x_test=np.linspace(-1, 1, 20 * 256).reshape(20, 16, 16, 1))
    for variant, errors in TEST_ERRORS.items():
        for seed, error in enumerate(errors):
            write_run(variant, seed, error, FAILED.get((variant, seed)))
    plan = build_plan("params.yaml")
    plots.run_plot(plan, "fixture", "error_vs_epochs")
    study.run(plan, "fixture")
    index.run_index(plan)
    return tmp_path


def table_rows(markdown, first_cell):
    """The cells of every Markdown table row whose first cell starts with first_cell."""
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in markdown.splitlines() if line.startswith("| ")]
    return [row for row in rows if row[0].startswith(first_cell)]


def t_interval(values):
    mean, std = np.mean(values), np.std(values, ddof=1)
    half = T_975_2 * std / math.sqrt(len(values))
    return mean, std, mean - half, mean + half


def test_results_table_holds_the_fixture_numbers_and_their_intervals(fixture_reports):
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    for variant in ("base", "better", "same"):
        mean, std, low, high = t_interval(TEST_ERRORS[variant])
        row = table_rows(readme, f"`{variant}`")[0]
        assert row[1:5] == ["0/3", error_cell(TEST_ERRORS[variant]), f"[{low:.2f}, {high:.2f}]",
                            " ".join(f"{value:.2f} ({misses(value)})" for value in TEST_ERRORS[variant])]
    assert table_rows(readme, "`better` **(best)**"), "the lowest mean test error is marked best"
    base = table_rows(readme, "`base`")[0]
    assert base[7:10] == ["6.00", "0.50", f"{np.mean(TEST_ERRORS['base']) - 6.0:+.2f}"]
    assert base[10:12] == ["9760", "63660"]


def test_a_missing_reference_is_blank(fixture_reports):
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    same = table_rows(readme, "`same`")[0]
    assert same[7:10] == ["", "", ""]
    better = table_rows(readme, "`better`")[0]
    assert better[7:10] == ["2.50", "", f"{np.mean(TEST_ERRORS['better']) - 2.5:+.2f}"]


@pytest.mark.parametrize("variant, failure", [("broken", "diverged at epoch 2"), ("collapsed", "collapsed")])
def test_a_failed_run_is_counted_and_stays_out_of_the_statistics(fixture_reports, variant, failure):
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    row = table_rows(readme, f"`{variant}`")[0]
    trained = [TEST_ERRORS[variant][0], TEST_ERRORS[variant][2]]
    assert row[1] == "1/3"
    assert row[2] == error_cell(trained)
    assert row[4] == f"{trained[0]:.2f} ({misses(trained[0])}) ({failure}) {trained[1]:.2f} ({misses(trained[1])})"
    assert row[-1] == f"seed 1 {failure}"
    assert outcomes.FAILURE_RULE in readme, "the page states the rule that decides a failure"
    assert f"{variant}: 1/3 failed" in (fixture_reports / "reports/index.md").read_text()


def test_paired_comparisons_adjust_for_multiple_comparisons(fixture_reports):
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    comparison = readme.split("## Each variant against the baseline")[1].split("## Claims")[0]
    assert "Holm" in comparison
    rows = {row[0]: row for row in table_rows(comparison, "`")}
    mean, _, low, high = t_interval(np.subtract(TEST_ERRORS["better"], TEST_ERRORS["base"]))
    assert rows["`better`"][1:3] == [f"{mean:+.2f}", f"[{low:.2f}, {high:.2f}]"]
    p_values = [float(row[3]) for row in rows.values()]
    assert [float(row[4]) for row in rows.values()] == pytest.approx(stats.holm(p_values), abs=3e-3)
    assert rows["`better`"][-1] == "lower test error than the baseline"
    assert rows["`same`"][-1] == "not significant after Holm's adjustment"
    assert rows["`broken`"][5] == rows["`collapsed`"][5] == "2", "only the seeds both variants trained are paired"


def test_claims_get_the_verdict_of_the_stated_rule(fixture_reports):
    claims = {claim["text"]: claim for claim in json.loads((fixture_reports / "reports/fixture/verdicts.json").read_text())["claims"]}
    assert {text: claim["verdict"] for text, claim in claims.items()} == {
        "better beats base": "supported", "same beats better": "contradicted", "same beats base": "inconclusive",
        "base reaches 6.00": "inconclusive", "same matches base": "supported", "better matches base": "contradicted",
        "better beats base early": "supported", "same costs little where better helps": "supported",
        "same costs little where same helps": "inconclusive", "base fails less than collapsed": "inconclusive",
        "collapsed trains where it trains": "inconclusive"}
    assert "the effect it qualifies (`same` against `base`) is not detected" in claims["same costs little where same helps"]["undecided"]
    needed = stats.seeds_needed_proportions(0.0, 1 / 3)
    assert claims["base fails less than collapsed"]["seeds_needed"] == needed
    # base failed 0 of 3, collapsed 1 of 3: the measured difference points the claim's way
    assert f"about {needed} seeds per variant would decide it, most likely for the claim" in claims["base fails less than collapsed"]["undecided"]
    assert claims["base fails less than collapsed"]["measured"].startswith("0% vs 33% failed: -33 points [")
    assert claims["better beats base"]["published"] == "a fixture figure"
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    assert "## Scope of reproducibility" in readme and "fixture runs are written by hand" in readme
    index = (fixture_reports / "reports/index.md").read_text()
    assert "11 claims: 4 supported, 2 contradicted, 5 inconclusive." in index
    assert "**contradicted**" in index and verdicts.VERDICT_RULE in index and outcomes.FAILURE_RULE in index


def test_a_fragile_verdict_is_undecided_and_says_how_many_seeds_would_decide_it():
    runs = {name: [{"seed": seed, "train": {"status": "ok", "diverged_epoch": None},
                    "metrics": {"test_error_percent": error, "confusion": (np.eye(10, dtype=int) * 10).tolist()}}
                   for seed, error in enumerate(errors)] for name, errors in {"a": [5.0, 5.1, 5.2], "b": [5.4, 5.3, 5.5]}.items()}
    claim = {"text": "a beats b", "source": "s", "kind": "improves", "variant": "a", "over": "b"}
    judged = verdicts.judge(claim, runs, {})
    difference = stats.paired_difference({0: 5.0, 1: 5.1, 2: 5.2}, {0: 5.4, 1: 5.3, 2: 5.5})
    assert difference["high"] < 0, "the interval alone would call it supported"
    needed = stats.seeds_needed_paired(difference["mean"], difference["std"], 0.0, "below")
    assert needed > 3 and judged["verdict"] == "inconclusive" and judged["reason"].startswith("fragile: the measurement says supported")
    assert judged["seeds_needed"] == needed


@pytest.mark.parametrize("errors, verdict", [
    ([5.0, 6.0, 5.5, 5.2, 5.8], "supported"),     # +0.04 on average: well under the 0.5 tolerated
    ([3.0, 4.1, 3.4, 3.1, 3.9], "supported"),     # cheaper than free: a cost claim holds
    ([6.5, 7.6, 7.1, 6.6, 7.4], "contradicted"),  # +1.6: the whole interval above the tolerance
])
def test_a_cost_claim_is_supported_below_its_tolerance_and_contradicted_above_it(errors, verdict):
    runs = {name: [{"seed": seed, "train": {"status": "ok", "diverged_epoch": None},
                    "metrics": {"test_error_percent": error, "confusion": (np.eye(10, dtype=int) * 10).tolist()}}
                   for seed, error in enumerate(values)] for name, values in {"compressed": errors, "float": [5.0, 6.0, 5.4, 5.1, 5.8]}.items()}
    claim = {"text": "costs little", "source": "s", "kind": "costs_less_than", "variant": "compressed", "over": "float", "tolerance": 0.5}
    assert verdicts.judge(claim, runs, {})["verdict"] == verdict


def test_one_seed_prints_no_spread_and_no_interval():
    single = stats.summary([4.0])
    assert page._mean_std(single) == "4.00" and page._interval(single) == ""


def test_html_is_one_self_contained_file(fixture_reports):
    page = (fixture_reports / "reports/fixture/report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 5 and all(source.startswith("data:image/png;base64,") for source in images)
    assert not re.search(r'(src|href)="(https?:)?//', page), "nothing is fetched from the network"
    assert "<td>[0.52, 5.48]</td>" in page
    assert 'href="fixture/report.html"' in (fixture_reports / "reports/index.html").read_text()
    for name in ("learning_curves", "test_error", "confusion", "misclassified"):
        assert (fixture_reports / f"reports/fixture/figures/{name}.png").read_bytes().startswith(b"\x89PNG")
    assert (fixture_reports / "reports/fixture/plots/error_vs_epochs.png").read_bytes().startswith(b"\x89PNG")


def test_the_index_shows_each_studys_main_claim_with_its_numbers_and_links_that_work(fixture_reports):
    claims = json.loads((fixture_reports / "reports/fixture/verdicts.json").read_text())["claims"]
    main = claims[0]  # the card names no main_claim: the first
    index = (fixture_reports / "reports/index.md").read_text()
    row = table_rows(index, "[fixture](fixture/README.md)")[0]
    assert row[1:5] == [main["text"], main["published"], main["measured"], f"**{main['verdict']}**"]
    assert row[5] == "4 supported, 2 contradicted, 5 inconclusive"
    mean, _, low, high = t_interval(np.subtract(TEST_ERRORS["better"], TEST_ERRORS["base"]))
    assert main["measured"] == f"{mean:+.2f} [{low:.2f}, {high:.2f}] (n = 3)"
    html = (fixture_reports / "reports/index.html").read_text()
    assert '<a href="fixture/report.html">fixture</a>' in html and 'href="../README.md"' in html
    page_html = (fixture_reports / "reports/fixture/report.html").read_text()
    assert 'href="../index.html"' in page_html and 'href="../../README.md"' in page_html, "the project README stays the README"
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    assert "[All studies](../index.md)" in readme and "[Project README](../../README.md)" in readme


def test_each_row_says_how_to_reproduce_it_and_the_card_words_sit_under_the_question(fixture_reports):
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    reproduce = {row[0]: row for row in table_rows(readme.split("## Reproduce a row")[1], "`")}
    assert reproduce["`base`"][1:3] == ["`snakemake --cores all data/runs/fixture/base`", "`reprolab run data/jobs/train-fixture-base.json`"]
    question = readme.index(CARD["question"])
    assert question < readme.index(CARD["notes"][0]) < readme.index(CARD["deviations"][0]) < readme.index("## Results")


def test_changes_list_flipped_verdicts_values_outside_their_interval_and_new_failures():
    before = {"base": {"test_error_percent": 5.0, "test_error_low": 4.0, "test_error_high": 6.0, "failed_runs": 0, "runs": 3},
              "claim1": {"value": -1.0, "low": -2.0, "high": -0.5, "verdict": "supported"},
              "claim2": {"value": 0.1, "low": -0.4, "high": 0.6, "verdict": "inconclusive"}}
    after = {"base": {"test_error_percent": 5.9, "test_error_low": 5.0, "test_error_high": 6.8, "failed_runs": 1, "runs": 3},
             "claim1": {"value": -0.2, "low": -0.9, "high": 0.5, "verdict": "inconclusive"},
             "claim2": {"value": 0.3, "low": -0.2, "high": 0.8, "verdict": "inconclusive"}}
    items = changes.compare(before, after, {"claim1": "a beats b", "claim2": "c matches d"})
    assert items == ["`base`: failed runs 0/3 → 1/3", "claim1 (a beats b): verdict supported → **inconclusive**",
                     "claim1 (a beats b): measured value -1.00 → -0.20, outside its earlier interval [-2.00, -0.50]"]
    assert changes.compare(before, before, {}) == []


def test_changes_pair_each_claim_with_its_own_earlier_figures_when_the_card_inserts_or_drops_claims():
    before = {"claim1": {"value": -1.0, "low": -2.0, "high": -0.5, "verdict": "supported"},
              "claim2": {"value": 40.0, "low": 38.0, "high": 42.0, "verdict": "inconclusive"},
              "claim3": {"value": 0.5, "low": 0.1, "high": 0.9, "verdict": "supported"}}
    after = {"claim1": {"value": -1.1, "low": -2.1, "high": -0.6, "verdict": "supported"},
             "claim2": {"value": -7.0, "low": -9.0, "high": -5.0, "verdict": "supported"},
             "claim3": {"value": 40.5, "low": 38.5, "high": 42.5, "verdict": "inconclusive"}}
    aligned = changes.align_claims(before, {"claim1": "a beats b", "claim2": "c is 40", "claim3": "d beats e"},
                                   {"claim1": "a beats b", "claim2": "f beats c", "claim3": "c is 40"})
    assert changes.compare(aligned, after, {"claim1": "a beats b", "claim2": "f beats c", "claim3": "c is 40"}) == [
        "claim2 (f beats c): new", "`claim3 (d beats e)`: removed"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_html_renders_in_headless_chromium(fixture_reports, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    page_path = fixture_reports / "reports" / "fixture" / "report.html"
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems, requests = [], []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        rows = page.locator("table").first.locator("tbody tr").count()
        images = page.evaluate("[...document.images].map(image => [image.complete, image.naturalWidth])")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert rows == 11, "one row per claim in the first table (scope of reproducibility)"
    assert len(images) == 5 and all(complete and width > 0 for complete, width in images), f"broken image: {images}"
    assert problems == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_timing_plot_draws_each_variant_by_its_window_and_the_unswitched_ones_as_bands():
    base = {"model": {"name": "cnn", "widths": [4], "kernel_sizes": [3], "pooling": "max", "dense_width": 0, "activation": "relu"},
            "loss": "cross_entropy", "optimizer": {"name": "sgd", "learning_rate": 0.1}, "schedule": {"name": "linear", "final_learning_rate": 0.001},
            "epochs": 8, "batch_size": 16, "shuffle": True, "augment_shift_pixels": 0}
    variants = {"plain": {}, "decay": {"optimizer": {"weight_decay": 0.1}},
                "decay_until_2": {"extends": "decay", "timing": {"weight_decay": {"until": 2}}},
                "decay_from_4": {"extends": "decay", "timing": {"weight_decay": {"from": 4}}},
                "blur_4": {"timing": {"blur": {"until": 4}}}, "blur_4_reset": {"timing": {"blur": {"until": 4}, "reset_learning_rate": True}}}
    params = {"datasets": {"digits": {"source": "digits"}}, "studies": {"timed": {"dataset": "digits", "seeds": [0], "base": base, "variants": variants}}}
    errors = {**{name: 3.0 + index for index, name in enumerate(variants)}, "blur_4_reset": 6.0}  # plain 3, blur_4 7
    trained = (np.eye(10, dtype=int) * 10).tolist()
    runs = {name: [{"seed": 0, "metrics": {"test_error_percent": error, "train_error_percent": error, "test_errors": 1, "test_examples": 20, "confusion": trained},
                    "train": {"status": "ok", "diverged_epoch": None, "parameters": 1, "wall_seconds": 1.0, "config": base}}]
            for name, error in errors.items()}

    lines, bands = plots.timing_series(params, "timed", {}, {name: runs[name] for name in ("plain", "decay", "decay_until_2", "decay_from_4")}, "weight_decay")
    assert lines == {"removed after epoch k": [(2, [errors["decay_until_2"]], 0, 1)], "applied from epoch k": [(4, [errors["decay_from_4"]], 0, 1)]}
    assert bands == {"never (plain)": [errors["plain"]], "always (decay)": [errors["decay"]]}
    lines, bands = plots.timing_series(params, "timed", {}, {name: runs[name] for name in ("plain", "blur_4", "blur_4_reset")}, "blur")
    assert lines == {"no restart": [(4, [errors["blur_4"]], 0, 1)], "learning rate restarted": [(4, [errors["blur_4_reset"]], 0, 1)]}
    assert bands == {"no deficit (plain)": [errors["plain"]]}
    # blur_4 is 4 points worse than plain, the restart 1 point better than blur_4: a quarter of the gap
    assert plots.gap_closed(lines, bands) == {4: pytest.approx(0.25)}


def test_the_paper_table_shows_best_and_mean_accuracy_and_the_runs_that_failed(fixture_reports):
    readme = (fixture_reports / "reports/fixture/README.md").read_text()
    row = table_rows(readme, "fixture row")[0]
    base = [100 - error for error in TEST_ERRORS["base"]]
    broken = [96.0, 10.0, 95.0]  # the diverged seed counts at chance, as the paper's means include failed runs
    assert row[1:] == [f"{max(base):.1f} / {np.mean(base):.1f}", "0/3", f"{max(broken):.1f} / {np.mean(broken):.1f}", "1/3", "97.4 / 91.7", ""]


def test_provenance_says_when_runs_come_from_different_cpus():
    def made_on(model, flags):
        return {"train": {"runtime": {"cpu": {"model": model, "flags": flags},
                                      "kernels": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"}}}}
    same = [made_on("AMD EPYC", ["avx", "avx2"])] * 2
    assert provenance.machines(same) == "AMD EPYC (avx avx2; TF_ENABLE_ONEDNN_OPTS=0, ONEDNN_MAX_CPU_ISA=AVX2): 2 runs"
    mixed = provenance.machines(same + [made_on("Intel Xeon", ["avx", "avx2", "avx512f", "avx512_vnni"])])
    assert mixed.startswith("RUNS DIFFER IN CPU OR KERNEL SETTINGS") and "Intel Xeon" in mixed and ": 2 runs" in mixed
