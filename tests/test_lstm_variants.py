"""VariantLSTM against Keras' LSTM and step-by-step NumPy LSTMs (plain, zoneout, layer norm, weight
norm, per-step state dropout), its masks and seeds, saving, training on JAX, and what Keras' own
`recurrent_dropout` does (one mask per sequence: variational dropout)."""

import os
import subprocess
import sys
import textwrap

import keras
from keras import ops
import numpy as np
import pytest

from reprolab.models.lstm_variants import VariantLSTM

BATCH, TIME, FEATURES, UNITS = 3, 6, 2, 4
EPSILON = 1e-3  # layer normalisation's, added to the variance


def sigmoid(values):
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-values))


def normalize(values, gain, bias=0.0):
    """Layer normalisation over the last axis, as Ba et al. 2016 define it, with epsilon 1e-3."""
    mean = values.mean(axis=-1, keepdims=True)
    variance = values.var(axis=-1, keepdims=True)
    return (values - mean) / np.sqrt(variance + EPSILON) * gain + bias


def reference_lstm(inputs, kernel, recurrent_kernel, bias, layer_norm=None, cell_keep=0.0, hidden_keep=0.0, recurrent_mask=None):
    """A step-by-step float64 LSTM returning every step's hidden state (batch, time, units). `layer_norm`
    holds the LN gains and bias by weight name; `cell_keep`/`hidden_keep` are zoneout's keep-the-previous
    weights (a probability, or a (batch, time, units) 0/1 mask); `recurrent_mask` multiplies h_prev
    where it enters the recurrent matmul."""
    inputs = np.asarray(inputs, dtype=np.float64)
    batch, time, _ = inputs.shape
    units = recurrent_kernel.shape[0]
    shape = (batch, time, units)
    cell_keep, hidden_keep = np.broadcast_to(cell_keep, shape), np.broadcast_to(hidden_keep, shape)
    recurrent_mask = np.ones(shape) if recurrent_mask is None else np.asarray(recurrent_mask, dtype=np.float64)
    hidden, cell, outputs = np.zeros((batch, units)), np.zeros((batch, units)), []
    for step in range(time):
        summed = inputs[:, step] @ kernel + (hidden * recurrent_mask[:, step]) @ recurrent_kernel
        if layer_norm is not None:
            summed = normalize(summed, layer_norm["summed_norm_gain"])
        input_gate, forget_gate, candidate, output_gate = np.split(summed + bias, 4, axis=-1)
        new_cell = sigmoid(forget_gate) * cell + sigmoid(input_gate) * np.tanh(candidate)
        shown_cell = new_cell if layer_norm is None else normalize(new_cell, layer_norm["cell_norm_gain"], layer_norm["cell_norm_bias"])
        new_hidden = sigmoid(output_gate) * np.tanh(shown_cell)
        cell = cell_keep[:, step] * cell + (1 - cell_keep[:, step]) * new_cell
        hidden = hidden_keep[:, step] * hidden + (1 - hidden_keep[:, step]) * new_hidden
        outputs.append(hidden)
    return np.stack(outputs, axis=1)


def weights_of(layer):
    """The layer's weights as float64 arrays, by name."""
    return {weight.name: weight.numpy().astype(np.float64) for weight in layer.weights}


def randomize(layer, seed):
    """Replaces every weight with random values: N(0, 0.5) kernels and biases, 1 + N(0, 0.3) gains."""
    rng = np.random.default_rng(seed)
    layer.set_weights([1.0 + rng.normal(0, 0.3, weight.shape) if "gain" in weight.name else rng.normal(0, 0.5, weight.shape)
                       for weight in layer.weights])


def built(layer, seed=None):
    """`layer` built on (BATCH, TIME, FEATURES) inputs, with random weights when `seed` is given."""
    layer.build((BATCH, TIME, FEATURES))
    if seed is not None:
        randomize(layer, seed)
    return layer


def sequence(seed=0, shape=(BATCH, TIME, FEATURES)):
    """A standard-normal float32 input sequence."""
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("training", [False, True])
def test_with_every_option_off_it_is_keras_lstm(training):
    """Zoneout and state dropout at p = 0, no normalisation: Keras' LSTM, given the same weights."""
    keras_lstm = keras.layers.LSTM(UNITS, return_sequences=True)
    keras_lstm.build((BATCH, TIME, FEATURES))
    rng = np.random.default_rng(1)
    keras_lstm.set_weights([rng.normal(0, 0.5, weight.shape) for weight in keras_lstm.get_weights()])
    variant = built(VariantLSTM(UNITS, return_sequences=True, seed=0))
    variant.set_weights(keras_lstm.get_weights())
    inputs = sequence()
    expected = np.asarray(keras_lstm(inputs, training=training))
    np.testing.assert_allclose(np.asarray(variant(inputs, training=training)), expected, atol=1e-5)
    last = built(VariantLSTM(UNITS, seed=0))
    last.set_weights(keras_lstm.get_weights())
    np.testing.assert_allclose(np.asarray(last(inputs, training=training)), expected[:, -1], atol=1e-5)


def test_the_layer_starts_with_keras_lstm_initialisation():
    """Keras' defaults: a glorot kernel, an orthogonal recurrent kernel, bias 1 on the forget gate only."""
    weights = weights_of(built(VariantLSTM(UNITS, seed=0)))
    np.testing.assert_array_equal(weights["bias"], np.repeat([0.0, 1.0, 0.0, 0.0], UNITS))
    limit = np.sqrt(6.0 / (FEATURES + 4 * UNITS))
    assert np.abs(weights["kernel"]).max() <= limit and weights["kernel"].std() > limit / 4
    recurrent_kernel = weights["recurrent_kernel"]
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(UNITS), atol=1e-5)


def test_full_zoneout_in_training_keeps_the_zero_initial_state():
    options = {"zoneout_cell": 1.0, "zoneout_hidden": 1.0}
    layer = built(VariantLSTM(UNITS, return_sequences=True, seed=0, **options), seed=2)
    plain = built(VariantLSTM(UNITS, return_sequences=True, seed=0), seed=2)
    inputs = sequence()
    assert np.abs(np.asarray(plain(inputs, training=True))).min() > 0, "the same weights without zoneout move the state"
    assert np.all(np.asarray(layer(inputs, training=True)) == 0.0)


def test_zoneout_at_inference_uses_the_expectation():
    layer = built(VariantLSTM(UNITS, zoneout_cell=0.3, zoneout_hidden=0.3, return_sequences=True, seed=0), seed=3)
    weights, inputs = weights_of(layer), sequence()
    expected = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"], cell_keep=0.3, hidden_keep=0.3)
    np.testing.assert_allclose(np.asarray(layer(inputs, training=False)), expected, atol=1e-5)
    plain = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"])
    assert np.abs(expected - plain).max() > 1e-2, "zoneout changes the outputs"


def test_layer_norm_matches_numpy():
    layer = built(VariantLSTM(UNITS, normalization="layernorm", return_sequences=True, seed=0), seed=4)
    weights, inputs = weights_of(layer), sequence()
    assert {"summed_norm_gain", "cell_norm_gain", "cell_norm_bias"} <= set(weights)
    expected = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"], layer_norm=weights)
    np.testing.assert_allclose(np.asarray(layer(inputs)), expected, atol=1e-5)
    plain = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"])
    assert np.abs(expected - plain).max() > 1e-2, "the normalisation changes the outputs"


def test_weight_norm_matches_numpy_and_starts_as_the_plain_lstm():
    inputs = sequence()
    layer = built(VariantLSTM(UNITS, normalization="weightnorm", return_sequences=True, seed=5))
    plain = built(VariantLSTM(UNITS, return_sequences=True, seed=5))
    initial = weights_of(layer)
    np.testing.assert_allclose(initial["kernel_gain"], np.linalg.norm(initial["kernel"], axis=0), rtol=1e-6)
    np.testing.assert_allclose(initial["recurrent_kernel_gain"], np.linalg.norm(initial["recurrent_kernel"], axis=0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(inputs)), np.asarray(plain(inputs)), atol=1e-6)

    randomize(layer, 6)
    weights = weights_of(layer)
    kernel = weights["kernel"] * weights["kernel_gain"] / np.linalg.norm(weights["kernel"], axis=0)
    recurrent_kernel = weights["recurrent_kernel"] * weights["recurrent_kernel_gain"] / np.linalg.norm(weights["recurrent_kernel"], axis=0)
    expected = reference_lstm(inputs, kernel, recurrent_kernel, weights["bias"])
    np.testing.assert_allclose(np.asarray(layer(inputs)), expected, atol=1e-5)
    unnormalized = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"])
    assert np.abs(expected - unnormalized).max() > 1e-2, "the reparameterisation changes the outputs"


def test_state_dropout_draws_a_fresh_mask_every_step():
    layer = built(VariantLSTM(UNITS, state_dropout=0.5, return_sequences=True, seed=0), seed=7)
    masks = layer.draw_masks((BATCH, TIME, FEATURES), training=True)
    assert set(masks) == {"state_dropout"}
    mask = np.asarray(masks["state_dropout"])
    assert mask.shape == (BATCH, TIME, UNITS)
    assert set(np.unique(mask)) == {0.0, 2.0}, "inverted dropout: dropped units 0, kept ones scaled by 1 / (1 - p)"
    assert all(not np.array_equal(mask[:, 0], mask[:, step]) for step in range(1, TIME)), "each step its own mask"
    assert not np.array_equal(mask[0], mask[1]), "each example its own mask"
    assert layer.draw_masks((BATCH, TIME, FEATURES), training=False) == {}

    weights, inputs = weights_of(layer), sequence()
    plain = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"])
    np.testing.assert_allclose(np.asarray(layer(inputs, training=False)), plain, atol=1e-5)
    assert np.abs(np.asarray(layer(inputs, training=True)) - plain).max() > 1e-2


@pytest.mark.parametrize("options", [
    {"state_dropout": 0.4},
    {"zoneout_cell": 0.5, "zoneout_hidden": 0.3},
    {"normalization": "layernorm", "zoneout_cell": 0.15, "zoneout_hidden": 0.05, "state_dropout": 0.25},
], ids=["state_dropout", "zoneout", "layernorm_zoneout_state_dropout"])
def test_training_follows_the_masks_draw_masks_returns(options):
    """Two layers with one seed draw the same masks: one's draw_masks gives the masks the other's call uses."""
    layer, twin = (built(VariantLSTM(UNITS, return_sequences=True, seed=11, **options), seed=8) for _ in range(2))
    inputs = sequence()
    masks = {name: np.asarray(mask, dtype=np.float64) for name, mask in twin.draw_masks(inputs.shape, training=True).items()}
    assert all(0 < mask.mean() < mask.max() for mask in masks.values()), "neither all zeros nor all ones"
    weights = weights_of(layer)
    expected = reference_lstm(inputs, weights["kernel"], weights["recurrent_kernel"], weights["bias"],
                              layer_norm=weights if options.get("normalization") == "layernorm" else None,
                              cell_keep=masks.get("cell_zoneout", 0.0), hidden_keep=masks.get("hidden_zoneout", 0.0),
                              recurrent_mask=masks.get("state_dropout"))
    np.testing.assert_allclose(np.asarray(layer(inputs, training=True)), expected, atol=1e-5)


class RecordingCell(keras.layers.LSTMCell):
    """Keras' LSTM cell, recording every recurrent dropout mask it is handed (call it eagerly)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorded_masks = []

    def get_recurrent_dropout_mask(self, step_input):
        mask = super().get_recurrent_dropout_mask(step_input)
        self.recorded_masks.append(np.stack([np.asarray(gate_mask) for gate_mask in mask]))
        return mask


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="records the masks from an eager TensorFlow loop")
def test_keras_recurrent_dropout_is_one_mask_per_sequence():
    """Keras' `recurrent_dropout` is variational dropout: a mask drawn once per call and reused at every
    step. With recurrent dropout the cell switches to its per-gate implementation and draws one mask
    for each of the 4 gates (our state_dropout shares one mask across the gates, fresh every step)."""
    cell = RecordingCell(UNITS, recurrent_dropout=0.5, seed=0)
    recurrence = keras.layers.RNN(cell, return_sequences=True)
    inputs = sequence()
    calls = []
    for _ in range(2):
        cell.recorded_masks.clear()
        recurrence(inputs, training=True)
        calls.append(list(cell.recorded_masks))
    for recorded in calls:
        # The RNN layer asks once before the loop (to draw and cache the mask), then the cell at each
        # step (TensorFlow's loop runs the first step once more, to learn the output's shape).
        assert len(recorded) > TIME
        first = recorded[0]
        assert first.shape == (4, BATCH, UNITS)
        assert all(np.array_equal(mask, first) for mask in recorded), "the same mask at every step"
        assert set(np.unique(first)) == {0.0, 2.0}, "inverted dropout, not all ones"
        assert not np.array_equal(first[0], first[1]), "a separate mask for each gate"
    assert not np.array_equal(calls[0][0], calls[1][0]), "a new call draws a new mask"


def test_same_seed_same_weights_and_masks_different_seed_different():
    options = {"normalization": "layernorm", "zoneout_cell": 0.3, "zoneout_hidden": 0.2, "state_dropout": 0.3}
    first, second, other = (built(VariantLSTM(UNITS, seed=seed, **options)) for seed in (21, 21, 22))
    shape = (BATCH, TIME, FEATURES)
    first_masks, second_masks, other_masks = (layer.draw_masks(shape, training=True) for layer in (first, second, other))
    assert set(first_masks) == {"cell_zoneout", "hidden_zoneout", "state_dropout"}
    for name in first_masks:
        np.testing.assert_array_equal(np.asarray(first_masks[name]), np.asarray(second_masks[name]))
        assert not np.array_equal(np.asarray(first_masks[name]), np.asarray(other_masks[name]))
    assert not np.array_equal(np.asarray(first_masks["cell_zoneout"]), np.asarray(first.draw_masks(shape, training=True)["cell_zoneout"])), \
        "the generator moves on: each call draws new masks"
    for name, value in weights_of(first).items():
        np.testing.assert_array_equal(value, weights_of(second)[name])
    for name in ("kernel", "recurrent_kernel"):
        assert not np.allclose(weights_of(first)[name], weights_of(other)[name])


@pytest.mark.parametrize("normalization", ["none", "layernorm", "weightnorm"])
def test_saved_model_reloads_with_the_same_predictions(tmp_path, normalization):
    layer = VariantLSTM(UNITS, normalization=normalization, zoneout_cell=0.2, zoneout_hidden=0.1, state_dropout=0.3,
                        return_sequences=True, seed=4)
    model = keras.Sequential([keras.Input((TIME, FEATURES)), layer, keras.layers.Dense(3)])
    randomize(layer, 9)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    reloaded = loaded.layers[0]
    assert isinstance(reloaded, VariantLSTM) and reloaded.get_config() == layer.get_config()
    inputs = sequence(shape=(5, TIME, FEATURES))
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_fits_with_a_fixed_batch_and_forty_steps(jit_compile):
    """MNIST-1D's shape, with the batch size fixed in the model as well, through model.fit, with and
    without XLA (which Keras picks by itself on a GPU, and which needs a loop of fixed trip count)."""
    rng = np.random.default_rng(0)
    inputs, labels = rng.normal(size=(32, 40, 1)).astype("float32"), rng.integers(0, 10, 32)
    layer = VariantLSTM(6, normalization="weightnorm", zoneout_cell=0.15, zoneout_hidden=0.05, state_dropout=0.25, seed=0)
    model = keras.Sequential([keras.Input((40, 1), batch_size=16), layer, keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    assert model.jit_compile == jit_compile
    # With one input feature each column of the input kernel is a single number, so weight norm's V only sets
    # the sign (its gradient is zero up to rounding) and the gain does the learning: check the matrices used.
    def used_weights():
        return [ops.convert_to_numpy(weight) for weight in (*layer.effective_kernels(), layer.bias)]

    before = used_weights()
    history = model.fit(inputs, labels, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.allclose(start, weight) for start, weight in zip(before, used_weights()))


JAX_SCRIPT = textwrap.dedent("""
    import sys

    import keras
    import numpy as np

    from reprolab.models.lstm_variants import VariantLSTM

    assert keras.backend.backend() == "jax"
    given = np.load(sys.argv[1])
    options = {"normalization": "layernorm", "zoneout_cell": 0.15, "zoneout_hidden": 0.05, "state_dropout": 0.25, "seed": 3}
    layer, twin = (VariantLSTM(4, return_sequences=True, **options) for _ in range(2))
    for each in (layer, twin):
        each.build(given["inputs"].shape)
    seeded = layer.get_weights()
    assert all(np.array_equal(mine, theirs) for mine, theirs in zip(seeded, twin.get_weights())), "same seed, same weights"
    layer.set_weights([given[f"weight{index}"] for index in range(len(seeded))])
    outputs = np.asarray(layer(given["inputs"], training=False))

    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((40, 1)), VariantLSTM(6, **options), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [weight.numpy() for weight in model.weights]
    history = model.fit(rng.normal(size=(32, 40, 1)).astype("float32"), rng.integers(0, 10, 32), batch_size=16, verbose=0)
    assert int(model.optimizer.iterations) == 2 and np.isfinite(history.history["loss"][0])
    assert not any(np.allclose(start, weight.numpy()) for start, weight in zip(before, model.weights))
    np.savez(sys.argv[2], outputs=outputs, **{f"seeded{index}": weight for index, weight in enumerate(seeded)})
""")


def test_trains_on_jax_and_computes_what_tensorflow_computes(tmp_path):
    """On JAX the layer (layer norm, zoneout, state dropout) trains 2 Adam steps, repeats its seeded
    weights, and from TensorFlow's weights computes TensorFlow's outputs. Keras' seeded initialisers
    draw from each backend's own generator, so the same seed gives other weights on JAX than here."""
    options = {"normalization": "layernorm", "zoneout_cell": 0.15, "zoneout_hidden": 0.05, "state_dropout": 0.25, "seed": 3}
    layer = built(VariantLSTM(4, return_sequences=True, **options), seed=10)
    inputs = sequence()
    given, result = tmp_path / "given.npz", tmp_path / "result.npz"
    np.savez(given, inputs=inputs, **{f"weight{index}": weight for index, weight in enumerate(layer.get_weights())})
    script = tmp_path / "jax_run.py"
    script.write_text(JAX_SCRIPT)
    completed = subprocess.run([sys.executable, str(script), str(given), str(result)], check=False, capture_output=True, text=True,
                               env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    np.testing.assert_allclose(np.load(result)["outputs"], np.asarray(layer(inputs, training=False)), atol=1e-5)
    seeded_here = built(VariantLSTM(4, return_sequences=True, **options)).get_weights()
    seeded_on_jax = np.load(result)
    # Deterministic initialisers agree across backends; the random ones come from different generators.
    np.testing.assert_array_equal(seeded_on_jax["seeded2"], seeded_here[2])


def test_rejects_unknown_options():
    with pytest.raises(ValueError, match="normalization"):
        VariantLSTM(UNITS, normalization="batchnorm")
    with pytest.raises(ValueError, match="zoneout_cell"):
        VariantLSTM(UNITS, zoneout_cell=1.5)
    with pytest.raises(ValueError, match="state_dropout"):
        VariantLSTM(UNITS, state_dropout=1.0)


def test_layer_norm_keeps_the_size_of_a_one_number_input():
    # Normalising x W on its own would see only the sign of a scalar x at the first step (x W = x w).
    layer = VariantLSTM(UNITS, normalization="layernorm", seed=0)
    inputs = np.full((1, 1, 1), 0.5, dtype="float32")
    assert not np.allclose(np.asarray(layer(inputs)), np.asarray(layer(4 * inputs)), atol=1e-4)
