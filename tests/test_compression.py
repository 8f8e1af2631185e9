"""The compression study's parts: binarization with its straight-through gradient, latent weights
kept clipped, Keras' int8 quantisation against the float model, pruning masks that survive
fine-tuning, saving and resuming, lottery rewinding, and packed bytes."""


import keras
import numpy as np
import pytest
import tensorflow as tf

from reprolab.data import load_digits
from reprolab.models import dense
from reprolab.models.binary import BinaryDense, binarize
from reprolab.models.pruning import PrunableDense, magnitude_mask, parameter_count, sparsity
from reprolab.training import derived, engine, inference


def mlp(seed=0, **settings):
    options = {"widths": [32, 16], "batchnorm": False, "binarize": "none", "prunable": False, **settings}
    return dense.build((16, 16, 1), 10, augment_shift_pixels=0, seed=seed, **options)


def digits(count=200, seed=0):
    generator = np.random.default_rng(seed)
    return generator.uniform(-1, 1, (count, 16, 16, 1)).astype("float32"), generator.integers(0, 10, count)


def test_binarize_is_exactly_plus_or_minus_one_forward_and_passes_gradient_only_inside_the_unit_interval():
    x = tf.constant([-2.0, -1.0, -0.4, 0.0, 0.3, 1.0, 1.7])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = binarize(x)
        weighted = tf.reduce_sum(y * tf.constant([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]))
    assert y.numpy().tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    # d/dx of sum(w * binarize(x)) is w where |x| <= 1 (the straight-through estimator) and 0 beyond
    assert tape.gradient(weighted, x).numpy().tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


def test_a_bnn_computes_with_signs_and_its_latent_weights_stay_within_plus_minus_one_while_training():
    model = mlp(widths=[32], batchnorm=True, binarize="all")
    images, labels = digits()
    model.compile(optimizer=keras.optimizers.Adam(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, batch_size=50, epochs=3, verbose=0)  # a rate this large pushes unclipped weights far past 1
    binary = [layer for layer in model.layers if isinstance(layer, BinaryDense)]
    assert len(binary) == 2
    for layer in binary:
        latent = np.asarray(layer.kernel)
        assert np.abs(latent).max() <= 1.0 and np.isclose(np.abs(latent).max(), 1.0), "the clip bounds the latent weights and is reached"
    hidden = keras.Model(model.inputs, model.get_layer("sign1").output)(images[:20])
    assert set(np.unique(np.asarray(hidden))) == {-1.0, 1.0}


def test_int8_quantisation_agrees_with_the_float_model_on_nearly_every_test_digit_and_saves_a_smaller_file(tmp_path):
    (train_images, train_labels, test_images, _), _ = load_digits(None, {})  # scikit-learn's bundled digits at 16x16
    model = mlp(widths=[64, 32])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train_images, train_labels, batch_size=50, epochs=10, verbose=0)
    float_predictions = np.argmax(model.predict_on_batch(test_images), axis=1)
    model.save(tmp_path / "float.keras")
    model.quantize("int8")
    model.save(tmp_path / "int8.keras")
    reloaded = keras.saving.load_model(tmp_path / "int8.keras", safe_mode=True)
    agreement = np.mean(np.argmax(reloaded.predict_on_batch(test_images), axis=1) == float_predictions)
    # int8 with a scale per output unit (and per example for the inputs) rounds each product by at most 1/254 of
    # its range: only digits whose two largest logits are that close can change class, about 1 in 100 for a
    # trained net; 98% leaves room for a few such digits among the test set's ~500
    assert agreement >= 0.98, agreement
    assert inference.saved_bytes(tmp_path / "int8.keras") < 0.5 * inference.saved_bytes(tmp_path / "float.keras")
    assert inference.packed_bytes(reloaded)[1] == "int8 kernels"


def test_magnitude_mask_removes_the_smallest_surviving_weights_and_never_revives_a_pruned_one():
    kernel = np.array([[0.5, -0.1], [0.05, -2.0], [0.3, 0.2]])
    previous = np.array([[1, 1], [0, 1], [1, 1]], dtype="float32")
    mask = magnitude_mask(kernel, previous, 0.4)  # 5 survivors, 2 removed: -0.1 and 0.2
    assert mask.tolist() == [[1, 0], [0, 1], [1, 0]]


def prune_run(weights="trained"):
    """A derived run's model: `source_run` (study `s`, variant `source`, seed 0) pruned 75% / 50%."""
    config = {"model": {"name": "dense", "widths": [32, 16], "batchnorm": False, "binarize": "none", "prunable": True},
              "augment_shift_pixels": 0, "starts_from": {"variant": "source"},
              "prune": {"fraction": 0.75, "classifier_fraction": 0.5, "weights": weights}}
    return derived.derive(config, "s", 0, (16, 16, 1), 10)


@pytest.fixture
def source_run(tmp_path, monkeypatch):
    """A trained source run (model and initial weights) under tmp_path/data/runs/s/source/seed0."""
    monkeypatch.chdir(tmp_path)
    model = mlp()
    run_folder = tmp_path / "data/runs/s/source/seed0"
    run_folder.mkdir(parents=True)
    derived.save_initial_weights(model, run_folder / "initial_weights.npz")
    images, labels = digits()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, batch_size=50, epochs=2, verbose=0)
    model.save(run_folder / "model.keras")
    return model, run_folder


def test_a_pruned_layer_keeps_its_zeros_through_fine_tuning_saving_and_a_resumed_run(tmp_path, source_run):
    model = prune_run()
    masks = {layer.name: np.asarray(layer.mask).copy() for layer in model.layers if isinstance(layer, PrunableDense)}
    assert masks["hidden1"].mean() == 0.25 and masks["classifier"].mean() == 0.5
    images, labels = digits(seed=1)
    config = {"optimizer": {"name": "adamw", "learning_rate": 1e-2, "weight_decay": 1e-2}, "schedule": {"name": "constant"},
              "loss": "cross_entropy", "batch_size": 50, "epochs": 3, "shuffle": True, "augment_shift_pixels": 0}
    data = {"x_train": images, "y_train": labels, "x_test": images[:50], "y_test": labels[:50]}
    trainer, arguments = engine.compile_trainer(config, model, data, 0)
    arguments.pop("callbacks")
    recorder = engine.EpochRecorder(data, "[prune test]")
    checkpoint = engine.EpochCheckpoint(tmp_path / "checkpoint", {"test": 1}, recorder)
    trainer.fit(**{**arguments, "epochs": 2}, verbose=0, callbacks=[recorder, checkpoint])
    for layer in model.layers:
        if isinstance(layer, PrunableDense):
            pruned = masks[layer.name] == 0
            assert np.all(np.asarray(layer.kernel)[pruned] == 0), "a pruned weight moved while fine-tuning"
            assert np.any(np.asarray(layer.kernel)[~pruned] != 0)
    model.save(tmp_path / "pruned.keras")
    reloaded = keras.saving.load_model(tmp_path / "pruned.keras", safe_mode=True)
    assert sparsity(reloaded) == sparsity(model) > 0.7
    # a resumed run: a fresh (unpruned) model restored from the checkpoint carries the masks on
    fresh = mlp(prunable=True)
    fresh_trainer, _ = engine.compile_trainer(config, fresh, data, 0)  # compiled as the engine resumes a run
    resumed_recorder = engine.EpochRecorder(data, "[resumed]")
    assert engine.EpochCheckpoint(tmp_path / "checkpoint", {"test": 1}, resumed_recorder).restore(fresh_trainer) == 2
    fresh_trainer.fit(**{**arguments, "x": images, "epochs": 3}, initial_epoch=2, verbose=0)
    for layer in fresh.layers:
        if isinstance(layer, PrunableDense):
            assert np.array_equal(np.asarray(layer.mask), masks[layer.name])
            assert np.all(np.asarray(layer.kernel)[masks[layer.name] == 0] == 0)


def test_lottery_rewinding_restores_the_saved_initial_weights_exactly_under_the_mask(tmp_path, source_run):
    trained, run_folder = source_run
    ticket = prune_run("rewind")
    control = prune_run("random")
    with np.load(run_folder / "initial_weights.npz") as initial:
        for layer in ticket.layers:
            if isinstance(layer, PrunableDense):
                mask = np.asarray(layer.mask)
                expected_mask = magnitude_mask(np.asarray(trained.get_layer(layer.name).kernel), np.ones_like(mask),
                                               0.5 if layer.name == "classifier" else 0.75)
                assert np.array_equal(mask, expected_mask), "the mask comes from the trained weights"
                assert np.array_equal(np.asarray(layer.kernel), initial[f"{layer.name}/kernel"] * mask)
                assert np.array_equal(np.asarray(layer.bias), initial[f"{layer.name}/bias"])
                other = control.get_layer(layer.name)
                assert np.array_equal(np.asarray(other.mask), mask), "the control trains the same mask"
                assert not np.array_equal(np.asarray(other.kernel), np.asarray(layer.kernel)), "from a fresh draw"


def test_packed_bytes_count_one_bit_per_binary_weight_and_the_non_zeros_of_a_pruned_kernel():
    binary = mlp(widths=[32], binarize="weights")
    kernels = 256 * 32 + 32 * 10
    assert inference.packed_bytes(binary) == (int(np.ceil(kernels / 8 + 4 * (32 + 10))), "1-bit weights")
    pruned = mlp(widths=[32], prunable=True)
    layer = pruned.get_layer("hidden1")
    mask = np.zeros(layer.mask.shape, "float32")
    mask[:10] = 1  # 10 rows of 32 kept
    layer.mask.assign(mask)
    expected = 4 * (320 + 32 * 10) + kernels / 8 + 4 * (32 + 10)
    assert inference.packed_bytes(pruned) == (int(np.ceil(expected)), "sparse float32 + 1-bit mask")
    assert parameter_count(pruned) == parameter_count(mlp(widths=[32])) == kernels + 42
