"""Training speed of the `lecun1989` `paper` variant on the backend KERAS_BACKEND names, on one
thread: plain Keras `fit(batch_size=1)`, `fit` with `steps_per_execution=512` (TensorFlow and JAX),
reprolab's per-example loop (the pipeline's path) over a whole run, mini-batch throughput, and
on JAX what training the SEEDS together (`seeds_at_once: vmap`) costs beside one seed alone.
Prints one JSON object; `benchmarks/run.py` runs it once per installed backend.

    KERAS_BACKEND=jax python benchmarks/training.py --examples 2048 --epochs 23
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from reprolab.training import runtime

SEEDS = (0, 1, 2)  # the default studies' seed count


def seconds_per_step(fit, steps):
    """Wall seconds per step of `fit()`, after one untimed call that compiles."""
    fit()
    started = time.perf_counter()
    fit()
    return (time.perf_counter() - started) / steps


def training_data(synthetic_examples):
    """The prepared USPS set, or random digits of its shape (speed does not depend on the values)."""
    import numpy as np

    from reprolab import data
    from reprolab.planning.paths import path

    if synthetic_examples:
        rng = np.random.default_rng(0)
        return {f"x_{split}": rng.uniform(-1, 1, (synthetic_examples, 16, 16, 1)).astype("float32") for split in ("train", "test")} | {
            f"y_{split}": rng.integers(0, 10, synthetic_examples) for split in ("train", "test")}
    return data.load_prepared(path("prepared", dataset="usps"), path("prepared_meta", dataset="usps"))[0]


def seeds_together_seconds(settings, arrays, seeds, folder):
    """Training seconds of one seed alone (`engine.train`, as a job of its own) and of `seeds`
    together (`seeds_at_once.train_together`), both with their epoch callbacks and compilation."""
    from reprolab.training import engine, seeds_at_once

    runtime.reseed(seeds[0])
    alone = engine.train(settings, arrays, seeds[0], {"model": folder / "alone.keras", "history": folder / "alone.csv"}, folder / "alone",
                        "[one seed]")["wall_seconds"]
    runs = []
    for seed in seeds:
        runtime.reseed(seed)
        runs.append(engine.prepare(settings, arrays, seed, folder / f"seed{seed}", f"[seed {seed} of {len(seeds)}]"))
    return {"seeds": len(seeds), "one_seed_seconds": alone, "together_seconds": seeds_at_once.train_together(runs, settings["epochs"])}


def measure(examples, epochs, synthetic_examples, accelerator):
    runtime.configure(threads=1, seed=0, accelerator=accelerator)
    import keras

    from reprolab.models.factory import build_model
    from reprolab.training import engine, seeds_at_once

    settings = {"model": {"name": "lecun1989", "activation": "tanh", "output_activation": "tanh", "dropout": 0.0},
                "loss": "mse_pm1", "optimizer": {"name": "sgd", "learning_rate": 0.03}, "schedule": {"name": "constant"},
                "epochs": epochs, "batch_size": 1, "shuffle": False, "augment_shift_pixels": 0}
    arrays = training_data(synthetic_examples)
    images, labels = arrays["x_train"], arrays["y_train"]
    targets = engine.targets_for("mse_pm1", labels, engine.CLASSES)
    subset = slice(0, examples)

    def plain(steps_per_execution, batch_size=1):
        model = build_model(settings, images.shape[1:], engine.CLASSES, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.03), loss=engine.build_loss("mse_pm1"), steps_per_execution=steps_per_execution)
        return lambda: model.fit(images[subset], targets[subset], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)

    paths = {"plain fit(batch_size=1)": seconds_per_step(plain(1), examples)}
    if keras.backend.backend() != "torch":  # PyTorch runs eagerly: steps_per_execution must be 1
        paths["fit(batch_size=1, steps_per_execution=512)"] = seconds_per_step(plain(512), examples)

    model = build_model(settings, images.shape[1:], engine.CLASSES, seed=0)
    trainer, fit_arguments = engine.compile_trainer(settings, model, {"x_train": images, "y_train": labels}, seed=0)
    started = time.perf_counter()
    trainer.fit(**fit_arguments, verbose=0)
    whole_run = time.perf_counter() - started
    paths["per-example loop (pipeline path)"] = whole_run / (epochs * len(images))

    throughput = {}
    for batch_size in (1, 32, 256, 1024):
        steps = max(1, examples // batch_size)
        throughput[batch_size] = batch_size / seconds_per_step(plain(engine.steps_per_execution(steps), batch_size), steps)
    together = {}
    if seeds_at_once.applies(settings):
        with tempfile.TemporaryDirectory() as folder:
            together = seeds_together_seconds(settings, arrays, SEEDS, Path(folder))
    return {"runtime": runtime.describe(), "examples": len(images), "epochs": epochs, "whole_run_seconds": whole_run,
            "seconds_per_step": paths, "examples_per_second": throughput, "seeds_at_once": together}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2048, help="examples per timed call of the plain fit paths")
    parser.add_argument("--epochs", type=int, default=23, help="passes of the per-example run over the whole training set")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N", help="train on N random digits instead of the prepared USPS set")
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    arguments = parser.parse_args()
    print(json.dumps(measure(arguments.examples, arguments.epochs, arguments.synthetic, arguments.accelerator)))


if __name__ == "__main__":
    main()
