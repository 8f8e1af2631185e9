"""How well zero-cost proxies rank architectures by trained accuracy: Spearman rho and Kendall tau
with bootstrap 95% intervals (resampling architectures), each proxy's correlation with params and
FLOPs, its top-k hit rate and its noise over init seeds; `vote` is the majority of VOTERS
(Abdelfattah et al. 2021). Higher proxy scores are read as predicting higher accuracy."""

import itertools

import numpy as np
from scipy import stats as scipy_stats

from reprolab.planning.checks import PROXIES

VOTERS = ("synflow", "jacob_cov", "snip")
RANKED = PROXIES + ("vote",)
BASELINES = ("params", "flops")
TOP = 10
RESAMPLES = 2000
CLAIM_KINDS = ("correlates", "beats")


def vote(scores):
    """Each architecture's wins against every other when two of the three VOTERS agree (Copeland's
    count of the pairwise majority votes)."""
    stacked = np.array([scores[name] for name in VOTERS])
    majority = (stacked[:, :, None] > stacked[:, None, :]).sum(axis=0) >= 2
    return majority.sum(axis=1).astype(float)


def _spearman_rows(values, target):
    """Spearman rho of each row of `values` with the matching row of `target` (ties get mean ranks)."""
    ranks, target_ranks = scipy_stats.rankdata(values, axis=-1), scipy_stats.rankdata(target, axis=-1)
    ranks = ranks - ranks.mean(axis=-1, keepdims=True)
    target_ranks = target_ranks - target_ranks.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((ranks**2).sum(axis=-1) * (target_ranks**2).sum(axis=-1))
    return np.where(denominator > 0, (ranks * target_ranks).sum(axis=-1) / np.where(denominator > 0, denominator, 1), np.nan)


def _kendall_rows(values, target):
    """Kendall's tau-b of each row of `values` with the matching row of `target`."""
    signs = np.sign(values[..., :, None] - values[..., None, :])
    target_signs = np.sign(target[..., :, None] - target[..., None, :])
    denominator = np.sqrt((signs**2).sum(axis=(-1, -2)) * (target_signs**2).sum(axis=(-1, -2)))
    return np.where(denominator > 0, (signs * target_signs).sum(axis=(-1, -2)) / np.where(denominator > 0, denominator, 1), np.nan)


def spearman(values, target):
    return float(_spearman_rows(np.asarray(values, float), np.asarray(target, float)))


def kendall(values, target):
    return float(_kendall_rows(np.asarray(values, float), np.asarray(target, float)))


def _interval(samples):
    finite = samples[np.isfinite(samples)]
    return (float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))) if len(finite) else (None, None)


def top_hits(values, accuracy, top=TOP):
    """The share of the `top` most accurate architectures that are among the proxy's `top` best."""
    best = set(np.argsort(-np.asarray(accuracy), kind="stable")[:top])
    return len(best & set(np.argsort(-np.asarray(values), kind="stable")[:top])) / top


def analyse(accuracy, scores_by_seed, published=None):
    """accuracy: per architecture (a list); scores_by_seed: {init seed: {proxy: per-architecture
    list}}. Returns a row per proxy and the bootstrap samples the claim verdicts read."""
    published = published or {}
    accuracy = np.asarray(accuracy, float)
    by_seed = {seed: {name: np.asarray(values, float) for name, values in scores.items()} for seed, scores in scores_by_seed.items()}
    for scores in by_seed.values():
        scores["vote"] = vote(scores)
    first = by_seed[next(iter(by_seed))]
    resamples = np.random.default_rng(0).integers(0, len(accuracy), (RESAMPLES, len(accuracy)))
    bootstrap = {name: _spearman_rows(first[name][resamples], accuracy[resamples]) for name in RANKED}
    bootstrap.update({(name, baseline): _spearman_rows(first[name][resamples], first[baseline][resamples])
                      for name in RANKED for baseline in BASELINES})
    rows = []
    for name in RANKED:
        tau = _kendall_rows(first[name][resamples], accuracy[resamples])
        per_seed = [spearman(scores[name], accuracy) for scores in by_seed.values()]
        agreement = [spearman(by_seed[a][name], by_seed[b][name]) for a, b in itertools.combinations(by_seed, 2)]
        rows.append({
            "proxy": name,
            "published_spearman": published.get(name),
            "spearman": spearman(first[name], accuracy), "spearman_interval": _interval(bootstrap[name]),
            "kendall": kendall(first[name], accuracy), "kendall_interval": _interval(tau),
            **{f"spearman_with_{baseline}": spearman(first[name], first[baseline]) for baseline in BASELINES},
            **{f"minus_{baseline}": (spearman(first[name], accuracy) - spearman(first[baseline], accuracy),
                                     _interval(bootstrap[name] - bootstrap[baseline])) for baseline in BASELINES},
            "top_hits": top_hits(first[name], accuracy),
            "spearman_over_seeds": (float(np.mean(per_seed)), float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0),
            "seed_agreement": float(np.mean(agreement)) if agreement else None,
        })
    return {"rows": rows, "bootstrap": bootstrap, "architectures": len(accuracy), "seeds": list(by_seed)}


def measure(claim, analysis):
    """A `correlates` claim's Spearman rho (with accuracy or a baseline) or a `beats` claim's rho(proxy) -
    rho(over), with its bootstrap interval and the boundary it is judged against (verdicts.py judges)."""
    rows = {row["proxy"]: row for row in analysis["rows"]}
    row = rows[claim["proxy"]]
    if claim["kind"] == "correlates":
        against = claim.get("with", "accuracy")
        if against == "accuracy":
            value, (low, high) = row["spearman"], row["spearman_interval"]
        else:
            value, (low, high) = row[f"spearman_with_{against}"], _interval(analysis["bootstrap"][(claim["proxy"], against)])
        boundary = claim["at_least"]
        quantity = f"Spearman ρ of `{claim['proxy']}` with {'trained accuracy' if against == 'accuracy' else f'`{against}`'} (at least {boundary:.2f})"
    else:
        value = row["spearman"] - rows[claim["over"]]["spearman"]
        low, high = _interval(analysis["bootstrap"][claim["proxy"]] - analysis["bootstrap"][claim["over"]])
        boundary = 0.0
        quantity = f"Spearman ρ with trained accuracy of `{claim['proxy']}` minus `{claim['over']}`"
    return {"mean": value, "low": low, "high": high}, quantity, boundary


def beats_baselines(analysis):
    """One sentence: which proxies rank better than params and FLOPs here (interval above zero)."""
    sentences = []
    for baseline in BASELINES:
        winners = [row["proxy"] for row in analysis["rows"] if row["proxy"] not in BASELINES
                   and row[f"minus_{baseline}"][1][0] is not None and row[f"minus_{baseline}"][1][0] > 0]
        losers = [row["proxy"] for row in analysis["rows"] if row["proxy"] not in BASELINES
                  and row[f"minus_{baseline}"][1][1] is not None and row[f"minus_{baseline}"][1][1] < 0]
        sentences.append(f"Against `{baseline}`: " + (f"{', '.join(f'`{name}`' for name in winners)} rank better (95% interval of the "
                         "difference in ρ above zero)" if winners else "no proxy ranks detectably better")
                         + (f"; {', '.join(f'`{name}`' for name in losers)} rank worse." if losers else "."))
    return " ".join(sentences)
