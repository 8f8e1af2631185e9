"""When regularisation happens (Golatkar et al. 2019, "Time Matters in Regularizing Deep Networks";
Achille et al. 2019, "Critical Learning Periods"): a callback that switches weight decay, the random
shift augmentation and an input blur deficit on or off at epoch boundaries, per the config's
`timing` windows, and can restart the learning-rate schedule when the deficit ends. The switches
change the compiled train step, so the callback rebuilds it when they flip."""

import math

import keras

from reprolab.models.layers import Blur, RandomShift


def in_window(window, epoch):
    """Whether 0-based `epoch` lies in [from, until) (a missing bound is open)."""
    return window.get("from", 0) <= epoch < window.get("until", math.inf)


def layers_of(model, kind):
    """Every layer of type `kind` in `model`, looking inside nested models."""
    found = []
    for layer in model.layers:
        if isinstance(layer, kind):
            found.append(layer)
        if isinstance(layer, keras.Model):
            found += layers_of(layer, kind)
    return found


class RegularizationTiming(keras.callbacks.Callback):
    """Applies `config["timing"]` at the start of every epoch. `restart_schedule(remaining_steps)`
    builds the learning-rate schedule run again from its start when the blur ends and
    `reset_learning_rate` is set."""

    def __init__(self, config, steps_per_epoch, restart_schedule):
        super().__init__()
        self.timing = config.get("timing", {})
        self.weight_decay = config["optimizer"].get("weight_decay", 0.0)
        self.shift_pixels = config["augment_shift_pixels"]
        self.epochs = config["epochs"]
        self.steps_per_epoch = steps_per_epoch
        self.restart_schedule = restart_schedule
        self.state = None

    def state_at(self, epoch):
        windows = {name: in_window(self.timing[name], epoch) for name in ("weight_decay", "augmentation", "blur") if name in self.timing}
        blur_end = self.timing.get("blur", {}).get("until")
        windows["restarted"] = bool(self.timing.get("reset_learning_rate")) and epoch >= blur_end
        return windows

    def on_epoch_begin(self, epoch, logs=None):
        state = self.state_at(epoch)
        if state == self.state:
            return
        optimizer = self.model.optimizer
        if "weight_decay" in state:
            optimizer.weight_decay = self.weight_decay if state["weight_decay"] else 0.0
        for layer in layers_of(self.model, RandomShift):
            layer.pixels = self.shift_pixels if state.get("augmentation", True) else 0
        for layer in layers_of(self.model, Blur):
            layer.active = state["blur"]
        if state["restarted"] and not (self.state or {}).get("restarted"):
            blur_end = self.timing["blur"]["until"]
            optimizer.learning_rate = self.restart_schedule((self.epochs - blur_end) * self.steps_per_epoch)
            if epoch == blur_end:  # a resumed run past this point kept its restarted step count
                optimizer.iterations.assign(0)
            print(f"epoch {epoch + 1}: blur removed, learning-rate schedule restarted", flush=True)
        self.model.make_train_function(force=True)
        self.state = state
