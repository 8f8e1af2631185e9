"""The training engine: the in-graph per-example loop equals plain Keras fit(batch_size=1), and
seeds trained together (seeds_at_once) end as each would alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reprolab.models.factory import build_model  # noqa: E402
from reprolab.training import engine  # noqa: E402
from reprolab.training.per_example import PerExampleModel, as_one_batch  # noqa: E402


def config(**overrides):
    base = {"model": {"name": "lecun1989", "activation": "tanh", "output_activation": "tanh", "dropout": 0.0},
            "loss": "mse_pm1", "optimizer": {"name": "sgd", "learning_rate": 0.03}, "schedule": {"name": "constant"},
            "epochs": 1, "batch_size": 1, "shuffle": False, "augment_shift_pixels": 0}
    return {**base, **overrides}


@pytest.mark.parametrize("optimizer", [{"name": "sgd", "learning_rate": 0.03}, {"name": "adamw", "learning_rate": 1e-3, "weight_decay": 0.01}])
def test_per_example_loop_gives_the_weights_of_plain_fit(optimizer):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(24, 16, 16, 1)).astype("float32")
    targets = engine.targets_for("mse_pm1", rng.integers(0, 10, size=24), 10)
    settings = config(optimizer=optimizer)

    keras.utils.set_random_seed(0)
    plain = build_model(settings, (16, 16, 1), 10, seed=0)
    plain.compile(optimizer=engine.build_optimizer(settings, 24), loss=engine.build_loss("mse_pm1"))
    plain.fit(images, targets, batch_size=1, epochs=2, shuffle=False, verbose=0)

    keras.utils.set_random_seed(0)
    model = build_model(settings, (16, 16, 1), 10, seed=0)
    looped = PerExampleModel(model.inputs, model.outputs, example_loss=engine.build_loss("mse_pm1"), shuffle=False, seed=0)
    looped.compile(optimizer=engine.build_optimizer(settings, 24))
    looped.fit(as_one_batch(images), as_one_batch(targets), batch_size=1, epochs=2, verbose=0)

    for expected, actual in zip(plain.get_weights(), model.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(model.get_weights()[0], build_model(settings, (16, 16, 1), 10, seed=0).get_weights()[0])


def test_a_diverging_run_ends_cleanly_as_diverged(tmp_path):
    rng = np.random.default_rng(0)
    data = {"x_train": rng.uniform(-1, 1, size=(40, 16, 16, 1)).astype("float32"), "y_train": rng.integers(0, 10, size=40),
            "x_test": rng.uniform(-1, 1, size=(20, 16, 16, 1)).astype("float32"), "y_test": rng.integers(0, 10, size=20)}
    settings = config(model={"name": "lecun1989", "activation": "tanh", "output_activation": "linear", "dropout": 0.0},
                      optimizer={"name": "sgd", "learning_rate": 10.0}, epochs=5)
    keras.utils.set_random_seed(0)
    outputs = {kind: tmp_path / name for kind, name in (("model", "model.keras"), ("history", "history.csv"), ("train_info", "train.json"))}
    record = engine.train(settings, data, 0, outputs, tmp_path / "backup", "[test]")
    assert record["status"] == "diverged" and record["diverged_epoch"] == record["epochs_completed"] < 5
    assert outputs["model"].exists() and outputs["history"].exists()

    # The job killed after this seed: its rerun restores the diverged run from the checkpoint and trains no further.
    history = outputs["history"].read_text()
    resumed = engine.train(settings, data, 0, outputs, tmp_path / "backup", "[test]")
    assert {key: resumed[key] for key in ("status", "diverged_epoch", "epochs_completed")} == {
        key: record[key] for key in ("status", "diverged_epoch", "epochs_completed")}
    assert resumed["resumed_after_epoch"] == record["epochs_completed"] and outputs["history"].read_text() == history


SEEDS_TOGETHER = Path(__file__).parent / "helpers" / "seeds_together.py"


@pytest.mark.parametrize("case, resume_epoch", [
    (config(epochs=3), 1),  # seed 0 resumes after epoch 1 while seeds 1 and 2 start from scratch
    (config(model={"name": "lecun1989", "activation": "tanh", "output_activation": "linear", "dropout": 0.0},
            optimizer={"name": "sgd", "learning_rate": 10.0}, epochs=5), 0),  # every seed diverges
], ids=["resumed", "diverging"])
def test_seeds_trained_together_on_jax_end_as_each_would_alone(tmp_path, case, resume_epoch):
    pytest.importorskip("jax", reason="seeds train together on the JAX backend (pip install -e '.[test]' installs jax)")
    (tmp_path / "case.json").write_text(json.dumps(case))
    completed = subprocess.run([sys.executable, str(SEEDS_TOGETHER), str(tmp_path / "case.json"), str(resume_epoch), str(tmp_path)],
                               env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    for seed in (0, 1, 2):
        alone, together = (tmp_path / mode / f"seed{seed}" for mode in ("alone", "together"))
        records = [json.loads((folder / "train.json").read_text()) for folder in (alone, together)]
        for key in ("status", "diverged_epoch", "epochs_completed"):
            assert records[0][key] == records[1][key], (seed, key)
        assert records[1]["resumed_after_epoch"] == (resume_epoch if seed == 0 else 0)
        histories = [np.genfromtxt(folder / "history.csv", delimiter=",", names=True) for folder in (alone, together)]
        for column in ("test_error_percent", "learning_rate"):
            np.testing.assert_array_equal(histories[1][column], histories[0][column], err_msg=f"seed {seed} {column}")
        # vmap batches each op over the seeds: the same arithmetic up to float32 round-off
        np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-5)
        if records[0]["status"] == "ok":
            weights = [keras.saving.load_model(folder / "model.keras").get_weights() for folder in (alone, together)]
            for expected, actual in zip(*weights):
                np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("form, expected", [("coupled", 0.72), ("decoupled", 0.81)])
def test_coupled_weight_decay_passes_through_momentum(form, expected):
    # w = 1, zero loss gradient, lr 1, weight decay 0.1, momentum 0.9, two steps. Coupled (L2 in the
    # gradient): v = -0.1 -> w = 0.9; v = 0.9 * -0.1 - 0.1 * 0.9 = -0.18 -> w = 0.72. Decoupled
    # (Keras' own: w -= lr * wd * w after the momentum step, which has no gradient to follow): 0.9, then 0.81.
    settings = {"optimizer": {"name": "sgd", "learning_rate": 1.0, "momentum": 0.9, "weight_decay": 0.1, "weight_decay_form": form},
                "schedule": {"name": "constant"}}
    optimizer = engine.build_optimizer(settings, total_steps=2)
    weight = keras.Variable(np.ones((1,), "float32"))
    for _ in range(2):
        optimizer.apply([keras.ops.zeros((1,))], [weight])
    assert float(keras.ops.convert_to_numpy(weight)[0]) == pytest.approx(expected, abs=1e-6)


def test_a_run_records_its_cpu_and_runs_with_portable_kernels():
    """Round-off depends on the kernels oneDNN picks by instruction set: every job pins them (unless
    the user set the variables) and train.json records the CPU model, its flags and the settings."""
    code = ("import json, os; from reprolab.training import runtime; runtime.configure(1, 0); "
            "print(json.dumps([runtime.describe(), os.environ['TF_ENABLE_ONEDNN_OPTS'], os.environ['ONEDNN_MAX_CPU_ISA']]))")
    from reprolab.training import runtime

    environment = {key: value for key, value in os.environ.items() if key not in runtime.PORTABLE_KERNELS}
    described, onednn, isa = json.loads(subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                                                       text=True, check=True).stdout.splitlines()[-1])
    assert (onednn, isa) == ("0", "AVX2") and described["kernels"] == {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    flags = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split()
    assert described["cpu"]["model"] != "unknown" and ("avx2" in described["cpu"]["flags"]) == ("avx2" in flags)

