"""Runs that start from another run's trained model, at the same seed (the compression study):
post-training quantisation with Keras' own `Model.quantize`, and magnitude pruning (Han et al. 2015)
whose kept weights are then fine-tuned, rewound to the source's initial weights (a lottery ticket,
Frankle & Carbin 2019) or drawn afresh (the ticket's random-reinitialisation control)."""

import hashlib
from pathlib import Path

import keras
import numpy as np

from reprolab.atomic import atomic_path
from reprolab.models.factory import build_model
from reprolab.models.pruning import PrunableDense, magnitude_mask, prunable_layers
from reprolab.planning.paths import path, source_of

RANDOM_REINIT_SEED_OFFSET = 10_000  # a fresh draw for the control, distinct from every training seed


def source_run(config, study, seed):
    """The wildcards of the run this one starts from: its source variant's run at the same seed."""
    source_study, source_variant = source_of(config, study)
    return {"study": source_study, "variant": source_variant, "seed": seed}


def source_fingerprint(config, study, seed):
    """sha256 of the source's saved model: part of a checkpoint's identity, so a retrained source discards it."""
    return hashlib.sha256(Path(path("model", **source_run(config, study, seed))).read_bytes()).hexdigest()


def save_initial_weights(model, file_path):
    """Every variable at initialisation, by path (`hidden1/kernel`): what a lottery ticket rewinds to."""
    with atomic_path(file_path) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **{variable.path: keras.ops.convert_to_numpy(variable) for variable in model.weights})


def _assign(model, values):
    """Sets each of `model`'s variables that `values` names, masks excepted (pruning sets those)."""
    for variable in model.weights:
        if variable.path in values and variable.name != "mask":
            variable.assign(values[variable.path])


def derive(config, study, seed, input_shape, classes):
    """The model a derived run starts training from (or, with no epochs, is): the source as
    trained, quantised if asked; or pruned by magnitude per layer, then kept, rewound or redrawn."""
    source = source_run(config, study, seed)
    trained = keras.saving.load_model(path("model", **source), compile=False, safe_mode=True)
    if "prune" not in config:
        if "quantize" in config:
            trained.quantize(config["quantize"])
        return trained
    prune = config["prune"]
    model = build_model(config, input_shape, classes, seed + RANDOM_REINIT_SEED_OFFSET if prune["weights"] == "random" else seed)
    if prune["weights"] == "trained":
        _assign(model, {variable.path: keras.ops.convert_to_numpy(variable) for variable in trained.weights})
    elif prune["weights"] == "rewind":
        with np.load(path("initial_weights", **source)) as initial:
            _assign(model, dict(initial))
    if not prunable_layers(model):
        raise ValueError(f"prune needs a prunable model (model.prunable: true), not {model.name}")
    for layer in prunable_layers(model):
        source_layer = trained.get_layer(layer.name)
        kept = keras.ops.convert_to_numpy(source_layer.mask) if isinstance(source_layer, PrunableDense) else np.ones(layer.mask.shape, "float32")
        fraction = prune["classifier_fraction"] if layer.name == "classifier" else prune["fraction"]
        mask = magnitude_mask(keras.ops.convert_to_numpy(source_layer.kernel), kept, fraction)
        layer.mask.assign(mask)
        layer.kernel.assign(keras.ops.convert_to_numpy(layer.kernel) * mask)
    return model
