"""Several seeds of one per-example variant in one compiled program (`seeds_at_once: vmap`).

On JAX the per-example epoch (per_example.py) is a pure function of a model's state, so
`jax.vmap` runs it on the seeds' stacked states at once: one call an epoch trains every seed.
Each seed keeps its own callbacks (history, checkpoint, divergence), run at epoch ends as `fit`
runs them. Batched operations (a grouped convolution instead of one a seed) round differently, so
results equal one job a seed up to float32 round-off; `in_turn` keeps them byte-identical.
Mini-batch `fit` draws its batch order in Keras' data pipeline, outside the model's state, so
those variants train their seeds one after another instead (see train.run).
"""

import time

import keras
import numpy as np

from reprolab.training.per_example import LOSS_KEY


def applies(config):
    """Whether this variant's seeds can train vmapped here: JAX backend, per-example SGD."""
    return keras.backend.backend() == "jax" and config["batch_size"] == 1


def _variable_groups(trainer):
    """The trainer's variables in the layout of Keras' stateless JAX train step's state."""
    return (trainer.trainable_variables, trainer.non_trainable_variables, trainer.optimizer.variables, trainer.metrics_variables)


def _state(trainer):
    return tuple([variable.value for variable in variables] for variables in _variable_groups(trainer))


def _assign(trainer, state, index):
    """Writes seed `index`'s slice of the stacked state back into its trainer's variables."""
    for variables, values in zip(_variable_groups(trainer), state):
        for variable, value in zip(variables, values):
            variable.assign(value[index])


def _merge(active, stepped, state):
    """The stepped state for the seeds that took part in the epoch, the previous one for the rest."""
    import jax
    import jax.numpy as jnp

    mask = jnp.asarray(active)
    return jax.tree.map(lambda new, old: jnp.where(mask.reshape((-1,) + (1,) * (new.ndim - 1)), new, old), stepped, state)


def train_together(runs, epochs):
    """Trains prepared seed runs (train.prepare) of one config to `epochs`; returns the wall
    seconds. A seed takes part in an epoch only from its own resume point and until it diverges:
    its state is otherwise carried over unchanged, so every seed ends where it would alone."""
    import jax
    import jax.numpy as jnp

    for run in runs:
        if not run.trainer.optimizer.built:
            run.trainer.optimizer.build(run.trainer.trainable_variables)
        for callback in (run.recorder, run.checkpoint):
            callback.set_model(run.trainer)
    data = (jnp.asarray(runs[0].fit_arguments["x"]), jnp.asarray(runs[0].fit_arguments["y"]))
    state = jax.tree.map(lambda *values: jnp.stack(values), *[_state(run.trainer) for run in runs])
    epoch_of_every_seed = jax.jit(jax.vmap(runs[0].trainer.train_step, in_axes=(0, None)))
    started = time.perf_counter()
    for epoch in range(min(run.initial_epoch for run in runs), epochs):
        active = [run.initial_epoch <= epoch and not run.recorder.diverged_epoch for run in runs]
        if not any(active):
            break
        for run, taking_part in zip(runs, active):
            if taking_part:
                run.recorder.on_epoch_begin(epoch)
        logs, stepped = epoch_of_every_seed(state, data)
        state = _merge(active, stepped, state)
        losses = np.asarray(logs[LOSS_KEY])
        for index, (run, taking_part) in enumerate(zip(runs, active)):
            if taking_part:
                _assign(run.trainer, state, index)
                run.recorder.on_epoch_end(epoch, {LOSS_KEY: float(losses[index])})
                run.checkpoint.on_epoch_end(epoch)
    return time.perf_counter() - started
