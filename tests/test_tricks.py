"""The tricks-of-the-trade parts: annealed gradient noise (its variance follows the schedule and is
added after clipping), the deep MLP's initialisations, and a zero-initialised net that only noise
moves off its symmetric start."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reprolab.models.factory import build_model  # noqa: E402
from reprolab.training import engine  # noqa: E402
from reprolab.models import mlp  # noqa: E402
from reprolab.training.optimizers import NoisySGD  # noqa: E402

SIZE = 200_000


def update(optimizer, gradient, step):
    """The change one `apply` makes to a zero variable at optimizer step `step` (learning rate 1)."""
    variable = keras.Variable(np.zeros(SIZE, "float32"))
    optimizer.build([variable])
    optimizer.iterations.assign(step)
    optimizer.apply([keras.ops.convert_to_tensor(gradient)], [variable])
    return keras.ops.convert_to_numpy(variable)


@pytest.mark.parametrize("step", [0, 10, 100])
def test_gradient_noise_has_the_scheduled_variance(step):
    change = update(NoisySGD(noise_eta=0.3, noise_gamma=0.55, learning_rate=1.0), np.zeros(SIZE, "float32"), step)
    assert np.var(change) == pytest.approx(0.3 / (1 + step) ** 0.55, rel=0.02)
    assert abs(np.mean(change)) < 0.01


def test_gradient_noise_is_added_after_clipping_by_global_norm():
    gradient = np.full(SIZE, 5.0, "float32")  # global norm 5 * sqrt(SIZE), clipped to 1
    quiet = update(NoisySGD(noise_eta=1e-14, learning_rate=1.0, global_clipnorm=1.0), gradient, 0)
    assert np.linalg.norm(quiet) == pytest.approx(1.0, rel=1e-3)
    noisy = update(NoisySGD(noise_eta=0.3, learning_rate=1.0, global_clipnorm=1e-6), np.zeros(SIZE, "float32"), 0)
    assert np.var(noisy) == pytest.approx(0.3, rel=0.02), "the clip bounds the gradient, not the noise"


@pytest.mark.parametrize("scheme, expected_std", [("simple", 0.1), ("small", 0.01), ("he", np.sqrt(2 / 50)), ("zero", 0.0)])
def test_mlp_initialisations_have_their_spread(scheme, expected_std):
    model = mlp.build((16, 16, 1), 10, depth=20, width=50, initialization=scheme, augment_shift_pixels=0, seed=0)
    assert model.count_params() == (256 * 50 + 50) + 19 * (50 * 50 + 50) + (50 * 10 + 10)
    kernels = np.concatenate([model.get_layer(f"hidden{index}").get_weights()[0].ravel() for index in range(2, 21)])
    assert np.std(kernels) == pytest.approx(expected_std, rel=0.05, abs=1e-12)


def test_only_gradient_noise_moves_a_zero_initialised_net_off_its_symmetric_start():
    generator = np.random.default_rng(0)
    data = {"x_train": generator.uniform(-1, 1, (256, 16, 16, 1)).astype("float32"), "y_train": np.arange(256) % 10}
    spreads = {}
    for name, noise in (("plain", {}), ("noisy", {"gradient_noise": {"eta": 0.01}})):
        config = {"loss": "cross_entropy", "epochs": 2, "batch_size": 32, "shuffle": True, "augment_shift_pixels": 0,
                  "model": {"name": "mlp", "depth": 5, "width": 20, "initialization": "zero"},
                  "optimizer": {"name": "sgd", "learning_rate": 0.1, "clip_norm": 10.0, **noise}, "schedule": {"name": "constant"}}
        model = build_model(config, (16, 16, 1), engine.CLASSES, 0)
        trainer, arguments = engine.compile_trainer(config, model, data, 0)
        arguments.pop("callbacks")
        trainer.fit(**arguments, verbose=0)
        spreads[name] = float(np.std(model.get_layer("hidden2").get_weights()[0]))
    assert spreads["plain"] == 0.0, "zero weights get zero gradients: every hidden unit stays identical"
    assert spreads["noisy"] > 0.01
