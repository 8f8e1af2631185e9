"""Loads params.yaml and the study cards (workflow/studies/<study>.yaml) safely and checks them
against the JSON schemas in workflow/schemas/; errors name the file, the key path and the fix.
Pure Python: Snakemake imports this on every parse."""

import copy
import difflib
import functools
import json
import math
from pathlib import Path

import yaml

from reprolab.planning.paths import CARD_PATH

ROOT = Path(__file__).resolve().parents[3]
PARAMS_SCHEMA = ROOT / "workflow" / "schemas" / "params.schema.json"
CARD_SCHEMA = ROOT / "workflow" / "schemas" / "study.schema.json"


class ParamsError(ValueError):
    """params.yaml is malformed or inconsistent; the message names the key path and the fix."""


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # PyYAML's safe loader, on libyaml where installed (~10x faster)


class UniqueKeyLoader(SAFE_LOADER):
    """PyYAML's safe loader, except that a key repeated in one mapping is an error: plain YAML
    would keep the last one silently, so two variants of one name would share one output path."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def setting(tree, dotted):
    """The value under a dotted key such as `model.depth`; KeyError when the path is not there."""
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            raise KeyError(dotted)
        tree = tree[part]
    return tree


def _refuse_non_finite(content, path, parts=()):
    """NaN and infinite numbers (YAML's .nan, .inf) pass a schema's `number` but train nothing sensible: refuse them."""
    if isinstance(content, dict):
        for key, value in content.items():
            _refuse_non_finite(value, path, parts + (key,))
    elif isinstance(content, list):
        for index, value in enumerate(content):
            _refuse_non_finite(value, path, parts + (index,))
    elif isinstance(content, float) and not math.isfinite(content):
        raise ParamsError(f"{path}: {_key_path(parts)}: {content} is not a finite number; write a number such as 0.03 (or remove the key)")


def load_checked(path, schema_path, missing_hint):
    """Loads a YAML file safely and checks it against a JSON schema; errors name the file, the line
    or key path, and the fix."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file ({missing_hint})") from None
    return copy.deepcopy(_checked(text, str(path), str(schema_path)))


@functools.lru_cache(maxsize=32)
def _checked(text, path, schema_path):
    """load_checked's work on a file's text, done once per process for each text (a plan reads each
    card twice); callers get copies."""
    import jsonschema

    try:
        content = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}:{where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    _refuse_non_finite(content, path)
    validator = jsonschema.Draft202012Validator(json.loads(Path(schema_path).read_text()))
    errors = sorted(validator.iter_errors(content), key=lambda error: list(map(str, error.absolute_path)))
    if errors:
        deepest = [error for error in errors if not error.context] or errors
        raise ParamsError(f"{path}: " + "\n".join(_schema_message(error) for error in deepest[:5]))
    return content


def read_card(study_name, root="."):
    """A study's card: title, question, claims and published figures, in workflow/studies/<study>.yaml
    of the repository `root` that holds params.yaml."""
    return load_checked(Path(root) / CARD_PATH.format(study=study_name), CARD_SCHEMA, "every study needs a card with at least its title")


def _key_path(parts):
    return ".".join(str(part) for part in parts) or "(top level)"


def _schema_message(error):
    """Turns a jsonschema error into one line naming the key path, what is wrong and what is allowed."""
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return f"{where}: unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        close = difflib.get_close_matches(str(error.instance), [str(v) for v in error.validator_value], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{where}: {error.instance!r} is not allowed{hint}; choose one of {', '.join(map(str, error.validator_value))}"
    return f"{where}: {error.message}"
