"""The report's PNG figures (matplotlib, no display): learning curves, a bar chart of test error
with 95% intervals, the best variant's confusion matrix and a grid of its misclassified images;
and the cards' extra plots: error against a setting, signal propagation at initialisation, zero-cost
proxies against trained accuracy."""

import statistics
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from reprolab.atomic import atomic_path  # noqa: E402


LEGEND_LIMIT = 15  # more variants than this (a sampled search space) make a legend unreadable
MAX_WIDTH = 20  # inches: a bar per variant beyond this gets narrower bars instead of a wider figure


def _save(figure, target):
    figure.tight_layout()
    with atomic_path(target) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)


def learning_curves(runs, target):
    """Test error and training loss per epoch: mean over seeds per variant, band from min to max."""
    figure, (error_axes, loss_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant, variant_runs in runs.items():
        epochs = sorted({int(row["epoch"]) for run in variant_runs for row in run["history"]})
        color = None
        for axes, column in ((error_axes, "test_error_percent"), (loss_axes, "loss")):
            per_epoch = [[float(row[column]) for run in variant_runs for row in run["history"] if int(row["epoch"]) == epoch] for epoch in epochs]
            finite = [[value for value in values if np.isfinite(value)] or [np.nan] for values in per_epoch]
            line, = axes.plot(epochs, [statistics.fmean(values) for values in finite], label=variant, color=color)
            color = line.get_color()
            axes.fill_between(epochs, [min(values) for values in finite], [max(values) for values in finite], color=color, alpha=0.15)
    error_axes.set_ylabel("test error % (mean over seeds; band: min to max)")
    loss_axes.set_ylabel("training loss (mean over the epoch)")
    for axes in (error_axes, loss_axes):
        axes.set_xlabel("epoch (pass over the training set)")
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.grid(True, which="both", alpha=0.3)
    error_axes.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    error_axes.tick_params(axis="y", which="minor", labelsize=7)
    if len(runs) <= LEGEND_LIMIT:
        error_axes.legend(fontsize=8)
    _save(figure, target)


def error_bars(rows, target):
    """Mean test error per variant with its 95% interval, and the published value where there is one."""
    figure, axes = plt.subplots(figsize=(min(max(5, 1.1 * len(rows) + 2), MAX_WIDTH), 4))
    positions = np.arange(len(rows))
    means = [row["test"]["mean"] for row in rows]
    lower = [row["test"]["mean"] - row["test"]["low"] if row["test"]["low"] is not None else 0 for row in rows]
    upper = [row["test"]["high"] - row["test"]["mean"] if row["test"]["high"] is not None else 0 for row in rows]
    axes.bar(positions, means, yerr=[lower, upper], capsize=4, color="#4c72b0", label="measured (95% interval)")
    published = [(position, row["reference_test_error"]) for position, row in zip(positions, rows) if row["reference_test_error"] is not None]
    if published:
        axes.scatter(*zip(*published), marker="D", color="#dd8452", zorder=3, label="published")
    axes.set_xticks(positions, [row["variant"] for row in rows], rotation=20 if len(rows) <= LEGEND_LIMIT else 90,
                    fontsize=None if len(rows) <= LEGEND_LIMIT else 7)
    axes.set_ylabel("test error %")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    _save(figure, target)


def confusion_matrix(matrix, title, target):
    """Counts of true (rows) against predicted (columns) classes."""
    matrix = np.asarray(matrix)
    figure, axes = plt.subplots(figsize=(5.2, 4.6))
    image = axes.imshow(matrix, cmap="Blues")
    for (true, predicted), count in np.ndenumerate(matrix):
        if count:
            axes.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > matrix.max() / 2 else "black")
    axes.set_xticks(range(matrix.shape[1]))
    axes.set_yticks(range(matrix.shape[0]))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.046)
    _save(figure, target)


def misclassified_grid(images, labels, predicted, title, target, limit=40):
    """Up to `limit` misclassified test images, each titled true -> predicted."""
    wrong = np.flatnonzero(labels != predicted)[:limit]
    columns = 10
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure, axes_grid = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05 + 0.4), squeeze=False)
    for axes in axes_grid.flat:
        axes.axis("off")
    for axes, index in zip(axes_grid.flat, wrong):
        axes.imshow(images[index].squeeze(), cmap="gray_r", vmin=-1, vmax=1)
        axes.set_title(f"{labels[index]}→{predicted[index]}", fontsize=8)
    figure.suptitle(title, fontsize=9)
    _save(figure, target)


def error_against(lines, x_label, series_label, title, target, bands=None, measured="test error %"):
    """Error (`measured`) against a setting: each trained seed as a dot, their mean as a line per series;
    `lines` maps a series value to [(x, per-seed errors of trained runs, failed runs, runs)]; `bands` maps a label
    to the per-seed errors of a variant without the setting (a dashed mean over the seeds' range).
    When some run sits near chance (failed to train) beside runs at a few percent, the error scale is
    logarithmic and chance (90%) is marked; x is logarithmic when its values span decades."""
    figure, axes = plt.subplots(figsize=(6.5, 4.2))
    for index, (label, values) in enumerate((bands or {}).items()):
        if values:
            color = f"C{len(lines) + index}"  # after the lines' colours
            axes.axhline(statistics.fmean(values), color=color, linestyle="--", linewidth=1.2, label=f"{label} (band: seeds' range)")
            axes.axhspan(min(values), max(values), color=color, alpha=0.15)
    for series, points in lines.items():
        drawn = [(x, values) for x, values, _, _ in points if values]
        color = None
        if drawn:
            label = series if series_label is None else f"{series_label} = {series}"
            line, = axes.plot([x for x, _ in drawn], [statistics.fmean(values) for _, values in drawn], marker="o", label=label)
            color = line.get_color()
            for x, values in drawn:
                axes.scatter([x] * len(values), values, color=color, alpha=0.45, s=14)
        for x, values, failed_runs, total in points:
            if failed_runs:
                axes.annotate(f"{failed_runs}/{total} failed", (x, statistics.fmean(values) if values else 90.0), fontsize=7,
                              color=color, textcoords="offset points", xytext=(4, 4))
    every_value = [value for points in lines.values() for _, values, _, _ in points for value in values]
    every_value += [value for values in (bands or {}).values() for value in values]
    failed = any(failed_runs for points in lines.values() for _, _, failed_runs, _ in points)
    if failed or (every_value and max(every_value) > 5 * min(every_value)):
        axes.axhline(90.0, color="grey", linestyle=":", linewidth=1, label="chance (90%)")
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    xs = sorted({x for points in lines.values() for x, _, _, _ in points})
    if xs and all(isinstance(x, (int, float)) and x > 0 for x in xs) and xs[-1] >= 20 * xs[0]:  # a sweep over decades
        axes.set_xscale("log")
        axes.set_xticks(xs)
        axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xlabel(x_label)
    axes.set_ylabel(f"{measured} (dots: seeds; line: their mean)")
    axes.set_title(textwrap.fill(title, 70), fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    _save(figure, target)


def signal_propagation(profiles, target):
    """Per residual block at init: mean squared activation and mean per-channel variance, one line per
    variant (Brock et al. 2021's signal-propagation plot), on Gaussian input."""
    figure, (square_axes, variance_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, profile in profiles.items():
        blocks = [row["block"] for row in profile]
        square_axes.plot(blocks, [row["mean_square"] for row in profile], marker=".", label=label)
        variance_axes.plot(blocks, [row["channel_variance"] for row in profile], marker=".", label=label)
    for axes, name in ((square_axes, "mean squared activation"), (variance_axes, "mean per-channel variance")):
        axes.set_xlabel("residual block")
        axes.set_ylabel(f"{name} of the block output")
        axes.set_yscale("log")
        axes.grid(True, which="both", alpha=0.3)
    square_axes.legend(fontsize=7)
    _save(figure, target)


def proxies_against_accuracy(accuracy, scores, title, target):
    """One panel per proxy: its score at initialisation against trained accuracy, one point per
    architecture, with the Spearman rho in the panel's title (symlog axes: scores span decades)."""
    from reprolab.reporting.ranking import spearman

    columns = 3
    rows = -(-len(scores) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
    for panel, (name, values) in zip(axes.flat, scores.items()):
        panel.scatter(values, accuracy, s=14, alpha=0.8)
        panel.set_title(f"{name}: Spearman ρ = {spearman(values, accuracy):.2f}", fontsize=10)
        magnitudes = np.abs(np.asarray(values, float))
        if magnitudes.max() > 10 * max(magnitudes.min(), 1e-300):  # spans decades
            panel.set_xscale("symlog", linthresh=max(float(np.percentile(magnitudes, 10)), 1e-12))
        panel.set_xlabel(f"{name} at initialisation", fontsize=8)
        panel.set_ylabel("test accuracy % after training", fontsize=8)
        panel.grid(True, alpha=0.3)
    for panel in list(axes.flat)[len(scores):]:
        panel.axis("off")
    figure.suptitle(title)
    _save(figure, target)


def message(text, target):
    """A small figure that only says why the real one could not be drawn."""
    figure, axes = plt.subplots(figsize=(5, 1.2))
    axes.axis("off")
    axes.text(0.5, 0.5, text, ha="center", va="center")
    _save(figure, target)
