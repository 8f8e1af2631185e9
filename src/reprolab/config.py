"""Reads params.yaml, validates it against workflow/schemas/params.schema.json and resolves each
variant's training config (study base <- `extends` chain <- variant, with the `full` overlay when
`scale: full`). Pure Python: Snakemake imports this on every parse."""

import copy
import difflib
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "params.schema.json"


class ParamsError(ValueError):
    """params.yaml is malformed or inconsistent; the message names the key path and the fix."""


def deep_merge(base, override):
    """Returns base with override's keys merged in recursively (override wins; dicts merge)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_params(path):
    """Loads and validates a params file; errors name the file, line or key path."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such params file (run from the repository root, or pass --params)") from None
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}:{where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    validate(params, path)
    return params


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


def validate(params, source="params.yaml"):
    """Checks params against the JSON schema, then the cross-references the schema cannot express."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(params), key=lambda error: list(map(str, error.absolute_path)))
    if errors:
        deepest = [error for error in errors if not error.context] or errors
        raise ParamsError(f"{source}: " + "\n".join(_schema_message(error) for error in deepest[:5]))
    for study_name, study in params["studies"].items():
        if study["dataset"] not in params["datasets"]:
            raise ParamsError(
                f"{source}: studies.{study_name}.dataset: unknown dataset '{study['dataset']}'; "
                f"declared datasets: {', '.join(sorted(params['datasets']))}"
            )
        for variant_name in study.get("full", {}).get("variants", {}):
            if variant_name not in study["variants"]:
                raise ParamsError(
                    f"{source}: studies.{study_name}.full.variants.{variant_name}: not a variant of the study; "
                    f"variants: {', '.join(study['variants'])}"
                )
        for variant_name in study["variants"]:
            resolve_variant(params, study_name, variant_name)
        _check_claims(study, study_name, source)


def _check_claims(study, study_name, source):
    """Claims must name declared variants, and a reproduced figure must have its published value."""
    for index, claim in enumerate(study.get("claims", [])):
        where = f"{source}: studies.{study_name}.claims.{index}"
        for key in ("variant", "over"):
            if key in claim and claim[key] not in study["variants"]:
                raise ParamsError(f"{where}.{key}: unknown variant '{claim[key]}'; variants: {', '.join(study['variants'])}")
        published = study.get("references", {}).get("variants", {}).get(claim["variant"], {})
        if claim["kind"] == "reproduces" and "test_error" not in published:
            raise ParamsError(f"{where}: a `reproduces` claim needs references.variants.{claim['variant']}.test_error")


def study_settings(params, study_name):
    """The study's block with its `full` overlay applied when params say `scale: full`."""
    study = {key: value for key, value in params["studies"][study_name].items() if key != "full"}
    if params.get("scale", "default") == "full":
        study = deep_merge(study, params["studies"][study_name].get("full", {}))
    return study


def extends_chain(study, study_name, variant_name):
    """The variant names from the root ancestor down to variant_name, following `extends`."""
    chain = [variant_name]
    variants = study["variants"]
    while "extends" in (variants[chain[-1]] or {}):
        parent = variants[chain[-1]]["extends"]
        where = f"studies.{study_name}.variants.{chain[-1]}.extends"
        if parent not in variants:
            close = difflib.get_close_matches(parent, list(variants), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ParamsError(f"{where}: unknown variant '{parent}'{hint}; variants: {', '.join(variants)}")
        if parent in chain:
            cycle = " -> ".join(reversed(chain + [parent]))
            raise ParamsError(f"{where}: `extends` forms a cycle ({cycle}); remove one link")
        chain.append(parent)
    return list(reversed(chain))


def _layers(params, study_name, variant_name):
    """The (dotted key, settings) pairs merged into a variant's config, in merge order: base, then
    each ancestor and the variant itself, each followed by its `full` overlay when scale is full."""
    raw = params["studies"][study_name]
    full = params.get("scale", "default") == "full"
    prefix = f"studies.{study_name}"
    layers = [(f"{prefix}.base", raw["base"])]
    if full and "base" in raw.get("full", {}):
        layers.append((f"{prefix}.full.base", raw["full"]["base"]))
    for name in extends_chain(study_settings(params, study_name), study_name, variant_name):
        layers.append((f"{prefix}.variants.{name}", raw["variants"].get(name) or {}))
        if full and name in raw.get("full", {}).get("variants", {}):
            layers.append((f"{prefix}.full.variants.{name}", raw["full"]["variants"][name] or {}))
    return [(key, {k: v for k, v in settings.items() if k != "extends"}) for key, settings in layers]


def resolve_variant(params, study_name, variant_name):
    """The full training config of one variant: study base, then each ancestor, then the variant."""
    config = {}
    for _, settings in _layers(params, study_name, variant_name):
        config = deep_merge(config, settings)
    config["dataset"] = params["studies"][study_name]["dataset"]
    return config


def source_keys(params, study_name, variant_name):
    """The params keys a variant's config is read from: its own block(s) whole, from the base and its
    ancestors only the leaves it does not override (editing a sibling reruns nothing here), and
    `scale` when a `full` overlay would change it."""
    layers = _layers(params, study_name, variant_name)
    own_prefixes = (f"studies.{study_name}.variants.{variant_name}", f"studies.{study_name}.full.variants.{variant_name}")
    sources = {}
    for key, settings in layers:
        leaves = _leaf_paths(settings)
        sources = {leaf: source for leaf, source in sources.items() if not any(leaf[:len(path)] == path for path in leaves)}
        sources.update({path: ".".join((key, *path)) for path in leaves})
    own = [key for key, _ in layers if key in own_prefixes]
    full_layers = _layers({**params, "scale": "full"}, study_name, variant_name)
    scale = ["scale"] if "scale" in params and any(".full." in key for key, _ in full_layers) else []
    return scale + own + sorted({source for source in sources.values() if not source.startswith(own_prefixes)})


def _leaf_paths(settings, path=()):
    """The leaf paths a settings block defines (a non-empty dict is recursed into)."""
    paths = []
    for name, value in settings.items():
        if isinstance(value, dict) and value:
            paths += _leaf_paths(value, path + (name,))
        else:
            paths.append(path + (name,))
    return paths
