"""The rule that calls a run failed: diverged (non-finite loss) or collapsed (it did not learn)."""

import numpy as np

from reprolab import outcomes

LABELS = np.repeat(np.arange(10), [359, 264, 198, 166, 200, 160, 170, 147, 166, 177])  # USPS test set: 359 zeros of 2007


def run_of(predicted, status="ok", diverged_epoch=None, history=None):
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (LABELS, predicted), 1)
    error = 100.0 * np.mean(predicted != LABELS)
    return {"train": {"status": status, "diverged_epoch": diverged_epoch},
            "metrics": {"test_error_percent": error, "confusion": confusion.tolist()}, "history": history or []}


def test_the_majority_class_error_is_that_of_always_answering_the_commonest_digit():
    confusion = run_of(np.zeros(len(LABELS), dtype=int))["metrics"]["confusion"]
    assert outcomes.majority_error(confusion) == 100.0 * (1 - 359 / 2007)  # 82.11%


def test_a_run_predicting_one_class_collapsed():
    assert outcomes.outcome(run_of(np.zeros(len(LABELS), dtype=int))) == "collapsed"
    assert outcomes.outcome(run_of(np.full(len(LABELS), 7))) == "collapsed"  # one digit, not even the commonest


def test_a_run_at_chance_collapsed():
    guesses = np.random.default_rng(0).integers(0, 10, size=len(LABELS))
    run = run_of(guesses)
    assert 85 < run["metrics"]["test_error_percent"] < 95 and outcomes.outcome(run) == "collapsed"


def test_a_trained_run_trained():
    predicted = LABELS.copy()
    predicted[::20] = (predicted[::20] + 1) % 10  # 5% wrong
    assert outcomes.outcome(run_of(predicted)) == "trained" and outcomes.trained(run_of(predicted))


def test_a_diverged_run_failed_from_the_epoch_it_diverged():
    predicted = LABELS.copy()
    history = [{"test_error_percent": "9.0"}, {"test_error_percent": "90.0"}]
    run = run_of(np.zeros(len(LABELS), dtype=int), status="diverged", diverged_epoch=2, history=history)
    assert outcomes.outcome(run) == "diverged"
    assert outcomes.outcome(run, epoch=1) == "trained" and outcomes.outcome(run, epoch=2) == "diverged"
    assert outcomes.outcome(run_of(predicted, history=[{"test_error_percent": "81.0"}]), epoch=1) == "collapsed"
