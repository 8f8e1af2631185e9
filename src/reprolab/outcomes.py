"""Whether a run trained. A run `diverged` (its training loss became non-finite) or `collapsed`
(it did not learn) is a failure: counted, never averaged into an error. One rule for every study."""

import numpy as np

COLLAPSE_SHARE = 0.9  # one class taking this share of the test predictions is a net that answers one digit
COLLAPSE_MARGIN = 2.0  # points: a test error this close to always answering the commonest digit is no learning
FAILURE_RULE = (
    f"A run **failed** when it *diverged* (its training loss became non-finite) or *collapsed* (it did not learn: "
    f"one class takes at least {COLLAPSE_SHARE:.0%} of its test predictions, or its test error is within "
    f"{COLLAPSE_MARGIN:g} points of the majority-class error, the error of always answering the commonest class). "
    "Failed runs are counted (k/n failed) and never averaged into an error: error statistics use the runs that trained."
)


def majority_error(confusion):
    """Test error % of always answering the commonest true class (82.11% on USPS: 359 of 2007 are zeros)."""
    true_counts = np.asarray(confusion).sum(axis=1)
    return 100.0 * (1.0 - true_counts.max() / true_counts.sum())


def collapsed(test_error, confusion):
    """The rule for a run that did not learn, from its confusion matrix (true rows, predicted columns)."""
    confusion = np.asarray(confusion)
    predicted_share = confusion.sum(axis=0).max() / confusion.sum()
    return bool(predicted_share >= COLLAPSE_SHARE or test_error >= majority_error(confusion) - COLLAPSE_MARGIN)


def outcome(run, epoch=None):
    """'trained', 'diverged' or 'collapsed' for a run (its train.json, metrics.json and history),
    at the end or after `epoch` (from the learning curve: only the error rule applies there)."""
    diverged_epoch = run["train"]["diverged_epoch"]
    if run["train"]["status"] == "diverged" and (epoch is None or diverged_epoch <= epoch):
        return "diverged"
    confusion = run["metrics"]["confusion"]
    if epoch is None:
        return "collapsed" if collapsed(run["metrics"]["test_error_percent"], confusion) else "trained"
    error = float(run["history"][epoch - 1]["test_error_percent"])
    return "collapsed" if error >= majority_error(confusion) - COLLAPSE_MARGIN else "trained"


def trained(run, epoch=None):
    return outcome(run, epoch) == "trained"
