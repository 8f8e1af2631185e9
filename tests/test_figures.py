"""The report's figures read at a glance, drawn from fixture runs (no training): a curve with fewer
than three points has markers, many variants get panels of their own with a legend and colours
that do not repeat, a failed variant is marked without setting the y range, and one seed draws
no interval."""

import matplotlib.colors
import numpy as np

from reprolab.reporting import figures, stats

CONFUSION = (np.eye(10, dtype=int) * 10).tolist()  # a run that learned
COLLAPSED = np.zeros((10, 10), dtype=int)
COLLAPSED[:, 3] = 10  # every digit answered "3"


def fixture_run(seed, errors, failed=False):
    """One run's record as the report reads it: per-epoch test error and loss, final metrics."""
    history = [{"epoch": str(epoch), "test_error_percent": str(error), "loss": str(1.0 / epoch)} for epoch, error in enumerate(errors, 1)]
    return {"seed": seed, "history": history, "train": {"status": "ok", "diverged_epoch": None},
            "metrics": {"test_error_percent": 90.0 if failed else errors[-1], "confusion": (COLLAPSED if failed else np.array(CONFUSION)).tolist()}}


def row(variant, per_seed, runs=None):
    """A results row as summary.summarise makes it: statistics over the trained seeds, the others failed."""
    runs = runs or len(per_seed)
    return {"variant": variant, "test": stats.summary(per_seed.values()) if per_seed else None, "test_per_seed": per_seed,
            "failed_runs": runs - len(per_seed), "runs": runs, "reference_test_error": None}


def test_a_one_epoch_study_draws_its_curves_with_markers(tmp_path):
    runs = {name: [fixture_run(seed, [error + seed]) for seed in range(2)] for name, error in (("a", 5.0), ("b", 7.0))}
    figure = figures.learning_curves(runs, tmp_path / "curves.png")
    drawn = [line for axes in figure.axes for line in axes.get_lines() if len(line.get_xdata())]
    assert len(drawn) == 4 and all(line.get_marker() == "o" for line in drawn)
    longer = figures.learning_curves({"a": [fixture_run(0, [9.0, 7.0, 5.0])]}, tmp_path / "longer.png")
    assert all(line.get_marker() in ("None", "", None) for line in longer.axes[0].get_lines())


def test_seventeen_variants_get_panels_each_with_a_legend_and_no_repeated_colour(tmp_path):
    names = [f"variant_{index:02d}" for index in range(17)]
    runs = {name: [fixture_run(seed, [30.0 - index, 20.0 - index, 10.0 + seed]) for seed in range(2)] for index, name in enumerate(names)}
    figure = figures.learning_curves(runs, tmp_path / "curves.png")
    rows = [figure.axes[start:start + 2] for start in range(0, len(figure.axes), 2)]
    assert len(rows) == 3
    listed = []
    for error_axes, loss_axes in rows:
        legend = loss_axes.get_legend()
        assert legend is not None, "every panel row has its own legend"
        labels = [text.get_text() for text in legend.get_texts()]
        assert len(labels) <= figures.PANEL_VARIANTS
        listed += labels
        for axes in (error_axes, loss_axes):
            colours = [matplotlib.colors.to_hex(line.get_color()) for line in axes.get_lines()]
            assert len(colours) == len(set(colours)) == len(labels)
    assert listed == names


def test_a_failed_variant_is_marked_and_does_not_set_the_error_range(tmp_path):
    rows = [row("trained", {0: 5.0, 1: 6.0, 2: 5.5}), row("half", {0: 7.0}, runs=3), row("dead", {}, runs=3)]
    figure = figures.error_bars(rows, tmp_path / "bars.png")
    axes = figure.axes[0]
    assert axes.get_xlim()[1] < 20, "the error axis is set by the trained runs, not by failed ones at chance"
    texts = [text.get_text() for text in axes.texts]
    assert "× 3/3 failed" in texts and "2/3 failed" in texts
    runs = {"dead": [fixture_run(seed, [80.0, 82.0], failed=True) for seed in range(3)], "alive": [fixture_run(0, [9.0, 4.0])]}
    curves = figures.learning_curves(runs, tmp_path / "curves.png")
    assert "dead (3/3 failed, not drawn)" in [text.get_text() for text in curves.axes[1].get_legend().get_texts()]
    assert curves.axes[0].get_ylim()[1] < 20


def test_one_seed_draws_no_interval_and_two_do(tmp_path):
    one = figures.error_bars([row("a", {0: 5.0}), row("b", {0: 6.0})], tmp_path / "one.png")
    assert not one.axes[0].get_lines(), "a single seed has no interval to draw"
    two = figures.error_bars([row("a", {0: 5.0, 1: 5.5})], tmp_path / "two.png")
    assert len(two.axes[0].get_lines()) == 1


def test_a_setting_plot_marks_a_point_whose_runs_all_failed_and_shows_the_reference(tmp_path):
    lines = {"clip": [(0.01, [], 5, 5), (0.1, [8.0, 9.0], 0, 2), (1.0, [12.0], 1, 2)]}
    figure = figures.error_against(lines, "noise scale", None, "sweep", tmp_path / "sweep.png",
                                   bands={"no noise (reference, 2/2 failed)": []}, measured="validation error %")
    axes = figure.axes[0]
    assert axes.get_ylim()[1] < 20
    assert {text.get_text() for text in axes.texts} == {"× 5/5 failed", "1/2 failed"}
    assert "no noise (reference, 2/2 failed): not drawn" in [text.get_text() for text in axes.get_legend().get_texts()]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["0.01", "0.1", "1"]
