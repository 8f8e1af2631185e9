"""What moved since the committed report: the study's metrics.json against its last committed
version (git), listing verdicts that flipped, values that left their earlier 95% interval and
failure counts that changed, with the commit compared against."""

import json

from reprolab.plan import path
from reprolab.reporting.provenance import git


def committed_metrics(study_name):
    """(short commit, date, metrics) of the last commit that changed the study's metrics.json, or None."""
    target = path("study_metrics", study=study_name)
    line = git("log", "-1", "--format=%h %cs", "--", target)
    if not line:
        return None
    commit, date = line.split()
    try:
        return commit, date, json.loads(git("show", f"{commit}:{target}"))
    except json.JSONDecodeError:
        return None


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


def since_committed(study_name, current, claim_texts):
    """The page's closing section as data: what it compares against and the changes found."""
    committed = committed_metrics(study_name)
    if committed is None:
        return {"against": "No committed report to compare with (a first report, or not a git checkout).", "items": []}
    commit, date, previous = committed
    items = compare(previous, current, claim_texts)
    against = (f"Against `{path('study_metrics', study=study_name)}` as last committed in `{commit}` ({date}); `dvc metrics diff` "
               "lists every number. Listed: verdicts that flipped, values that left their earlier 95% interval (or moved, "
               "where there was none) and failure counts that changed.")
    return {"against": against + ("" if items else " Nothing moved."), "items": items}
