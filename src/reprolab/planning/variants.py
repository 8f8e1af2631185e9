"""Resolves each study's variants into training configs: study base <- `extends` chain <- variant,
with the `full` overlay when `scale: full`; search-space architectures and sweep points are variants too."""

import copy
import difflib
import functools
import json
import random

from reprolab.nesting import deep_merge, nested
from reprolab.planning.loading import ParamsError


def plot_variants(study, plot):
    """The variants a card's plot draws: a sweep's points, those it names, or all of the study's; and
    its reference variant."""
    if plot["kind"] == "sweep":
        drawn = [point_name(plot["sweep"], value) for value in study["sweeps"][plot["sweep"]]["values"]]
    elif plot["kind"] == "paired_bars":
        drawn = [variant for pair in plot["pairs"] for variant in pair]
    elif plot["kind"] == "error_vs_measured":
        drawn = [variant for group in plot["groups"].values() for variant in group]
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
        if settings.get("model", {}).get("name", config.get("model", {}).get("name")) != config.get("model", {}).get("name"):
            config.pop("model", None)  # a block naming another network replaces the inherited one instead of merging into it
        config = deep_merge(config, settings)
    if ".sweeps." in layers[-1][0]:  # a sweep's point sets the key itself rather than taking the pick
        config.pop("picked", None)
    config.setdefault("dataset", params["studies"][study_name]["dataset"])  # a variant may train on another dataset
    config.setdefault("hold_out_validation", bool(params["datasets"].get(config["dataset"], {}).get("validation_size")))
    return config
