"""The MNIST-1D paper's CNN (Greydanus 2020, `ConvBase`): three 1-D convolutions of `channels`
filters (kernel 5, 3, 3; stride 2; one zero of padding each side), ReLU after each, then a linear
classifier on the flattened features. A length-40 sequence leaves 5 steps after the third."""

import keras

KERNEL_SIZES = (5, 3, 3)


def build(input_shape, classes, channels, augment_shift_pixels, seed):
    """The network; each layer's initialiser is seeded from `seed`."""
    inputs = keras.Input(shape=input_shape, name="sequence")
    x = inputs
    for index, kernel_size in enumerate(KERNEL_SIZES, start=1):
        x = keras.layers.ZeroPadding1D(1, name=f"pad{index}")(x)
        x = keras.layers.Conv1D(channels, kernel_size, strides=2, activation="relu", name=f"conv{index}",
                                kernel_initializer=keras.initializers.GlorotUniform(seed * 1000 + index))(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(seed * 1000), name="classifier")(x)
    return keras.Model(inputs, outputs, name="conv1d")
