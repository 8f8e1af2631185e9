"""A small self-attention encoder for sequences (Vaswani et al. 2017's post-norm block through
`keras.layers.MultiHeadAttention`): each step's value projected to `units`, a learned position
embedding added, `blocks` blocks of multi-head self-attention and a ReLU feed-forward layer of
2 x `units` (each with a residual connection and layer normalisation), then the steps averaged
into a linear classifier."""

import keras


@keras.saving.register_keras_serializable(package="reprolab")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position (the sequence length is fixed) to its input."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=tuple(input_shape[1:]), name="embedding",
                                         initializer=keras.initializers.RandomNormal(stddev=0.02, seed=self.seed))

    def call(self, inputs):
        return inputs + self.embedding

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def build(input_shape, classes, units, heads, blocks, augment_shift_pixels, seed):
    """The encoder; each layer's initialiser is seeded from `seed`."""
    seeds = iter(range(seed * 1000, seed * 1000 + 1000))
    inputs = keras.Input(shape=input_shape, name="sequence")
    x = keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(next(seeds)), name="embed")(inputs)
    x = PositionEmbedding(seed=next(seeds), name="position")(x)
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
