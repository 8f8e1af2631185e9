"""The network a config names, built by its model module (one module per family, beside this one)."""

import keras

from reprolab.models import attention, cnn, conv1d, dense, lecun1989, logistic, mlp, recurrent, resnet
from reprolab.models.layers import Blur

MODELS = {"lecun1989": lecun1989.build, "resnet": resnet.build, "cnn": cnn.build, "mlp": mlp.build, "logistic": logistic.build,
          "conv1d": conv1d.build, "recurrent": recurrent.build, "attention": attention.build,
          "dense": dense.build}


def build_model(config, input_shape, classes, seed):
    """The configured network, in the configured precision (a Keras dtype policy: mixed policies
    compute in 16 bits and keep float32 weights)."""
    keras.config.set_dtype_policy(config.get("precision", "float32"))
    settings = {key: value for key, value in config["model"].items() if key != "name"}
    network = MODELS[config["model"]["name"]](input_shape=input_shape, classes=classes, augment_shift_pixels=config["augment_shift_pixels"],
                                              seed=seed, **settings)
    if "blur" not in config.get("timing", {}):
        return network
    inputs = keras.Input(shape=input_shape, name="image")  # the deficit's blur in front of the unchanged network
    return keras.Model(inputs, network(Blur(name="blur")(inputs)), name=f"{network.name}_with_blur")

