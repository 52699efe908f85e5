"""Image data: one checked container for every image source, a torch Dataset over it, and
loaders for a folder of PNG/JPEG images by class and for DICOM files (pydicom).

Layout of a folder source::

    root/<class name>/*.png|*.jpg|*.jpeg|*.dcm            one pool, split here (stratified)
    root/{train,val,test}/<class name>/...                 predefined splits

Every loader checks what it reads (shapes, label range, empty classes) and raises
:class:`bentu.errors.DataError` naming the file or folder.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from bentu.errors import DataError, MissingDependencyError

__all__ = [
    "ImageSplits",
    "ImageDataset",
    "load_image_folder",
    "load_dicom_folder",
    "read_image",
    "read_dicom",
    "SPLITS",
    "IMAGE_EXTENSIONS",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


@dataclass
class ImageSplits:
    """Images and integer labels per split, checked at load time.

    Attributes
    ----------
    images : dict
        ``split -> uint8 array (n, h, w, c)``; every split has the same ``h, w, c``.
    labels : dict
        ``split -> int64 array (n,)`` with values in ``range(len(label_names))``.
    label_names : list of str
    source : Path
        The file or folder read.
    sha256 : str
        SHA-256 of the source file (of the sorted file list and contents for a folder).
    files : dict
        ``split -> list of file names`` for folder sources (empty for ``.npz``).
    """

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    label_names: list[str]
    source: Path
    sha256: str
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        return int(next(iter(self.images.values())).shape[1])

    @property
    def channels(self) -> int:
        return int(next(iter(self.images.values())).shape[3])

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of images per split and class name."""
        return {
            s: {name: int((self.labels[s] == k).sum()) for k, name in enumerate(self.label_names)}
            for s in self.images
        }

    def profile(self) -> dict:
        """A JSON-ready summary: counts per split and class, image size, channels, source hash."""
        return {
            "source": str(self.source),
            "sha256": self.sha256,
            "image_size": [self.image_size, self.image_size],
            "channels": self.channels,
            "label_names": list(self.label_names),
            "counts": self.counts(),
            "total": int(sum(len(v) for v in self.labels.values())),
        }


def check_splits(images: dict[str, np.ndarray], labels: dict[str, np.ndarray], n_classes: int, source: Path) -> None:
    """Check shapes, label range and empty classes of loaded splits; raise DataError naming ``source``."""
    shapes = {s: tuple(a.shape[1:]) for s, a in images.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{s}: {'x'.join(map(str, v))}" for s, v in shapes.items())
        raise DataError(
            f"{source}: images of mixed sizes ({listed}). All splits must have one image size; "
            "resize them to one size first.",
            f"{source}：图像尺寸不一致（{listed}）。所有划分必须使用同一图像尺寸，请先统一缩放。",
        )
    for s, a in images.items():
        if a.ndim != 4 or a.shape[1] != a.shape[2] or a.shape[3] not in (1, 3):
            raise DataError(
                f"{source}: {s} images have shape {a.shape}; expected (n, size, size) grey or (n, size, size, 3) colour.",
                f"{source}：{s} 图像的形状为 {a.shape}，应为 (n, size, size) 灰度或 (n, size, size, 3) 彩色。",
            )
        y = labels[s]
        if len(y) != len(a):
            raise DataError(
                f"{source}: {s} has {len(a)} images but {len(y)} labels.",
                f"{source}：{s} 有 {len(a)} 张图像，却有 {len(y)} 个标签。",
            )
        bad = sorted(set(np.unique(y).tolist()) - set(range(n_classes)))
        if bad:
            raise DataError(
                f"{source}: {s} labels {bad[:5]} are outside the declared classes 0..{n_classes - 1}.",
                f"{source}：{s} 的标签 {bad[:5]} 超出了声明的类别 0..{n_classes - 1}。",
            )
    if "train" in labels:
        empty = [k for k in range(n_classes) if not (labels["train"] == k).any()]
        if empty:
            raise DataError(
                f"{source}: class(es) {empty} have no training images; every class needs examples.",
                f"{source}：类别 {empty} 没有训练图像；每个类别都需要样本。",
            )


class ImageDataset(Dataset):
    """A torch Dataset of normalised images and binary targets: items ``(x (c, s, s), y)``.

    Parameters
    ----------
    images : ndarray
        uint8 ``(n, h, w, c)`` (or ``(n, h, w)``).
    targets : ndarray
        ``(n,)`` 0/1 targets (float).
    mean, std : float
        Normalisation applied after scaling to [0, 1].
    size : int, optional
        Resize (bilinear) to ``size × size``.
    augment : callable, optional
        ``augment(x) -> x`` applied to each item (training only).
    """

    def __init__(
        self,
        images: np.ndarray,
        targets: np.ndarray,
        *,
        mean: float = 0.5,
        std: float = 0.25,
        size: int | None = None,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        if images.ndim == 3:
            images = images[..., None]
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0  # (n, c, h, w)
        if size is not None and size != x.shape[-1]:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        self.x = (x - mean) / std
        self.y = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[i]
        if self.augment is not None:
            x = self.augment(x)
        return x, self.y[i]

    def __getitems__(self, idx: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        # DataLoader fetches a whole batch through this hook: augment it in one vectorised call.
        x = self.x[idx]
        batch = getattr(self.augment, "batch", None)
        if batch is not None:
            x = batch(x)
        elif self.augment is not None:
            x = torch.stack([self.augment(v) for v in x])
        return list(zip(x, self.y[idx]))


# -- readers ---------------------------------------------------------------------------------


def _to_channels(a: np.ndarray, channels: int, path: Path) -> np.ndarray:
    """``(h, w)`` or ``(h, w, c)`` → ``(h, w, channels)`` uint8."""
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3:
        raise DataError(f"{path}: image has shape {a.shape}; expected 2-D (grey) or 3-D (colour).",
                        f"{path}：图像形状为 {a.shape}，应为二维（灰度）或三维（彩色）。")
    if a.shape[2] == 4:
        a = a[..., :3]
    if channels == 1 and a.shape[2] == 3:
        a = (a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    elif channels == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _resize(a: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or (a.shape[0] == size and a.shape[1] == size):
        return a
    t = torch.from_numpy(a).permute(2, 0, 1)[None].float()  # (1, c, h, w)
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return t[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def read_image(path: str | Path, *, channels: int = 1, size: int | None = None) -> np.ndarray:
    """Read a PNG/JPEG file as uint8 ``(h, w, channels)``, resized to ``size`` when given."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            a = np.asarray(img.convert("RGB" if channels == 3 else "L"))
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{path}: not a readable PNG/JPEG image ({err}).",
                        f"{path}：不是可读取的 PNG/JPEG 图像（{err}）。") from err
    return _resize(_to_channels(a, channels, path), size)


def read_dicom(path: str | Path, *, channels: int = 1, size: int | None = None) -> np.ndarray:
    """Read a DICOM file's pixel data as uint8 ``(h, w, channels)`` (min–max windowed).

    Applies RescaleSlope/Intercept, inverts MONOCHROME1, and takes the middle frame of a
    multi-frame file.
    """
    try:
        import pydicom
        from pydicom.errors import InvalidDicomError
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "Reading DICOM needs pydicom: pip install pydicom torch==2.13.0",
            "读取 DICOM 需要 pydicom：pip install pydicom torch==2.13.0",
        ) from err
    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable DICOM file ({err}).", f"{path}：不是可读取的 DICOM 文件（{err}）。") from err
    if "PixelData" not in ds:
        raise DataError(
            f"{path}: DICOM file has no pixel data (tag (7FE0,0010) PixelData is missing); "
            "it may be a structured report or a header-only file. Remove it or export the image series.",
            f"{path}：DICOM 文件没有像素数据（缺少标签 (7FE0,0010) PixelData），可能是结构化报告或仅含头信息的文件。"
            "请删除它或导出图像序列。",
        )
    try:
        a = ds.pixel_array.astype(np.float32)
    except Exception as err:  # pydicom raises several types for unsupported transfer syntaxes
        raise DataError(f"{path}: cannot decode the DICOM pixel data ({err}).",
                        f"{path}：无法解码 DICOM 像素数据（{err}）。") from err
    if a.ndim == 3 and a.shape[-1] not in (3, 4):
        a = a[a.shape[0] // 2]  # multi-frame: the middle frame
    a = a * float(getattr(ds, "RescaleSlope", 1) or 1) + float(getattr(ds, "RescaleIntercept", 0) or 0)
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
    if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
        a = 255.0 - a
    return _resize(_to_channels(a, channels, path), size)


# -- folder loaders ----------------------------------------------------------------------------


def _class_folders(root: Path, classes: Sequence[str] | None) -> list[str]:
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is None:
        if len(found) < 2:
            raise DataError(
                f"{root}: expected one sub-folder per class (at least 2), found {found}.",
                f"{root}：应为每个类别一个子文件夹（至少 2 个），实际找到 {found}。",
            )
        return found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(
            f"{root}: folder(s) {unknown[:5]} are not among the declared classes {list(classes)}.",
            f"{root}：文件夹 {unknown[:5]} 不在声明的类别 {list(classes)} 之中。",
        )
    return list(classes)


def _read_tree(
    root: Path, classes: list[str], exts: tuple[str, ...], reader: Callable[[Path], np.ndarray], size: int | None
) -> tuple[np.ndarray, np.ndarray, list[str], "hashlib._Hash"]:
    images, labels, names = [], [], []
    digest = hashlib.sha256()
    first: tuple[Path, tuple] | None = None
    for k, cls in enumerate(classes):
        folder = root / cls
        files = sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in exts) if folder.is_dir() else []
        if not files:
            raise DataError(
                f"{folder}: class folder {cls!r} is empty (no {'/'.join(exts)} files). "
                "Every class needs at least one image; add images or remove the class.",
                f"{folder}：类别文件夹 {cls!r} 为空（没有 {'/'.join(exts)} 文件）。每个类别至少需要一张图像；请添加图像或删除该类别。",
            )
        for f in files:
            a = reader(f)
            if first is None:
                first = (f, a.shape)
            elif size is None and a.shape != first[1]:
                raise DataError(
                    f"{f}: image size {a.shape[0]}x{a.shape[1]} differs from {first[0]} ({first[1][0]}x{first[1][1]}). "
                    "Images of mixed sizes: give an image size to resize them all.",
                    f"{f}：图像尺寸 {a.shape[0]}x{a.shape[1]} 与 {first[0]}（{first[1][0]}x{first[1][1]}）不同。"
                    "图像尺寸不一致：请指定统一的图像尺寸以缩放全部图像。",
                )
            if a.shape[0] != a.shape[1]:
                a = _center_crop(a)
            images.append(a)
            labels.append(k)
            names.append(f"{cls}/{f.name}")
            digest.update(f"{cls}/{f.name}".encode())
            digest.update(f.read_bytes())
    return np.stack(images), np.asarray(labels, dtype=np.int64), names, digest


def _center_crop(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    s = min(h, w)
    return a[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]


def _stratified_split(labels: np.ndarray, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {s: [] for s in SPLITS}
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_test, n_val = int(round(len(idx) * test)), int(round(len(idx) * val))
        parts["test"] += idx[:n_test].tolist()
        parts["val"] += idx[n_test:n_test + n_val].tolist()
        parts["train"] += idx[n_test + n_val:].tolist()
    return {s: np.sort(np.asarray(v, dtype=np.int64)) for s, v in parts.items()}


def _load_folder(
    root: str | Path, exts: tuple[str, ...], reader: Callable[..., np.ndarray], *, channels: int, size: int | None,
    classes: Sequence[str] | None, val: float, test: float, seed: int,
) -> ImageSplits:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: image folder not found.", f"{root}：找不到图像文件夹。")
    read = lambda p: reader(p, channels=channels, size=size)  # noqa: E731
    has_splits = all((root / s).is_dir() for s in SPLITS)
    images, labels, files = {}, {}, {}
    digest = hashlib.sha256()
    if has_splits:
        names = _class_folders(root / "train", classes)
        for s in SPLITS:
            images[s], labels[s], files[s], d = _read_tree(root / s, names, exts, read, size)
            digest.update(d.digest())
    else:
        names = _class_folders(root, classes)
        x, y, f, digest = _read_tree(root, names, exts, read, size)
        for s, idx in _stratified_split(y, val, test, seed).items():
            images[s], labels[s], files[s] = x[idx], y[idx], [f[i] for i in idx]
    check_splits(images, labels, len(names), root)
    return ImageSplits(images, labels, names, root, digest.hexdigest(), files)


def load_image_folder(
    root: str | Path, *, channels: int = 1, size: int | None = None, classes: Sequence[str] | None = None,
    val: float = 0.1, test: float = 0.2, seed: int = 0,
) -> ImageSplits:
    """Load PNG/JPEG images from ``root/<class>/`` (or ``root/{train,val,test}/<class>/``).

    Parameters
    ----------
    channels : {1, 3}
    size : int, optional
        Resize every image to ``size × size``; without it, images of mixed sizes are an error.
    classes : list of str, optional
        Class folder names in label order (default: sorted folder names).
    val, test : float
        Fractions for a stratified split when the folder has no predefined splits.
    """
    return _load_folder(root, IMAGE_EXTENSIONS, read_image, channels=channels, size=size, classes=classes,
                        val=val, test=test, seed=seed)


def load_dicom_folder(
    root: str | Path, *, channels: int = 1, size: int | None = None, classes: Sequence[str] | None = None,
    val: float = 0.1, test: float = 0.2, seed: int = 0,
) -> ImageSplits:
    """Load DICOM files (``*.dcm``) from ``root/<class>/`` (or with predefined splits); see
    :func:`load_image_folder`. A file without pixel data is an error naming the file."""
    return _load_folder(root, (".dcm",), read_dicom, channels=channels, size=size, classes=classes,
                        val=val, test=test, seed=seed)
