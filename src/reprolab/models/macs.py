"""Multiply-accumulates of one forward pass of one example, counted from a built Keras model's
layers (convolutions and dense layers; biases, activations and padding are not MACs)."""

import math

import keras

from reprolab.models.layers import SparseConv2D
from reprolab.models.normalization import ScaledWSConv2D, WeightNormConv2D


def layer_macs(layer):
    if isinstance(layer, keras.Model):  # a network nested in a wrapper (the blur deficit's)
        return count_macs(layer)
    if isinstance(layer, SparseConv2D):
        _, height, width, outputs = layer.output.shape
        return height * width * outputs * layer.kernel_size ** 2 * len(layer.connections[0])
    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, outputs = layer.output.shape
        return height * width * outputs * math.prod(layer.kernel_size) * layer.input.shape[-1]
    if isinstance(layer, (ScaledWSConv2D, WeightNormConv2D)):
        _, height, width, outputs = layer.output.shape
        return height * width * outputs * layer.kernel_size ** 2 * layer.input.shape[-1]
    if isinstance(layer, keras.layers.Dense):
        return layer.input.shape[-1] * layer.units
    return 0


def count_macs(model):
    return sum(layer_macs(layer) for layer in model.layers)
