"""The `plot` stage: one of a study card's extra figures, drawn from the runs of its variants."""

import numpy as np

from reprolab.planning import loading, variants
from reprolab import outcomes, sweeps
from reprolab.planning.paths import path
from reprolab.reporting import figures, ranking
from reprolab.reporting.summary import collect, proxy_inputs, summarise


def run_plot(plan, study_name, plot_name):
    """The `plot` stage: one of the card's `plots`, drawn from the runs of its variants."""
    plot = next(plot for plot in variants.card_for(plan.params, study_name)["plots"] if plot["name"] == plot_name)
    study, runs = collect(plan.params, study_name, variants.plot_variants(variants.study_settings(plan.params, study_name), plot))
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
    labels = study.get("labels", {})
    rows = {row["variant"]: row for row in summarise(study, runs)}
    if plot["kind"] == "paired_bars":
        figures.paired_accuracy([(rows[without], rows[changed]) for without, changed in plot["pairs"]], plot["title"], target,
                                plot.get("pair_labels", ("without", "with")))
        return
    reference = plot.get("reference")
    bands = _reference_band(reference, list(rows[reference]["test_per_seed"].values()), rows[reference]["runs"]) if reference else None
    if plot["kind"] == "error_vs_measured":
        lines = {label: [(measured_value(runs[variant], plot["metric"]), list(rows[variant]["test_per_seed"].values()), rows[variant]["failed_runs"],
                          rows[variant]["runs"]) for variant in group] for label, group in plot["groups"].items()}
        figures.error_against(_by_x(lines), MEASURED_LABELS[plot["metric"]], None, plot["title"], target, bands, ticks_at_points=False)
        return
    if plot["kind"] == "sweep":
        record = sweeps.read_pick(study_name, plot["sweep"])
        points = [(point["value"], point["validation_error_per_seed"], point["failed"], point["runs"]) for point in record["points"]]
        sweep = study["sweeps"][plot["sweep"]]
        bands = None
        if reference:
            trained = [run["metrics"]["validation_error_percent"] for run in runs[reference] if outcomes.trained(run)]
            bands = _reference_band(reference, trained, len(runs[reference]))
        figures.error_against({sweep["variant"]: points}, sweep.get("label", labels.get(sweep["key"], sweep["key"])), None,
                              f"{plot['title']} (picked: {record['picked']})", target, bands, measured="validation error %")
        return
    lines = {}
    for variant, row in rows.items():
        if variant == reference:
            continue
        config = variants.resolve_variant(plan.params, study_name, variant)
        lines.setdefault(loading.setting(config, plot["series"]), []).append(
            (loading.setting(config, plot["x"]), list(row["test_per_seed"].values()), row["failed_runs"], row["runs"]))
    figures.error_against(_by_x(lines), labels.get(plot["x"], plot["x"]), labels.get(plot["series"], plot["series"]), plot["title"], target, bands)


MEASURED_LABELS = {"sparsity": "share of weights pruned (%)", "packed_bytes": "model bytes, packed (log scale)",
                   "saved_bytes": "model bytes as saved (log scale)", "latency_ms": "latency per example (ms)"}


def measured_value(variant_runs, metric):
    """The median over a variant's runs of a quantity its evaluation measured (sparsity in percent)."""
    value = float(np.median([run["metrics"][metric] for run in variant_runs]))
    return 100.0 * value if metric == "sparsity" else value


def _reference_band(reference, trained_values, runs):
    """The band of a plot's reference variant (the setting switched off), its failed runs in the label."""
    failed = runs - len(trained_values)
    return {f"{reference} (reference" + (f", {failed}/{runs} failed)" if failed else ")"): trained_values}


def timing_series(params, study_name, study, runs, regularizer):
    """A timing plot's lines (removed after k / applied from k; for the blur, its length with and
    without a learning-rate restart) and bands (the variants that never switch: always and never
    for a regulariser, no deficit for the blur), from each variant's `timing` window."""
    lines, bands = {}, {}
    for row in summarise(study, runs):
        config = variants.resolve_variant(params, study_name, row["variant"])
        timing = config.get("timing", {})
        window = timing.get(regularizer)
        values = list(row["test_per_seed"].values())
        if window is None:
            if regularizer == "blur":
                label = "no deficit"
            else:
                present = config["optimizer"].get("weight_decay") if regularizer == "weight_decay" else config["augment_shift_pixels"]
                label = "always" if present else "never"
            bands[f"{label} ({row['variant']})"] = values
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
