"""Claim verdicts: each claim of a study card judged from the runs by one stated rule, with the
number of seeds that would decide it when the runs do not. Errors are compared over the runs that
trained; failures are compared as rates (outcomes.py says what failed)."""

from reprolab import outcomes
from reprolab.reporting import ranking, stats

POWER = 0.8
VERDICT_RULE = (
    "A claim about error is **supported** when the whole 95% interval of the measured quantity lies on the claimed side "
    "(below zero for a difference claimed to lower test error; below the tolerance for a cost claimed to stay under it; inside ± the tolerance for a difference claimed to be "
    "negligible; inside the published value ± the tolerance for a reproduced figure), **contradicted** when it lies wholly "
    "on the other side, and **inconclusive** otherwise. Errors are compared over the runs that trained (paired over the "
    "seeds both variants trained). A claim about failures compares the share of failed runs of two variants with Fisher's "
    "exact test (two-sided, p < 0.05; the interval is Newcombe's). A tolerance claim that qualifies an effect the card "
    "names (\"as bad as\", \"costs little of what it gains\") is judged only when that effect is itself detected. A decided verdict that a rerun with the same number of "
    f"seeds would reach with probability below {POWER:.0%} (at the measured effect and spread; a rerun on another CPU "
    "differs in round-off like a fresh draw of seeds) is reported **inconclusive**, its reason naming the verdict it "
    "would have had ('fragile: the measurement says ...'). For every inconclusive claim the seeds needed "
    f"give {POWER:.0%} power to decide it at the measured effect and spread (noncentral t for errors, "
    "exact binomial enumeration of Fisher's test for failure rates)."
)


def interval_verdict(low, high, below=None, above=None, within=None):
    """The rule for an interval: supported when the whole 95% interval lies on the claimed side (below or
    above a boundary, or within a range), contradicted when it lies wholly on the other side, inconclusive otherwise."""
    if low is None or high is None:
        return "inconclusive"
    if below is not None:
        return "supported" if high < below else "contradicted" if low > below else "inconclusive"
    if above is not None:
        return "supported" if low > above else "contradicted" if high < above else "inconclusive"
    lowest, highest = within
    if lowest <= low and high <= highest:
        return "supported"
    return "contradicted" if high < lowest or low > highest else "inconclusive"


def proportion_verdict(result, claimed="lower"):
    """Verdict on 'variant a fails at a lower (or higher) rate than b', decided by Fisher's exact test at 0.05;
    the Newcombe interval only reports the size."""
    if claimed not in ("lower", "higher"):
        raise ValueError(f"claimed must be 'lower' or 'higher', not {claimed!r}")
    if result is None or result["p_value"] >= 0.05:
        return "inconclusive"
    return "supported" if (result["difference"] < 0) == (claimed == "lower") else "contradicted"


def trained_errors(variant_runs, epoch=None):
    """Per-seed test error of the runs that trained (by the end, or by `epoch` from the learning curve)."""
    errors = {}
    for run in variant_runs:
        if not outcomes.trained(run, epoch):
            continue
        errors[run["seed"]] = run["metrics"]["test_error_percent"] if epoch is None else float(run["history"][epoch - 1]["test_error_percent"])
    return errors


def failures(variant_runs, epoch=None):
    """(failed runs, runs) of a variant, by the end or by `epoch`."""
    return sum(not outcomes.trained(run, epoch) for run in variant_runs), len(variant_runs)


def _interval_verdict(claim, measured, reference=None):
    if claim["kind"] in ("improves", "costs_less_than"):
        return interval_verdict(measured and measured["low"], measured and measured["high"], below=_bound(claim))
    centre = reference if claim["kind"] == "reproduces" else 0.0
    return interval_verdict(measured and measured["low"], measured and measured["high"],
                            within=(centre - claim["tolerance"], centre + claim["tolerance"]))


def _bound(claim):
    """The difference (variant - over) a one-sided claim says the error stays below: 0, or the tolerated cost."""
    return claim["tolerance"] if claim["kind"] == "costs_less_than" else 0.0


def seeds_to_decide(claim, measured, verdict, reference=None):
    """Seeds that give POWER to reach `verdict` (or, when inconclusive, the verdict the measured
    effect points to) again at the measured effect and spread; None when no number would."""
    if claim.get("measure") == "failure_rate":
        return stats.seeds_needed_proportions(measured["rate_a"], measured["rate_b"], POWER)
    if not measured or measured.get("std") is None:
        return None
    mean = measured["mean"] - (reference or 0.0)
    if claim["kind"] in ("improves", "costs_less_than"):
        bound = _bound(claim)
        return stats.seeds_needed_paired(mean, measured["std"], bound, "below" if mean < bound else "above", POWER)
    tolerance = claim["tolerance"]
    if verdict == "contradicted" or abs(mean) >= tolerance:  # the effect lies outside the tolerance: decide that
        return stats.seeds_needed_paired(mean, measured["std"], tolerance if mean > 0 else -tolerance, "above" if mean > 0 else "below", POWER)
    return stats.seeds_needed_within(mean, measured["std"], tolerance, POWER)


def _measure(claim, runs, rows):
    """The measured quantity, its description and its verdict before the fragility and effect rules."""
    epoch = claim.get("epoch")
    when = f" after epoch {epoch}" if epoch else ""
    if claim.get("measure") == "failure_rate":
        (failed_a, runs_a), (failed_b, runs_b) = failures(runs[claim["variant"]], epoch), failures(runs[claim["over"]], epoch)
        measured = stats.two_proportions(failed_a, runs_a, failed_b, runs_b)
        quantity = (f"share of failed runs{when} of `{claim['variant']}` ({failed_a}/{runs_a}) minus `{claim['over']}` "
                    f"({failed_b}/{runs_b}), Fisher's exact test")
        return measured, quantity, proportion_verdict(measured, "lower"), None
    if claim["kind"] == "reproduces":
        row = rows[claim["variant"]]
        reference, measured = row["reference_test_error"], row["test"]
        quantity = (f"test error of `{claim['variant']}` over its {row['trained_runs']} trained runs vs published "
                    f"{reference:.2f} ± {claim['tolerance']:.2f}")
        return measured, quantity, _interval_verdict(claim, measured, reference), reference
    measured = stats.paired_difference(trained_errors(runs[claim["variant"]], epoch), trained_errors(runs[claim["over"]], epoch))
    bound = {"matches": f", within ± {claim.get('tolerance', 0):.2f}", "costs_less_than": f", below +{claim.get('tolerance', 0):.2f}"}.get(claim["kind"], "")
    seeds = "no seed trained in both" if not measured else f"paired over the {len(measured['seeds'])} seeds both trained"
    quantity = f"test error{when} of `{claim['variant']}` minus `{claim['over']}` ({seeds}{bound})"
    return measured, quantity, _interval_verdict(claim, measured), None


def runs_used(claim, measured):
    """How many seeds (per variant) the verdict rests on."""
    if claim.get("measure") == "failure_rate":
        return min(measured["n_a"], measured["n_b"])
    return measured["n"] if measured else 0


def judge(claim, runs, rows):
    """One error or failure-rate claim: its measured quantity, verdict, the reason when undecided
    and the seeds that would decide it."""
    measured, quantity, verdict, reference = _measure(claim, runs, rows)
    reason = "" if verdict != "inconclusive" else (
        f"Fisher's exact test gives p = {measured['p_value']:.3f}, not below 0.05" if claim.get("measure") == "failure_rate"
        else "the interval straddles the boundary, or too few runs trained")
    needed = seeds_to_decide(claim, measured, verdict, reference)
    if verdict != "inconclusive" and (needed is None or needed > runs_used(claim, measured)):
        verdict, reason = "inconclusive", (f"fragile: the measurement says {verdict}, but a rerun with as many seeds would say so "
                                           f"with probability below {POWER:.0%}")
    if claim.get("effect"):
        effect = judge({**claim["effect"], "kind": "improves", "text": "", "source": ""}, runs, rows)
        if effect["verdict"] != "supported":
            verdict, reason = "inconclusive", (f"the effect it qualifies (`{claim['effect']['variant']}` against `{claim['effect']['over']}`) "
                                               f"is not detected ({effect['verdict']}), so a tolerance around it says nothing")
            needed = None if None in (needed, effect["seeds_needed"]) else max(needed, effect["seeds_needed"])
    return {**claim, "quantity": quantity, "measured": measured, "verdict": verdict, "reason": reason,
            "seeds_needed": needed if verdict == "inconclusive" else None, "leans_for": leans_for(claim, measured, reference)}


def leans_for(claim, measured, reference=None):
    """Whether the measured effect points the claim's way (None when nothing was measured): the
    direction more seeds would most likely decide an undecided claim in."""
    if not measured:
        return None
    if claim.get("measure") == "failure_rate":
        return measured["difference"] < 0
    if claim["kind"] in ("improves", "costs_less_than"):
        return measured["mean"] < _bound(claim)
    return abs(measured["mean"] - (reference or 0.0)) < claim["tolerance"]


RANKING_UNDECIDED = "the bootstrap interval over architectures straddles the boundary; more architectures (not seeds) would narrow it"


def judge_ranking(claim, proxy_analysis):
    """A claim about proxies: supported when the bootstrap interval of its rho (or rho difference) lies above
    the boundary, contradicted below it."""
    measured, quantity, boundary = ranking.measure(claim, proxy_analysis)
    verdict = interval_verdict(measured["low"], measured["high"], above=boundary)
    return {**claim, "quantity": quantity, "measured": measured, "verdict": verdict,
            "reason": RANKING_UNDECIDED if verdict == "inconclusive" else "", "seeds_needed": None}


def judge_claims(study, rows, runs, proxy_analysis=None):
    """Every claim of the card."""
    by_variant = {row["variant"]: row for row in rows}
    return [judge_ranking(claim, proxy_analysis) if claim["kind"] in ranking.CLAIM_KINDS else judge(claim, runs, by_variant)
            for claim in study.get("claims", [])]
