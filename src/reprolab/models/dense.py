"""Fully connected nets for the compression study: LeNet-300-100-like float MLPs (prunable: every
Dense layer carries a mask, models/pruning.py) and the binarized MLPs of BinaryConnect (binary
weights, ReLU) and BNN (binary weights and sign activations), models/binary.py. Hidden layers are
named `hidden<i>`, their BatchNorms `norm<i>`, the output `classifier`, so a derived run (pruned,
rewound) finds its source's weights by name. Kernels start Glorot-uniform, each with its own seed."""

import keras

from reprolab.models.binary import BinaryActivation, BinaryDense
from reprolab.models.layers import RandomShift
from reprolab.models.pruning import PrunableDense

BINARIZE = ("none", "weights", "all")


def build(input_shape, classes, widths, batchnorm, binarize, prunable, augment_shift_pixels, seed):
    """The network. `binarize`: none (float), weights (BinaryConnect) or all (BNN: the hidden
    activations are signs too; the input stays real, as in Hubara et al.)."""
    if binarize not in BINARIZE:
        raise ValueError(f"unknown binarize '{binarize}'; choose one of {', '.join(BINARIZE)}")
    layer_type = BinaryDense if binarize != "none" else PrunableDense if prunable else keras.layers.Dense
    inputs = keras.Input(shape=input_shape, name="image")
    x = RandomShift(augment_shift_pixels, fill_value=-1.0, seed=seed, name="shift")(inputs) if augment_shift_pixels else inputs
    x = keras.layers.Flatten(name="flatten")(x)
    for index, width in enumerate(list(widths) + [classes], start=1):
        last = index == len(widths) + 1
        name = "classifier" if last else f"hidden{index}"
        x = layer_type(width, use_bias=not batchnorm, kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1000 + index),
                       name=name)(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(name="classifier_norm" if last else f"norm{index}")(x)
        if not last:
            x = BinaryActivation(name=f"sign{index}")(x) if binarize == "all" else keras.layers.ReLU(name=f"relu{index}")(x)
    kind = {"none": "mlp", "weights": "binaryconnect", "all": "bnn"}[binarize]
    return keras.Model(inputs, x, name=f"{kind}_{'x'.join(str(width) for width in widths)}")
