"""Binarisation as Keras layers on `keras.ops` (Courbariaux et al. 2015, BinaryConnect; Hubara et
al. 2016, Binarized Neural Networks): the forward pass uses sign(x) in {-1, +1}, the backward pass
the straight-through estimator clipped at |x| <= 1, and the real-valued latent weights the optimizer
updates are kept in [-1, 1]."""

import keras
from keras import ops


def binarize(x):
    """sign(x) as exactly -1 or +1 (0 maps to +1) forward; gradient 1 where |x| <= 1 and 0 elsewhere
    (the hard-tanh straight-through estimator): clip(x) + stop_gradient(sign(x) - clip(x))."""
    clipped = ops.clip(x, -1.0, 1.0)
    signs = ops.where(x >= 0, ops.ones_like(x), -ops.ones_like(x))
    return clipped + ops.stop_gradient(signs - clipped)


@keras.saving.register_keras_serializable(package="reprolab")
class ClipWeights(keras.constraints.Constraint):
    """Keeps latent weights in [-limit, limit] after every update (outside it the estimator passes no gradient)."""

    def __init__(self, limit=1.0):
        self.limit = float(limit)

    def __call__(self, weights):
        return ops.clip(weights, -self.limit, self.limit)

    def get_config(self):
        return {"limit": self.limit}


@keras.saving.register_keras_serializable(package="reprolab")
class BinaryDense(keras.layers.Dense):
    """A Dense layer computing with the sign of its latent kernel (biases stay real, as in both papers)."""

    def __init__(self, units, **kwargs):
        kwargs.setdefault("kernel_constraint", ClipWeights(1.0))
        super().__init__(units, **kwargs)

    def call(self, inputs, training=None):
        outputs = ops.matmul(inputs, binarize(self.kernel))
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs)


@keras.saving.register_keras_serializable(package="reprolab")
class BinaryActivation(keras.layers.Layer):
    """The binarized networks' activation: sign forward, the clipped straight-through gradient backward."""

    def call(self, inputs):
        return binarize(inputs)
