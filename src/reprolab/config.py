"""Reads params.yaml and the study cards (workflow/studies/<study>.yaml), validates them against
the JSON schemas in workflow/schemas/ and resolves each variant's training config (study base <-
`extends` chain <- variant, with the `full` overlay when `scale: full`). Pure Python: Snakemake
imports this on every parse."""

import copy
import difflib
import functools
import json
import math
import random
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
                  "resnet": {"depth", "widths", "normalization", "activation"},
                  "cnn": {"widths", "kernel_sizes", "pooling", "dense_width", "activation"},
                  "mlp": {"depth", "width", "initialization"}}
# The zero-cost proxies proxies.py scores for every network (ranking.py adds their `vote`).
PROXIES = ("params", "flops", "grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov", "naswot")
# A search space's choices (params `search_space`) besides its seed and size; `depth` is the number
# of convolutions, each drawing its own width and kernel size.
SEARCH_CHOICES = ("depth", "widths", "kernel_sizes", "pooling", "dense_width", "activation")


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
    _refuse_non_finite(content, path)
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
    for study_name, raw_study in params["studies"].items():
        study = study_settings(params, study_name)
        if study["dataset"] not in params["datasets"]:
            raise ParamsError(
                f"{source}: studies.{study_name}.dataset: unknown dataset '{study['dataset']}'; "
                f"declared datasets: {', '.join(sorted(params['datasets']))}"
            )
        for variant_name in raw_study.get("full", {}).get("variants", {}):
            if variant_name not in study["variants"]:
                raise ParamsError(
                    f"{source}: studies.{study_name}.full.variants.{variant_name}: not a variant of the study; "
                    f"variants: {', '.join(study['variants'])}"
                )
        dataset = params["datasets"][study["dataset"]]
        all_train_examples = min(TRAIN_EXAMPLES[dataset["source"]], dataset.get("train_size", TRAIN_EXAMPLES[dataset["source"]]))
        if dataset.get("validation_size", 0) >= all_train_examples:
            raise ParamsError(f"{source}: datasets.{study['dataset']}.validation_size {dataset['validation_size']} leaves no training "
                              f"examples of the {all_train_examples}; use fewer")
        _check_sweeps(params, study_name, source)
        for variant_name in study["variants"]:
            resolved = resolve_variant(params, study_name, variant_name)
            where = f"{source}: studies.{study_name}.variants.{variant_name}"
            if resolved["hold_out_validation"] and not dataset.get("validation_size"):
                raise ParamsError(f"{where}: hold_out_validation needs a validation split: set datasets.{study['dataset']}.validation_size "
                                  "(e.g. 1000), or hold_out_validation: false")
            held_out = dataset.get("validation_size", 0) if resolved["hold_out_validation"] else 0
            train_examples = all_train_examples - held_out
            if resolved["batch_size"] > train_examples:
                raise ParamsError(
                    f"{where}: batch_size {resolved['batch_size']} is larger than the {train_examples} training examples of dataset "
                    f"'{study['dataset']}'" + (f" ({held_out} of {all_train_examples} are held out for validation)" if held_out else "")
                    + f"; use at most {train_examples}"
                )
            _check_model(resolved, where)
            picked_keys = [raw_study.get("sweeps", {}).get(name, {}).get("key") for name in resolved.get("picked", [])]
            if "eta" not in resolved["optimizer"].get("gradient_noise", {"eta": None}) and "optimizer.gradient_noise.eta" not in picked_keys:
                raise ParamsError(f"{where}: optimizer.gradient_noise needs eta, or a sweep in `picked` whose key is optimizer.gradient_noise.eta")
            _check_timing(resolved, where)
            if "proxies" in study and resolved["model"]["name"] != "cnn":
                raise ParamsError(f"{where}: zero-cost proxies are scored for chain networks (model cnn), not {resolved['model']['name']}; "
                                  f"remove studies.{study_name}.proxies or use model cnn")
        if "baseline" in study and study["baseline"] not in study["variants"]:
            raise ParamsError(f"{source}: studies.{study_name}.baseline: '{study['baseline']}' is not one of the variants "
                              f"({', '.join(study['variants'])})")
        _check_card(params, study_name, Path(source).parent)


def _check_sweeps(params, study_name, source):
    """`picked` names declared sweeps; a sweep names a declared variant that holds out validation,
    and its points' names are not taken by declared variants."""
    raw = params["studies"][study_name]
    sweeps = raw.get("sweeps", {})
    for variant_name, variant in raw.get("variants", {}).items():
        for sweep_name in (variant or {}).get("picked", []):
            if sweep_name not in sweeps:
                raise ParamsError(f"{source}: studies.{study_name}.variants.{variant_name}.picked: unknown sweep '{sweep_name}'; "
                                  f"sweeps: {', '.join(sweeps) or 'none (declare studies.{study_name}.sweeps)'}")
    for sweep_name, sweep in sweeps.items():
        where = f"{source}: studies.{study_name}.sweeps.{sweep_name}"
        if sweep["variant"] not in raw.get("variants", {}):
            raise ParamsError(f"{where}.variant: unknown variant '{sweep['variant']}'; variants: {', '.join(raw.get('variants', {}))}")
        for value in sweep["values"]:
            if point_name(sweep_name, value) in raw.get("variants", {}):
                raise ParamsError(f"{where}: its point {point_name(sweep_name, value)} has the name of a declared variant; rename the sweep or the variant")
        template = resolve_variant(params, study_name, sweep["variant"])
        if not template["hold_out_validation"]:
            raise ParamsError(f"{where}: a sweep picks on the validation split, but variant '{sweep['variant']}' trains on all "
                              "training examples; set hold_out_validation: true (and the dataset's validation_size)")


def _check_model(resolved, where):
    """The resolved model block has exactly its network's settings, with values the network can build."""
    model = resolved["model"]
    expected = MODEL_SETTINGS[model["name"]]
    missing, unknown = sorted(expected - set(model)), sorted(set(model) - expected - {"name"})
    if missing:
        raise ParamsError(f"{where}: model {model['name']} needs model.{', model.'.join(missing)} (set it in the study's base or the variant)")
    if unknown:
        raise ParamsError(f"{where}: model {model['name']} does not take model.{', model.'.join(unknown)}; it takes {', '.join(sorted(expected))}")
    if model["name"] == "resnet" and (model["depth"] < 8 or (model["depth"] - 2) % 6):
        raise ParamsError(f"{where}: model.depth {model['depth']} is not 6n + 2 with n >= 1; use 8, 14, 20, 32, 56, ...")
    if model["name"] == "resnet" and len(model["widths"]) != 3:
        raise ParamsError(f"{where}: model.widths {model['widths']}: resnet has three stages; give three widths")
    if model["name"] == "cnn" and len(model["widths"]) != len(model["kernel_sizes"]):
        raise ParamsError(f"{where}: model.widths {model['widths']} and model.kernel_sizes {model['kernel_sizes']}: "
                          "give one kernel size per convolution")
    if "gradient_noise" in resolved["optimizer"] and (resolved["optimizer"]["name"] != "sgd" or "adaptive_clipping" in resolved["optimizer"]):
        raise ParamsError(f"{where}: optimizer.gradient_noise is implemented for plain SGD (with momentum); "
                          "use optimizer.name sgd without adaptive_clipping")
    if resolved["optimizer"].get("weight_decay_form") == "coupled" and (
            resolved["optimizer"]["name"] != "sgd" or {"gradient_noise", "adaptive_clipping"} & set(resolved["optimizer"])):
        raise ParamsError(f"{where}: optimizer.weight_decay_form coupled is implemented for plain SGD (with momentum); "
                          "use optimizer.name sgd without gradient_noise or adaptive_clipping, or drop weight_decay_form")
    if model.get("normalization") == "nf_agc" and "adaptive_clipping" not in resolved["optimizer"]:
        raise ParamsError(f"{where}: normalization nf_agc needs optimizer.adaptive_clipping (lambda, e.g. 0.04)")


def _check_timing(resolved, where):
    """Timing windows must lie within training and switch something the variant has."""
    timing = resolved.get("timing", {})
    if not timing:
        return
    if resolved["batch_size"] == 1:
        raise ParamsError(f"{where}: timing needs mini-batch training; set batch_size above 1")
    for name in ("weight_decay", "augmentation", "blur"):
        window = timing.get(name, {})
        start, end = window.get("from", 0), window.get("until", resolved["epochs"])
        if name in timing and not start < end <= resolved["epochs"]:
            raise ParamsError(f"{where}: timing.{name} {window} is not a non-empty window within the {resolved['epochs']} epochs "
                              f"(0 <= from < until <= {resolved['epochs']})")
    if "weight_decay" in timing and not resolved["optimizer"].get("weight_decay"):
        raise ParamsError(f"{where}: timing.weight_decay switches weight decay the variant does not have; set optimizer.weight_decay")
    if "augmentation" in timing and not resolved["augment_shift_pixels"]:
        raise ParamsError(f"{where}: timing.augmentation switches augmentation the variant does not have; set augment_shift_pixels")
    if timing.get("reset_learning_rate") and ("until" not in timing.get("blur", {}) or resolved["schedule"]["name"] == "constant"):
        raise ParamsError(f"{where}: timing.reset_learning_rate restarts a decaying schedule when the blur ends; "
                          "it needs timing.blur.until and schedule linear")


def _check_card(params, study_name, root):
    """A card's claims and plots must name declared variants, a reproduced figure needs its published
    value, and a claim about an epoch must lie within training."""
    study = study_settings(params, study_name)
    card = read_card(study_name, root)
    _check_plots(params, study_name, card)
    for index, variant in enumerate(card.get("examples", [])):
        if variant not in study["variants"]:
            raise ParamsError(f"{CARD_PATH.format(study=study_name)}: examples.{index}: unknown variant '{variant}'; "
                              f"variants: {', '.join(study['variants'])}")
    if card.get("main_claim", 1) > max(1, len(card.get("claims", []))):
        raise ParamsError(f"{CARD_PATH.format(study=study_name)}: main_claim: {card['main_claim']} but the card has "
                          f"{len(card.get('claims', []))} claims; name one of 1 to {len(card.get('claims', []))}")
    for index, row in enumerate(card.get("paper_table", {}).get("rows", [])):
        for key in ("without", "with"):
            if row[key] not in study["variants"]:
                raise ParamsError(f"{CARD_PATH.format(study=study_name)}: paper_table.rows.{index}.{key}: unknown variant '{row[key]}'; "
                                  f"variants: {', '.join(study['variants'])}")
    for index, claim in enumerate(card.get("claims", [])):
        where = f"{CARD_PATH.format(study=study_name)}: claims.{index}"
        if "proxy" in claim:
            _check_proxy_claim(params, study_name, claim, where)
            continue
        for key, value in [(key, claim[key]) for key in ("variant", "over") if key in claim] + [
                (f"effect.{key}", value) for key, value in claim.get("effect", {}).items()]:
            if value not in study["variants"]:
                raise ParamsError(f"{where}.{key}: unknown variant '{value}'; variants: {', '.join(study['variants'])}")
        if claim.get("measure") == "failure_rate" and claim["kind"] != "improves":
            raise ParamsError(f"{where}.measure: failure_rate claims say `variant` fails less often than `over` (kind improves), not {claim['kind']}")
        if "epoch" in claim:
            shortest = min(resolve_variant(params, study_name, claim[key])["epochs"] for key in ("variant", "over"))
            if claim["epoch"] > shortest:
                raise ParamsError(f"{where}.epoch: {claim['epoch']} is past the end of training ({shortest} epochs); use at most {shortest}")
        published = card.get("references", {}).get("variants", {}).get(claim["variant"], {})
        if claim["kind"] == "reproduces" and "test_error" not in published:
            raise ParamsError(f"{where}: a `reproduces` claim needs references.variants.{claim['variant']}.test_error")


def _check_proxy_claim(params, study_name, claim, where):
    """A claim about proxies needs a study that scores them, and names proxies it scores."""
    if "proxies" not in params["studies"][study_name]:
        raise ParamsError(f"{where}: a claim about proxies needs studies.{study_name}.proxies in params.yaml")
    ranked = PROXIES + ("vote",)
    for key in ("proxy", "over", "with"):
        if key in claim and claim[key] not in ranked + (("accuracy",) if key == "with" else ()):
            raise ParamsError(f"{where}.{key}: unknown proxy '{claim[key]}'; proxies: {', '.join(ranked)}")


def _check_plots(params, study_name, card):
    """A card's plots must name declared variants, and settings those variants have."""
    study = study_settings(params, study_name)
    for index, plot in enumerate(card.get("plots", [])):
        where = f"{CARD_PATH.format(study=study_name)}: plots.{index}"
        if plot["kind"] == "proxies" and "proxies" not in study:
            raise ParamsError(f"{where}: a proxies plot needs studies.{study_name}.proxies in params.yaml")
        if plot["kind"] == "sweep" and plot.get("sweep") not in study.get("sweeps", {}):
            raise ParamsError(f"{where}.sweep: a sweep plot names one of studies.{study_name}.sweeps "
                              f"({', '.join(study.get('sweeps', {})) or 'none declared'})")
        for variant in plot_variants(study, plot):
            if variant not in study["variants"]:
                raise ParamsError(f"{where}.variants: unknown variant '{variant}'; variants: {', '.join(study['variants'])}")
            if variant == plot.get("reference"):
                continue  # drawn as a band: it need not have the plotted setting
            resolved = resolve_variant(params, study_name, variant)
            for key in [key for key in ("x", "series") if key in plot]:
                try:
                    setting(resolved, plot[key])
                except KeyError:
                    raise ParamsError(f"{where}.{key}: variant '{variant}' has no setting '{plot[key]}' (a dotted key such as model.depth)") from None
            if plot["kind"] == "signal_propagation" and resolved["model"]["name"] != "resnet":
                raise ParamsError(f"{where}: signal propagation is measured for residual nets only; '{variant}' is {resolved['model']['name']}")


def plot_variants(study, plot):
    """The variants a card's plot draws: a sweep's points, those it names, or all of the study's; and
    its reference variant."""
    if plot["kind"] == "sweep":
        drawn = [point_name(plot["sweep"], value) for value in study["sweeps"][plot["sweep"]]["values"]]
    else:
        drawn = plot.get("variants") or list(study["variants"])
    return drawn + [plot["reference"]] if plot.get("reference") and plot["reference"] not in drawn else drawn


def study_settings(params, study_name):
    """The study's block with its `full` overlay applied when params say `scale: full`, and its
    variants: those declared, the architectures its `search_space` samples, then its sweeps' points."""
    study = {key: value for key, value in params["studies"][study_name].items() if key != "full"}
    if params.get("scale", "default") == "full":
        study = deep_merge(study, params["studies"][study_name].get("full", {}))
    study["variants"] = dict(study.get("variants", {}))
    if "search_space" in study:
        study["variants"].update(copy.deepcopy(_sampled(json.dumps(study["search_space"], sort_keys=True))))
    study["variants"].update(sweep_points(study))
    return study


def sweep_points(study):
    """Each sweep's runs as variants named <sweep>_<value>: the sweep's `variant` with its `key` set
    to one value. They train on the training split and are compared on validation only."""
    points = {}
    for sweep_name, sweep in study.get("sweeps", {}).items():
        for value in sweep["values"]:
            points[point_name(sweep_name, value)] = {"extends": sweep["variant"], "sweep": sweep_name, **nested(sweep["key"], value)}
    return points


def nested(dotted, value):
    """The settings block that sets the dotted key to value: nested("a.b", 1) is {"a": {"b": 1}}."""
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def point_name(sweep_name, value):
    """A sweep point's variant name: 0.01 in sweep noise_eta is noise_eta_0_01."""
    return f"{sweep_name}_{value}".replace(".", "_").replace("-", "m").replace("+", "")




@functools.lru_cache(maxsize=8)
def _sampled(search_space_json):
    """sample_architectures, drawn once per process for each search space (the plan asks often)."""
    return sample_architectures(json.loads(search_space_json))


def sample_architectures(search_space):
    """`architectures` distinct cnn architectures drawn from the search space by one seeded
    generator, named arch000, arch001, ...: the first N are the same for any larger N, so growing
    the sample only adds jobs. Each is a variant block overriding the study's model."""
    generator = random.Random(search_space["seed"])
    sampled, seen = {}, set()
    attempts = 0
    while len(sampled) < search_space["architectures"]:
        attempts += 1
        if attempts > 100 * search_space["architectures"]:
            raise ParamsError(f"search_space: could not draw {search_space['architectures']} distinct architectures "
                              f"(only {len(sampled)} exist in this space); lower architectures or widen the choices")
        depth = generator.choice(search_space["depth"])
        model = {
            "name": "cnn",
            "widths": [generator.choice(search_space["widths"]) for _ in range(depth)],
            "kernel_sizes": [generator.choice(search_space["kernel_sizes"]) for _ in range(depth)],
            "pooling": generator.choice(search_space["pooling"]),
            "dense_width": generator.choice(search_space["dense_width"]),
            "activation": generator.choice(search_space["activation"]),
        }
        key = json.dumps(model, sort_keys=True)
        if key not in seen:
            seen.add(key)
            sampled[f"arch{len(sampled):03d}"] = {"model": model}
    return sampled


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
    study = study_settings(params, study_name)
    for name in extends_chain(study, study_name, variant_name):
        if "sweep" in (study["variants"][name] or {}):  # a sweep's point: its template with the swept key set
            layers.append((f"{prefix}.sweeps.{study['variants'][name]['sweep']}", study["variants"][name]))
            continue
        if name not in raw.get("variants", {}):  # drawn from the search space
            layers.append((f"{prefix}.search_space", study["variants"][name]))
            continue
        layers.append((f"{prefix}.variants.{name}", raw["variants"][name] or {}))
        if full and name in raw.get("full", {}).get("variants", {}):
            layers.append((f"{prefix}.full.variants.{name}", raw["full"]["variants"][name] or {}))
    return [(key, {k: v for k, v in settings.items() if k not in ("extends", "sweep")}) for key, settings in layers]


def resolve_variant(params, study_name, variant_name):
    """The full training config of one variant: study base, then each ancestor, then the variant."""
    config = {}
    layers = _layers(params, study_name, variant_name)
    for _, settings in layers:
        config = deep_merge(config, settings)
    if ".sweeps." in layers[-1][0]:  # a sweep's point sets the key itself rather than taking the pick
        config.pop("picked", None)
    dataset = params["studies"][study_name]["dataset"]
    config["dataset"] = dataset
    config.setdefault("hold_out_validation", bool(params["datasets"][dataset].get("validation_size")))
    return config


def source_keys(params, study_name, variant_name, only=None):
    """The params keys a variant's config is read from: its own block(s) whole, from the base and its
    ancestors only the leaves it does not override (editing a sibling reruns nothing here), the
    sampler's keys (not its size) for an architecture drawn from the search space, and `scale` when
    a `full` overlay would change it. `only` (config keys such as "model") keeps the inherited
    keys those settings come from."""
    layers = _layers(params, study_name, variant_name)
    own_prefixes = (f"studies.{study_name}.variants.{variant_name}", f"studies.{study_name}.full.variants.{variant_name}")
    sampled = f"studies.{study_name}.search_space"
    sources = {}
    for key, settings in layers:
        leaves = _leaf_paths(settings)
        sources = {leaf: source for leaf, source in sources.items() if not any(leaf[:len(path)] == path for path in leaves)}
        sources.update({path: ".".join((key, *path)) for path in leaves if only is None or path[0] in only})
    own = [key for key, _ in layers if key in own_prefixes]
    inherited = []
    for key, settings in layers:
        used = {leaf for leaf, source in sources.items() if source == ".".join((key, *leaf))}
        if key in own_prefixes or not used:
            continue
        if key == sampled:
            inherited += [f"{sampled}.{choice}" for choice in ("seed", *SEARCH_CHOICES)]
        elif ".sweeps." in key:  # the point's value is in its name; the sweep's other values are not read
            inherited += [f"{key}.key"]
        else:
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
