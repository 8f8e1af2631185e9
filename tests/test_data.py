"""Dataset fetching, checksums and preparation."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from reprolab import data

USPS_CLASS_COUNTS = {  # zip.info.txt, as published with the data
    "train": [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644],
    "test": [359, 264, 198, 166, 200, 160, 170, 147, 166, 177],
}


def test_a_corrupted_mirror_file_is_refused_naming_file_and_both_hashes(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "usps"
    mirror.mkdir(parents=True)
    corrupted = mirror / "zip.train.gz"
    corrupted.write_bytes(b"not the USPS digits")
    monkeypatch.setenv(data.MIRROR_VARIABLE, str(tmp_path / "mirror"))
    with pytest.raises(data.DataError) as error:
        data.fetch("usps", "zip.train.gz", data.USPS_FILES["zip.train.gz"], tmp_path / "raw")
    message = str(error.value)
    assert str(corrupted) in message
    assert data.USPS_FILES["zip.train.gz"] in message and data.sha256_of(corrupted) in message


def test_a_mirror_without_the_file_says_what_it_must_hold(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MIRROR_VARIABLE, str(tmp_path))
    with pytest.raises(data.DataError, match="must hold usps/zip.test.gz"):
        data.fetch("usps", "zip.test.gz", data.USPS_FILES["zip.test.gz"], tmp_path / "raw")


@pytest.fixture
def usps_source(usps_mirror, tmp_path, monkeypatch):
    """USPS from the mirror when there is one, else downloaded; skipped only when neither works."""
    if usps_mirror:
        monkeypatch.setenv(data.MIRROR_VARIABLE, str(usps_mirror))
        return tmp_path / "raw"
    monkeypatch.delenv(data.MIRROR_VARIABLE, raising=False)
    try:
        for name, sha in data.USPS_FILES.items():
            data.fetch("usps", name, sha, tmp_path / "raw")
    except data.DataError as error:
        pytest.skip(f"USPS data unreachable: no mirror ({data.MIRROR_VARIABLE} or ../shared/datasets) and the download failed: {error}")
    return tmp_path / "raw"


def test_usps_is_prepared_with_the_published_sizes_and_class_counts(usps_source, tmp_path):
    prepared, meta_path = tmp_path / "usps.npz", tmp_path / "usps.json"
    data.prepare("usps", {"source": "usps"}, prepared, meta_path, usps_source)
    arrays, meta = data.load_prepared(prepared, meta_path)
    assert arrays["x_train"].shape == (7291, 16, 16, 1) and arrays["x_test"].shape == (2007, 16, 16, 1)
    assert meta["class_counts"] == {**USPS_CLASS_COUNTS, "validation": [0] * 10}
    assert -1.0 <= arrays["x_train"].min() and arrays["x_train"].max() <= 1.0
    assert meta["source_sha256"] == data.USPS_FILES


def test_a_corrupted_prepared_file_is_detected_before_use(tmp_path):
    prepared, meta_path = tmp_path / "digits.npz", tmp_path / "digits.json"
    data.prepare("digits", {"source": "digits", "train_size": 50, "test_size": 20}, prepared, meta_path, tmp_path)
    with open(prepared, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(data.DataError, match=f"checksum mismatch for {prepared}"):
        data.load_prepared(prepared, meta_path)


def test_digits_are_upsampled_to_16x16_in_minus_one_to_one(tmp_path):
    prepared, meta_path = tmp_path / "digits.npz", tmp_path / "digits.json"
    data.prepare("digits", {"source": "digits"}, prepared, meta_path, tmp_path)
    arrays, meta = data.load_prepared(prepared, meta_path)
    assert arrays["x_train"].shape == (1297, 16, 16, 1) and arrays["x_test"].shape == (500, 16, 16, 1)
    assert arrays["x_train"].min() == -1.0 and arrays["x_train"].max() == 1.0
    assert sum(meta["class_counts"]["train"]) == 1297
    assert json.loads(meta_path.read_text())["sha256"] == data.sha256_of(prepared)


def test_the_validation_split_is_a_fixed_disjoint_part_of_the_training_set(tmp_path):
    settings = {"source": "digits", "validation_size": 200}
    first, second = [], []
    for folder, record in ((tmp_path / "a", first), (tmp_path / "b", second)):
        folder.mkdir()
        data.prepare("digits", settings, folder / "digits.npz", folder / "digits.json", folder)
        arrays, meta = data.load_prepared(folder / "digits.npz", folder / "digits.json")
        record.append(arrays["validation_index"])
        split = data.training_split(arrays, hold_out_validation=True)
        assert len(split["y_train"]) == 1297 - 200 and len(split["y_validation"]) == 200 == meta["validation_size"]
        seen = {image.tobytes() for image in split["x_train"]}
        assert not any(image.tobytes() in seen for image in split["x_validation"])
        assert sum(meta["class_counts"]["validation"]) == 200
        assert len(data.training_split(arrays, hold_out_validation=False)["y_train"]) == 1297
    assert (first[0] == second[0]).all(), "the held-out examples are the same in every preparation"


@pytest.fixture(scope="module")
def mnist1d():
    """MNIST-1D as generated, and with shuffle_seq, once for the module."""
    return {shuffled: data.load_mnist1d(None, {"source": "mnist1d", "shuffle_seq": shuffled}) for shuffled in (False, True)}


def test_mnist1d_is_generated_deterministically_with_the_recorded_sha256_sizes_and_classes(mnist1d):
    (x_train, y_train, x_test, y_test), hashes = mnist1d[False]
    again, again_hashes = data.load_mnist1d(None, {"source": "mnist1d"})
    assert hashes == again_hashes == {"mnist1d.make_dataset": data.MNIST1D_SHA256[False]}
    for array, repeated in zip((x_train, y_train, x_test, y_test), again):
        np.testing.assert_array_equal(array, repeated)
    assert x_train.shape == (4000, 40, 1) and x_test.shape == (1000, 40, 1) and x_train.dtype == np.float32
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    assert counts.tolist() == [500] * 10, "make_dataset draws 500 sequences of each digit"
    assert 350 <= np.bincount(y_train).min() and np.bincount(y_train).max() <= 450


def test_mnist1d_shuffle_seq_permutes_the_time_steps_the_same_way_for_every_example(mnist1d):
    (x_train, y_train, x_test, y_test), _ = mnist1d[False]
    (shuffled_train, shuffled_labels, shuffled_test, _), hashes = mnist1d[True]
    assert hashes == {"mnist1d.make_dataset": data.MNIST1D_SHA256[True]}
    np.testing.assert_array_equal(shuffled_labels, y_train)
    every = np.concatenate([x_train, x_test])[..., 0]
    shuffled = np.concatenate([shuffled_train, shuffled_test])[..., 0]
    # each shuffled step equals exactly one original step over all 5000 sequences: one permutation for all
    matches = (shuffled[:, :, None] == every[:, None, :]).all(axis=0)
    assert (matches.sum(axis=1) == 1).all()
    permutation = matches.argmax(axis=1)
    assert sorted(permutation) == list(range(40)) and (permutation != np.arange(40)).any()


def test_mnist1d_has_its_recorded_sha256_with_numpys_wider_simd_paths_switched_off():
    """CPUs differ in which of numpy's SIMD paths run (float64 results then differ in the last bit);
    the recorded hash must hold on every one, so generate again with this machine's optional paths off."""
    from numpy._core import _multiarray_umath

    optional = [feature for feature in _multiarray_umath.__cpu_dispatch__ if _multiarray_umath.__cpu_features__.get(feature)]
    program = "from reprolab import data; print(data.load_mnist1d(None, {'source': 'mnist1d'})[1]['mnist1d.make_dataset'])"
    generated = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True,
                               env={**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(optional)})
    assert generated.stdout.strip() == data.MNIST1D_SHA256[False]


def test_mnist1d_that_does_not_match_its_recorded_sha256_is_refused(monkeypatch):
    monkeypatch.setitem(data.MNIST1D_SHA256, False, "0" * 64)
    with pytest.raises(data.DataError, match="0{64}") as error:
        data.load_mnist1d(None, {"source": "mnist1d"})
    assert "pinned mnist1d" in str(error.value)
