"""Trains a variant's seeds with Keras and writes each seed's model, per-epoch history and a
train.json (resolved config, status, timings, provenance) into the variant's run directory."""

import csv
import dataclasses
import math
import time

import keras
import numpy as np

from reprolab import data as datasets
from reprolab import sweeps
from reprolab.atomic import atomic_path, write_json
from reprolab.models.factory import build_model
from reprolab.models.macs import count_macs
from reprolab.models.normalization import initialize_weight_norm
from reprolab.models.pruning import parameter_count
from reprolab.models import resnet
from reprolab.planning.code import code_digest
from reprolab.planning.paths import path
from reprolab.training import derived, runtime, seeds_at_once
from reprolab.training.checkpoint import EpochCheckpoint
from reprolab.training.optimizers import AdaptiveClippingSGD, CoupledDecaySGD, NoisySGD
from reprolab.training.per_example import LOSS_KEY, PerExampleModel, as_one_batch
from reprolab.training.timing import RegularizationTiming

STEPS_PER_EXECUTION = 512  # mini-batch steps per compiled call, to cut per-step overhead
CLASSES = 10
# No per-epoch training-set error: scoring every training example after each epoch cost a third of a small
# recurrent net's training and no report reads it; the final model's train error is in metrics.json (evaluate.py).
HISTORY_COLUMNS = ["epoch", "loss", "validation_error_percent", "test_error_percent", "learning_rate", "seconds"]


def steps_per_execution(steps_per_epoch):
    """Mini-batch steps per compiled call: up to STEPS_PER_EXECUTION, and 1 on PyTorch (which runs eagerly)."""
    return 1 if keras.backend.backend() == "torch" else min(STEPS_PER_EXECUTION, steps_per_epoch)


def initialize(model, config, x_train, seed):
    """Model-specific steps at init; returns what they measured for train.json. Weight norm's
    data-dependent init reads the first 64 training digits; residual nets get Brock et al.'s
    signal-propagation probe on 64 Gaussian images."""
    probe_size = 64
    if config["model"].get("normalization") == "weightnorm":
        initialize_weight_norm(model, x_train[:probe_size])
    if config["model"]["name"] != "resnet":
        return {}
    gaussian = np.random.default_rng(seed).standard_normal((probe_size, *x_train.shape[1:])).astype("float32")
    return {"signal_propagation": resnet.signal_propagation(model, gaussian)}


def targets_for(loss_name, labels, classes):
    """mse_pm1 trains towards +1 for the true class and -1 elsewhere (1989); cross_entropy on labels."""
    if loss_name == "mse_pm1":
        targets = np.full((len(labels), classes), -1.0, dtype=np.float32)
        targets[np.arange(len(labels)), labels] = 1.0
        return targets
    return labels


def build_loss(loss_name):
    if loss_name == "mse_pm1":
        return keras.losses.MeanSquaredError()
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def learning_rate_schedule(config, total_steps):
    """The configured learning rate over `total_steps`: a constant, or linear or exponential decay to the final rate."""
    learning_rate, schedule_config = config["optimizer"]["learning_rate"], config["schedule"]
    if schedule_config["name"] == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps=total_steps,
                                                           decay_rate=schedule_config["final_learning_rate"] / learning_rate)
    if schedule_config["name"] == "linear":
        return keras.optimizers.schedules.PolynomialDecay(
            learning_rate, decay_steps=total_steps, end_learning_rate=schedule_config["final_learning_rate"], power=1.0
        )
    return learning_rate


def build_optimizer(config, total_steps, seed=0):
    """The configured optimizer; `clip_norm` clips by global norm, `gradient_noise` (SGD) adds
    annealed noise seeded from the run's seed, `weight_decay_form: coupled` (SGD) puts the decay
    in the gradient as L2."""
    optimizer_config = config["optimizer"]
    learning_rate = learning_rate_schedule(config, total_steps)
    weight_decay = optimizer_config.get("weight_decay", 0.0)
    clipping = {"global_clipnorm": optimizer_config["clip_norm"]} if "clip_norm" in optimizer_config else {}
    if optimizer_config["name"] == "adamw":
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay, **clipping)
    momentum = optimizer_config.get("momentum", 0.0)
    if "adaptive_clipping" in optimizer_config:
        return AdaptiveClippingSGD(clipping=optimizer_config["adaptive_clipping"], learning_rate=learning_rate, momentum=momentum, **clipping)
    if "gradient_noise" in optimizer_config:
        noise = optimizer_config["gradient_noise"]
        return NoisySGD(noise_eta=noise["eta"], noise_gamma=noise.get("gamma", 0.55), noise_seed=seed, learning_rate=learning_rate,
                        momentum=momentum, weight_decay=weight_decay or None, **clipping)
    sgd = CoupledDecaySGD if optimizer_config.get("weight_decay_form") == "coupled" else keras.optimizers.SGD
    return sgd(learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay or None, **clipping)


def predict(model, images, batch_size=1024):
    """The model's outputs in inference mode, one compiled call per chunk: `predict_on_batch`
    skips `predict`'s data pipeline, which costs more than the arithmetic on digit-sized sets."""
    return np.concatenate([model.predict_on_batch(images[start:start + batch_size]) for start in range(0, len(images), batch_size)])


def error_percent(model, images, labels):
    return float(np.mean(np.argmax(predict(model, images), axis=1) != labels) * 100.0)


class EpochRecorder(keras.callbacks.Callback):
    """Records the epoch's mean training loss, validation (when held out) and test error after every
    epoch, prints a progress line and stops a diverged run (non-finite loss)."""

    def __init__(self, data, label):
        super().__init__()
        self.data = data
        self.label = label
        self.rows = []
        self.diverged_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs[LOSS_KEY] if LOSS_KEY in logs else logs["loss"])
        row = {
            "epoch": epoch + 1,
            "loss": loss,
            "validation_error_percent": error_percent(self.model, self.data["x_validation"], self.data["y_validation"])
            if "x_validation" in self.data else "",
            "test_error_percent": error_percent(self.model, self.data["x_test"], self.data["y_test"]),
            "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "seconds": time.perf_counter() - self.started,
        }
        self.rows.append(row)
        validation = "" if row["validation_error_percent"] == "" else f"validation error {row['validation_error_percent']:.2f}%, "
        print(f"{self.label} epoch {row['epoch']}: loss {loss:.4f}, {validation}"
              f"test error {row['test_error_percent']:.2f}%, {row['seconds']:.1f}s", flush=True)
        if not math.isfinite(loss):
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True


def compile_trainer(config, model, data, seed):
    """The compiled trainer for `model` and its `fit` arguments: the in-graph per-example loop
    when batch_size is 1 (a whole epoch per fit step, see per_example.py), plain mini-batch `fit`
    otherwise, with the regularisation-timing callback when the config has `timing`."""
    x_train = data["x_train"]
    targets = targets_for(config["loss"], data["y_train"], CLASSES)
    steps_per_epoch = math.ceil(len(x_train) / config["batch_size"])
    optimizer, loss = build_optimizer(config, steps_per_epoch * config["epochs"], seed), build_loss(config["loss"])
    if config["batch_size"] == 1:
        trainer = PerExampleModel(model.inputs, model.outputs, example_loss=loss, shuffle=config["shuffle"], seed=seed)
        trainer.compile(optimizer=optimizer)
        return trainer, {"x": as_one_batch(x_train), "y": as_one_batch(targets), "batch_size": 1, "epochs": config["epochs"], "shuffle": False}
    model.compile(optimizer=optimizer, loss=loss, steps_per_execution=steps_per_execution(steps_per_epoch))
    callbacks = [RegularizationTiming(config, steps_per_epoch, lambda steps: learning_rate_schedule(config, steps))] if "timing" in config else []
    return model, {"x": x_train, "y": targets, "batch_size": config["batch_size"], "epochs": config["epochs"], "shuffle": config["shuffle"],
                   "callbacks": callbacks}


@dataclasses.dataclass
class SeedRun:
    """One seed's training, set up: its model, compiled trainer, epoch callbacks and where it resumes."""

    seed: int
    model: keras.Model
    trainer: keras.Model
    fit_arguments: dict
    recorder: EpochRecorder
    checkpoint: EpochCheckpoint
    initial_epoch: int
    measured_at_init: dict


def prepare(config, data, seed, backup_directory, label, identity=None, study=None, initial_weights=None):
    """Builds (or, for a run that `starts_from` another, derives), initialises and compiles one
    seed's model, saves its initial weights when given a path, and restores its checkpoint if a
    killed run with the same `identity` (config, seed, data) left one in `backup_directory`."""
    if "starts_from" in config:
        model, measured_at_init = derived.derive(config, study, seed, data["x_train"].shape[1:], CLASSES), {}
    else:
        model = build_model(config, data["x_train"].shape[1:], CLASSES, seed)
        measured_at_init = initialize(model, config, data["x_train"], seed)
    if initial_weights:
        derived.save_initial_weights(model, initial_weights)
    trainer, fit_arguments = compile_trainer(config, model, data, seed)
    recorder = EpochRecorder(data, label)
    checkpoint = EpochCheckpoint(backup_directory, identity or {"config": config, "seed": seed}, recorder)
    initial_epoch = checkpoint.restore(trainer)
    return SeedRun(seed, model, trainer, fit_arguments, recorder, checkpoint, initial_epoch, measured_at_init)


def finish(run, outputs, wall_seconds):
    """Writes the trained model and its history atomically; returns the train.json record. The
    checkpoint stays until the whole job has finished (stage.py), so a job killed after this seed
    resumes it at its last epoch instead of training it again."""
    with atomic_path(outputs["model"]) as temporary:
        run.model.save(temporary)
    with atomic_path(outputs["history"]) as temporary, open(temporary, "w", newline="") as handle:
        # rows resumed from a checkpoint of older code may carry a column no longer recorded
        writer = csv.DictWriter(handle, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(run.recorder.rows)
    diverged_epoch = run.recorder.diverged_epoch
    return {
        "status": "diverged" if diverged_epoch else "ok",
        "diverged_epoch": diverged_epoch,
        "epochs_completed": sum(row["epoch"] > 0 for row in run.recorder.rows),  # a 0-epoch run's row is its epoch 0
        "resumed_after_epoch": run.initial_epoch,  # wall_seconds then covers only the resumed part
        "parameters": parameter_count(run.model),
        "macs": count_macs(run.model),
        "wall_seconds": wall_seconds,
        **run.measured_at_init,
    }


def train(config, data, seed, outputs, backup_directory, label, identity=None, study=None):
    """Fits one model with Keras' `fit` (nothing more for a run its checkpoint says diverged); returns
    the train.json record. A run of 0 epochs (a post-training transform) records one row, epoch 0,
    scoring the model as derived."""
    run = prepare(config, data, seed, backup_directory, label, identity, study, outputs.get("initial_weights"))
    started = time.perf_counter()
    timing_callbacks = run.fit_arguments.pop("callbacks", [])
    if config["epochs"] == 0:
        arguments = run.fit_arguments
        run.recorder.set_model(run.trainer)
        run.recorder.on_epoch_begin(-1)
        run.recorder.on_epoch_end(-1, {"loss": run.trainer.evaluate(arguments["x"], arguments["y"], batch_size=arguments["batch_size"], verbose=0)})
    elif not run.recorder.diverged_epoch:
        run.trainer.fit(**run.fit_arguments, initial_epoch=run.initial_epoch, verbose=0,
                        callbacks=[*timing_callbacks, run.recorder, run.checkpoint])
    return finish(run, outputs, time.perf_counter() - started)


def run(job):
    """Trains every seed of the job's variant: one after another, each from the state a fresh
    process would start in, or under `seeds_at_once: vmap` on JAX for per-example variants all in
    one vmapped program (seeds_at_once.py). Writes every output atomically; returns the records."""
    study, variant = job["wildcards"]["study"], job["wildcards"]["variant"]
    settings = job["settings"]
    config, seeds = sweeps.with_picks(settings["config"], study), settings["seeds"]
    data, meta = datasets.load_prepared(path("prepared", dataset=config["dataset"]), path("prepared_meta", dataset=config["dataset"]))
    data = datasets.training_split(data, config["hold_out_validation"])
    seed_jobs = []
    for seed in seeds:
        wildcards = {"study": study, "variant": variant, "seed": seed}
        source = {"source_model_sha256": derived.source_fingerprint(config, study, seed)} if "starts_from" in config else {}
        seed_jobs.append({"seed": seed, "outputs": {kind: path(kind, **wildcards) for kind in ("model", "history", "train_info", "initial_weights")},
                          "backup_directory": path("checkpoint", **wildcards), "label": f"[{study}/{variant}/seed{seed}]",
                          "identity": {"config": config, "seed": seed, "dataset_sha256": meta["sha256"], **source}})
    together = len(seeds) > 1 and settings["seeds_at_once"] == "vmap" and seeds_at_once.applies(config)
    if together:
        runs = []
        for seed_job in seed_jobs:
            runtime.reseed(seed_job["seed"])
            runs.append(prepare(config, data, seed_job["seed"], seed_job["backup_directory"], seed_job["label"], seed_job["identity"], study,
                                seed_job["outputs"]["initial_weights"]))
        wall_seconds = seeds_at_once.train_together(runs, config["epochs"])
        records = [finish(seed_run, seed_job["outputs"], wall_seconds) for seed_run, seed_job in zip(runs, seed_jobs)]
    else:
        records = []
        for seed_job in seed_jobs:
            runtime.reseed(seed_job["seed"])
            records.append(train(config, data, seed_job["seed"], seed_job["outputs"], seed_job["backup_directory"], seed_job["label"],
                                 seed_job["identity"], study))
    code = code_digest(job["code"])
    for seed_job, record in zip(seed_jobs, records):
        grouped = {"seeds_at_once": {"seeds": list(seeds), "method": "vmap" if together else "in_turn"}} if len(seeds) > 1 else {}
        write_json(seed_job["outputs"]["train_info"], {
            "study": study, "variant": variant, "seed": seed_job["seed"], "config": config,
            "dataset_sha256": meta["sha256"], **record, **grouped, "runtime": runtime.describe(), "code_sha256": code,
        })
    return records
