"""Regularisation timing: the blur deficit layer, and the callback that switches weight decay,
augmentation and the blur at epoch boundaries (inside real Keras fits) and restarts the
learning-rate schedule when the deficit ends."""


import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reprolab.models.factory import build_model  # noqa: E402
from reprolab.training import engine  # noqa: E402
from reprolab.models.layers import Blur, RandomShift  # noqa: E402
from reprolab.training.timing import in_window, layers_of  # noqa: E402


def test_windows_are_half_open_epoch_ranges():
    assert [in_window({"until": 2}, epoch) for epoch in range(4)] == [True, True, False, False]
    assert [in_window({"from": 2}, epoch) for epoch in range(4)] == [False, False, True, True]
    assert [in_window({"from": 1, "until": 3}, epoch) for epoch in range(4)] == [False, True, True, False]


def test_blur_keeps_only_the_4x4_block_means_while_training_and_is_the_identity_otherwise():
    generator = np.random.default_rng(0)
    image = generator.normal(size=(1, 16, 16, 1)).astype("float32")
    # a second image with the same block means: a zero-mean pattern added inside every 4x4 block
    pattern = np.tile(np.array([[1, -1, 1, -1], [-1, 1, -1, 1]] * 2, dtype="float32"), (4, 4))[None, :, :, None]
    same_means = image + pattern
    layer = Blur()
    assert np.array_equal(keras.ops.convert_to_numpy(layer(image, training=True)), image), "inactive: identity"
    layer.active = True
    blurred, other = (keras.ops.convert_to_numpy(layer(x, training=True)) for x in (image, same_means))
    np.testing.assert_allclose(blurred, other, atol=1e-6)
    assert not np.allclose(blurred, image)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(image, training=False)), image), "inference: identity"


def run_config(**changes):
    config = {
        "dataset": "digits", "loss": "cross_entropy", "epochs": 3, "batch_size": 16, "shuffle": False, "augment_shift_pixels": 0,
        "model": {"name": "cnn", "widths": [4], "kernel_sizes": [3], "pooling": "max", "dense_width": 0, "activation": "relu"},
        "optimizer": {"name": "sgd", "learning_rate": 0.01}, "schedule": {"name": "linear", "final_learning_rate": 1e-4},
    }
    for key, value in changes.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def fit(config, probe):
    generator = np.random.default_rng(0)
    data = {"x_train": generator.uniform(-1, 1, (64, 16, 16, 1)).astype("float32"), "y_train": np.arange(64) % 10}
    data["x_test"], data["y_test"] = data["x_train"][:16], data["y_train"][:16]
    model = build_model(config, (16, 16, 1), engine.CLASSES, 0)
    trainer, arguments = engine.compile_trainer(config, model, data, 0)
    recorder = engine.EpochRecorder(data, "test")
    callbacks = arguments.pop("callbacks") + [probe, recorder]
    trainer.fit(**arguments, verbose=0, callbacks=callbacks)
    return recorder.rows


class Probe(keras.callbacks.Callback):
    """Records, per epoch, what the timing callback switched and the kernels' norm at its end."""

    def __init__(self):
        super().__init__()
        self.states, self.norms = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.states.append({"weight_decay": self.model.optimizer.weight_decay,
                            "shift": [layer.pixels for layer in layers_of(self.model, RandomShift)],
                            "blur": [layer.active for layer in layers_of(self.model, Blur)]})

    def on_epoch_end(self, epoch, logs=None):
        self.norms.append(float(sum(np.linalg.norm(keras.ops.convert_to_numpy(w)) for w in self.model.trainable_weights if w.path.endswith("kernel"))))


def test_weight_decay_acts_only_inside_its_window():
    probe = Probe()
    # decoupled decay of 10% a step dwarfs the gradient steps at this learning rate
    fit(run_config(optimizer={"weight_decay": 10.0}, timing={"weight_decay": {"from": 1, "until": 2}}), probe)
    assert [state["weight_decay"] for state in probe.states] == [0.0, 10.0, 0.0]
    first, second, third = probe.norms
    assert second < 0.8 * first, "the rebuilt train step applies the decay switched on"
    assert third > 0.95 * second, "and stops applying it once switched off"


def test_augmentation_and_blur_follow_their_windows_and_the_learning_rate_restarts_when_the_blur_ends():
    probe = Probe()
    config = run_config(epochs=4, augment_shift_pixels=2, timing={"augmentation": {"from": 2}, "blur": {"until": 1}, "reset_learning_rate": True})
    rows = fit(config, probe)
    assert [state["shift"] for state in probe.states] == [[0], [0], [2], [2]]
    assert [state["blur"] for state in probe.states] == [[True], [False], [False], [False]]
    # 4 steps an epoch: linear decay 0.01 -> 1e-4 over all 16 steps, restarted after the first epoch over the last 12
    drop = 0.01 - 1e-4
    expected = [0.01 - drop / 4, 0.01 - drop / 3, 0.01 - 2 * drop / 3, 1e-4]
    np.testing.assert_allclose([row["learning_rate"] for row in rows], expected, rtol=1e-4)
