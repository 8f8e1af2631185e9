"""Reads params.yaml and the study cards (workflow/studies/<study>.yaml), validates them against
the JSON schemas in workflow/schemas/ and resolves each variant's training config (study base <-
`extends` chain <- variant, with the `full` overlay when `scale: full`). Pure Python: Snakemake
imports this on every parse."""

import copy
import difflib
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PARAMS_SCHEMA = ROOT / "workflow" / "schemas" / "params.schema.json"
CARD_SCHEMA = ROOT / "workflow" / "schemas" / "study.schema.json"
CARD_PATH = "workflow/studies/{study}.yaml"
# Training examples each dataset source provides, so a batch larger than the data is refused
# before any job runs (data.py checks the prepared arrays against these).
TRAIN_EXAMPLES = {"usps": 7291, "digits": 1297}
TEST_EXAMPLES = {"usps": 2007, "digits": 500}
# The model settings each network's `build` takes (src/reprolab/models/), checked before any training.
MODEL_SETTINGS = {"lecun1989": {"activation", "output_activation", "dropout"},
                  "resnet": {"depth", "widths", "normalization", "activation"}}


class ParamsError(ValueError):
    """params.yaml is malformed or inconsistent; the message names the key path and the fix."""


class UniqueKeyLoader(yaml.SafeLoader):
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


def deep_merge(base, override):
    """Returns base with override's keys merged in recursively (override wins; dicts merge)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_checked(path, schema_path, missing_hint):
    """Loads a YAML file safely and checks it against a JSON schema; errors name the file, the line
    or key path, and the fix."""
    import jsonschema

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file ({missing_hint})") from None
    try:
        content = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}:{where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    validator = jsonschema.Draft202012Validator(json.loads(Path(schema_path).read_text()))
    errors = sorted(validator.iter_errors(content), key=lambda error: list(map(str, error.absolute_path)))
    if errors:
        deepest = [error for error in errors if not error.context] or errors
        raise ParamsError(f"{path}: " + "\n".join(_schema_message(error) for error in deepest[:5]))
    return content


def read_params(path):
    """Loads and validates a params file and the cards of its studies."""
    params = load_checked(path, PARAMS_SCHEMA, "run from the repository root, or pass --params")
    validate(params, path)
    return params


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


def validate(params, source="params.yaml"):
    """The cross-references the params schema cannot express, and each study's card."""
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
        dataset = params["datasets"][study["dataset"]]
        train_examples = min(TRAIN_EXAMPLES[dataset["source"]], dataset.get("train_size", TRAIN_EXAMPLES[dataset["source"]]))
        for variant_name in study["variants"]:
            resolved = resolve_variant(params, study_name, variant_name)
            where = f"{source}: studies.{study_name}.variants.{variant_name}"
            if resolved["batch_size"] > train_examples:
                raise ParamsError(
                    f"{where}: batch_size {resolved['batch_size']} is larger than the "
                    f"{train_examples} training examples of dataset '{study['dataset']}'; use at most {train_examples}"
                )
            _check_model(resolved, where)
        _check_card(params, study_name, Path(source).parent)


def _check_model(resolved, where):
    """The resolved model block has exactly its network's settings, with values the network can build."""
    model = resolved["model"]
    expected = MODEL_SETTINGS[model["name"]]
    missing, unknown = sorted(expected - set(model)), sorted(set(model) - expected - {"name"})
    if missing:
        raise ParamsError(f"{where}: model {model['name']} needs model.{', model.'.join(missing)} (set it in the study's base or the variant)")
    if unknown:
        raise ParamsError(f"{where}: model {model['name']} does not take model.{', model.'.join(unknown)}; it takes {', '.join(sorted(expected))}")
    if model["name"] == "resnet" and (model["depth"] - 2) % 6:
        raise ParamsError(f"{where}: model.depth {model['depth']} is not 6n + 2; use 8, 14, 20, 32, 56, ...")
    if model.get("normalization") == "nf_agc" and "adaptive_clipping" not in resolved["optimizer"]:
        raise ParamsError(f"{where}: normalization nf_agc needs optimizer.adaptive_clipping (lambda, e.g. 0.04)")


def _check_card(params, study_name, root):
    """A card's claims and plots must name declared variants, a reproduced figure needs its published
    value, and a claim about an epoch must lie within training."""
    study = params["studies"][study_name]
    card = read_card(study_name, root)
    _check_plots(params, study_name, card)
    for index, claim in enumerate(card.get("claims", [])):
        where = f"{CARD_PATH.format(study=study_name)}: claims.{index}"
        for key in ("variant", "over"):
            if key in claim and claim[key] not in study["variants"]:
                raise ParamsError(f"{where}.{key}: unknown variant '{claim[key]}'; variants: {', '.join(study['variants'])}")
        if "epoch" in claim:
            shortest = min(resolve_variant(params, study_name, claim[key])["epochs"] for key in ("variant", "over"))
            if claim["epoch"] > shortest:
                raise ParamsError(f"{where}.epoch: {claim['epoch']} is past the end of training ({shortest} epochs); use at most {shortest}")
        published = card.get("references", {}).get("variants", {}).get(claim["variant"], {})
        if claim["kind"] == "reproduces" and "test_error" not in published:
            raise ParamsError(f"{where}: a `reproduces` claim needs references.variants.{claim['variant']}.test_error")


def _check_plots(params, study_name, card):
    """A card's plots must name declared variants, and settings those variants have."""
    study = study_settings(params, study_name)
    for index, plot in enumerate(card.get("plots", [])):
        where = f"{CARD_PATH.format(study=study_name)}: plots.{index}"
        for variant in plot["variants"]:
            if variant not in study["variants"]:
                raise ParamsError(f"{where}.variants: unknown variant '{variant}'; variants: {', '.join(study['variants'])}")
            resolved = resolve_variant(params, study_name, variant)
            for key in [key for key in ("x", "series") if key in plot]:
                try:
                    setting(resolved, plot[key])
                except KeyError:
                    raise ParamsError(f"{where}.{key}: variant '{variant}' has no setting '{plot[key]}' (a dotted key such as model.depth)") from None
            if plot["kind"] == "signal_propagation" and resolved["model"]["name"] != "resnet":
                raise ParamsError(f"{where}: signal propagation is measured for residual nets only; '{variant}' is {resolved['model']['name']}")


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
    inherited = []
    for key, settings in layers:
        if key not in own_prefixes:
            used = {leaf for leaf, source in sources.items() if source == ".".join((key, *leaf))}
            inherited += [".".join((key, *path)) for path in _covering_paths(settings, used)]
    full_layers = _layers({**params, "scale": "full"}, study_name, variant_name)
    scale = ["scale"] if "scale" in params and any(".full." in key for key, _ in full_layers) else []
    return scale + own + inherited


def _covering_paths(settings, used, path=()):
    """The fewest paths into `settings` that cover exactly the `used` leaves: a subtree all of whose
    leaves are used is one path (fewer keys keep `dvc status` fast)."""
    leaves = _leaf_paths(settings)
    if leaves and all(path + leaf in used for leaf in leaves):
        return [path]
    covering = []
    for name, value in settings.items():
        if isinstance(value, dict) and value:
            covering += _covering_paths(value, used, path + (name,))
        elif path + (name,) in used:
            covering.append(path + (name,))
    return covering


def _leaf_paths(settings, path=()):
    """The leaf paths a settings block defines (a non-empty dict is recursed into)."""
    paths = []
    for name, value in settings.items():
        if isinstance(value, dict) and value:
            paths += _leaf_paths(value, path + (name,))
        else:
            paths.append(path + (name,))
    return paths
