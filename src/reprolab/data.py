"""Fetches raw datasets (local mirror first, then the published URLs) or generates them (MNIST-1D),
checks their sha256 and prepares them as one .npz of float32 arrays (images in [-1, 1], or
sequences of shape (length, 1)) with a JSON description beside it; the .npz also holds the indices
of the training examples held out for validation."""

import gzip
import hashlib
import json
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np

from reprolab.atomic import atomic_path, write_json
from reprolab.dataset_sizes import TEST_EXAMPLES, TRAIN_EXAMPLES

MIRROR_VARIABLE = "REPROLAB_DATA_MIRROR"
USPS_URLS = [
    "https://hastie.su.domains/ElemStatLearn/datasets/{name}",
    "https://web.stanford.edu/~hastie/ElemStatLearn/datasets/{name}",
]
USPS_FILES = {
    "zip.train.gz": "66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16",
    "zip.test.gz": "8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f",
}


class DataError(RuntimeError):
    """A dataset file is missing, unreachable or does not match its checksum."""


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path, expected, fix):
    """Raises DataError naming the file, both hashes and the fix when path's sha256 is not expected."""
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}. {fix}")


def fetch(dataset, name, expected_sha256, raw_directory):
    """Returns a verified local copy of one raw file: from $REPROLAB_DATA_MIRROR/<dataset>/ when set,
    else from data/raw/ if already downloaded, else downloaded from the published URLs."""
    mirror = os.environ.get(MIRROR_VARIABLE)
    if mirror:
        mirrored = Path(mirror) / dataset / name
        if not mirrored.exists():
            raise DataError(f"{mirrored} not found: {MIRROR_VARIABLE}={mirror} must hold {dataset}/{name} (or unset it to download)")
        verify(mirrored, expected_sha256, f"Replace the mirror's copy with the published file, or unset {MIRROR_VARIABLE}.")
        return mirrored
    local = Path(raw_directory) / name
    if local.exists():
        verify(local, expected_sha256, f"Delete {local} so it is downloaded again.")
        return local
    errors = []
    for template in USPS_URLS:
        url = template.format(name=name)
        print(f"downloading {url}", flush=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as response, atomic_path(local) as temporary:
                with open(temporary, "wb") as handle:
                    shutil.copyfileobj(response, handle)
                verify(temporary, expected_sha256, f"The download from {url} is corrupt or changed upstream.")
            return local
        except (OSError, DataError) as error:
            errors.append(f"{url}: {error}")
    raise DataError(f"could not fetch {name}: " + "; ".join(errors) + f". Set {MIRROR_VARIABLE} to a folder holding {dataset}/{name}.")


def _read_usps(path):
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, dtype=np.float32)
    return table[:, 1:].reshape(-1, 16, 16, 1), table[:, 0].astype(np.int64)


def load_usps(raw_directory, dataset_params):
    """The 1989 zip-code digits: 7291 train and 2007 test images, 16x16, values in [-1, 1]."""
    files = {name: fetch("usps", name, sha, raw_directory) for name, sha in USPS_FILES.items()}
    x_train, y_train = _read_usps(files["zip.train.gz"])
    x_test, y_test = _read_usps(files["zip.test.gz"])
    if (len(y_train), len(y_test)) != (TRAIN_EXAMPLES["usps"], TEST_EXAMPLES["usps"]):
        raise DataError(f"USPS should hold {TRAIN_EXAMPLES['usps']} / {TEST_EXAMPLES['usps']} examples, read {len(y_train)} / {len(y_test)}")
    return (x_train, y_train, x_test, y_test), dict(USPS_FILES)


def load_digits(raw_directory, dataset_params):
    """scikit-learn's 1797 bundled 8x8 digits, upsampled to 16x16 and scaled to [-1, 1]; a fixed
    split (seed 0) of 1297 train / 500 test. Offline, for tiny runs and tests."""
    train_examples = TRAIN_EXAMPLES["digits"]
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.kron(bunch.images, np.ones((2, 2))).astype(np.float32) / 8.0 - 1.0
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order][..., None], bunch.target[order].astype(np.int64)
    return (images[:train_examples], labels[:train_examples], images[train_examples:], labels[train_examples:]), {"sklearn.load_digits": "bundled"}


# sha256 of the arrays mnist1d 0.0.2.post1's make_dataset generates with its default arguments, as
# prepared (sequences rounded to float32, labels int64; dtype, shape and bytes of each), keyed by
# shuffle_seq. The float64 bits themselves differ between CPUs by up to 9e-16 (numpy's AVX-512
# paths for its math functions round differently), which the rounding to float32 removes.
MNIST1D_SHA256 = {False: "70116abcfe53bc995603be224e1dbcfd8556e3820ff4062199fea14c457c755e",
                  True: "0a9afcdeb691566cf24faabf6acb652c74ca8fd3e98e2149b5ceb6ae54d8df35"}


def arrays_sha256(arrays):
    """sha256 over each array's dtype, shape and bytes, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(array.dtype.str.encode())
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_mnist1d(raw_directory, dataset_params):
    """MNIST-1D (Greydanus 2020), generated by the mnist1d package's make_dataset with its default
    arguments (4000 train / 1000 test sequences of length 40, seed 42), never downloaded;
    `shuffle_seq` permutes the time steps once, the same way for every example. The generated
    arrays must match the sha256 recorded here, so a changed generator cannot pass unnoticed."""
    from mnist1d.data import get_dataset_args, make_dataset

    arguments = get_dataset_args()
    arguments.shuffle_seq = bool(dataset_params.get("shuffle_seq", False))
    generated = make_dataset(arguments)
    arrays = [generated["x"].astype(np.float32), generated["y"].astype(np.int64),
              generated["x_test"].astype(np.float32), generated["y_test"].astype(np.int64)]
    expected, actual = MNIST1D_SHA256[arguments.shuffle_seq], arrays_sha256(arrays)
    if actual != expected:
        raise DataError(f"MNIST-1D (shuffle_seq {arguments.shuffle_seq}) generated arrays with sha256 {actual}, expected {expected}: "
                        "install the pinned mnist1d and numpy (requirements/main.txt) so make_dataset generates the published data")
    x_train, y_train, x_test, y_test = arrays
    return (x_train[..., None], y_train, x_test[..., None], y_test), {"mnist1d.make_dataset": actual}


SOURCES = {"usps": load_usps, "digits": load_digits, "mnist1d": load_mnist1d}
VALIDATION_SEED = 0


def prepare(dataset_name, dataset_params, prepared_path, meta_path, raw_directory):
    """Writes the prepared arrays and their description (sizes, class counts, sha256 of sources and of the .npz)."""
    (x_train, y_train, x_test, y_test), source_hashes = SOURCES[dataset_params["source"]](raw_directory, dataset_params)
    x_train, y_train = x_train[: dataset_params.get("train_size")], y_train[: dataset_params.get("train_size")]
    x_test, y_test = x_test[: dataset_params.get("test_size")], y_test[: dataset_params.get("test_size")]
    validation_index = validation_indices(len(y_train), dataset_params.get("validation_size", 0))
    with atomic_path(prepared_path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, validation_index=validation_index)
    write_json(meta_path, {
        "dataset": dataset_name,
        "params": dataset_params,
        "source_sha256": source_hashes,
        "sha256": sha256_of(prepared_path),
        "shapes": {"x_train": list(x_train.shape), "x_test": list(x_test.shape)},
        "validation_size": int(len(validation_index)),
        "class_counts": {"train": np.bincount(y_train, minlength=10).tolist(), "test": np.bincount(y_test, minlength=10).tolist(),
                         "validation": np.bincount(y_train[validation_index], minlength=10).tolist()},
        "value_range": [float(min(x_train.min(), x_test.min())), float(max(x_train.max(), x_test.max()))],
    })


def validation_indices(train_examples, validation_size):
    """The training examples held out for validation: a fixed draw (seed 0) of `validation_size`,
    sorted, so every run of every study that holds out validation holds out the same digits."""
    return np.sort(np.random.default_rng(VALIDATION_SEED).permutation(train_examples)[:validation_size]).astype(np.int64)


def training_split(data, hold_out_validation):
    """The arrays a run sees: with `hold_out_validation` the training set minus the validation
    examples (x_train) and those examples (x_validation); without it all training examples."""
    if not hold_out_validation:
        return {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    held_out = np.zeros(len(data["y_train"]), dtype=bool)
    held_out[data["validation_index"]] = True
    return {"x_train": data["x_train"][~held_out], "y_train": data["y_train"][~held_out],
            "x_validation": data["x_train"][held_out], "y_validation": data["y_train"][held_out],
            "x_test": data["x_test"], "y_test": data["y_test"]}


def load_prepared(prepared_path, meta_path):
    """The prepared arrays, after checking the .npz against the sha256 its description recorded."""
    meta = json.loads(Path(meta_path).read_text())
    verify(prepared_path, meta["sha256"], f"Delete {prepared_path} and {meta_path} and rerun the prepare stage.")
    with np.load(prepared_path) as arrays:
        return {key: arrays[key] for key in arrays.files}, meta
