"""Scores one trained model on the examples it trained on, the validation examples it did not (when
held out) and the test set: error, loss, per-class error and the confusion matrices (metrics.json),
and every test prediction (predictions.npz)."""

import json
from pathlib import Path

import keras
import numpy as np

from reprolab import data as datasets
from reprolab.atomic import atomic_path, write_json
from reprolab.planning.paths import path
from reprolab.training import inference
from reprolab.training.engine import CLASSES, build_loss, predict, targets_for


def confusion_matrix(labels, predicted):
    matrix = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def score(model, loss_name, images, labels):
    """Error (percent), mean loss and the predicted classes of `model` on one split."""
    outputs = predict(model, images)
    loss = build_loss(loss_name)(targets_for(loss_name, labels, CLASSES), outputs)
    predicted = np.argmax(outputs, axis=1)
    return {
        "error_percent": float(np.mean(predicted != labels) * 100.0),
        "errors": int(np.sum(predicted != labels)),
        "loss": float(keras.ops.convert_to_numpy(loss)),
    }, predicted, outputs


def run(study, variant, seed):
    """The `evaluate` stage: loads the model in Keras' safe mode and writes metrics and predictions;
    with `measure_inference`, also its bytes and speed (training/inference.py)."""
    wildcards = {"study": study, "variant": variant, "seed": seed}
    train_info = json.loads(Path(path("train_info", **wildcards)).read_text())
    dataset = train_info["config"]["dataset"]
    data, meta = datasets.load_prepared(path("prepared", dataset=dataset), path("prepared_meta", dataset=dataset))
    data = datasets.training_split(data, train_info["config"]["hold_out_validation"])
    model = keras.saving.load_model(path("model", **wildcards), safe_mode=True)
    loss_name = train_info["config"]["loss"]
    train_scores, _, _ = score(model, loss_name, data["x_train"], data["y_train"])
    test_scores, predicted, outputs = score(model, loss_name, data["x_test"], data["y_test"])
    confusion = confusion_matrix(data["y_test"], predicted)
    validation = {"validation_error_percent": None, "validation_errors": None, "validation_examples": 0, "validation_confusion": None}
    if "x_validation" in data:
        validation_scores, validation_predicted, _ = score(model, loss_name, data["x_validation"], data["y_validation"])
        validation = {"validation_error_percent": validation_scores["error_percent"], "validation_errors": validation_scores["errors"],
                      "validation_examples": int(len(data["y_validation"])),
                      "validation_confusion": confusion_matrix(data["y_validation"], validation_predicted).tolist()}
    per_class = 100.0 * (1.0 - np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1))
    metrics = {
        "status": train_info["status"],
        "diverged_epoch": train_info["diverged_epoch"],
        "test_error_percent": test_scores["error_percent"],
        "test_errors": test_scores["errors"],
        "test_loss": test_scores["loss"],
        "train_error_percent": train_scores["error_percent"],
        "train_errors": train_scores["errors"],
        "train_loss": train_scores["loss"],
        "test_examples": int(len(data["y_test"])),
        "train_examples": int(len(data["y_train"])),
        **validation,
        "per_class_test_error_percent": [round(float(value), 4) for value in per_class],
        "confusion": confusion.tolist(),
        "dataset_sha256": meta["sha256"],
        **(inference.measure(model, path("model", **wildcards), data["x_test"]) if train_info["config"].get("measure_inference") else {}),
    }
    write_json(path("metrics", **wildcards), metrics)
    with atomic_path(path("predictions", **wildcards)) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, labels=data["y_test"], predicted=predicted, outputs=outputs)
    return metrics
