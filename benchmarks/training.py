"""Training speed of the `lecun1989` `paper` variant (per-example SGD) on one thread: plain Keras
`fit(batch_size=1)`, `fit` with `steps_per_execution=512`, and reprolab's in-graph per-example
loop (the pipeline's path), plus mini-batch throughput. Prints a Markdown table to append to
benchmarks/RESULTS.md. Needs the prepared USPS arrays (`snakemake --cores all` or `reprolab prepare
--dataset usps`). Run from the repository root:

    KERAS_BACKEND=tensorflow python benchmarks/training.py >> benchmarks/RESULTS.md
"""

import argparse
import datetime
import platform
import time

from reprolab import runtime


def seconds_per_step(fit, steps):
    """Wall seconds per step of `fit()`, after one untimed call that compiles."""
    fit()
    started = time.perf_counter()
    fit()
    return (time.perf_counter() - started) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2048, help="examples per timed call of the plain fit paths")
    parser.add_argument("--epochs", type=int, default=23, help="passes for the full per-example run")
    arguments = parser.parse_args()
    runtime.configure(threads=1, seed=0)
    import keras
    import numpy as np

    from reprolab import config, data, train
    from reprolab.per_example import PerExampleModel, as_one_batch
    from reprolab.plan import build_plan, path

    plan = build_plan("params.yaml")
    settings = config.resolve_variant(plan.params, "lecun1989", "paper")
    arrays, _ = data.load_prepared(path("prepared", dataset="usps"), path("prepared_meta", dataset="usps"))
    images, targets = arrays["x_train"], train.targets_for("mse_pm1", arrays["y_train"], 10)
    subset = slice(0, arguments.examples)

    def plain(steps_per_execution, batch_size=1):
        model = train.build_model(settings, images.shape[1:], 10, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.03), loss=train.build_loss("mse_pm1"), steps_per_execution=steps_per_execution)
        return lambda: model.fit(images[subset], targets[subset], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)

    rows = []
    plain_step = seconds_per_step(plain(1), arguments.examples)
    rows.append(("`fit(batch_size=1)`", plain_step))
    rows.append(("`fit(batch_size=1, steps_per_execution=512)`", seconds_per_step(plain(512), arguments.examples)))

    model = train.build_model(settings, images.shape[1:], 10, seed=0)
    looped = PerExampleModel(model.inputs, model.outputs, example_loss=train.build_loss("mse_pm1"), shuffle=False, seed=0)
    looped.compile(optimizer=keras.optimizers.SGD(0.03))
    started = time.perf_counter()
    looped.fit(as_one_batch(images), as_one_batch(targets), batch_size=1, epochs=arguments.epochs, verbose=0)
    full_run = time.perf_counter() - started
    loop_step = full_run / (arguments.epochs * len(images))
    rows.append((f"per-example loop (pipeline path), {arguments.epochs} passes incl. compile", loop_step))

    throughput = []
    for batch_size in (1, 32, 256, 1024):
        steps = max(1, arguments.examples // batch_size)
        step = seconds_per_step(plain(min(512, steps), batch_size), steps)
        throughput.append((batch_size, batch_size / step))

    versions = runtime.describe()
    print(f"\n### Per-example training, {datetime.date.today()}, {platform.machine()}, backend {versions['backend']} "
          f"on {versions['device']}, 1 thread, {', '.join(f'{k} {v}' for k, v in versions['versions'].items())}\n")
    print("| path | µs / example-step | one 23-pass run (7291 digits) | speed-up over plain fit |")
    print("| --- | --- | --- | --- |")
    for name, step in rows:
        print(f"| {name} | {step * 1e6:.0f} | {step * 7291 * 23:.1f} s | {plain_step / step:.1f}× |")
    print(f"\nMeasured full per-example run: {full_run:.1f} s for {arguments.epochs} passes (training only, no per-epoch evaluation).\n")
    print("| batch size | examples / s (plain `fit`) |")
    print("| --- | --- |")
    for batch_size, rate in throughput:
        print(f"| {batch_size} | {rate:,.0f} |")
    print(f"\n(final training loss check: {float(np.mean(looped.history.history['per_example_loss'][-1:])):.4f})")


if __name__ == "__main__":
    main()
