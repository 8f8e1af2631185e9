"""Plain CNNs for 16x16 digits: the search space of the zero-cost NAS study (config.sample_architectures).

A chain of `len(widths)` convolutions (`same` padding, one kernel size each), each followed by the
activation and, unless pooling is `none`, a 2x2 max or average pool; then an optional hidden dense
layer and the classifier. No normalisation layers, so proxies such as synflow apply unchanged.
Layers are named `conv<i>`, `act<i>`, `pool<i>`, `hidden`, `hidden_act`, `classifier`.
"""

import keras

from reprolab.models.layers import RandomShift

POOLINGS = {"max": keras.layers.MaxPooling2D, "average": keras.layers.AveragePooling2D}


def build(input_shape, classes, widths, kernel_sizes, pooling, dense_width, activation, augment_shift_pixels, seed):
    """The network; every initialiser gets its own seed derived from `seed`, so two layers of one
    shape still start different."""
    if len(widths) != len(kernel_sizes):
        raise ValueError(f"cnn needs one kernel size per convolution: widths {widths}, kernel_sizes {kernel_sizes}")
    initializer_seeds = iter(range(seed * 1000, seed * 1000 + 1000))
    inputs = keras.Input(shape=input_shape, name="image")
    x = RandomShift(augment_shift_pixels, fill_value=-1.0, seed=seed, name="shift")(inputs) if augment_shift_pixels else inputs
    for index, (width, kernel_size) in enumerate(zip(widths, kernel_sizes), start=1):
        x = keras.layers.Conv2D(width, kernel_size, padding="same", name=f"conv{index}",
                                kernel_initializer=keras.initializers.HeNormal(next(initializer_seeds)))(x)
        x = keras.layers.Activation(activation, name=f"act{index}")(x)
        if pooling != "none" and x.shape[1] >= 2:
            x = POOLINGS[pooling](2, name=f"pool{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dense_width:
        x = keras.layers.Dense(dense_width, name="hidden", kernel_initializer=keras.initializers.HeNormal(next(initializer_seeds)))(x)
        x = keras.layers.Activation(activation, name="hidden_act")(x)
    outputs = keras.layers.Dense(classes, name="classifier", kernel_initializer=keras.initializers.GlorotUniform(next(initializer_seeds)))(x)
    return keras.Model(inputs, outputs, name="cnn")
