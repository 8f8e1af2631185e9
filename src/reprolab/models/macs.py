"""Multiply-accumulates of one forward pass of one example, counted from a built Keras model's
layers (convolutions, dense and recurrent layers, attention's projections and products; biases,
activations, gates' element-wise products, normalisation and padding are not MACs)."""

import math

import keras

from reprolab.models.layers import SparseConv2D
from reprolab.models.lstm_variants import VariantLSTM
from reprolab.models.normalization import ScaledWSConv2D, WeightNormConv2D

# Weight matrices of a recurrent cell: one per gate (the candidate counts as one).
GATES = {keras.layers.SimpleRNN: 1, keras.layers.GRU: 3, keras.layers.LSTM: 4, VariantLSTM: 4}


def recurrent_macs(layer, input_shape):
    """Every step multiplies the input and the previous state by each gate's matrices."""
    steps, features = input_shape[1], input_shape[2]
    return steps * GATES[type(layer)] * layer.units * (features + layer.units)


def attention_macs(layer):
    """Query, key, value and output projections of every step, plus the scores and the weighted sum."""
    query = layer.input[0] if isinstance(layer.input, list) else layer.input  # self-attention: query, value (and key) alike
    steps, width = query.shape[1], query.shape[2]
    inner = layer.num_heads * layer.key_dim
    return steps * (3 * width * inner + inner * width) + 2 * steps * steps * inner


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
    if isinstance(layer, keras.layers.Conv1D):
        _, length, outputs = layer.output.shape
        return length * outputs * layer.kernel_size[0] * layer.input.shape[-1]
    if isinstance(layer, keras.layers.Bidirectional):
        return recurrent_macs(layer.forward_layer, layer.input.shape) + recurrent_macs(layer.backward_layer, layer.input.shape)
    if type(layer) in GATES:
        return recurrent_macs(layer, layer.input.shape)
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return attention_macs(layer)
    if isinstance(layer, keras.layers.Dense):  # applied to every step of a sequence
        return math.prod(layer.input.shape[1:-1]) * layer.input.shape[-1] * layer.units
    return 0


def count_macs(model):
    return sum(layer_macs(layer) for layer in model.layers)
