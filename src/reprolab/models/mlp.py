"""Deep ReLU MLPs for the tricks-of-the-trade study (Neelakantan et al. 2015's 20 x 50 network):
the 16x16 image flattened, `depth` hidden layers of `width` ReLU units and a linear classifier,
every layer initialised by one scheme:

- simple: N(0, 0.1^2), the paper's "simple init";
- small:  N(0, 0.01^2);
- he:     He et al. 2015's N(0, 2 / fan_in);
- zero:   all weights zero (only gradient noise can break the symmetry).

Biases start at zero. Layers are named `hidden<i>` and `classifier`.
"""

import keras

from reprolab.models.layers import RandomShift

INITIALIZATIONS = ("simple", "small", "he", "zero")


def initializer(scheme, seed):
    if scheme == "simple":
        return keras.initializers.RandomNormal(stddev=0.1, seed=seed)
    if scheme == "small":
        return keras.initializers.RandomNormal(stddev=0.01, seed=seed)
    if scheme == "he":
        return keras.initializers.HeNormal(seed=seed)
    if scheme == "zero":
        return keras.initializers.Zeros()
    raise ValueError(f"unknown initialization '{scheme}'; choose one of {', '.join(INITIALIZATIONS)}")


def build(input_shape, classes, depth, width, initialization, augment_shift_pixels, seed):
    """The network; each layer's initialiser has its own seed derived from `seed`."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = RandomShift(augment_shift_pixels, fill_value=-1.0, seed=seed, name="shift")(inputs) if augment_shift_pixels else inputs
    x = keras.layers.Flatten(name="flatten")(x)
    for index in range(1, depth + 1):
        x = keras.layers.Dense(width, activation="relu", kernel_initializer=initializer(initialization, seed * 1000 + index), name=f"hidden{index}")(x)
    outputs = keras.layers.Dense(classes, kernel_initializer=initializer(initialization, seed * 1000), name="classifier")(x)
    return keras.Model(inputs, outputs, name=f"mlp{depth}x{width}")
