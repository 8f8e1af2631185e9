"""Logistic regression: the input flattened into one linear layer of class scores (softmax in the
loss), the MNIST-1D paper's linear baseline."""

import keras


def build(input_shape, classes, augment_shift_pixels, seed):
    """The linear classifier, its weights seeded from `seed`."""
    inputs = keras.Input(shape=input_shape, name="sequence")
    x = keras.layers.Flatten(name="flatten")(inputs)
    outputs = keras.layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(seed * 1000), name="classifier")(x)
    return keras.Model(inputs, outputs, name="logistic")
