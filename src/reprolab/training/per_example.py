"""Per-example SGD (batch size 1, the 1989 protocol) at in-graph speed.

`model.fit(batch_size=1)` pays the framework's per-step overhead 7291 times an epoch. Here one
`fit` step is one whole epoch: the training set arrives as a single "batch" and `train_step`
loops over its examples inside one compiled program (an XLA-compiled `tf.while_loop` on
TensorFlow, a jitted `lax.scan` on JAX; PyTorch has no such loop, so there the epoch is an eager
Python loop). Keras' `fit` still drives epochs, callbacks, checkpoints and history.
"""

import keras

# The epoch's mean loss, under a name of its own: Keras would replace a "loss" entry with its
# (unused here) loss tracker's value.
LOSS_KEY = "per_example_loss"


def as_one_batch(array):
    """The whole training set as one fit "batch" (a leading axis of 1)."""
    return array[None, ...]


class PerExampleModel(keras.Model):
    """A functional model whose train step is one epoch of per-example updates of `example_loss`
    in data order (or a fresh permutation each epoch when `shuffle`). Compile it with an optimizer
    only: a compiled loss would make Keras trace the model on the whole epoch as one batch."""

    def __init__(self, *args, example_loss, shuffle=False, seed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.example_loss = example_loss
        self.shuffle = shuffle
        self.order_seed = keras.random.SeedGenerator(seed)

    def _order(self, count):
        order = keras.ops.arange(count)
        return keras.random.shuffle(order, seed=self.order_seed) if self.shuffle else order

    def train_step(self, *arguments):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            return self._tensorflow_epoch(*arguments)
        if backend == "jax":
            return self._jax_epoch(*arguments)
        return self._torch_epoch(*arguments)

    def _tensorflow_epoch(self, data):
        import tensorflow as tf

        weights = self.trainable_weights

        # XLA compiles the whole loop into one kernel launch an epoch: without it every tiny op
        # of every step pays TensorFlow's dispatch cost (measured: 76 vs 360 us a step).
        @tf.function(jit_compile=True)
        def epoch(images, targets, order):
            def step(index, loss_sum):
                example = order[index]
                with tf.GradientTape() as tape:
                    loss = self.example_loss(targets[example][None], self(images[example][None], training=True))
                self.optimizer.apply(tape.gradient(loss, weights), weights)
                return index + 1, loss_sum + loss

            count = tf.shape(order)[0]
            return tf.while_loop(lambda index, _: index < count, step, (tf.constant(0), tf.constant(0.0)))[1] / tf.cast(count, tf.float32)

        images = data[0][0]
        return {LOSS_KEY: epoch(images, data[1][0], self._order(tf.shape(images)[0]))}

    def _jax_epoch(self, state, data):
        import jax

        trainable, non_trainable, optimizer_variables, metrics_variables = state
        images, targets = data[0][0], data[1][0]
        count = images.shape[0]
        # The shuffle permutation draws from this model's seed generator, a non-trainable variable.
        with keras.StatelessScope(state_mapping=list(zip(self.non_trainable_variables, non_trainable))) as scope:
            order = self._order(count)
        non_trainable = [scope.get_current_value(variable) for variable in self.non_trainable_variables]

        def loss_of(trainable, non_trainable, image, target):
            prediction, non_trainable = self.stateless_call(trainable, non_trainable, image, training=True)
            return self.example_loss(target, prediction), non_trainable

        gradient_of = jax.value_and_grad(loss_of, has_aux=True)

        def step(carry, example):
            trainable, non_trainable, optimizer_variables = carry
            (loss, non_trainable), gradients = gradient_of(trainable, non_trainable, images[example][None], targets[example][None])
            trainable, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, gradients, trainable)
            return (trainable, non_trainable, optimizer_variables), loss

        (trainable, non_trainable, optimizer_variables), losses = jax.lax.scan(step, (trainable, non_trainable, optimizer_variables), order)
        return {LOSS_KEY: losses.mean()}, (trainable, non_trainable, optimizer_variables, metrics_variables)

    def _torch_epoch(self, data):
        import torch

        images, targets = data[0][0], data[1][0]
        weights = self.trainable_weights
        loss_sum = 0.0
        for example in keras.ops.convert_to_numpy(self._order(images.shape[0])):
            self.zero_grad()
            loss = self.example_loss(targets[example][None], self(images[example][None], training=True))
            loss.backward()
            with torch.no_grad():
                self.optimizer.apply([weight.value.grad for weight in weights], weights)
            loss_sum += loss.detach()
        return {LOSS_KEY: loss_sum / images.shape[0]}
