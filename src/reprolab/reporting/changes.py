"""What moved since the committed report: the study's metrics.json against the last committed
version (git) that differs from it, listing verdicts that flipped, values that left their earlier
95% interval and failure counts that changed, with the commit compared against. Skipping versions
equal to the new one keeps a regenerated page the same after its metrics are committed."""

import json

from reprolab.planning.paths import path
from reprolab.reporting.provenance import git


HISTORY = 50  # commits of metrics.json searched for an earlier version


def claim_texts(claims):
    """Each claim's text by its key in metrics.json (`claimN`, N its place on the card)."""
    return {f"claim{index + 1}": claim["text"] for index, claim in enumerate(claims)}


def committed_metrics(study_name, current):
    """(short commit, date, metrics, claim texts by metrics key) of the newest commit whose metrics.json
    differs from `current`, or None; the texts come from that commit's verdicts.json."""
    target = path("study_metrics", study=study_name)
    for line in git("log", f"-{HISTORY}", "--format=%h %cs", "--", target).splitlines():
        commit, date = line.split()
        try:
            earlier = json.loads(git("show", f"{commit}:{target}"))
        except json.JSONDecodeError:
            continue
        if earlier != current:
            try:
                claims = json.loads(git("show", f"{commit}:{path('verdicts', study=study_name)}"))["claims"]
            except (json.JSONDecodeError, KeyError):
                claims = []
            return commit, date, earlier, claim_texts(claims)
    return None


def align_claims(previous, previous_texts, claim_texts):
    """`previous` with its claims keyed as the current ones hold the same text: claims are numbered by
    their place on the card, so one inserted or removed must not pair a claim with another's figures.
    A claim whose text is no longer on the card keeps its old key, named with its text."""
    current_key = {text: key for key, text in claim_texts.items()}
    aligned = {key: value for key, value in previous.items() if key not in previous_texts}
    for key, text in previous_texts.items():
        if key in previous:
            aligned[current_key.get(text, f"{key} ({text})")] = previous[key]
    return aligned


def _left_interval(now, before, value_key, low_key, high_key):
    """True when the new value lies outside the earlier interval (or moved at all where there was none)."""
    if now.get(value_key) is None or before.get(value_key) is None:
        return False
    low, high = before.get(low_key), before.get(high_key)
    if low is None or high is None:
        return now[value_key] != before[value_key]
    return not low <= now[value_key] <= high


def compare(previous, current, claim_texts):
    """The listed changes from `previous` to `current` metrics (both as metrics.json holds them)."""
    items = []
    for key, now in current.items():
        before = previous.get(key)
        name = f"{key} ({claim_texts[key]})" if key in claim_texts else f"`{key}`"
        if before is None:
            items.append(f"{name}: new")
            continue
        if "verdict" in now and now["verdict"] != before.get("verdict"):
            items.append(f"{name}: verdict {before.get('verdict')} → **{now['verdict']}**")
        for value, low, high, what in (("value", "low", "high", "measured value"), ("test_error_percent", "test_error_low", "test_error_high", "test error %"),
                                       ("spearman", "low", "high", "Spearman ρ")):
            if value in now and _left_interval(now, before, value, low, high):
                earlier = "" if before.get(low) is None else f", outside its earlier interval [{before[low]:.2f}, {before[high]:.2f}]"
                items.append(f"{name}: {what} {before[value]:.2f} → {now[value]:.2f}{earlier}")
        if "failed_runs" in now and now["failed_runs"] != before.get("failed_runs"):
            items.append(f"{name}: failed runs {before.get('failed_runs')}/{before.get('runs')} → {now['failed_runs']}/{now['runs']}")
    items += [f"`{key}`: removed" for key in previous if key not in current]
    return items


def since_committed(study_name, current, claims):
    """The page's closing section as data: what it compares against and the changes found."""
    committed = committed_metrics(study_name, json.loads(json.dumps(current)))  # as read back from the file
    if committed is None:
        return {"against": "No committed report differs from this one (a first report, or not a git checkout).", "items": []}
    commit, date, previous, previous_texts = committed
    texts = claim_texts(claims)
    items = compare(align_claims(previous, previous_texts, texts), current, texts)
    against = (f"Against `{path('study_metrics', study=study_name)}` as committed in `{commit}` ({date}), the last committed "
               f"version that differs from this one; `dvc metrics diff` "
               "lists every number. Listed: verdicts that flipped, values that left their earlier 95% interval (or moved, "
               "where there was none) and failure counts that changed.")
    return {"against": against + ("" if items else " Nothing moved beyond its interval."), "items": items}
