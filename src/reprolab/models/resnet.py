"""Pre-activation ResNets for 16x16 digits (He et al. 2016's CIFAR layout: depth = 6n + 2, three
stages of n two-conv blocks at widths w1/w2/w3, the last two stages halving the resolution),
with the normalisation as an option:

- batchnorm:  BatchNorm before every activation;
- none:       the same net without it (Keras' default Glorot init);
- weightnorm: every convolution weight-normalised, with data-dependent init (normalization.py);
- nf, nf_agc: normaliser-free (Brock et al. 2021): scaled-WS convolutions, blocks
  h + alpha * gain * f(h / beta) with beta the analytic std of h and a zero-init gain;
  nf_agc trains it with adaptive gradient clipping (optimizers.py).

Every block's output is a layer named `block<i>_out`, read by `signal_propagation`.
"""

import math

import keras
from keras import ops

from reprolab.models.layers import RandomShift
from reprolab.models.normalization import ACTIVATION_GAINS, BranchGain, ScaledWSConv2D, WeightNormConv2D

NORMALIZATIONS = ("batchnorm", "none", "weightnorm", "nf", "nf_agc")
ALPHA = 0.2  # NF-ResNets' residual scaling: each block adds alpha^2 to the variance


def blocks_per_stage(depth):
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"resnet depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, 56, ...), got {depth}")
    return (depth - 2) // 6


def expected_variances(depth, stages=3):
    """beta_i squared, the variance NF-ResNets assume at each block's input: 1 after the stem, alpha^2
    more after every block, and 1 + alpha^2 after a transition block (its shortcut convolves h / beta)."""
    variances, variance = [], 1.0
    for stage in range(stages):
        for block in range(blocks_per_stage(depth)):
            variances.append(variance)
            variance = (1.0 if stage > 0 and block == 0 else variance) + ALPHA**2
    return variances


class _Builder:
    """Builds convolutions and blocks for one normalisation, naming layers in order."""

    def __init__(self, normalization, activation, seed):
        self.normalization, self.activation, self.seed = normalization, activation, seed
        self.free = normalization in ("nf", "nf_agc")
        self.count = 0

    def _name(self, kind):
        self.count += 1
        return f"{kind}{self.count}"

    def conv(self, x, filters, kernel_size, strides=1, after_activation=True):
        name = self._name("conv")
        # A seed of its own per layer: one seed for all would give same-shaped kernels the same values.
        seed = None if self.seed is None else 1000 * self.seed + self.count
        if self.free:
            gain = ACTIVATION_GAINS[self.activation] if after_activation else 1.0
            return ScaledWSConv2D(filters, kernel_size, strides, activation_gain=gain, seed=seed, name=name)(x)
        if self.normalization == "weightnorm":
            return WeightNormConv2D(filters, kernel_size, strides, seed=seed, name=name)(x)
        return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=self.normalization != "batchnorm", name=name)(x)

    def normalize_and_activate(self, x):
        if self.normalization == "batchnorm":
            # momentum 0.9 (PyTorch's 0.1): Keras' 0.99 leaves the moving averages far from the data after a few hundred steps
            x = keras.layers.BatchNormalization(momentum=0.9, name=self._name("batchnorm"))(x)
        return keras.layers.Activation(self.activation, name=self._name("act"))(x)

    def block(self, x, width, strides, index, beta):
        """One pre-activation block; a transition (new width or stride) gets a 1x1 shortcut convolution."""
        transition = strides != 1 or x.shape[-1] != width
        if self.free:
            x_scaled = keras.layers.Rescaling(1.0 / beta, name=self._name("inverse_beta"))(x)
            h = keras.layers.Activation(self.activation, name=self._name("act"))(x_scaled)
        else:
            h = self.normalize_and_activate(x)
        shortcut = self.conv(h, width, 1, strides) if transition else x
        branch = self.conv(h, width, 3, strides)
        branch = self.conv(self.normalize_and_activate(branch), width, 3)
        if self.free:
            branch = BranchGain(0.0, name=self._name("branch_gain"))(keras.layers.Rescaling(ALPHA, name=self._name("alpha"))(branch))
        return keras.layers.Add(name=f"block{index}_out")([shortcut, branch])


def build(input_shape, classes, depth, widths, normalization, activation, augment_shift_pixels, seed):
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization '{normalization}'; one of {', '.join(NORMALIZATIONS)}")
    builder = _Builder(normalization, activation, seed)
    inputs = keras.Input(shape=input_shape, name="image")
    x = RandomShift(augment_shift_pixels, fill_value=-1.0, seed=seed, name="shift")(inputs)
    x = builder.conv(x, widths[0], 3, after_activation=False)
    betas = iter(math.sqrt(variance) for variance in expected_variances(depth, len(widths)))
    index = 0
    for stage, width in enumerate(widths):
        for block in range(blocks_per_stage(depth)):
            x = builder.block(x, width, 2 if stage > 0 and block == 0 else 1, index, next(betas))
            index += 1
    x = builder.normalize_and_activate(x) if not builder.free else keras.layers.Activation(activation, name="final_act")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(classes, name="classifier")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}_{normalization}")


def signal_propagation(model, inputs):
    """Per residual block at the current weights: mean squared activation and mean per-channel
    variance of its output on `inputs` (Brock et al.'s signal propagation plot). BatchNorm uses the
    batch's statistics, as in training; its moving averages are left as they were."""
    outputs = [layer.output for layer in model.layers if layer.name.startswith("block") and layer.name.endswith("_out")]
    kept = [ops.convert_to_numpy(variable) for variable in model.non_trainable_variables]
    values = keras.Model(model.inputs[0], outputs)(inputs, training=True)
    for variable, value in zip(model.non_trainable_variables, kept):
        variable.assign(value)
    return [{"block": index + 1,
             "mean_square": float(ops.convert_to_numpy(ops.mean(ops.square(value)))),
             "channel_variance": float(ops.convert_to_numpy(ops.mean(ops.var(value, axis=(0, 1, 2)))))}
            for index, value in enumerate(values)]
