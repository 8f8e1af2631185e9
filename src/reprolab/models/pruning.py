"""Magnitude pruning (Han et al. 2015) and the masks the lottery-ticket rounds carry (Frankle &
Carbin 2019): a Dense layer with a fixed 0/1 mask on its kernel, saved with the model so a fine-tuned
or resumed run keeps it, and the per-layer choice of which weights to keep."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="reprolab")
class PrunableDense(keras.layers.Dense):
    """A Dense layer computing with kernel * mask. The mask is a non-trainable weight (ones until
    pruned), so masked weights get no gradient and stay zero through fine-tuning and checkpoints."""

    def build(self, input_shape):
        super().build(input_shape)
        self.mask = self.add_weight(shape=self.kernel.shape, initializer="ones", trainable=False, name="mask")

    @property
    def variable_serialization_spec(self):
        """Dense's saved variables per quantisation mode, each with the mask after them."""
        return {mode: [*names, "mask"] for mode, names in super().variable_serialization_spec.items()}

    def call(self, inputs, training=None):
        if self.quantization_mode:  # Keras' quantised kernel already holds the zeros
            return super().call(inputs, training=training)
        outputs = ops.matmul(inputs, self.kernel * self.mask)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs)


def magnitude_mask(kernel, mask, fraction):
    """The mask keeping the largest-magnitude weights of `kernel` among those `mask` keeps, after
    removing `fraction` of them (ties broken by position, so the mask is deterministic)."""
    kernel, mask = np.asarray(kernel), np.asarray(mask)
    surviving = np.flatnonzero(mask.ravel())
    keep = len(surviving) - int(round(fraction * len(surviving)))
    order = np.argsort(-np.abs(kernel.ravel()[surviving]), kind="stable")
    pruned = np.zeros(mask.size, dtype=mask.dtype)
    pruned[surviving[order[:keep]]] = 1
    return pruned.reshape(mask.shape)


def prunable_layers(model):
    return [layer for layer in model.layers if isinstance(layer, PrunableDense)]


def sparsity(model):
    """The fraction of masked kernel weights over all prunable layers (0 for a model without them)."""
    masks = [np.asarray(layer.mask) for layer in prunable_layers(model)]
    total = sum(mask.size for mask in masks)
    return float(1.0 - sum(mask.sum() for mask in masks) / total) if total else 0.0



def parameter_count(model):
    """The model's weights as its float form counts them: pruning masks left out (bookkeeping), and a
    layer Keras quantised counted by its kernel's shape before packing plus its bias, not its scales."""
    count = 0
    for layer in model.layers:
        if getattr(layer, "quantization_mode", None):
            count += layer.input.shape[-1] * layer.units + (layer.units if layer.use_bias else 0)
        else:
            count += layer.count_params() - (int(np.prod(layer.mask.shape)) if isinstance(layer, PrunableDense) else 0)
    return count
