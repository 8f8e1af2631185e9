"""The statistics the reports state: mean, standard deviation and a 95% t-interval over seeds,
paired comparisons over shared seeds, and the rules that turn them into claim verdicts."""

import math
import statistics

from scipy import stats as scipy_stats

CONFIDENCE = 0.95


def summary(values):
    """Mean, sample standard deviation and the 95% t-interval of the mean (None for one value)."""
    values = [float(value) for value in values]
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "std": 0.0, "low": None, "high": None, "n": len(values)}
    std = statistics.stdev(values)
    half_width = scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1) * std / math.sqrt(len(values))
    return {"mean": mean, "std": std, "low": mean - half_width, "high": mean + half_width, "n": len(values)}


def paired_difference(candidate, baseline):
    """candidate - baseline over the seeds both have: mean difference, its 95% t-interval and the
    two-sided paired t-test p-value (None with fewer than two shared seeds or no spread)."""
    seeds = sorted(set(candidate) & set(baseline))
    differences = [candidate[seed] - baseline[seed] for seed in seeds]
    if not differences:
        return None
    result = summary(differences)
    result["seeds"] = seeds
    result["p_value"] = None
    if len(differences) >= 2 and result["std"] > 0:
        result["p_value"] = float(scipy_stats.ttest_rel([candidate[s] for s in seeds], [baseline[s] for s in seeds]).pvalue)
    return result


def interval_verdict(low, high, supported_if_below=None, supported_if_within=None):
    """The report's rule: a claim is supported when the whole 95% interval lies on its side,
    contradicted when the whole interval lies on the other side, inconclusive otherwise."""
    if low is None or high is None:
        return "inconclusive"
    if supported_if_below is not None:
        if high < supported_if_below:
            return "supported"
        return "contradicted" if low > supported_if_below else "inconclusive"
    lowest, highest = supported_if_within
    if lowest <= low and high <= highest:
        return "supported"
    return "contradicted" if high < lowest or low > highest else "inconclusive"
