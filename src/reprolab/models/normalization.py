"""Normalisation without batch statistics, as Keras layers on `keras.ops`: scaled weight
standardisation and the zero-init branch gain of NF-ResNets (Brock et al. 2021), and weight
normalisation with its data-dependent init (Salimans & Kingma 2016)."""

import math

import keras
from keras import ops

# gamma for ReLU: makes gamma * relu(z) have unit variance for z ~ N(0, 1), since Var(relu(z)) = (1 - 1/pi) / 2.
ACTIVATION_GAINS = {"relu": math.sqrt(2.0 / (1.0 - 1.0 / math.pi)), "linear": 1.0}


class _KernelConv2D(keras.layers.Layer):
    """A 'same'-padded convolution with a bias whose kernel is computed from raw parameters by `kernel()`."""

    def __init__(self, filters, kernel_size, strides=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.seed = int(filters), int(kernel_size), int(strides), seed

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters)
        self.raw_kernel = self.add_weight(shape=shape, initializer=keras.initializers.HeNormal(seed=self.seed), name="raw_kernel")
        self.gain = self.add_weight(shape=(self.filters,), initializer="ones", name="gain")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.conv(inputs, self.kernel(), strides=self.strides, padding="same") + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, *(None if size is None else -(-size // self.strides) for size in (height, width)), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides, "seed": self.seed}


@keras.saving.register_keras_serializable(package="reprolab")
class ScaledWSConv2D(_KernelConv2D):
    """Scaled weight standardisation: W_hat = gamma * gain * (W - mean) / (std * sqrt(fan_in)), per
    output channel, so that a unit-variance input gives a unit-variance output at init."""

    def __init__(self, filters, kernel_size, strides=1, activation_gain=1.0, epsilon=1e-4, **kwargs):
        super().__init__(filters, kernel_size, strides, **kwargs)
        self.activation_gain, self.epsilon = float(activation_gain), float(epsilon)

    def kernel(self):
        fan_in = self.kernel_size * self.kernel_size * self.raw_kernel.shape[2]
        mean = ops.mean(self.raw_kernel, axis=(0, 1, 2), keepdims=True)
        variance = ops.var(self.raw_kernel, axis=(0, 1, 2), keepdims=True)
        scale = ops.rsqrt(ops.maximum(variance * fan_in, self.epsilon)) * self.gain * self.activation_gain
        return (self.raw_kernel - mean) * scale

    def get_config(self):
        return {**super().get_config(), "activation_gain": self.activation_gain, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="reprolab")
class WeightNormConv2D(_KernelConv2D):
    """Weight normalisation: w = g * v / ||v|| per output channel; `initialize_from_data` sets g and
    the bias so that the first batch's pre-activations have zero mean and unit variance."""

    def kernel(self):
        return self.raw_kernel * ops.rsqrt(ops.sum(ops.square(self.raw_kernel), axis=(0, 1, 2), keepdims=True)) * self.gain


def initialize_weight_norm(model, batch):
    """Salimans & Kingma's data-dependent init, layer by layer in graph order (each layer sees the
    already-initialised layers before it): g = 1 / std and bias = -mean / std of its outputs on `batch`."""
    for layer in model.layers:
        if isinstance(layer, WeightNormConv2D):
            layer.gain.assign(ops.ones_like(layer.gain))
            layer.bias.assign(ops.zeros_like(layer.bias))
            outputs = keras.Model(model.inputs[0], layer.output)(batch, training=False)
            mean, variance = ops.mean(outputs, axis=(0, 1, 2)), ops.var(outputs, axis=(0, 1, 2))
            scale = ops.rsqrt(variance + 1e-6)
            layer.gain.assign(scale)
            layer.bias.assign(-mean * scale)


@keras.saving.register_keras_serializable(package="reprolab")
class BranchGain(keras.layers.Layer):
    """A learnable scalar on a residual branch, zero at init (the branch starts switched off)."""

    def __init__(self, initial=0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape):
        self.value = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial), name="value")

    def call(self, inputs):
        return inputs * self.value

    def get_config(self):
        return {**super().get_config(), "initial": self.initial}
