"""MedMNIST .npz loading: official splits, counts, and the errors a bad file gets."""

from __future__ import annotations

import numpy as np
import pytest

from bentu.datasets.medmnist import load_medmnist, medmnist_path
from bentu.errors import DataError

from .conftest import BREAST, PNEUMONIA


def _save(path, **over):
    rng = np.random.default_rng(0)
    arrays = {}
    for s, n in (("train", 6), ("val", 4), ("test", 4)):
        arrays[f"{s}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{s}_labels"] = np.array([[i % 2] for i in range(n)], dtype=np.uint8)
    arrays.update(over)
    np.savez(path, **arrays)
    return path


def test_breastmnist_official_splits():
    d = load_medmnist(BREAST)
    assert d.counts() == {
        "train": {"malignant": 147, "normal/benign": 399},
        "val": {"malignant": 21, "normal/benign": 57},
        "test": {"malignant": 42, "normal/benign": 114},
    }
    assert (d.image_size, d.channels) == (28, 1)
    assert d.sha256 == "3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1"
    assert d.images["train"].shape == (546, 28, 28, 1)


def test_pneumoniamnist_counts_and_profile():
    p = load_medmnist(PNEUMONIA).profile()
    assert p["counts"]["test"] == {"normal": 234, "pneumonia": 390}
    assert p["total"] == 5856
    assert p["image_size"] == [28, 28]


def test_other_sizes_and_colour_load(tmp_path):
    rng = np.random.default_rng(1)
    path = _save(tmp_path / "dermamnist_64.npz", **{f"{s}_images": rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
                                                     for s, n in (("train", 6), ("val", 4), ("test", 4))})
    d = load_medmnist(path)
    assert (d.image_size, d.channels) == (64, 3)
    assert d.label_names == ["class 0", "class 1"]


def test_missing_file_names_path_and_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as e:
        medmnist_path("breastmnist", tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "medmnist" / "breastmnist.npz") in msg
    assert "zenodo.org/records/10519652" in msg and "medmnist.BreastMNIST(" in msg


def test_corrupt_npz(tmp_path):
    bad = tmp_path / "breastmnist.npz"
    bad.write_bytes(BREAST.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"breastmnist\.npz: cannot read the \.npz file .*corrupt or truncated"):
        load_medmnist(bad)


def test_missing_arrays(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"x\.npz: not a MedMNIST file; missing arrays \['train_labels', 'val_images'"):
        load_medmnist(path)


def test_mixed_sizes(tmp_path):
    path = _save(tmp_path / "mixed.npz", test_images=np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(DataError) as e:
        load_medmnist(path)
    assert str(e.value) == (
        f"{path}: images of mixed sizes (train: 28x28x1, val: 28x28x1, test: 32x32x1). "
        "All splits must have one image size; resize them to one size first."
    )


def test_label_outside_declared_classes(tmp_path):
    path = _save(tmp_path / "labels.npz", val_labels=np.array([[0], [1], [2], [1]], np.uint8))
    with pytest.raises(DataError) as e:
        load_medmnist(path)
    assert str(e.value) == f"{path}: val labels [2] are outside the declared classes 0..1."


def test_empty_class(tmp_path):
    path = _save(tmp_path / "empty.npz", train_labels=np.ones((6, 1), np.uint8))
    with pytest.raises(DataError) as e:
        load_medmnist(path)
    assert str(e.value) == f"{path}: class(es) [0] have no training images; every class needs examples."


def test_label_count_mismatch(tmp_path):
    path = _save(tmp_path / "count.npz", test_labels=np.zeros((3, 1), np.uint8))
    with pytest.raises(DataError, match=r"count\.npz: test has 4 images but 3 labels\."):
        load_medmnist(path)
