"""Epoch checkpoints that survive SIGKILL: every variable of the model and its optimizer (seed
generator states included), the history so far and the epoch the run diverged at (if it did),
written atomically after each epoch, so a killed training resumes from its last finished epoch and
ends where an uninterrupted one would."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from reprolab.atomic import atomic_path

CHECKPOINT = "checkpoint.npz"


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves after every epoch; `restore` reloads the last save if it was made by the same run
    (same `identity`: resolved config, seed and data), and discards it otherwise."""

    def __init__(self, directory, identity, recorder):
        super().__init__()
        self.path = Path(directory) / CHECKPOINT
        self.identity = json.dumps(identity, sort_keys=True)
        self.recorder = recorder

    def restore(self, trainer):
        """Loads the checkpoint into `trainer` (compiled, optimizer not yet built); returns the
        number of finished epochs, 0 when there is nothing to resume."""
        if not self.path.exists():
            return 0
        with np.load(self.path) as saved:
            if str(saved["identity"]) != self.identity:
                print(f"discarding {self.path}: it was made with other params, data or seed", flush=True)
                shutil.rmtree(self.path.parent)
                return 0
            trainer.optimizer.build(trainer.trainable_variables)
            for prefix, variables in (("model", trainer.variables), ("optimizer", trainer.optimizer.variables)):
                for index, variable in enumerate(variables):
                    variable.assign(saved[f"{prefix}_{index}"])
            self.recorder.rows = json.loads(str(saved["rows"]))
            self.recorder.diverged_epoch = int(saved["diverged_epoch"]) or None
            epoch = int(saved["epoch"])
        print(f"resuming from {self.path} after epoch {epoch}", flush=True)
        return epoch

    def on_epoch_end(self, epoch, logs=None):
        arrays = {f"model_{index}": keras.ops.convert_to_numpy(variable) for index, variable in enumerate(self.model.variables)}
        arrays.update({f"optimizer_{index}": keras.ops.convert_to_numpy(variable) for index, variable in enumerate(self.model.optimizer.variables)})
        with atomic_path(self.path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, identity=self.identity, epoch=epoch + 1, rows=json.dumps(self.recorder.rows),
                     diverged_epoch=self.recorder.diverged_epoch or 0, **arrays)
