"""Trains the 1989 net briefly through the engine's own trainer on whatever KERAS_BACKEND names,
from given initial weights and data, and saves the final weights and per-epoch losses. The
cross-backend test runs it once per backend (a backend is chosen before Keras is imported).

    python train_on_backend.py CASE.json DATA.npz INITIAL.npz RESULT.npz

INITIAL.npz is written from this backend's own initialisation when it does not exist yet.
"""

import json
import sys
from pathlib import Path

from reprolab.training import runtime

runtime.configure(threads=1, seed=0)

import numpy as np  # noqa: E402

from reprolab.models.factory import build_model  # noqa: E402
from reprolab.training import engine  # noqa: E402
from reprolab.training.per_example import LOSS_KEY  # noqa: E402

config_path, data_path, initial_path, result_path = map(Path, sys.argv[1:])
config = json.loads(config_path.read_text())
data = dict(np.load(data_path))
model = build_model(config, data["x_train"].shape[1:], engine.CLASSES, seed=0)
if initial_path.exists():
    initial = np.load(initial_path)
    model.set_weights([initial[f"w{index}"] for index in range(len(initial.files))])
else:
    np.savez(initial_path, **{f"w{index}": weight for index, weight in enumerate(model.get_weights())})
trainer, fit_arguments = engine.compile_trainer(config, model, data, seed=0)
history = trainer.fit(**fit_arguments, verbose=0).history
losses = history[LOSS_KEY] if LOSS_KEY in history else history["loss"]
np.savez(result_path, losses=np.asarray(losses), **{f"w{index}": weight for index, weight in enumerate(model.get_weights())})
