"""A study page's layout as document blocks: the scope-of-reproducibility table, results, sweeps,
proxies, the paper's own table, comparisons with the baseline, claims, published figures,
figures and provenance; and the number formats they share with the index."""

import numpy as np

from reprolab import outcomes, sweeps
from reprolab.reporting import document, figures, ranking, stats, verdicts
from reprolab.reporting.summary import all_errors, best_row, example_variants, run_status


def number(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}"


def _signed(value):
    return "" if value is None else f"{value:+.2f}"


def _interval(summary):
    if not summary or summary["low"] is None:
        return ""
    return f"[{summary['low']:.2f}, {summary['high']:.2f}]"


def _per_seed(values, runs):
    """Each seed's test error with its miss count, or why it is not counted."""
    return " ".join(f"{values[run['seed']]:.2f} ({run['metrics']['test_errors']})" if run["seed"] in values else f"({run_status(run)})"
                    for run in runs)


def error_with_misses(row):
    """Mean ± sd test error with the misses it stands for: "6.08 ± 0.19 (≈122 of 2007)"."""
    if not row["test"]:
        return ""
    misses = row["test_misses_mean"]
    count = f"{misses:.0f}" if row["test"]["n"] == 1 or float(misses).is_integer() else f"≈{misses:.0f}"
    return f"{_mean_std(row['test'])} ({count} of {row['test_examples']})"


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
            [[f"`{row['proxy']}`", estimate(row["spearman"], row["spearman_interval"]), number(row["published_spearman"]),
              estimate(row["kendall"], row["kendall_interval"]), number(row["spearman_with_params"]), number(row["spearman_with_flops"]),
              estimate(*row["minus_params"]), estimate(*row["minus_flops"]), f"{row['top_hits']:.0%}",
              f"{row['spearman_over_seeds'][0]:.2f} ± {row['spearman_over_seeds'][1]:.2f}", number(row["seed_agreement"])] for row in rows]),
        document.paragraph(ranking.beats_baselines(analysis)),
    ]


def paper_table_blocks(table, runs):
    """The card's `paper_table`: per row, best and mean test accuracy over all seeds without and
    with the change (as the paper averages them; a diverged run counts at chance, a collapsed one at its own
    accuracy) and the runs that
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
                           "them (a diverged run counts at chance, 10%; a collapsed one at its own accuracy); failed: runs that diverged or "
                           "collapsed (rule above)."),
        document.table(["setting", "without", "failed", "with", "failed", "published without", "published with"], rows),
    ]


def _comparison_blocks(study, comparisons):
    """The section comparing each variant with the baseline (a sentence when no run of it trained)."""
    heading = document.heading(2, f"Each variant against the baseline `{study['baseline']}`")
    if not any(item["difference"] for item in comparisons):
        return [heading, document.paragraph(f"Nothing to compare: no variant has a trained run in a seed where the baseline "
                                            f"`{study['baseline']}` trained (its runs failed; see the results table).")]
    return [
        heading,
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
        return (f"{measured['rate_a']:.0%} vs {measured['rate_b']:.0%} failed: {100 * measured['difference']:+.0f} points "
                f"[{100 * measured['low']:+.0f}, {100 * measured['high']:+.0f}], p = {measured['p_value']:.3f}")
    value = number(measured["mean"]) if claim["kind"] in ("reproduces", "correlates") else _signed(measured["mean"])
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
    way = {True: ", most likely for the claim", False: ", most likely against it"}.get(claim.get("leans_for"), "")
    seeds = f"about {needed} seeds per variant would decide it{way}" if needed else "no number of seeds up to 200 decides it at the measured effect"
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


def sweep_blocks(study_name, study, runs):
    """Each sweep's validation curve: the values tried, their failed runs and validation error, the pick."""
    blocks = []
    for sweep_name, sweep in study.get("sweeps", {}).items():
        record = sweeps.read_pick(study_name, sweep_name)
        users = [name for name, variant_runs in runs.items() if sweep_name in variant_runs[0]["train"]["config"].get("picked", [])]
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


def inference_blocks(rows):
    """What each variant costs to keep and to run, where its runs measured it (`measure_inference`)."""
    measured = [row for row in rows if row.get("inference")]
    if not measured:
        return []
    return [document.heading(2, "Size and speed"), document.paragraph(
        "Medians over the runs that trained. *Saved*: the `.keras` file for inference (architecture and weights, no optimizer "
        "state). *Packed*: the storage the method argues for, computed from the weights: binary kernels at 1 bit per weight, "
        "Keras' int8 and int4 kernels at their stored width with their float32 scales, pruned kernels as float32 non-zeros plus "
        "a 1-bit mask, every other weight float32; kB are 1,000 bytes. *× smaller* compares the packed bytes with the same "
        "network's parameters at 4 bytes each (its own float form). Params count weights as the float form does (pruning masks "
        "and quantisation scales left out; pruned weights included, their share in *pruned*). Latency: one example through "
        "`predict_on_batch` (median of 200 warm calls; most of its ~0.4 ms is the call itself, so differences of a tenth of a "
        "millisecond are noise); throughput: batches of 1024 (median of 5); one CPU thread, measured inside the train job, so a "
        "job running beside it on the other core may slow it (benchmarks/RESULTS.md has the idle-machine figures)."),
        document.table(["variant", "test error %", "params", "kernel weights pruned %", "saved kB", "packed kB", "packed format",
                        "× smaller than its float form", "latency ms", "examples / s"],
                       [[f"`{row['variant']}`", _mean_std(row["test"]), row["parameters"], f"{100 * row['inference']['sparsity']:.1f}",
                         f"{row['inference']['saved_bytes'] / 1000:.1f}", f"{row['inference']['packed_bytes'] / 1000:.1f}",
                         row["inference"]["packed_format"], f"{4 * row['parameters'] / row['inference']['packed_bytes']:.1f}",
                         f"{row['inference']['latency_ms']:.3f}", f"{row['inference']['throughput_per_second']:,.0f}"] for row in measured])]


def reproduce_blocks(commands):
    """Per variant, the one command that reproduces its row and the stage commands it runs."""
    return [
        document.heading(2, "Reproduce a row"),
        document.paragraph("From the repository root, after the README's install command, at the scale params.yaml sets: the "
                           "Snakemake target builds what the variant needs (the prepared data, a sweep it takes its value from) "
                           "and trains and evaluates every seed (nothing that is current reruns); the `reprolab run` command is "
                           "the variant's own job, to run by hand once its inputs exist (`reprolab configure` writes its job file)."),
        document.table(["variant", "Snakemake target", "job"],
                       [[f"`{variant}`", f"`{target}`", "; ".join(f"`{command}`" for command in jobs)] for variant, (target, jobs) in commands.items()]),
    ]


def figure_blocks(study, rows):
    """The standard figures and the card's plots, each with a caption that says what it shows."""
    shown = ", ".join(f"`{variant}`" for variant in example_variants(study, rows))
    why = "the variants the claims name" if study.get("examples") else "the baseline" if "baseline" in study else "the most accurate variant"
    captions = [
        ("figures/test_error.png", "Test error per variant: bars are the mean of the runs that trained, dots each seed, the "
         "line the 95% interval where at least two trained; a variant's failed runs are counted above it (a cross when none "
         "trained), so the axis is set by the runs that trained."),
        ("figures/learning_curves.png", f"Test error and training loss per epoch over the runs that trained, at most "
         f"{figures.PANEL_VARIANTS} variants a row; failed runs are left out and counted in the legend."),
        ("figures/confusion.png", f"Confusion matrices of {shown} ({why}), summed over the seeds that trained."),
        ("figures/misclassified.png", f"Misclassified test examples of {shown} (images, or sequences drawn as lines), one seed each."),
    ]
    blocks = [document.heading(2, "Figures")]
    for image, caption in captions + [(f"plots/{plot['name']}.png", plot["title"]) for plot in study.get("plots", [])]:
        blocks += [document.image(image, caption), document.paragraph(caption)]
    return blocks


def build_document(study_name, study, runs, rows, comparisons, verdicts_judged, source, changes, commands, proxy_analysis=None):
    """The study report's blocks, shared by the Markdown and the HTML."""
    best = best_row(rows)
    blocks = [document.heading(1, study["title"]),
              document.paragraph("[All studies](../index.md) · [Project README](../../README.md): how to run, the verdict rule "
                                 "and what a failed run is.")]
    if study.get("question"):
        blocks.append(document.paragraph(study["question"]))
    if study.get("notes"):
        blocks.append(document.heading(2, "Read this first"))
        blocks.append(document.bullets(study["notes"]))
    if study.get("deviations"):
        blocks.append(document.heading(2, "Deviations from the papers' protocol"))
        blocks.append(document.bullets(study["deviations"]))
    if verdicts_judged:
        blocks += scope_blocks(study, verdicts_judged)
    blocks.append(document.heading(2, "Results"))
    elsewhere = {variant: variant_runs[0]["train"]["config"]["dataset"] for variant, variant_runs in runs.items()
                 if variant_runs and variant_runs[0]["train"]["config"]["dataset"] != study["dataset"]}
    blocks.append(document.paragraph(
        f"Dataset `{study['dataset']}`"
        + (" (" + ", ".join(f"`{variant}` on `{dataset}`" for variant, dataset in elsewhere.items()) + ")" if elsewhere else "")
        + f", seeds {', '.join(map(str, study['seeds']))}"
        + (f", baseline `{study['baseline']}`. " if "baseline" in study else ". ") +
        "Errors are in percent over the runs that trained: mean ± standard deviation with the misses it stands for (of the "
        "test examples), the 95% t-interval of the mean (none for a single run), then each seed's value and misses; failed runs are counted in `failed` and named in `status`. Validation "
        "error is on the examples held out of training (blank where a variant trains on all of them). Published values "
        "are blank where the literature gives none. Generated by `reprolab report`; do not edit."))
    blocks.append(document.table(
        ["variant", "failed", "test error %", "95% interval", "per seed", "train error %", "validation error %",
         "published test %", "published train %", "measured − published (test)", "params", "MACs", "epochs", "batch", "s / run", "status"],
        [[f"`{row['variant']}`" + (" **(best)**" if row is best else ""), f"{row['failed_runs']}/{row['runs']}", error_with_misses(row),
          _interval(row["test"]), _per_seed(row["test_per_seed"], runs[row["variant"]]), _mean_std(row["train"]), _mean_std(row["validation"]),
          number(row["reference_test_error"]), number(row["reference_train_error"]), _signed(row["test_minus_reference"]),
          row["parameters"], "" if row["macs"] is None else row["macs"], row["epochs"], row["batch_size"],
          f"{row['wall_seconds_mean']:.0f}", "trained" if not row["failed_runs"] else row["status"]] for row in rows]))
    blocks += inference_blocks(rows)
    blocks += sweep_blocks(study_name, study, runs)
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
                                     [[label, number(reference.get("train_error")), number(reference.get("test_error")), reference["source"]]
                                      for label, reference in listed]))
    blocks += figure_blocks(study, rows)
    blocks += reproduce_blocks(commands)
    blocks.append(document.heading(2, "Provenance"))
    blocks.append(document.bullets([f"{key}: `{value}`" for key, value in source.items()]))
    blocks.append(document.heading(2, "Changes since the committed report"))
    blocks += [document.paragraph(changes["against"])] + ([document.bullets(changes["items"])] if changes["items"] else [])
    return blocks
