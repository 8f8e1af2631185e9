"""The MNIST-1D networks: the paper's four baselines with its PyTorch parameter counts, the
recurrent variants built through Keras' own layers where Keras has them, and their MACs."""

import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reprolab.models.factory import build_model  # noqa: E402
from reprolab.models.lstm_variants import VariantLSTM  # noqa: E402
from reprolab.models.macs import count_macs  # noqa: E402

RECURRENT = {"name": "recurrent", "cell": "lstm", "units": 32, "bidirectional": False, "readout": "last", "recurrent_dropout": 0.0,
             "state_dropout": 0.0, "zoneout_cell": 0.0, "zoneout_hidden": 0.0, "normalization": "none"}


def build(**model):
    return build_model({"model": model, "augment_shift_pixels": 0}, (40, 1), 10, seed=0)


def test_the_papers_four_baselines_have_its_pytorch_parameter_counts():
    # Greydanus 2020's models.py: Linear(40, 10); 40-100-100-10; Conv1d(1, 25, 5), Conv1d(25, 25, 3) x 2 and
    # Linear(125, 10); a bidirectional GRU of 6 (PyTorch's two bias vectors) and Linear(2 * 6 * 40, 10).
    assert build(name="logistic").count_params() == 40 * 10 + 10
    assert build(name="mlp", depth=2, width=100, initialization="he").count_params() == 4100 + 10100 + 1010
    assert build(name="conv1d", channels=25).count_params() == (25 * 5 + 25) + 2 * (25 * 25 * 3 + 25) + (125 * 10 + 10)
    gru = build(**{**RECURRENT, "cell": "gru", "units": 6, "bidirectional": True, "readout": "all"})
    assert gru.count_params() == 2 * (3 * 6 * (1 + 6) + 2 * 3 * 6) + (2 * 6 * 40 * 10 + 10)


def test_the_cnn_leaves_five_steps_of_25_channels_as_the_paper():
    model = build(name="conv1d", channels=25)
    assert model.get_layer("conv3").output.shape[1:] == (5, 25)


def test_keras_layers_serve_every_recurrent_model_but_the_lstm_variations():
    assert isinstance(build(**RECURRENT).get_layer("lstm"), keras.layers.LSTM)
    assert isinstance(build(**{**RECURRENT, "recurrent_dropout": 0.25}).get_layer("lstm"), keras.layers.LSTM)
    assert isinstance(build(**{**RECURRENT, "cell": "simple"}).get_layer("simple"), keras.layers.SimpleRNN)
    for change in ({"zoneout_cell": 0.5}, {"state_dropout": 0.25}, {"normalization": "layernorm"}, {"normalization": "weightnorm"}):
        assert isinstance(build(**{**RECURRENT, **change}).get_layer("lstm"), VariantLSTM), change


def test_an_lstm_variation_keeps_the_plain_lstms_parameter_count_but_normalisation_adds_its_gains():
    plain = build(**RECURRENT).count_params()
    assert build(**{**RECURRENT, "zoneout_cell": 0.5, "zoneout_hidden": 0.05}).count_params() == plain
    assert build(**{**RECURRENT, "state_dropout": 0.25}).count_params() == plain
    assert build(**{**RECURRENT, "normalization": "layernorm"}).count_params() > plain


def test_macs_count_every_step_of_a_recurrent_or_attention_layer():
    # an LSTM of 32 over 40 steps of 1 feature: 4 gates x 32 x (1 + 32) per step, then the classifier
    assert count_macs(build(**RECURRENT)) == 40 * 4 * 32 * 33 + 32 * 10
    attention = build(name="attention", units=16, heads=2, blocks=1)
    projections = 40 * 4 * 16 * 16 + 2 * 40 * 40 * 16
    dense = 40 * 1 * 16 + 40 * (16 * 32 + 32 * 16) + 16 * 10
    assert count_macs(attention) == projections + dense


FIT_ON_BACKEND = """
import json, sys
import numpy as np
from reprolab.models.factory import build_model
from reprolab.training import engine
losses = {}
for name, model in json.loads(sys.argv[1]).items():
    network = build_model({"model": model, "augment_shift_pixels": 0}, (40, 1), 10, seed=0)
    network.compile(optimizer="adam", loss=engine.build_loss("cross_entropy"))
    rng = np.random.default_rng(0)
    history = network.fit(rng.standard_normal((32, 40, 1)).astype("float32"), rng.integers(0, 10, 32), batch_size=16, epochs=1, verbose=0)
    losses[name] = history.history["loss"][-1]
print(json.dumps(losses))
"""


@pytest.mark.parametrize("backend", [name for name in ("jax", "torch") if importlib.util.find_spec(name)])
def test_every_sequence_network_trains_on_the_other_installed_backends(backend):
    networks = {"conv1d": {"name": "conv1d", "channels": 4}, "attention": {"name": "attention", "units": 8, "heads": 2, "blocks": 1},
                "bidirectional_gru": {**RECURRENT, "cell": "gru", "units": 3, "bidirectional": True, "readout": "all"},
                "variational_lstm": {**RECURRENT, "units": 4, "recurrent_dropout": 0.25},
                "zoneout_layernorm_lstm": {**RECURRENT, "units": 4, "zoneout_cell": 0.5, "normalization": "layernorm"}}
    completed = subprocess.run([sys.executable, "-c", FIT_ON_BACKEND, json.dumps(networks)], capture_output=True, text=True,
                               env={**os.environ, "KERAS_BACKEND": backend})
    assert completed.returncode == 0, completed.stderr[-3000:]
    losses = json.loads(completed.stdout.strip().splitlines()[-1])
    assert set(losses) == set(networks) and all(math.isfinite(loss) for loss in losses.values())


def test_the_lstm_variations_start_from_the_plain_lstms_weights():
    """Keras' LSTM (plain, variational dropout) and VariantLSTM (the other variations) built from one seed
    start from the same kernel, recurrent kernel and bias, so the comparisons differ only in the variation."""
    plain = {weight.name: np.asarray(weight) for weight in build(**RECURRENT).get_layer("lstm").weights}
    varied = {weight.name: np.asarray(weight) for weight in build(**{**RECURRENT, "zoneout_cell": 0.5}).get_layer("lstm").weights}
    for name in ("kernel", "recurrent_kernel", "bias"):
        np.testing.assert_array_equal(varied[name], plain[name], err_msg=name)
