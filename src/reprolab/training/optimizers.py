"""Gradient transforms Keras' optimizers lack: coupled L2 weight decay (through momentum, as in
PyTorch's SGD), adaptive gradient clipping (Brock et al. 2021) and annealed Gaussian gradient noise
(Neelakantan et al. 2015)."""

import itertools
import math

import keras
from keras import ops

MINIMUM_WEIGHT_NORM = 1e-3  # ||W||* = max(||W||, 1e-3), so zero-initialised weights can still move


def unitwise_norm(tensor):
    """The norm of each unit: over all but the last (output) axis for kernels, of the whole
    tensor for vectors and scalars (biases, gains), as in the NFNets reference code."""
    if len(tensor.shape) <= 1:
        return ops.sqrt(ops.sum(ops.square(tensor)))
    return ops.sqrt(ops.sum(ops.square(tensor), axis=tuple(range(len(tensor.shape) - 1)), keepdims=True))


def adaptive_clip(gradient, weight, clipping):
    """Scales each unit's gradient G_i down to clipping * ||W_i||* / ||G_i|| when ||G_i|| / ||W_i||* > clipping."""
    weight_norm = ops.maximum(unitwise_norm(weight), MINIMUM_WEIGHT_NORM)
    gradient_norm = unitwise_norm(gradient)
    maximum = weight_norm * clipping
    clipped = gradient * (maximum / ops.maximum(gradient_norm, 1e-6))
    return ops.where(gradient_norm > maximum, clipped, gradient)


@keras.saving.register_keras_serializable(package="reprolab")
class CoupledDecaySGD(keras.optimizers.SGD):
    """SGD (with momentum) with L2 weight decay in the gradient: g + weight_decay * w enters the
    momentum, where Keras' own `weight_decay` shrinks w after the step (decoupled). Setting
    `weight_decay` to 0 between epochs (regularisation timing) turns the term off."""

    def _apply_weight_decay(self, variables):
        """Keras' decoupled decay is replaced by the gradient term in `apply`."""

    def apply(self, grads, trainable_variables=None):
        variables = self._trainable_variables if trainable_variables is None else trainable_variables
        if self.weight_decay:
            grads = [gradient if gradient is None or not self._use_weight_decay(variable)
                     else gradient + ops.cast(self.weight_decay, gradient.dtype) * variable for gradient, variable in zip(grads, variables)]
        return super().apply(grads, trainable_variables)


@keras.saving.register_keras_serializable(package="reprolab")
class AdaptiveClippingSGD(keras.optimizers.SGD):
    """SGD (with momentum) whose gradients are adaptively clipped unit-wise first, except those of
    the variables under `unclipped_prefix` (the classifier layer, as the paper advises)."""

    def __init__(self, clipping=0.01, unclipped_prefix="classifier", **kwargs):
        super().__init__(**kwargs)
        self.clipping, self.unclipped_prefix = float(clipping), unclipped_prefix

    def apply(self, grads, trainable_variables=None):
        variables = self._trainable_variables if trainable_variables is None else trainable_variables
        grads = [gradient if gradient is None or variable.path.startswith(self.unclipped_prefix)
                 else adaptive_clip(gradient, variable, self.clipping) for gradient, variable in zip(grads, variables)]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        return {**super().get_config(), "clipping": self.clipping, "unclipped_prefix": self.unclipped_prefix}


@keras.saving.register_keras_serializable(package="reprolab")
class NoisySGD(keras.optimizers.SGD):
    """SGD (with momentum) adding Gaussian noise of variance eta / (1 + t)^gamma to every gradient
    at step t (Neelakantan et al. 2015), after Keras' clipping (`global_clipnorm`), so the noise
    keeps its scheduled size. The noise's random state is an optimizer variable: resumable, and
    carried through JAX's stateless steps."""

    def __init__(self, noise_eta=0.01, noise_gamma=0.55, noise_seed=0, **kwargs):
        super().__init__(**kwargs)
        self.noise_eta, self.noise_gamma, self.noise_seed = float(noise_eta), float(noise_gamma), int(noise_seed)

    def build(self, variables):
        super().build(variables)
        self.noise_seeds = keras.random.SeedGenerator(self.noise_seed, name="gradient_noise_seed")
        self._track_variable(self.noise_seeds.state)

    def noise_std(self):
        return ops.sqrt(self.noise_eta / ops.power(1.0 + ops.cast(self.iterations, "float32"), self.noise_gamma))

    def _clip_gradients(self, grads):
        grads = super()._clip_gradients(grads)
        sizes = [math.prod(gradient.shape) for gradient in grads if gradient is not None]
        # one draw for all variables, split after: one random op a step instead of one per variable
        noise = keras.random.normal((sum(sizes),), seed=self.noise_seeds) * self.noise_std()
        draws = (noise[start:start + size] for start, size in zip(itertools.accumulate(sizes, initial=0), sizes))
        return [None if gradient is None else gradient + ops.cast(ops.reshape(next(draws), gradient.shape), gradient.dtype) for gradient in grads]

    def get_config(self):
        return {**super().get_config(), "noise_eta": self.noise_eta, "noise_gamma": self.noise_gamma, "noise_seed": self.noise_seed}
