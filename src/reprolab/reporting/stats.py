"""The statistics the reports state: mean, standard deviation and a 95% t-interval over seeds,
paired comparisons over shared seeds, failure-rate comparisons, Holm's adjustment, how many
seeds would decide a claim (verdicts.py turns them into verdicts)."""

import math
import statistics

import numpy as np
from scipy import integrate, special
from scipy import stats as scipy_stats

CONFIDENCE = 0.95


def summary(values):
    """Mean, sample standard deviation and the 95% t-interval of the mean (spread and interval None for one value)."""
    values = [float(value) for value in values]
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "std": None, "low": None, "high": None, "n": len(values)}
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


def two_proportions(failures_a, runs_a, failures_b, runs_b):
    """Failure rates of two variants, their difference a - b with Newcombe's hybrid score 95% interval
    (method 10, from the two Wilson intervals; sound at 0/n and n/n) and Fisher's exact two-sided p-value
    (None when a variant has no runs)."""
    if not runs_a or not runs_b:
        return None
    rate_a, rate_b = failures_a / runs_a, failures_b / runs_b
    (low_a, high_a), (low_b, high_b) = _wilson(failures_a, runs_a), _wilson(failures_b, runs_b)
    difference = rate_a - rate_b
    table = [[failures_a, runs_a - failures_a], [failures_b, runs_b - failures_b]]
    return {"rate_a": rate_a, "rate_b": rate_b, "difference": difference,
            "low": difference - math.hypot(rate_a - low_a, high_b - rate_b),
            "high": difference + math.hypot(high_a - rate_a, rate_b - low_b),
            "p_value": float(scipy_stats.fisher_exact(table).pvalue), "n_a": runs_a, "n_b": runs_b}


def _wilson(failures, runs):
    """Wilson's 95% score interval for a proportion: unlike the normal interval it is not empty at 0/n or n/n."""
    z = scipy_stats.norm.ppf(0.5 + CONFIDENCE / 2)
    rate = failures / runs
    centre = (failures + z**2 / 2) / (runs + z**2)
    half_width = z * math.sqrt(runs * rate * (1 - rate) + z**2 / 4) / (runs + z**2)
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def holm(p_values):
    """Holm–Bonferroni adjusted p-values in the input order, so several claims can be judged at 0.05 together;
    None entries stay None and do not count towards the number of tests."""
    present = sorted((p_value, index) for index, p_value in enumerate(p_values) if p_value is not None)
    adjusted = [None] * len(p_values)
    running = 0.0
    for rank, (p_value, index) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p_value))
        adjusted[index] = running
    return adjusted


def _margin(mean, bound, side):
    """How far the mean lies from the bound on the claimed side (negative: on the wrong side)."""
    return {"below": bound - mean, "above": mean - bound}[side]


def _decisive_probability(margin, std, seeds, confidence=CONFIDENCE):
    """Probability that a two-sided t-interval over `seeds` lies wholly beyond the bound when the true mean lies
    `margin` past it: the noncentral t power of the one-sided test at (1 - confidence) / 2."""
    critical = scipy_stats.t.ppf(0.5 + confidence / 2, seeds - 1)
    return scipy_stats.nct.sf(critical, seeds - 1, margin * np.sqrt(seeds) / std)


def seeds_needed_paired(mean, std, bound=0.0, side="below", power=0.8, confidence=0.95, maximum=200):
    """Smallest number of seeds (>= 2) whose paired t-interval would lie wholly `side` the bound with the given
    power if the measured mean and sd are the truth; None when the mean is not strictly on the claimed side,
    std is None (one seed: spread unknown) or more than `maximum` seeds would be needed; 2 when std is 0."""
    margin = _margin(mean, bound, side)
    if margin <= 0 or std is None:
        return None
    if std == 0:
        return 2
    seeds = np.arange(2, maximum + 1)
    enough = seeds[_decisive_probability(margin, std, seeds, confidence) >= power]
    return int(enough[0]) if enough.size else None


def _within_probability(mean, std, tolerance, seeds):
    """Exact probability that the 95% t-interval over `seeds` lies inside (-tolerance, tolerance): the normal
    probability of the sample mean given the sample sd, integrated (Gauss–Legendre) over the sd's chi quantiles."""
    critical = scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, seeds - 1)
    standard_error = std / math.sqrt(seeds)
    widest = tolerance * math.sqrt(seeds - 1) / (critical * standard_error)  # beyond it the interval is wider than the band

    def inside_given(quantile):
        half_width = critical * standard_error * scipy_stats.chi.ppf(quantile, seeds - 1) / math.sqrt(seeds - 1)
        return (scipy_stats.norm.cdf((tolerance - half_width - mean) / standard_error)
                - scipy_stats.norm.cdf((half_width - tolerance - mean) / standard_error))

    return integrate.fixed_quad(inside_given, 0.0, scipy_stats.chi.cdf(widest, seeds - 1), n=100)[0]


def seeds_needed_within(mean, std, tolerance, power=0.8, maximum=200):
    """Smallest number of seeds (>= 2) whose 95% t-interval would lie inside (-tolerance, tolerance) with the given
    power if the measured mean and sd are the truth (exact, by numerical integration over the sample sd); None when
    |mean| >= tolerance, std is None or more than `maximum` seeds would be needed; 2 when std is 0."""
    if abs(mean) >= tolerance or std is None:
        return None
    if std == 0:
        return 2
    return next((seeds for seeds in range(2, maximum + 1) if _within_probability(mean, std, tolerance, seeds) >= power), None)


def _fisher_rejections(runs):
    """Which outcomes (failures of a, failures of b) of `runs` runs each Fisher's two-sided exact test rejects at 0.05."""
    failures = np.arange(runs + 1)
    log_ways = special.gammaln(runs + 1) - special.gammaln(failures + 1) - special.gammaln(runs - failures + 1)
    log_weight = np.add.outer(log_ways, log_ways)  # log C(runs, a) C(runs, b): the hypergeometric pmf up to each total's constant
    rejects = np.zeros((runs + 1, runs + 1), dtype=bool)
    for total in range(2 * runs + 1):  # tables with the same total failures share the conditional distribution
        rows = failures[max(0, total - runs):min(total, runs) + 1]
        table_probability = np.exp(log_weight[rows, total - rows] - log_weight[rows, total - rows].max())
        table_probability /= table_probability.sum()
        ordered = np.sort(table_probability)
        p_values = np.cumsum(ordered)[np.searchsorted(ordered, table_probability * (1 + 1e-7), side="right") - 1]
        rejects[rows, total - rows] = p_values < 0.05
    return rejects


def seeds_needed_proportions(rate_a, rate_b, power=0.8, maximum=200):
    """Smallest number of runs per variant at which Fisher's exact two-sided test at 0.05 rejects with the given
    power if the true failure rates are rate_a and rate_b (exact sum over both binomials); None when the rates are
    equal or more than `maximum` runs would be needed."""
    if rate_a == rate_b:
        return None
    for runs in range(1, maximum + 1):
        failures = np.arange(runs + 1)
        outcome = np.outer(scipy_stats.binom.pmf(failures, runs, rate_a), scipy_stats.binom.pmf(failures, runs, rate_b))
        if outcome[_fisher_rejections(runs)].sum() >= power:
            return runs
    return None
