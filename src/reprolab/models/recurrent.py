"""Recurrent classifiers of sequences through `keras.layers`: a tanh RNN, an LSTM or a GRU (Keras'
own layers, which take the cuDNN path on a GPU), optionally bidirectional, read out from the last
state or from every step's state flattened (the MNIST-1D paper's GRU). `recurrent_dropout` is
Keras' own, one mask per sequence (Gal & Ghahramani's variational dropout); the LSTM variations
Keras lacks (naive state dropout, zoneout, layer and weight normalisation) use VariantLSTM."""

import keras

from reprolab.models.lstm_variants import VariantLSTM

CELLS = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def needs_variant_lstm(state_dropout, zoneout_cell, zoneout_hidden, normalization):
    """Whether the settings ask for an LSTM variation Keras' own layers do not have."""
    return bool(state_dropout or zoneout_cell or zoneout_hidden or normalization != "none")


def keras_layer(cell, units, return_sequences, recurrent_dropout, seed, go_backwards=False):
    """Keras' own recurrent layer with Keras' default initialisers, seeded."""
    return CELLS[cell](units, return_sequences=return_sequences, recurrent_dropout=recurrent_dropout, seed=seed, go_backwards=go_backwards,
                       kernel_initializer=keras.initializers.GlorotUniform(seed), recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
                       name=f"{cell}{'_backward' if go_backwards else ''}")


def build(input_shape, classes, cell, units, bidirectional, readout, recurrent_dropout, state_dropout, zoneout_cell, zoneout_hidden,
          normalization, augment_shift_pixels, seed):
    """The network; the recurrent layer's weights and dropout masks are seeded from `seed`."""
    inputs = keras.Input(shape=input_shape, name="sequence")
    return_sequences = readout == "all"
    if needs_variant_lstm(state_dropout, zoneout_cell, zoneout_hidden, normalization):
        layer = VariantLSTM(units, normalization=normalization, zoneout_cell=zoneout_cell, zoneout_hidden=zoneout_hidden,
                            state_dropout=state_dropout, return_sequences=return_sequences, seed=seed * 1000 + 1, name="lstm")
    else:
        layer = keras_layer(cell, units, return_sequences, recurrent_dropout, seed * 1000 + 1)
    if bidirectional:
        layer = keras.layers.Bidirectional(layer, backward_layer=keras_layer(cell, units, return_sequences, recurrent_dropout, seed * 1000 + 3,
                                                                             go_backwards=True), name="bidirectional")
    x = layer(inputs)
    if return_sequences:
        x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(seed * 1000), name="classifier")(x)
    return keras.Model(inputs, outputs, name=f"{'bi' if bidirectional else ''}{cell}{units}")
