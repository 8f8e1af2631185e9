"""The report's statistics against hand computations and published worked examples."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from reprolab.reporting import stats, verdicts


def test_summary_of_one_value_has_no_spread():
    assert stats.summary([0.25]) == {"mean": 0.25, "std": None, "low": None, "high": None, "n": 1}


def test_two_proportions_all_versus_none_matches_wilson_and_newcombe_by_hand():
    # z^2 = 1.959964^2 = 3.841459. Wilson at 3/3: [3 / (3 + z^2), 1] = [0.438503, 1];
    # at 0/3: [0, z^2 / (3 + z^2)] = [0, 0.561497]. Newcombe: low = 1 - sqrt(0.561497^2 + 0.561497^2) = 0.205924,
    # high = 1 + sqrt(0 + 0) = 1. Fisher: the only table as extreme either way of 20 is its mirror, p = 2/20.
    result = stats.two_proportions(3, 3, 0, 3)
    assert (result["rate_a"], result["rate_b"], result["difference"]) == (1.0, 0.0, 1.0)
    assert result["low"] == pytest.approx(0.205924, abs=1e-5)
    assert result["high"] == pytest.approx(1.0)
    assert result["p_value"] == pytest.approx(0.1)
    assert (result["n_a"], result["n_b"]) == (3, 3)


def test_two_proportions_two_of_five_versus_four_of_five_by_hand():
    # Wilson (2x + z^2 -+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)):
    # 2/5: (7.841459 -+ 5.761581) / 17.682918 = [0.117621, 0.769276]; 4/5: (11.841459 -+ 5.200912) / 17.682918 = [0.375534, 0.963776].
    # d = -0.4; low = -0.4 - sqrt(0.282379^2 + 0.163776^2) = -0.726437; high = -0.4 + sqrt(0.369276^2 + 0.424466^2) = 0.162615.
    # Fisher, 6 failures in 10 runs, a holds 5: P(a = 1..5) = (5, 50, 100, 50, 5) / 210, so p = 110/210.
    result = stats.two_proportions(2, 5, 4, 5)
    assert result["difference"] == pytest.approx(-0.4)
    assert result["low"] == pytest.approx(-0.726437, abs=1e-5)
    assert result["high"] == pytest.approx(0.162615, abs=1e-5)
    assert result["p_value"] == pytest.approx(110 / 210)
    assert result["p_value"] == pytest.approx(scipy_stats.fisher_exact([[2, 3], [4, 1]]).pvalue)


def test_two_proportions_reproduces_newcombes_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II: 56/70 vs 48/80, method 10: 0.0524 to 0.3339.
    result = stats.two_proportions(56, 70, 48, 80)
    assert result["difference"] == pytest.approx(0.2)
    assert result["low"] == pytest.approx(0.0524, abs=5e-5)
    assert result["high"] == pytest.approx(0.3339, abs=5e-5)
    assert result["p_value"] == pytest.approx(scipy_stats.fisher_exact([[56, 14], [48, 32]]).pvalue)


def test_two_proportions_without_runs_is_none():
    assert stats.two_proportions(0, 0, 1, 3) is None


def test_proportion_verdict_follows_the_exact_test_and_the_direction():
    significant = stats.two_proportions(56, 70, 48, 80)  # a fails more often, p = 0.0125
    assert verdicts.proportion_verdict(significant, claimed="higher") == "supported"
    assert verdicts.proportion_verdict(significant, claimed="lower") == "contradicted"
    # 3/3 vs 0/3 is as lopsided as three runs allow, yet p = 0.1: undecided despite an interval clear of zero.
    assert verdicts.proportion_verdict(stats.two_proportions(0, 3, 3, 3)) == "inconclusive"
    assert verdicts.proportion_verdict(None) == "inconclusive"


def test_holm_adjusts_by_hand():
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06.
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_skips_missing_p_values_and_caps_at_one():
    # m = 2: 0.01 x 2 = 0.02, 0.6 x 1 = 0.6; a lone 0.7 among m = 3 would be 2.1 -> capped.
    assert stats.holm([None, 0.6, None, 0.01]) == [None, pytest.approx(0.6), None, pytest.approx(0.02)]
    assert stats.holm([0.7, 0.8, 0.9]) == pytest.approx([1.0, 1.0, 1.0])


def test_seeds_needed_paired_matches_textbook_sample_sizes():
    # One-sample / paired t-test, two-sided alpha = 0.05, power 0.8 (G*Power; R pwr.t.test type="one.sample"):
    # d = 0.5 needs n = 34 (actual power 0.808), d = 0.8 needs n = 15.
    assert stats.seeds_needed_paired(0.5, 1.0, side="above") == 34
    assert stats.seeds_needed_paired(0.8, 1.0, side="above") == 15
    assert stats.seeds_needed_paired(-0.5, 1.0, side="below") == 34
    assert stats.seeds_needed_paired(1.4, 2.0, bound=0.4, side="above") == 34  # d = (1.4 - 0.4) / 2


def test_seeds_needed_paired_edge_cases():
    assert stats.seeds_needed_paired(0.5, 1.0, side="below") is None  # measured on the wrong side
    assert stats.seeds_needed_paired(0.0, 1.0) is None  # exactly on the bound
    assert stats.seeds_needed_paired(-0.01, 1.0) is None  # would need far more than 200 seeds
    assert stats.seeds_needed_paired(-0.5, 0.0) == 2
    assert stats.seeds_needed_paired(-0.5, None) is None  # one seed: spread unknown


def test_seeds_needed_within_holds_up_in_simulation():
    # mean 0, sd 1, tolerance 1: check the answer by simulating 100,000 sets of seeds at n and n - 1.
    n = stats.seeds_needed_within(0.0, 1.0, 1.0)
    generator = np.random.default_rng(0)
    for seeds, enough in [(n, True), (n - 1, False)]:
        draws = generator.normal(0.0, 1.0, size=(100_000, seeds))
        half_width = scipy_stats.t.ppf(0.975, seeds - 1) * draws.std(axis=1, ddof=1) / math.sqrt(seeds)
        inside = np.mean(np.abs(draws.mean(axis=1)) + half_width < 1.0)
        assert (inside >= 0.8) == enough


def test_seeds_needed_within_edge_cases():
    assert stats.seeds_needed_within(0.3, 1.0, 0.3) is None  # mean on the tolerance
    assert stats.seeds_needed_within(0.0, 1.0, 0.01) is None  # far more than 200 seeds
    assert stats.seeds_needed_within(0.1, 0.0, 0.3) == 2


def test_seeds_needed_proportions_all_versus_none():
    # n/n vs 0/n: Fisher's two-sided p = 2 / C(2n, n). n = 3: 2/20 = 0.1; n = 4: 2/70 = 0.0286 < 0.05.
    assert stats.seeds_needed_proportions(1.0, 0.0) == 4
    assert stats.seeds_needed_proportions(0.0, 1.0) == 4


def test_seeds_needed_proportions_agrees_with_brute_force_fisher():
    def power(runs):  # every pair of outcomes, weighted by the binomials, tested with scipy's Fisher test
        return sum(scipy_stats.binom.pmf(a, runs, 0.1) * scipy_stats.binom.pmf(b, runs, 0.7)
                   for a in range(runs + 1) for b in range(runs + 1)
                   if scipy_stats.fisher_exact([[a, runs - a], [b, runs - b]]).pvalue < 0.05)

    n = stats.seeds_needed_proportions(0.1, 0.7)
    assert power(n) >= 0.8
    assert all(power(runs) < 0.8 for runs in range(1, n))


def test_seeds_needed_proportions_edge_cases():
    assert stats.seeds_needed_proportions(0.3, 0.3) is None
    assert stats.seeds_needed_proportions(0.3, 0.35, maximum=20) is None
