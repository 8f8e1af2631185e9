"""Keras layers the 1989 network needs and modern Keras lacks, written on `keras.ops` only."""

import math

import keras
from keras import ops


def fan_in_uniform(fan_in, scale=2.4):
    """LeCun 1989's initialiser: U(-scale/sqrt(fan_in), +scale/sqrt(fan_in))."""
    limit = scale / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-limit, limit)


@keras.saving.register_keras_serializable(package="reprolab")
class UntiedBias(keras.layers.Layer):
    """Adds a separate learned bias to every unit of a feature map (1989's untied biases)."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros", name="bias")

    def call(self, inputs):
        return inputs + self.bias


@keras.saving.register_keras_serializable(package="reprolab")
class ConstantPad2D(keras.layers.Layer):
    """Pads height and width of an NHWC map with a constant (1989 padded with background -1)."""

    def __init__(self, padding, value, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)
        self.value = float(value)

    def call(self, inputs):
        pad = self.padding
        return ops.pad(inputs, [[0, 0], [pad, pad], [pad, pad], [0, 0]], constant_values=self.value)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (batch, None if height is None else height + grow, None if width is None else width + grow, channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "value": self.value}


@keras.saving.register_keras_serializable(package="reprolab")
class SparseConv2D(keras.layers.Layer):
    """A valid, strided, bias-free convolution whose output plane j reads only the input planes
    `connections[j]`; only those kernels are parameters (1989's H2 reads 8 of 12 H1 planes)."""

    def __init__(self, connections, kernel_size, strides, input_planes, **kwargs):
        super().__init__(**kwargs)
        self.connections = [list(map(int, planes)) for planes in connections]
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.input_planes = int(input_planes)
        if len({len(planes) for planes in self.connections}) != 1:
            raise ValueError("SparseConv2D: every output plane must read the same number of input planes")

    def build(self, input_shape):
        reads = len(self.connections[0])
        outputs = len(self.connections)
        fan_in = self.kernel_size * self.kernel_size * reads
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, reads, outputs),
            initializer=fan_in_uniform(fan_in),
            name="kernel",
        )
        selection = [[[0.0] * outputs for _ in range(self.input_planes)] for _ in range(reads)]
        for output_plane, planes in enumerate(self.connections):
            for slot, input_plane in enumerate(planes):
                selection[slot][input_plane][output_plane] = 1.0
        self.selection = ops.convert_to_tensor(selection, dtype=self.compute_dtype)

    def call(self, inputs):
        full_kernel = ops.einsum("hwso,sio->hwio", self.kernel, self.selection)
        return ops.conv(inputs, full_kernel, strides=self.strides, padding="valid")

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        size = (height - self.kernel_size) // self.strides + 1
        return (batch, size, (width - self.kernel_size) // self.strides + 1, len(self.connections))

    def get_config(self):
        return {
            **super().get_config(),
            "connections": self.connections,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "input_planes": self.input_planes,
        }


@keras.saving.register_keras_serializable(package="reprolab")
class RandomShift(keras.layers.Layer):
    """Training-time augmentation: shifts each image by up to `pixels` in x and y, filling with
    `fill_value`; the identity at inference."""

    def __init__(self, pixels, fill_value, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.pixels = int(pixels)
        self.fill_value = float(fill_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.pixels == 0:
            return inputs
        pad, height, width = self.pixels, inputs.shape[1], inputs.shape[2]
        padded = ops.pad(inputs, [[0, 0], [pad, pad], [pad, pad], [0, 0]], constant_values=self.fill_value)
        offsets = keras.random.randint((ops.shape(inputs)[0], 2), 0, 2 * pad + 1, seed=self.seed_generator)
        # Cropping at a per-image offset as two one-hot selections: a few small matmuls, far fewer
        # ops than a gather, which matters when training runs one image per step.
        rows = ops.one_hot(offsets[:, :1] + ops.arange(height)[None, :], height + 2 * pad, dtype=inputs.dtype)
        columns = ops.one_hot(offsets[:, 1:] + ops.arange(width)[None, :], width + 2 * pad, dtype=inputs.dtype)
        return ops.einsum("bip,bpqc,bjq->bijc", rows, padded, columns)

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels, "fill_value": self.fill_value, "seed": self.seed}


@keras.saving.register_keras_serializable(package="reprolab")
class Blur(keras.layers.Layer):
    """Training-time input deficit (Achille et al. 2019): while `active`, each image is averaged down
    by `factor` and resized back (16 -> 4 -> 16 with factor 4); the identity at inference and when
    inactive. `timing.RegularizationTiming` switches it."""

    def __init__(self, factor=4, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)
        self.active = False

    def call(self, inputs, training=False):
        if not training or not self.active:
            return inputs
        small = ops.average_pool(inputs, self.factor, strides=self.factor, padding="valid")
        return ops.image.resize(small, (inputs.shape[1], inputs.shape[2]), interpolation="bilinear")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
