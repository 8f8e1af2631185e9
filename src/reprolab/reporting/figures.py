"""The report's PNG figures (matplotlib, no display): learning curves in panels of at most
PANEL_VARIANTS variants, test error per variant over the runs that trained with the failed ones
marked, confusion matrices and misclassified digits of the variants the claims name; and the cards'
extra plots: error against a setting, signal propagation at initialisation, zero-cost proxies
against trained accuracy. Each drawing function returns its (closed) figure, for tests to read."""

import statistics
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.lines  # noqa: E402
import matplotlib.ticker  # noqa: E402
import matplotlib.transforms  # noqa: E402
import numpy as np  # noqa: E402

from reprolab import outcomes  # noqa: E402
from reprolab.atomic import atomic_path  # noqa: E402

PANEL_VARIANTS = 8  # lines per panel: each gets its own colour of the default cycle and a legend entry
FEW_POINTS = 3  # a curve with fewer points than this is drawn with markers
FAILED_COLOR = "#444444"  # failure marks: grey, a colour no line uses
PLAIN_NUMBERS = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")  # 0.1, not "0" or "10^-1"


def _save(figure, target):
    """Writes the PNG atomically (legends outside the axes included) and returns the closed figure."""
    if not figure.subfigs:
        figure.tight_layout()
    with atomic_path(target) as temporary:
        figure.savefig(temporary, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return figure


def _failed_label(failed, runs, any_trained=True):
    """'1/3 failed', or '× 3/3 failed' where none trained."""
    return ("" if any_trained else "× ") + f"{failed}/{runs} failed"


def _log_axis(axis, low, high):
    """A log axis in plain numbers (0.2, not 2e-01), labelled at 1, 2, 3, 5 and 7 of each decade over
    up to two decades (so the ends of a curve read), at 1, 2 and 5 beyond."""
    subs = (1.0, 2.0, 3.0, 5.0, 7.0) if high <= 100 * low else (1.0, 2.0, 5.0)
    axis.set_major_locator(matplotlib.ticker.LogLocator(subs=subs))
    axis.set_major_formatter(PLAIN_NUMBERS)
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _log_if_wide(axes_list):
    """One y scale for all of `axes_list` (a column of panels): log when the values drawn span more than
    5x (a loss falling over decades), otherwise linear, where every tick reads."""
    limits = [(axes.dataLim.y0, axes.dataLim.y1) for axes in axes_list if np.isfinite([axes.dataLim.y0, axes.dataLim.y1]).all()]
    if not limits:
        return
    low, high = min(low for low, _ in limits), max(high for _, high in limits)
    if low > 0 and high > 5 * low:
        for axes in axes_list:
            axes.set_yscale("log")
            _log_axis(axes.yaxis, low, high)


def _curve(variant_runs, column):
    """Per epoch, the values of `column` over the runs that trained: (epochs, means, lows, highs)."""
    trained = [run for run in variant_runs if outcomes.trained(run)]
    epochs = sorted({int(row["epoch"]) for run in trained for row in run["history"]})
    values = [[float(row[column]) for run in trained for row in run["history"] if int(row["epoch"]) == epoch] for epoch in epochs]
    values = [[value for value in epoch_values if np.isfinite(value)] or [np.nan] for epoch_values in values]
    return epochs, [statistics.fmean(v) for v in values], [min(v) for v in values], [max(v) for v in values]


def learning_curves(runs, target):
    """Test error and training loss per epoch over the runs that trained (mean, band from min to max
    over seeds), a row of two panels per PANEL_VARIANTS variants with its own legend; a variant's
    failed runs are left out and counted in its legend entry."""
    names = list(runs)
    groups = [names[start:start + PANEL_VARIANTS] for start in range(0, len(names), PANEL_VARIANTS)] or [[]]
    figure, grid = plt.subplots(len(groups), 2, figsize=(12.5, 3.7 * len(groups)), squeeze=False)
    for (error_axes, loss_axes), group in zip(grid, groups):
        for index, variant in enumerate(group):
            variant_runs = runs[variant]
            failed = sum(not outcomes.trained(run) for run in variant_runs)
            label = variant + (f" ({_failed_label(failed, len(variant_runs))}, {'left out' if failed < len(variant_runs) else 'not drawn'})"
                               if failed else "")
            color = f"C{index}"
            if failed == len(variant_runs):
                loss_axes.plot([], [], color=FAILED_COLOR, marker="x", linestyle="none", label=label)
                continue
            for axes, column in ((error_axes, "test_error_percent"), (loss_axes, "loss")):
                epochs, means, lows, highs = _curve(variant_runs, column)
                if len(epochs) < FEW_POINTS:  # markers, side by side so that none hides another
                    dodge = 0.6 * (index - (len(group) - 1) / 2) / max(len(group), 1)
                    axes.plot([epoch + dodge for epoch in epochs], means, color=color, marker="o", label=label)
                    continue
                axes.plot(epochs, means, color=color, label=label)
                if len(variant_runs) - failed > 1:
                    axes.fill_between(epochs, lows, highs, color=color, alpha=0.12)
        banded = any(sum(outcomes.trained(run) for run in runs[variant]) > 1 for variant in group)
        error_axes.set_ylabel("test error % (trained runs: mean" + (";\nband: min to max over seeds)" if banded else ")"))
        loss_axes.set_ylabel("training loss (mean over the epoch)")
        last = max((int(row["epoch"]) for variant in group for run in runs[variant] for row in run["history"]), default=1)
        for axes in (error_axes, loss_axes):
            axes.set_xlabel("epoch (pass over the training set)")
            axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            if last < FEW_POINTS:  # whole epochs only, the points off the frame
                axes.set_xticks(range(1, last + 1))
                axes.set_xlim(0.5, last + 0.5)
            axes.grid(True, which="both", alpha=0.3)
        if group:
            loss_axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    for column in grid.T:  # one scale down each column, so the rows compare
        _log_if_wide(list(column))
    return _save(figure, target)


def error_bars(rows, target):
    """Mean test error per variant over the runs that trained (a horizontal bar, a row per variant so
    every name reads; dots: each seed), its 95% interval where n >= 2, the published value where there
    is one. The x range is set by the trained runs; a variant's failed runs are counted at the right
    edge, with a cross where none trained."""
    figure, axes = plt.subplots(figsize=(8.5, 1.2 + 0.3 * len(rows)))
    positions = np.arange(len(rows))[::-1]  # the first variant on top
    trained = [row for row in rows if row["test"]]
    seen = [value for row in trained for value in row["test_per_seed"].values()]
    seen += [row["reference_test_error"] for row in rows if row["reference_test_error"] is not None]
    right = 1.15 * max(seen) if seen else 100.0
    edge = matplotlib.transforms.blended_transform_factory(axes.transAxes, axes.transData)
    for position, row in zip(positions, rows):
        if row["test"]:
            axes.barh(position, row["test"]["mean"], color="#4c72b0", alpha=0.8, height=0.7,
                      label="mean of the trained runs" if row is trained[0] else None)
            values = list(row["test_per_seed"].values())
            axes.scatter(values, [position] * len(values), color="black", s=9, zorder=3, label="one seed" if row is trained[0] else None)
            if row["test"]["low"] is not None:
                axes.plot([max(row["test"]["low"], 0), min(row["test"]["high"], right)], [position, position], color="black", linewidth=1.2,
                          zorder=2, label="95% interval (n ≥ 2)" if not any(line.get_label().startswith("95%") for line in axes.get_lines()) else None)
        if row["failed_runs"]:  # at the right edge, where no bar reaches
            axes.text(0.99, position, _failed_label(row["failed_runs"], row["runs"], bool(row["test"])), transform=edge, fontsize=7,
                      color=FAILED_COLOR, ha="right", va="center")
    published = [(row["reference_test_error"], position) for position, row in zip(positions, rows) if row["reference_test_error"] is not None]
    if published:
        axes.scatter(*zip(*published), marker="D", color="#dd8452", zorder=4, label="published")
    axes.set_yticks(positions, [row["variant"] for row in rows], fontsize=8)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlim(0, right / 0.8 if any(row["failed_runs"] for row in rows) else right)  # the right fifth holds failure counts
    axes.set_xlabel("test error % (runs that trained)")
    axes.grid(True, axis="x", alpha=0.3)
    _legend(axes, any(row["failed_runs"] for row in rows))
    return _save(figure, target)


def paired_accuracy(pairs, title, target, pair_labels=("without", "with")):
    """Test accuracy of each (without, with) pair of variants side by side: a bar per variant at the
    mean over the runs that trained, its seeds as dots and its 95% interval, the published value as a
    diamond, and failed runs counted under the bar."""
    figure, axes = plt.subplots(figsize=(1.2 + 1.6 * len(pairs), 4.2))
    width = 0.38
    for index, pair in enumerate(pairs):
        for offset, row, colour, name in ((-width / 2, pair[0], "#4c72b0", pair_labels[0]), (width / 2, pair[1], "#dd8452", pair_labels[1])):
            position = index + offset
            first = index == 0
            if row["test"]:
                axes.bar(position, 100.0 - row["test"]["mean"], width * 0.9, color=colour, alpha=0.8,
                         label=f"{name} (mean of the trained runs)" if first else None)
                accuracies = [100.0 - value for value in row["test_per_seed"].values()]
                axes.scatter([position] * len(accuracies), accuracies, color="black", s=9, zorder=3, label="one seed" if first and offset < 0 else None)
                if row["test"]["low"] is not None:
                    axes.plot([position, position], [100.0 - row["test"]["high"], 100.0 - row["test"]["low"]], color="black", linewidth=1.2,
                              zorder=2, label="95% interval" if first and offset < 0 else None)
            if row["reference_test_error"] is not None:
                axes.scatter(position, 100.0 - row["reference_test_error"], marker="D", color="#c44e52", zorder=4, s=30,
                             label="published" if first and offset < 0 else None)
            if row["failed_runs"]:
                axes.text(position, 1.0, _failed_label(row["failed_runs"], row["runs"], bool(row["test"])), fontsize=7, color=FAILED_COLOR,
                          ha="center", va="bottom", rotation=90)
    axes.set_xticks(range(len(pairs)), [f"{without['variant']}\n/ {changed['variant']}" for without, changed in pairs], fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("test accuracy %")
    axes.set_title(title, fontsize=9, wrap=True)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, target)


def _legend(axes, failures):
    """The legend outside the axes, explaining the failure counts when there are any."""
    handles, labels = axes.get_legend_handles_labels()
    if failures:
        handles.append(matplotlib.lines.Line2D([], [], linestyle="none"))
        labels.append("k/n failed: runs left out\n(× none trained)")
    axes.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def confusion_matrices(panels, target):
    """Per (title, matrix), counts of true (rows) against predicted (columns) classes, side by side."""
    figure, grid = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    for axes, (title, matrix) in zip(grid[0], panels):
        matrix = np.asarray(matrix)
        axes.imshow(matrix, cmap="Blues")
        for (true, predicted), count in np.ndenumerate(matrix):
            if count:
                axes.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                          color="white" if count > matrix.max() / 2 else "black")
        axes.set_xticks(range(matrix.shape[1]))
        axes.set_yticks(range(matrix.shape[0]))
        axes.set_xlabel("predicted digit")
        axes.set_ylabel("true digit")
        axes.set_title(textwrap.fill(title, 55), fontsize=9)
    return _save(figure, target)


def misclassified_grids(panels, target, limit=20):
    """Per (title, examples, labels, predicted), up to `limit` misclassified examples titled true -> predicted
    (an image, or a sequence drawn as a line), each block headed by its title."""
    columns = 10
    blocks = [(title, images, labels, np.flatnonzero(labels != predicted)[:limit], predicted) for title, images, labels, predicted in panels]
    heights = [max(1, int(np.ceil(len(wrong) / columns))) for _, _, _, wrong, _ in blocks]
    figure = plt.figure(figsize=(columns * 0.9, sum(heights) * 1.05 + 0.55 * len(blocks)))
    for subfigure, (title, images, labels, wrong, predicted), rows in zip(figure.subfigures(len(blocks), 1, height_ratios=heights, squeeze=False)[:, 0],
                                                                          blocks, heights):
        grid = subfigure.subplots(rows, columns, squeeze=False)
        for axes in grid.flat:
            axes.axis("off")
        for axes, index in zip(grid.flat, wrong):
            if images.ndim == 4:
                axes.imshow(images[index].squeeze(), cmap="gray_r", vmin=-1, vmax=1)
            else:
                axes.plot(images[index].squeeze(), color="black", linewidth=0.8)
            axes.set_title(f"{labels[index]}→{predicted[index]}", fontsize=8)
        subfigure.suptitle(f"{title}: {len(wrong)} of {int(np.sum(labels != predicted))} misses shown (true→predicted)", fontsize=9)
    return _save(figure, target)


def error_against(lines, x_label, series_label, title, target, bands=None, measured="test error %", ticks_at_points=True):
    """Error (`measured`) against a setting: each trained seed as a dot, their mean as a line per series;
    `lines` maps a series value to [(x, per-seed errors of trained runs, failed runs, runs)]; `bands` maps a label
    to the per-seed errors of a reference variant (the setting switched off: a dashed mean over the seeds' range).
    Failed runs are counted at their x in a strip above the data (× where none trained), so the y range is the
    trained runs'. Error is logarithmic when it spans more than 5x (_log_if_wide), x when it spans decades; x ticks
    sit at the points' settings unless `ticks_at_points` is false (a measured quantity on x)."""
    figure, axes = plt.subplots(figsize=(7.5, 4.4))
    mark = matplotlib.transforms.blended_transform_factory(axes.transData, axes.transAxes)
    for index, (label, values) in enumerate((bands or {}).items()):
        color = f"C{len(lines) + index}"  # after the lines' colours
        if not values:  # every run of the reference failed: a legend entry says so
            axes.plot([], [], color=color, marker="x", linestyle="none", label=f"{label}: not drawn")
            continue
        axes.axhline(statistics.fmean(values), color=color, linestyle="--", linewidth=1.2, label=f"{label} (band: seeds' range)")
        if len(values) > 1:
            axes.axhspan(min(values), max(values), color=color, alpha=0.15)
    failures = False
    for index, (series, points) in enumerate(lines.items()):
        color = f"C{index}"
        drawn = [(x, values) for x, values, _, _ in points if values]
        label = series if series_label is None else f"{series_label} = {series}"
        axes.plot([x for x, _ in drawn], [statistics.fmean(values) for _, values in drawn], marker="_", markersize=14, markeredgewidth=2,
                  color=color, label=label)
        for x, values in drawn:
            axes.scatter([x] * len(values), values, color=color, alpha=0.55, s=14)
        for position, (x, values, failed_runs, total) in enumerate(points):
            if failed_runs:  # in a strip above the data: a line per series, neighbouring points staggered
                failures = True
                height = 0.97 - 0.06 * index - 0.03 * (position % 2)
                axes.text(x, height, _failed_label(failed_runs, total, bool(values)), transform=mark,
                          fontsize=7, color=color, ha="center", va="top")
    every_value = [value for points in lines.values() for _, values, _, _ in points for value in values]
    every_value += [value for values in (bands or {}).values() for value in values]
    _log_if_wide([axes])
    if every_value:
        low, high = min(every_value), max(every_value)
        if axes.get_yscale() == "log":
            axes.set_ylim(low / 1.3, high * 2.2)  # the top quarter holds the failure counts
        else:
            span = max(high - low, 0.1 * high)
            axes.set_ylim(max(0.0, low - 0.15 * span), high + 0.45 * span)
    xs = sorted({x for points in lines.values() for x, _, _, _ in points})
    if xs and all(isinstance(x, (int, float)) and x > 0 for x in xs) and xs[-1] >= 20 * xs[0]:  # a sweep over decades
        axes.set_xscale("log")
        _log_axis(axes.xaxis, xs[0], xs[-1])
        axes.set_xlim(xs[0] / 2.5, xs[-1] * 2.5)  # room for the failure counts at either end
    else:
        axes.margins(x=0.15)
    if ticks_at_points and xs and all(isinstance(x, (int, float)) for x in xs):
        axes.set_xticks(xs)
        axes.xaxis.set_major_formatter(PLAIN_NUMBERS)
    axes.set_xlabel(x_label)
    axes.set_ylabel(f"{measured}\n(dots: trained seeds; line: their mean)")
    axes.set_title(textwrap.fill(title, 80), fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    _legend(axes, failures)
    return _save(figure, target)


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
    return _save(figure, target)


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
    return _save(figure, target)


def message(text, target):
    """A small figure that only says why the real one could not be drawn."""
    figure, axes = plt.subplots(figsize=(5, 1.2))
    axes.axis("off")
    axes.text(0.5, 0.5, text, ha="center", va="center")
    return _save(figure, target)
