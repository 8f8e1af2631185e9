"""The normalisations of the `normalization` study: scaled weight standardisation, weight norm,
adaptive gradient clipping and the normaliser-free block's variance schedule."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reprolab.models import resnet  # noqa: E402
from reprolab.models.normalization import ACTIVATION_GAINS, ScaledWSConv2D, WeightNormConv2D, initialize_weight_norm  # noqa: E402
from reprolab.training.optimizers import AdaptiveClippingSGD, adaptive_clip  # noqa: E402


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_scaled_weight_standardisation_gives_zero_mean_kernels_of_norm_gamma_times_gain():
    layer = ScaledWSConv2D(6, 3, activation_gain=ACTIVATION_GAINS["relu"], seed=0)
    layer.build((None, 8, 8, 4))
    layer.raw_kernel.assign(np.random.default_rng(0).normal(3.0, 5.0, size=(3, 3, 4, 6)))
    layer.gain.assign(np.arange(1, 7, dtype="float32"))
    kernel = numpy(layer.kernel()).reshape(36, 6)
    np.testing.assert_allclose(kernel.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), ACTIVATION_GAINS["relu"] * np.arange(1, 7), rtol=1e-4)


def test_relu_gain_makes_a_scaled_ws_convolution_of_relu_of_unit_gaussians_unit_variance():
    layer = ScaledWSConv2D(64, 3, activation_gain=ACTIVATION_GAINS["relu"], seed=0)
    inputs = np.random.default_rng(1).standard_normal((32, 16, 16, 32)).astype("float32")
    outputs = numpy(layer(keras.ops.relu(inputs)))[:, 1:-1, 1:-1]  # away from the zero padding
    assert outputs.var() == pytest.approx(1.0, rel=0.1)


def test_weight_norm_kernel_is_gain_times_direction_and_data_init_standardises_outputs():
    inputs = keras.Input((8, 8, 3))
    layer = WeightNormConv2D(5, 3, seed=0, name="wn")
    model = keras.Model(inputs, layer(inputs))
    raw, gain = numpy(layer.raw_kernel), np.linspace(0.5, 2.0, 5).astype("float32")
    layer.gain.assign(gain)
    np.testing.assert_allclose(numpy(layer.kernel()), gain * raw / np.linalg.norm(raw.reshape(27, 5), axis=0), rtol=1e-5)

    batch = np.random.default_rng(2).uniform(-1, 1, (64, 8, 8, 3)).astype("float32") + 0.3
    initialize_weight_norm(model, batch)
    outputs = numpy(model(batch))
    np.testing.assert_allclose(outputs.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(outputs.var(axis=(0, 1, 2)), 1.0, rtol=1e-3)


def test_adaptive_clipping_scales_exactly_the_units_above_lambda():
    weight = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]], dtype="float32")  # unit norms 1, 2, 0 (-> 1e-3)
    gradient = np.array([[0.05, 0.0, 0.0], [0.0, 0.5, 0.01]], dtype="float32")  # unit norms 0.05, 0.5, 0.01
    clipped = numpy(adaptive_clip(gradient, weight, clipping=0.1))
    np.testing.assert_allclose(clipped[:, 0], gradient[:, 0])  # 0.05 / 1 <= 0.1: untouched
    np.testing.assert_allclose(np.linalg.norm(clipped[:, 1]), 0.1 * 2.0, rtol=1e-5)  # 0.5 / 2 > 0.1: scaled to 0.2
    np.testing.assert_allclose(clipped[:, 1] / np.linalg.norm(clipped[:, 1]), gradient[:, 1] / 0.5, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(clipped[:, 2]), 0.1 * 1e-3, rtol=1e-4)  # zero weights: ||W||* = 1e-3


def test_adaptive_clipping_optimizer_leaves_the_classifier_alone():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="classifier")(keras.layers.Dense(3, name="hidden")(inputs)))
    before = [numpy(weight) for weight in model.trainable_weights]
    optimizer = AdaptiveClippingSGD(clipping=0.01, learning_rate=1.0)
    optimizer.build(model.trainable_weights)
    huge = [np.full(weight.shape, 100.0, dtype="float32") for weight in model.trainable_weights]
    optimizer.apply(huge, model.trainable_weights)
    for weight, start in zip(model.trainable_weights, before):
        step = np.abs(numpy(weight) - start)
        if weight.path.startswith("classifier"):
            np.testing.assert_allclose(step, 100.0)
        else:
            assert step.max() <= 0.01 * max(np.abs(start).max(), 1e-3) * np.sqrt(start.size) + 1e-6


@pytest.mark.parametrize("transition", [False, True])
def test_nf_block_output_variance_follows_the_analytic_beta_schedule(transition):
    """With the branch gain at 1, a block fed N(0, beta^2) returns variance beta^2 + alpha^2,
    or 1 + alpha^2 after a transition (whose shortcut convolves h / beta)."""
    beta = 1.3
    inputs = keras.Input((16, 16, 32))
    builder = resnet._Builder("nf", "relu", seed=0)
    outputs = builder.block(inputs, 64 if transition else 32, 2 if transition else 1, 0, beta)
    model = keras.Model(inputs, outputs)
    for layer in model.layers:
        if layer.name.startswith("branch_gain"):
            layer.value.assign(1.0)
    batch = beta * np.random.default_rng(3).standard_normal((64, 16, 16, 32)).astype("float32")
    variance = numpy(model(batch))[:, 2:-2, 2:-2].var()
    expected = (1.0 if transition else beta**2) + resnet.ALPHA**2
    assert variance == pytest.approx(expected, rel=0.1)


def test_expected_variances_grow_by_alpha_squared_and_reset_at_transitions():
    a2 = resnet.ALPHA**2
    np.testing.assert_allclose(resnet.expected_variances(20), [1, 1 + a2, 1 + 2 * a2, 1 + 3 * a2, 1 + a2, 1 + 2 * a2, 1 + 3 * a2, 1 + a2, 1 + 2 * a2])
    with pytest.raises(ValueError, match="6n \\+ 2"):
        resnet.expected_variances(10)


@pytest.mark.parametrize("normalization", ["nf", "weightnorm"])
def test_same_shaped_kernels_start_different(normalization):
    model = resnet.build((16, 16, 1), 10, depth=14, widths=[4, 4, 4], normalization=normalization, activation="relu",
                         augment_shift_pixels=0, seed=0)
    kernels = [numpy(layer.raw_kernel) for layer in model.layers if hasattr(layer, "raw_kernel") and layer.raw_kernel.shape == (3, 3, 4, 4)]
    assert len(kernels) > 4
    assert all(not np.allclose(first, second) for index, first in enumerate(kernels) for second in kernels[index + 1:])
