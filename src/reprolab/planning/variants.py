"""Resolves each study's variants into training configs: study base <- `extends` chain <- variant,
with the `full` overlay when `scale: full`; search-space architectures, sweep points and lottery rounds
are variants too, and a card names lottery rounds by the share of weights they keep."""

import difflib
import functools
import json
import math
import random
import re

from reprolab.nesting import deep_merge, nested
from reprolab.planning.loading import CARD_PATH, ParamsError, read_card

# The lottery's two chains of rounds and what each does with the surviving weights after pruning.
LOTTERY_CHAINS = {"ticket": "rewind", "random": "random"}
# A card's name for lottery rounds: ticket@12.5% (the round keeping the nearest share) or ticket@* (every round).
LOTTERY_NAME = re.compile(r"^(?P<chain>ticket|random)@(?:(?P<share>\d+(?:\.\d+)?)%|(?P<every>\*))$")
# How far (as a ratio) the nearest round's share may lie from the share a card names.
LOTTERY_SHARE_RATIO = 1.25


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
        study["variants"].update(json.loads(_sampled(json.dumps(study["search_space"], sort_keys=True))))
    study["variants"].update(sweep_points(study))
    study["variants"].update(lottery_rounds(study))
    return study


def lottery_rounds(study):
    """The lottery ticket's rounds as variants (Frankle & Carbin 2019), each training as the `from`
    variant does: round k prunes the trained round k - 1 (round 1 the `from` variant) and rewinds the
    survivors to their initial values (ticket_r<k>) or trains the same mask from a fresh draw (random_r<k>)."""
    lottery = study.get("lottery")
    if not lottery:
        return {}
    prune = {"fraction": lottery["fraction"], "classifier_fraction": lottery["classifier_fraction"]}
    return {f"{chain}_r{index}": {"extends": lottery["from"], "model": {"prunable": True}, "prune": {**prune, "weights": weights},
                                  "starts_from": {"variant": lottery["from"] if index == 1 else f"ticket_r{index - 1}"}}
            for chain, weights in LOTTERY_CHAINS.items() for index in range(1, lottery["rounds"] + 1)}


def lottery_share(lottery, index):
    """The share of each hidden layer's weights round `index` keeps."""
    return (1.0 - lottery["fraction"]) ** index


def lottery_names(study, name, where):
    """The rounds a card's lottery name stands for, in order: the round of its chain whose kept share of
    hidden weights is nearest the named one, or every round; other names stand for themselves."""
    match = LOTTERY_NAME.match(name) if isinstance(name, str) else None
    if not match:
        return [name]
    lottery = study.get("lottery")
    if not lottery:
        raise ParamsError(f"{where}: '{name}' names a lottery round, but the study declares no `lottery` in params.yaml")
    rounds = range(1, lottery["rounds"] + 1)
    if match["every"]:
        return [f"{match['chain']}_r{index}" for index in rounds]
    share = float(match["share"]) / 100.0

    def distance(index):
        return abs(math.log(lottery_share(lottery, index) / share)) if share > 0 else math.inf

    nearest = min(rounds, key=distance)
    if distance(nearest) > math.log(LOTTERY_SHARE_RATIO):
        kept = ", ".join(f"r{index} {100 * lottery_share(lottery, index):.3g}%" for index in rounds)
        raise ParamsError(f"{where}: no lottery round keeps about {match['share']}% of the hidden weights (rounds keep {kept}); "
                          f"name one of those shares, or change lottery.rounds or lottery.fraction")
    return [f"{match['chain']}_r{nearest}"]


def card_for(params, study_name, root="."):
    """The study's card with its lottery names (ticket@12.5%, random@*) replaced by the rounds they
    stand for at this scale, so that one card serves the default and the full scale."""
    study = study_settings(params, study_name)

    def resolved(value, where):
        if isinstance(value, dict):
            return {key: resolved(item, f"{where}.{key}") for key, item in value.items()}
        if isinstance(value, list):  # where `ticket@*` stands for every round
            return [name for index, item in enumerate(value) for name in
                    (lottery_names(study, item, f"{where}.{index}") if isinstance(item, str) else [resolved(item, f"{where}.{index}")])]
        names = lottery_names(study, value, where)
        return names[0] if len(names) == 1 else value

    return {key: resolved(value, f"{CARD_PATH.format(study=study_name)}: {key}") for key, value in read_card(study_name, root).items()}


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
    """sample_architectures as JSON, drawn once per process for each search space (the plan asks
    often); each caller parses its own copy, far faster than deep-copying the blocks."""
    return json.dumps(sample_architectures(json.loads(search_space_json)))


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
        if name in lottery_rounds(study):
            layers.append((f"{prefix}.lottery", study["variants"][name]))
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
