"""Nested settings blocks: merging one over another and building one from a dotted key. Shared by
the planning side (variants) and the train jobs (a sweep's picked value applied to a config)."""

import copy


def deep_merge(base, override):
    """Returns base with override's keys merged in recursively (override wins; dicts merge)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def nested(dotted, value):
    """The settings block that sets the dotted key to value: nested("a.b", 1) is {"a": {"b": 1}}."""
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value
