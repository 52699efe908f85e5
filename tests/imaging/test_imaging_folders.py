"""Image-folder and DICOM loaders: layouts, resizing, and the errors bad input gets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bentu.datasets.images import ImageDataset, load_dicom_folder, load_image_folder, read_dicom
from bentu.errors import DataError


def _png(path: Path, size=(28, 28), value=None, rgb=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    shape = (size[1], size[0], 3) if rgb else (size[1], size[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8) if value is None else np.full(shape, value, np.uint8)
    Image.fromarray(a).save(path)


def _tree(root: Path, n=10, size=(28, 28)):
    for cls in ("benign", "malignant"):
        for i in range(n):
            _png(root / cls / f"{i}.png", size)
    return root


def test_image_folder_stratified_split(tmp_path):
    d = load_image_folder(_tree(tmp_path), val=0.2, test=0.2)
    assert d.label_names == ["benign", "malignant"]
    assert d.counts() == {s: {"benign": k, "malignant": k} for s, k in (("train", 6), ("val", 2), ("test", 2))}
    assert d.images["train"].shape == (12, 28, 28, 1)
    assert len(d.sha256) == 64 and d.files["test"][0].endswith(".png")


def test_image_folder_predefined_splits_and_resize_rgb(tmp_path):
    for s in ("train", "val", "test"):
        for cls in ("normal", "pneumonia"):
            _png(tmp_path / s / cls / "a.jpg", size=(80, 60), rgb=True)
    d = load_image_folder(tmp_path, channels=3, size=64)
    assert d.images["val"].shape == (2, 64, 64, 3)
    assert d.counts()["test"] == {"normal": 1, "pneumonia": 1}


def test_empty_class_folder(tmp_path):
    _tree(tmp_path, n=3)
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError) as e:
        load_image_folder(tmp_path)
    assert str(e.value) == (
        f"{tmp_path / 'other'}: class folder 'other' is empty (no .png/.jpg/.jpeg files). "
        "Every class needs at least one image; add images or remove the class."
    )


def test_mixed_sizes_need_a_size(tmp_path):
    _tree(tmp_path, n=3)
    _png(tmp_path / "malignant" / "z.png", size=(32, 32))
    with pytest.raises(DataError, match=r"z\.png: image size 32x32 differs from .*0\.png \(28x28\)\. Images of mixed sizes"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, size=28).image_size == 28


def test_unreadable_image_names_file(tmp_path):
    _tree(tmp_path, n=3)
    (tmp_path / "benign" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken\.png: not a readable PNG/JPEG image"):
        load_image_folder(tmp_path)


def test_undeclared_class_folder(tmp_path):
    _tree(tmp_path, n=3)
    with pytest.raises(DataError, match=r"folder\(s\) \['malignant'\] are not among the declared classes \['benign', 'cyst'\]"):
        load_image_folder(tmp_path, classes=["benign", "cyst"])


def _dicom(path: Path, pixels: np.ndarray | None, monochrome="MONOCHROME2"):
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "US"
    if pixels is not None:
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, monochrome
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def test_dicom_folder(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("benign", "malignant"):
        for i in range(5):
            _dicom(tmp_path / cls / f"{i}.dcm", rng.integers(0, 4096, (40, 40)))
    d = load_dicom_folder(tmp_path, size=28, val=0.2, test=0.2)
    assert d.images["train"].shape == (6, 28, 28, 1)
    assert d.images["train"].dtype == np.uint8


def test_dicom_windowing_and_monochrome1(tmp_path):
    ramp = np.tile(np.arange(0, 1000, 25), (40, 1))  # 40 x 40, 0..975
    a = read_dicom(_dicom(tmp_path / "a.dcm", ramp))
    b = read_dicom(_dicom(tmp_path / "b.dcm", ramp, monochrome="MONOCHROME1"))
    assert a.shape == (40, 40, 1) and a.min() == 0 and a.max() == 255
    assert np.array_equal(b, 255 - a)


def test_dicom_without_pixel_data(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("benign", "malignant"):
        for i in range(3):
            _dicom(tmp_path / cls / f"{i}.dcm", rng.integers(0, 4096, (28, 28)))
    bad = _dicom(tmp_path / "malignant" / "report.dcm", None)
    with pytest.raises(DataError) as e:
        load_dicom_folder(tmp_path)
    assert str(e.value) == (
        f"{bad}: DICOM file has no pixel data (tag (7FE0,0010) PixelData is missing); it may be a structured "
        "report or a header-only file. Remove it or export the image series."
    )


def test_image_dataset_normalises_and_augments(tmp_path):
    images = np.full((4, 28, 28, 1), 128, np.uint8)
    ds = ImageDataset(images, np.array([0, 1, 0, 1]), mean=0.5, std=0.25, size=64, augment=lambda x: x + 1)
    x, y = ds[1]
    assert x.shape == (1, 64, 64) and float(y) == 1.0
    assert abs(float(x.mean()) - (128 / 255 - 0.5) / 0.25 - 1) < 1e-5
