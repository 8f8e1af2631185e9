"""The 1989 network's structure and its custom layers."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reprolab.models import lecun1989  # noqa: E402
from reprolab.models.layers import RandomShift, SparseConv2D  # noqa: E402


def build(**overrides):
    settings = dict(input_shape=(16, 16, 1), classes=10, activation="tanh", output_activation="tanh",
                    dropout=0.0, augment_shift_pixels=0, seed=0)
    return lecun1989.build(**{**settings, **overrides})


def test_parameter_counts_match_the_paper():
    model = build()
    assert model.count_params() == 9760
    assert lecun1989.parameters_by_layer(model) == {"h1": 1068, "h2": 2592, "h3": 5790, "output": 310}


def test_multiply_accumulates_are_the_papers_64k():
    from reprolab.models.macs import count_macs

    # H1 8*8*12 units x 25 taps, H2 4*4*12 units x 200 taps, H3 192*30, output 30*10
    assert count_macs(build()) == 19200 + 38400 + 5760 + 300


def test_modern_ladder_keeps_the_paper_parameter_count():
    assert build(activation="relu", output_activation="linear", dropout=0.25, augment_shift_pixels=1).count_params() == 9760


def test_feature_map_sizes_are_8x8_then_4x4():
    model = build()
    assert model.get_layer("h1_conv").output.shape[1:] == (8, 8, 12)
    assert model.get_layer("h2_conv").output.shape[1:] == (4, 4, 12)


def test_initial_weights_lie_within_2_4_over_sqrt_fan_in():
    model = build()
    for name, fan_in in (("h1_conv", 25), ("h2_conv", 200), ("h3", 192), ("output", 30)):
        kernel = model.get_layer(name).get_weights()[0]
        assert np.abs(kernel).max() <= 2.4 / np.sqrt(fan_in)
        assert np.abs(kernel).max() > 0.5 * 2.4 / np.sqrt(fan_in)


def test_sparse_convolution_reads_only_its_connected_planes():
    connections = [[0, 1], [1, 2]]
    layer = SparseConv2D(connections, kernel_size=3, strides=1, input_planes=3)
    inputs = np.random.default_rng(0).normal(size=(1, 5, 5, 3)).astype("float32")
    before = keras.ops.convert_to_numpy(layer(inputs))
    changed = inputs.copy()
    changed[..., 2] += 1.0  # plane 2 feeds output plane 1 only
    after = keras.ops.convert_to_numpy(layer(changed))
    np.testing.assert_allclose(after[..., 0], before[..., 0])
    assert not np.allclose(after[..., 1], before[..., 1])
    assert layer.count_params() == 3 * 3 * 2 * 2


def test_random_shift_moves_images_by_at_most_the_given_pixels_and_only_in_training():
    images = np.full((64, 16, 16, 1), -1.0, dtype="float32")
    images[:, 8, 8, 0] = 1.0
    layer = RandomShift(1, fill_value=-1.0, seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images)
    shifted = keras.ops.convert_to_numpy(layer(images, training=True))
    positions = {tuple(np.argwhere(image[..., 0] == 1.0)[0]) for image in shifted}
    assert positions <= {(row, column) for row in (7, 8, 9) for column in (7, 8, 9)}
    assert len(positions) > 3, "64 images should not all get the same shift"


def test_model_rejects_images_of_the_wrong_size():
    with pytest.raises(ValueError, match="16x16x1"):
        build(input_shape=(8, 8, 1))


def test_mixed_precision_computes_in_16_bits_and_keeps_float32_weights():
    from reprolab.models.factory import build_model

    settings = {"model": {"name": "lecun1989", "activation": "tanh", "output_activation": "tanh", "dropout": 0.0},
                "augment_shift_pixels": 0}
    mixed = build_model({**settings, "precision": "mixed_bfloat16"}, (16, 16, 1), 10, seed=0)
    assert keras.ops.convert_to_numpy(mixed(np.zeros((1, 16, 16, 1)))).dtype == keras.ops.convert_to_numpy(keras.ops.ones(1, "bfloat16")).dtype
    assert {weight.dtype for weight in mixed.weights} == {"float32"}
    plain = build_model(settings, (16, 16, 1), 10, seed=0)
    assert plain.layers[-1].compute_dtype == "float32"
