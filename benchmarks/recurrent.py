"""Training throughput (sequences per second) of the `sequences` study's recurrent networks and its
attention encoder, as params.yaml resolves them, on the backend KERAS_BACKEND names: `fit` on
4000 random sequences of length 40 in batches of 100 (an MNIST-1D epoch), timed over `--epochs`
epochs after one that compiles. On CPU one thread, as a train job; `--accelerator gpu` uses the GPU
(Keras' LSTM and GRU layers take the cuDNN path there on TensorFlow). Prints a Markdown table.

    python benchmarks/recurrent.py --epochs 3
    KERAS_BACKEND=jax python benchmarks/recurrent.py --accelerator gpu
"""

import argparse
import time

from reprolab.planning import variants
from reprolab.planning.checks import read_params
from reprolab.training import runtime

VARIANTS = ("gru", "rnn", "lstm", "gru_last_state", "lstm_variational_dropout", "lstm_state_dropout", "lstm_zoneout", "lstm_layernorm",
            "lstm_weightnorm", "attention")
SEQUENCES, LENGTH, BATCH = 4000, 40, 100


def throughput(config, epochs):
    """Sequences per second of `fit` over `epochs` epochs, after one epoch that compiles; and the parameter count."""
    import keras
    import numpy as np

    from reprolab.models.factory import build_model
    from reprolab.training import engine

    rng = np.random.default_rng(0)
    sequences, labels = rng.standard_normal((SEQUENCES, LENGTH, 1)).astype("float32"), rng.integers(0, 10, SEQUENCES)
    model = build_model(config, (LENGTH, 1), engine.CLASSES, seed=0)
    steps = SEQUENCES // BATCH
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=engine.build_loss("cross_entropy"), steps_per_execution=engine.steps_per_execution(steps))
    model.fit(sequences, labels, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    started = time.perf_counter()
    model.fit(sequences, labels, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False)
    return SEQUENCES * epochs / (time.perf_counter() - started), model.count_params()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--accelerator", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--params", default="params.yaml")
    arguments = parser.parse_args()
    runtime.configure(threads=1, seed=0, accelerator=arguments.accelerator)
    params = read_params(arguments.params)
    described = runtime.describe()
    print(f"backend {described['backend']} on {described['device']}, {'1 thread' if arguments.accelerator == 'cpu' else 'GPU'}, "
          f"batches of {BATCH}, {arguments.epochs} timed epochs of {SEQUENCES} sequences\n")
    print("| variant | network | parameters | training sequences/s |\n| --- | --- | --- | --- |")
    for variant in VARIANTS:
        config = variants.resolve_variant(params, "sequences", variant)
        rate, parameters = throughput(config, arguments.epochs)
        model = config["model"]
        network = model["name"] if model["name"] != "recurrent" else (
            f"{'bidirectional ' if model['bidirectional'] else ''}{model['cell']} {model['units']}, readout {model['readout']}")
        print(f"| `{variant}` | {network} | {parameters:,} | {rate:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
