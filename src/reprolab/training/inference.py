"""What a trained model costs to keep and to run: its file as saved for inference, its packed size (the storage a
compression method argues for, computed from its weights and labelled by format), and the latency
per example and throughput of `predict_on_batch` on this process's CPU threads (warm, median of repeats)."""

import os
import statistics
import tempfile
import time

import keras
import numpy as np
from keras import ops

from reprolab.models.binary import BinaryDense
from reprolab.models.pruning import PrunableDense, sparsity

LATENCY_REPEATS = 200
THROUGHPUT_REPEATS = 5
THROUGHPUT_BATCH = 1024


def packed_bytes(model):
    """(bytes, format): binary kernels at 1 bit per weight, Keras' int8 and int4 kernels at their
    stored width (int4 packed two to a byte), pruned kernels as float32 non-zeros plus a 1-bit-per-position mask; every
    other weight (biases, scales, BatchNorm statistics) as float32."""
    total, formats = 0.0, set()
    binary = {id(layer.kernel) for layer in model.layers if isinstance(layer, BinaryDense)}
    pruned = {id(layer.kernel): layer.mask for layer in model.layers if isinstance(layer, PrunableDense) and not layer.quantization_mode}
    masks = {id(mask) for mask in pruned.values()}
    quantized = {id(variable): layer.quantization_mode for layer in model.layers if getattr(layer, "quantization_mode", None)
                 for variable in layer.weights}
    for variable in model.weights:
        size = int(np.prod(variable.shape))
        if id(variable) in binary:
            total, formats = total + size / 8, formats | {"1-bit weights"}
        elif id(variable) in pruned:
            kept = int(ops.convert_to_numpy(pruned[id(variable)]).sum())
            total, formats = total + 4 * kept + size / 8, formats | {"sparse float32 + 1-bit mask"}
        elif id(variable) in masks:
            continue
        elif "int" in str(variable.dtype):  # int4 kernels come packed two to an int8
            total, formats = total + size, formats | {f"{quantized.get(id(variable), 'int8')} kernels"}
        else:
            total += 4 * size
    return int(np.ceil(total)), ", ".join(sorted(formats)) or "float32"


def saved_bytes(model_path):
    """Size of the model as saved for inference: architecture and weights, without the optimizer's state."""
    with tempfile.TemporaryDirectory() as folder:
        inference_only = os.path.join(folder, "model.keras")
        keras.saving.load_model(model_path, compile=False, safe_mode=True).save(inference_only)
        return os.path.getsize(inference_only)


def _median_seconds(call, repeats):
    call()  # warm: traces and compiles
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def measure(model, model_path, images):
    """Bytes and speed of `model` (loaded from `model_path`) on `images` (the test set)."""
    packed, packed_format = packed_bytes(model)
    one = images[:1]
    batch = images[:THROUGHPUT_BATCH]
    return {
        "sparsity": sparsity(model),
        "saved_bytes": saved_bytes(model_path),
        "packed_bytes": packed,
        "packed_format": packed_format,
        "latency_ms": 1000.0 * _median_seconds(lambda: model.predict_on_batch(one), LATENCY_REPEATS),
        "throughput_per_second": len(batch) / _median_seconds(lambda: model.predict_on_batch(batch), THROUGHPUT_REPEATS),
    }
