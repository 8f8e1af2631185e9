"""Zero-cost proxies: scores of an untrained network, from one batch, meant to rank architectures
by their trained accuracy (Abdelfattah et al. 2021; Mellor et al. 2021; Tanaka et al. 2020).

Every per-weight score is summed over the kernels of the convolution and dense layers (biases are
left out, as in the reference code). The network must be a chain of layers (models/cnn.py):
scores that need a layer's pre-activation gradient add a zero "probe" to that layer's output and
differentiate with respect to the probe. Gradients come from the backend's own autodiff
(`value_and_gradients`), so the scores are the same on TensorFlow, JAX and PyTorch.
"""

import contextlib
import time

import keras
import numpy as np
from keras import ops

from reprolab import data as datasets
from reprolab.training import runtime
from reprolab.atomic import write_json
from reprolab.models.macs import count_macs
from reprolab.planning.paths import path
from reprolab.models.factory import build_model
from reprolab.training.engine import CLASSES

JACOBIAN_EPSILON = 1e-5  # jacob_cov's regulariser of the correlation eigenvalues (Mellor et al.)


def value_and_gradients(function, tensors):
    """function(tensors) (a scalar) and its gradients with respect to each tensor; nestable, so a
    gradient of a gradient (GraSP's Hessian-gradient product) works on every backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.value_and_grad(function)(list(tensors))
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(tensors)
            value = function(tensors)
        return value, tape.gradient(value, tensors)
    import torch

    tensors = [tensor if tensor.requires_grad else tensor.detach().requires_grad_(True) for tensor in tensors]
    value = function(tensors)
    return value, list(torch.autograd.grad(value, tensors, create_graph=True))


def _layers(model):
    """The model's layers after its input, checked to form a chain (each reads the one before)."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    previous = model.inputs[0]
    for layer in layers:
        if layer.input is not previous:
            raise ValueError(f"zero-cost proxies need a chain of layers; layer {layer.name} of {model.name} does not read the layer before it")
        previous = layer.output
    return layers


def _is_weighted(layer):
    return isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))


def forward(model, weights, images, probes=None):
    """The logits with `weights` in place of the model's trainable variables, and the output of
    every convolution and dense layer (its pre-activation), with `probes[i]` added to the i-th."""
    outputs = []
    with keras.StatelessScope(state_mapping=list(zip(model.trainable_variables, weights))):
        x = images
        for layer in _layers(model):
            x = layer(x)
            if _is_weighted(layer):
                if probes is not None:
                    x = x + probes[len(outputs)]
                outputs.append(x)
    return x, outputs


def _weights(model):
    """The current values of the model's trainable variables, as tensors `forward` can map in."""
    return [ops.convert_to_tensor(variable.value) for variable in model.trainable_variables]


def _cross_entropy(logits, labels):
    return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))


def _kernels(model, values):
    """The entries of `values` (one per trainable variable) that belong to kernels, not biases."""
    return [value for variable, value in zip(model.trainable_variables, values) if variable.path.endswith("kernel")]


def _total(tensors):
    return float(sum(float(ops.convert_to_numpy(ops.sum(tensor))) for tensor in tensors))


def gradient_scores(model, images, labels):
    """grad_norm (sum of each kernel's gradient L2 norm), snip (sum |g * w|) and grasp
    (-sum w * Hg, Hg the Hessian-gradient product with g held fixed) of the batch loss."""
    weights = _weights(model)

    def loss(values):
        return _cross_entropy(forward(model, values, images)[0], labels)

    _, gradients = value_and_gradients(loss, weights)
    fixed = [ops.stop_gradient(gradient) for gradient in gradients]

    def gradient_dot_fixed(values):
        _, inner = value_and_gradients(loss, values)
        return sum(ops.sum(gradient * constant) for gradient, constant in zip(inner, fixed))

    _, hessian_gradient = value_and_gradients(gradient_dot_fixed, weights)
    kernels, kernel_gradients = _kernels(model, weights), _kernels(model, gradients)
    return {
        "grad_norm": _total([ops.sqrt(ops.sum(ops.square(gradient))) for gradient in kernel_gradients]),
        "snip": _total([ops.abs(gradient * kernel) for gradient, kernel in zip(kernel_gradients, kernels)]),
        "grasp": -_total([kernel * product for kernel, product in zip(kernels, _kernels(model, hessian_gradient))]),
    }


def fisher(model, images, labels):
    """Sum over the channels of every conv/dense output z of 0.5 * mean over the batch of
    (sum over positions of z * dL/dz)^2 (Theis et al. 2018's pruning signal, as Abdelfattah et al. use it)."""
    weights = _weights(model)
    _, activations = forward(model, weights, images)
    probes = [ops.zeros_like(activation) for activation in activations]
    _, probe_gradients = value_and_gradients(lambda values: _cross_entropy(forward(model, weights, images, values)[0], labels), probes)
    total = 0.0
    for activation, gradient in zip(activations, probe_gradients):
        product = ops.convert_to_numpy(activation * gradient).astype(np.float64)
        per_channel = product.reshape(len(product), -1, product.shape[-1]).sum(axis=1)
        total += float((0.5 * np.mean(per_channel**2, axis=0)).sum())
    return total


def synflow(model, float64_model):
    """Tanaka et al.'s synaptic flow: with every parameter replaced by its absolute value and one
    all-ones input, R = sum of the outputs; the score is sum |w * dR/dw| over kernels. Computed on
    `float64_model` (the same architecture built in float64) so deep products cannot overflow."""
    with _float64_enabled():
        weights = [ops.abs(ops.cast(variable.value, "float64")) for variable in model.trainable_variables]
        ones = ops.ones((1, *model.input_shape[1:]), dtype="float64")
        _, gradients = value_and_gradients(lambda values: ops.sum(forward(float64_model, values, ones)[0]), weights)
        return _total([ops.abs(kernel * gradient) for kernel, gradient in zip(_kernels(model, weights), _kernels(model, gradients))])


def _float64_enabled():
    """JAX computes in float32 unless 64-bit types are switched on; the other backends always have them."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def jacob_cov(model, images):
    """Mellor et al.'s Jacobian covariance: J_i = d(sum of logits)/d(input i); with the eigenvalues
    v of the examples' correlation matrix of J, -sum(log(v + k) + 1/(v + k)), k = 1e-5."""
    weights = _weights(model)
    _, (jacobian,) = value_and_gradients(lambda values: ops.sum(forward(model, weights, values[0])[0]), [ops.convert_to_tensor(images)])
    jacobian = ops.convert_to_numpy(jacobian).reshape(len(images), -1).astype(np.float64)
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobian))
    return float(-np.sum(np.log(eigenvalues + JACOBIAN_EPSILON) + 1.0 / (eigenvalues + JACOBIAN_EPSILON)))


def naswot(model, images):
    """Mellor et al.'s NASWOT: each example's binary code of which hidden units are active (output
    of each hidden conv/dense layer > 0); log|K| with K = C C^T + (1 - C)(1 - C)^T, the Hamming kernel."""
    weights = _weights(model)
    _, activations = forward(model, weights, images)
    codes = np.concatenate([ops.convert_to_numpy(activation).reshape(len(images), -1) > 0 for activation in activations[:-1]], axis=1)
    codes = codes.astype(np.float64)
    kernel = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
    return float(np.linalg.slogdet(kernel)[1])


def score(model, float64_model, images, labels):
    """Every proxy of planning.checks.PROXIES for one initialised network on one batch. flops counts a multiply and
    an add per MAC of one example's forward pass."""
    return {
        "params": int(model.count_params()),
        "flops": 2 * count_macs(model),
        **gradient_scores(model, images, labels),
        "fisher": fisher(model, images, labels),
        "synflow": synflow(model, float64_model),
        "jacob_cov": jacob_cov(model, images),
        "naswot": naswot(model, images),
    }


def fixed_batch(images, labels, size):
    """The first `size` examples of a seed-0 permutation of the training set: the one batch every
    network and init seed is scored on."""
    order = np.random.default_rng(0).permutation(len(images))[:size]
    return images[order], labels[order]


def run(job):
    """The `proxies` stage: every proxy of every architecture of the study, at each proxy init seed."""
    study, settings = job["wildcards"]["study"], job["settings"]
    dataset = settings["dataset"]
    data, meta = datasets.load_prepared(path("prepared", dataset=dataset), path("prepared_meta", dataset=dataset))
    images, labels = fixed_batch(data["x_train"], data["y_train"], settings["proxies"]["batch_size"])
    variants, started = {}, time.perf_counter()
    for number, (variant, config) in enumerate(settings["configs"].items(), start=1):
        scores = {}
        for seed in settings["proxies"]["seeds"]:
            keras.utils.set_random_seed(seed)
            model = build_model(config, images.shape[1:], CLASSES, seed)
            float64_model = build_model({**config, "precision": "float64"}, images.shape[1:], CLASSES, seed)
            scores[str(seed)] = score(model, float64_model, images, labels)
            keras.config.set_dtype_policy("float32")
        variants[variant] = {"model": config["model"], "scores": scores}
        print(f"[{study}] {number}/{len(settings['configs'])} {variant}: "
              + ", ".join(f"{name} {value:.4g}" for name, value in scores[str(settings['proxies']['seeds'][0])].items()), flush=True)
    record = {"study": study, "batch_size": settings["proxies"]["batch_size"], "seeds": [str(seed) for seed in settings["proxies"]["seeds"]],
              "variants": variants, "dataset_sha256": meta["sha256"], "seconds": time.perf_counter() - started, "runtime": runtime.describe()}
    write_json(path("proxies", study=study), record)
    return record
