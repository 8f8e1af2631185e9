"""The training side: the Keras engine, its per-example loop, seeds at once, optimizers, callbacks,
checkpoints and the runtime a job sets up; evaluation and the zero-cost proxies."""
