"""The network of LeCun et al. 1989, "Backpropagation Applied to Handwritten Zip Code Recognition".

16x16 input padded with -1; H1: 12 planes 8x8, 5x5 stride 2, untied biases (1068 params);
H2: 12 planes 4x4, 5x5 stride 2, each plane reading 8 of the 12 H1 planes, untied biases (2592);
H3: 30 units (5790); output: 10 units (310). 9760 parameters, tanh everywhere.
"""

import keras

from reprolab.models.layers import ConstantPad2D, RandomShift, SparseConv2D, UntiedBias, fan_in_uniform

LAYER_PARAMETERS = {"h1": 1068, "h2": 2592, "h3": 5790, "output": 310}
TOTAL_PARAMETERS = 9760

# Which 8 of the 12 H1 planes each H2 plane reads: three groups of four H2 planes, each
# group reading a different 8-plane window of H1 (the paper gives the count, not the map).
H2_CONNECTIONS = [list(range(0, 8))] * 4 + [list(range(4, 12))] * 4 + [list(range(0, 4)) + list(range(8, 12))] * 4


def build(input_shape, classes, activation, output_activation, dropout, augment_shift_pixels, seed):
    """Builds the 1989 net; the modern ladder only swaps activations, adds dropout before H3 and
    a random shift of the input, so the parameter counts stay the paper's."""
    if tuple(input_shape) != (16, 16, 1):
        raise ValueError(f"model lecun1989 needs 16x16x1 images, the dataset gives {tuple(input_shape)}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = RandomShift(augment_shift_pixels, fill_value=-1.0, seed=seed, name="shift")(inputs)
    x = ConstantPad2D(2, -1.0, name="pad1")(x)
    x = keras.layers.Conv2D(12, 5, strides=2, use_bias=False, kernel_initializer=fan_in_uniform(25), name="h1_conv")(x)
    x = UntiedBias(name="h1_bias")(x)
    x = keras.layers.Activation(activation, name="h1_act")(x)
    x = ConstantPad2D(2, -1.0, name="pad2")(x)
    x = SparseConv2D(H2_CONNECTIONS, kernel_size=5, strides=2, input_planes=12, name="h2_conv")(x)
    x = UntiedBias(name="h2_bias")(x)
    x = keras.layers.Activation(activation, name="h2_act")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    x = keras.layers.Dense(30, activation=activation, kernel_initializer=fan_in_uniform(192), name="h3")(x)
    # output biases start at -1, the target of 9 of the 10 outputs, as in Karpathy's re-implementation
    outputs = keras.layers.Dense(classes, activation=output_activation, kernel_initializer=fan_in_uniform(30),
                                 bias_initializer=keras.initializers.Constant(-1.0), name="output")(x)
    return keras.Model(inputs, outputs, name="lecun1989")


def parameters_by_layer(model):
    """Parameter count of each of the paper's four layers, to check against LAYER_PARAMETERS."""
    counts = {}
    for layer in model.layers:
        stem = layer.name.split("_")[0]
        if stem in LAYER_PARAMETERS:
            counts[stem] = counts.get(stem, 0) + layer.count_params()
    return counts
