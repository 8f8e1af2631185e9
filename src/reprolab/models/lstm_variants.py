"""The LSTM variants the MNIST-1D regulariser study needs and `keras.layers.LSTM` lacks: layer
normalisation, weight normalisation, zoneout and naive (fresh mask per step) recurrent dropout, as one
layer on `keras.ops` and `keras.random` so that it runs, seeded and deterministic, on every backend."""

import keras
from keras import ops

NORMALIZATIONS = ("none", "layernorm", "weightnorm")
LAYER_NORM_EPSILON = 1e-3


def layer_normalize(values, gain, bias=None):
    """Normalises `values` over the last axis to zero mean and unit variance (epsilon 1e-3 added to
    the variance), then multiplies by `gain` and adds `bias` when given."""
    centered = values - ops.mean(values, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
    normalized = centered * ops.rsqrt(variance + LAYER_NORM_EPSILON) * gain
    return normalized if bias is None else normalized + bias


def column_norms(matrix):
    """The Euclidean norm of each column of `matrix` (over axis 0)."""
    return ops.sqrt(ops.sum(ops.square(matrix), axis=0))


def forget_gate_bias(shape, dtype=None):
    """The LSTM bias at init, gate order (i, f, c, o): zeros except ones for the forget gate (Keras' unit_forget_bias)."""
    units = shape[0] // 4
    return ops.concatenate([ops.zeros((units,), dtype), ops.ones((units,), dtype), ops.zeros((2 * units,), dtype)])


def zone_out(previous, new, update):
    """previous + update * (new - previous): zoneout with `update` = 1 - keep, a 0/1 mask in training
    (a kept unit stays exactly as it was) or 1 - p at inference (the expectation); 1 leaves `new`."""
    if isinstance(update, float) and update == 1.0:
        return new
    return previous + update * (new - previous)


class StepCell(keras.layers.Layer):
    """An RNN cell without weights of its own: `step(step_inputs, [hidden, cell])`, a closure over one
    call's weights and masks, run by `keras.layers.RNN`."""

    def __init__(self, step, units, **kwargs):
        super().__init__(**kwargs)
        self.step = step
        self.state_size = [units, units]
        self.output_size = units

    def call(self, step_inputs, states):
        return self.step(step_inputs, states)


@keras.saving.register_keras_serializable(package="reprolab")
class VariantLSTM(keras.layers.Layer):
    """An LSTM (Keras' equations, gate order (i, f, c, o) and initialisers) with optional layer norm (epsilon 1e-3) or
    weight norm of its matrices, zoneout of the cell and hidden states, and a fresh dropout mask on h_prev at every step."""

    def __init__(self, units, normalization="none", zoneout_cell=0.0, zoneout_hidden=0.0, state_dropout=0.0,
                 return_sequences=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"VariantLSTM: normalization must be one of {NORMALIZATIONS}, not {normalization!r}")
        for name, probability in (("zoneout_cell", zoneout_cell), ("zoneout_hidden", zoneout_hidden)):
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"VariantLSTM: {name} must lie in [0, 1], not {probability}")
        if not 0.0 <= state_dropout < 1.0:
            raise ValueError(f"VariantLSTM: state_dropout must lie in [0, 1), not {state_dropout}")
        self.units = int(units)
        self.normalization = normalization
        self.zoneout_cell = float(zoneout_cell)
        self.zoneout_hidden = float(zoneout_hidden)
        self.state_dropout = float(state_dropout)
        self.return_sequences = bool(return_sequences)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def initializer_seed(self, offset):
        """The seed of the `offset`-th initialiser: seed + offset, or None when the layer is unseeded."""
        return None if self.seed is None else self.seed + offset

    def build(self, input_shape):
        gates = 4 * self.units
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), gates), name="kernel",
                                      initializer=keras.initializers.GlorotUniform(seed=self.initializer_seed(0)))
        self.recurrent_kernel = self.add_weight(shape=(self.units, gates), name="recurrent_kernel",
                                                initializer=keras.initializers.Orthogonal(seed=self.initializer_seed(1)))
        self.bias = self.add_weight(shape=(gates,), initializer=forget_gate_bias, name="bias")
        if self.normalization == "layernorm":
            # Ba, Kiros & Hinton 2016, sec. 3.1: gates = LN(x W; g_x) + LN(h U; g_h) + bias, h = o * tanh(LN(c; g_c, b_c)).
            self.summed_norm_gain = self.add_weight(shape=(gates,), initializer="ones", name="summed_norm_gain")
            self.cell_norm_gain = self.add_weight(shape=(self.units,), initializer="ones", name="cell_norm_gain")
            self.cell_norm_bias = self.add_weight(shape=(self.units,), initializer="zeros", name="cell_norm_bias")
        elif self.normalization == "weightnorm":
            # Salimans & Kingma 2016: W = g * V / ||V|| per column, g starting at ||V|| so that W starts at V.
            self.kernel_gain = self.add_weight(shape=(gates,), name="kernel_gain",
                                               initializer=lambda shape, dtype=None: ops.cast(column_norms(self.kernel), dtype))
            self.recurrent_kernel_gain = self.add_weight(
                shape=(gates,), name="recurrent_kernel_gain",
                initializer=lambda shape, dtype=None: ops.cast(column_norms(self.recurrent_kernel), dtype))

    def effective_kernels(self):
        """The input and recurrent weight matrices the equations use: g * V / ||V|| under weight normalisation."""
        if self.normalization != "weightnorm":
            return self.kernel, self.recurrent_kernel
        return (self.kernel * (self.kernel_gain / column_norms(self.kernel)),
                self.recurrent_kernel * (self.recurrent_kernel_gain / column_norms(self.recurrent_kernel)))

    def draw_masks(self, input_shape, training=False):
        """The random masks one call of `call` uses on inputs of `input_shape`, each (batch, time, units):
        zoneout masks (1 = keep the previous value) and the scaled state-dropout mask; none at inference."""
        if not training:
            return {}
        shape = (input_shape[0], input_shape[1], self.units)
        masks = {}
        if self.zoneout_cell > 0.0:
            masks["cell_zoneout"] = self.bernoulli(shape, self.zoneout_cell)
        if self.zoneout_hidden > 0.0:
            masks["hidden_zoneout"] = self.bernoulli(shape, self.zoneout_hidden)
        if self.state_dropout > 0.0:
            keep = 1.0 - self.state_dropout
            masks["state_dropout"] = self.bernoulli(shape, keep) / keep
        return masks

    def bernoulli(self, shape, probability):
        """Independent draws of 1 with `probability`, else 0, from the layer's seed generator."""
        uniform = keras.random.uniform(shape, dtype=self.compute_dtype, seed=self.seed_generator)
        return ops.cast(ops.less(uniform, probability), self.compute_dtype)

    def call(self, inputs, training=None):
        masks = self.draw_masks(ops.shape(inputs), training)
        # What the loop reads at each step, concatenated onto the inputs: zoneout's masks as update
        # weights, 1 - keep (so that a kept unit stays exact), and the state-dropout mask.
        per_step = {name: 1.0 - mask if name.endswith("zoneout") else mask for name, mask in masks.items()}
        sequences = ops.concatenate([inputs, *per_step.values()], axis=-1)
        split_points = [int(inputs.shape[-1]) + index * self.units for index in range(len(per_step))]
        kernel, recurrent_kernel = self.effective_kernels()

        def step(step_inputs, state):
            hidden, cell = state
            step_input, *step_values = ops.split(step_inputs, split_points, axis=-1) if per_step else [step_inputs]
            current = dict(zip(per_step, step_values))
            # Naive recurrent dropout (the form Gal & Ghahramani 2016 contrast with their variational one, which
            # is Keras' recurrent_dropout): a fresh mask on h_prev in the recurrent matmul; the state is kept whole.
            recurrent_input = hidden * current["state_dropout"] if "state_dropout" in current else hidden
            summed = ops.matmul(step_input, kernel) + ops.matmul(recurrent_input, recurrent_kernel)
            if self.normalization == "layernorm":
                summed = layer_normalize(summed, self.summed_norm_gain)
            input_gate, forget_gate, candidate, output_gate = ops.split(summed + self.bias, 4, axis=-1)
            new_cell = ops.sigmoid(forget_gate) * cell + ops.sigmoid(input_gate) * ops.tanh(candidate)
            shown_cell = new_cell
            if self.normalization == "layernorm":
                shown_cell = layer_normalize(new_cell, self.cell_norm_gain, self.cell_norm_bias)
            new_hidden = ops.sigmoid(output_gate) * ops.tanh(shown_cell)
            # Zoneout (Krueger et al. 2016): each unit keeps its previous value with probability p, fresh per example
            # and step (a 0/1 mask in training); at inference the expectation, p * previous + (1 - p) * new.
            new_cell = zone_out(cell, new_cell, current.get("cell_zoneout", 1.0 - self.zoneout_cell))
            new_hidden = zone_out(hidden, new_hidden, current.get("hidden_zoneout", 1.0 - self.zoneout_hidden))
            return new_hidden, [new_hidden, new_cell]

        # keras.layers.RNN runs the loop: on TensorFlow its while loop has a fixed trip count, which XLA
        # needs to differentiate it (keras.ops.scan's has none), and on JAX it is a lax.scan.
        recurrence = keras.layers.RNN(StepCell(step, self.units, dtype=self.dtype_policy, name="step"),
                                      return_sequences=self.return_sequences, dtype=self.dtype_policy, name="recurrence")
        return recurrence(sequences)

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "normalization": self.normalization,
                "zoneout_cell": self.zoneout_cell, "zoneout_hidden": self.zoneout_hidden,
                "state_dropout": self.state_dropout, "return_sequences": self.return_sequences, "seed": self.seed}
