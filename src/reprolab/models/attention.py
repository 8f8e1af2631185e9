"""A small self-attention encoder for sequences (Vaswani et al. 2017's post-norm block through
`keras.layers.MultiHeadAttention`): each step's value projected to `units`, the paper's fixed
sinusoidal position signal added, `blocks` blocks of multi-head self-attention and a ReLU feed-forward layer of
2 x `units` (each with a residual connection and layer normalisation), then the steps averaged
into a linear classifier."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="reprolab")
class SinusoidalPosition(keras.layers.Layer):
    """Adds Vaswani et al. 2017's fixed position signal to its input: sin(t / 10000^(2i/d)) on even
    features i, cos on odd ones, at amplitude 1 like the embedded values, so position is not drowned."""

    def call(self, inputs):
        steps, width = inputs.shape[1], inputs.shape[2]
        positions = ops.arange(steps, dtype="float32")[:, None]
        frequencies = ops.power(10000.0, -2.0 * ops.floor(ops.arange(width, dtype="float32") / 2.0) / width)
        angles = positions * frequencies[None, :]
        signal = ops.where(ops.arange(width) % 2 == 0, ops.sin(angles), ops.cos(angles))
        return inputs + ops.cast(signal, inputs.dtype)


def build(input_shape, classes, units, heads, blocks, augment_shift_pixels, seed):
    """The encoder; each layer's initialiser is seeded from `seed`."""
    seeds = iter(range(seed * 1000, seed * 1000 + 1000))
    inputs = keras.Input(shape=input_shape, name="sequence")
    x = keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(next(seeds)), name="embed")(inputs)
    x = SinusoidalPosition(name="position")(x)
    for index in range(1, blocks + 1):
        attended = keras.layers.MultiHeadAttention(heads, units // heads, kernel_initializer=keras.initializers.GlorotUniform(next(seeds)),
                                                   name=f"attention{index}")(x, x)
        x = keras.layers.LayerNormalization(name=f"attention_norm{index}")(x + attended)
        hidden = keras.layers.Dense(2 * units, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(next(seeds)),
                                    name=f"feedforward{index}_hidden")(x)
        hidden = keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(next(seeds)), name=f"feedforward{index}")(hidden)
        x = keras.layers.LayerNormalization(name=f"feedforward_norm{index}")(x + hidden)
    x = keras.layers.GlobalAveragePooling1D(name="average")(x)
    outputs = keras.layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(next(seeds)), name="classifier")(x)
    return keras.Model(inputs, outputs, name=f"attention{blocks}x{units}")
