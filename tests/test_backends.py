"""The same training code on every Keras backend installed here (TensorFlow and JAX in CI, PyTorch
where installed): from the same initial weights and data order, a short run ends with the same
weights and losses within float32 round-off."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_train import config

HELPER = Path(__file__).parent / "helpers" / "train_on_backend.py"
BACKENDS = [name for name in ("tensorflow", "jax", "torch") if importlib.util.find_spec(name)]
# Per-example SGD and a mini-batch run, each over 2 passes of 96 examples (192 and 12 updates).
CASES = {
    "per_example_sgd": config(epochs=2),
    "mini_batch_adamw": config(epochs=2, batch_size=16, loss="cross_entropy",
                               model={"name": "lecun1989", "activation": "relu", "output_activation": "linear", "dropout": 0.0},
                               optimizer={"name": "adamw", "learning_rate": 1e-3, "weight_decay": 0.01}),
}


def train_on(backend, case_path, data_path, initial_path, result_path):
    environment = {**os.environ, "KERAS_BACKEND": backend}
    completed = subprocess.run([sys.executable, str(HELPER), str(case_path), str(data_path), str(initial_path), str(result_path)],
                               env=environment, capture_output=True, text=True)
    assert completed.returncode == 0, f"{backend}: {completed.stderr[-3000:]}"
    return np.load(result_path)


@pytest.mark.parametrize("case", CASES)
def test_every_installed_backend_trains_to_the_same_weights(tmp_path, case):
    assert {"tensorflow", "jax"} <= set(BACKENDS), "CI installs TensorFlow and JAX"
    rng = np.random.default_rng(1)
    data_path = tmp_path / "data.npz"
    np.savez(data_path, x_train=rng.uniform(-1, 1, size=(96, 16, 16, 1)).astype("float32"), y_train=rng.integers(0, 10, size=96))
    case_path, initial_path = tmp_path / "case.json", tmp_path / "initial.npz"
    case_path.write_text(json.dumps(CASES[case]))
    results = {backend: train_on(backend, case_path, data_path, initial_path, tmp_path / f"{backend}.npz") for backend in BACKENDS}

    reference = results[BACKENDS[0]]
    initial = np.load(initial_path)
    assert not np.allclose(reference["w0"], initial["w0"]), "training changed the weights"
    for backend in BACKENDS[1:]:
        np.testing.assert_allclose(results[backend]["losses"], reference["losses"], rtol=1e-4, err_msg=backend)
        for name in initial.files:
            np.testing.assert_allclose(results[backend][name], reference[name], rtol=1e-3, atol=1e-5, err_msg=f"{backend} {name}")


# Keras on PyTorch computes part of the float64 synflow forward pass in float32 (1e-8 relative off the
# hand value); the other proxies match there too.
TORCH_SYNFLOW = pytest.mark.xfail(strict=True, reason="synflow loses float64 precision on PyTorch")


@pytest.mark.parametrize("backend", [pytest.param(name, marks=TORCH_SYNFLOW) if name == "torch" else name
                                     for name in BACKENDS if name != "tensorflow"])
def test_the_proxies_match_the_hand_computations_on_every_other_backend(backend):
    """test_proxies.py runs on the default backend (TensorFlow); here it runs again on each other one,
    whose autodiff (nested, for GraSP) and float64 handling differ."""
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__).parent / "test_proxies.py")],
                               env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True)
    assert completed.returncode == 0, f"{backend}: {completed.stdout[-3000:]}"
