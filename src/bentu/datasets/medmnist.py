"""MedMNIST ``.npz`` files (Yang et al., 2023): any 2-D subset, any of its image sizes, with its
official train / val / test splits.

A file ``<flag>.npz`` (or ``<flag>_64.npz`` etc.) holds ``{train,val,test}_images`` (uint8,
``(n, s, s)`` grey or ``(n, s, s, 3)`` colour) and ``{train,val,test}_labels`` (``(n, 1)``).
Files are downloaded by the ``medmnist`` package or from Zenodo (record 10519652); bentu never
downloads.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import numpy as np

from bentu.datasets.images import SPLITS, ImageSplits, check_splits
from bentu.errors import DataError

__all__ = ["load_medmnist", "medmnist_path", "MEDMNIST_LABELS", "OBTAIN_HINT"]

#: Label names of the binary MedMNIST subsets (index = label value).
MEDMNIST_LABELS: dict[str, list[str]] = {
    "breastmnist": ["malignant", "normal/benign"],
    "pneumoniamnist": ["normal", "pneumonia"],
}

OBTAIN_HINT = (
    "Download it from Zenodo (https://zenodo.org/records/10519652) or with the medmnist package "
    "(`pip install medmnist`, then `medmnist.{cls}(split='train', download=True, root=DIR)`), "
    "and pass the file with --data or put it in $BENTU_DATA/medmnist/."
)


def _flag_of(path: Path) -> str:
    return re.sub(r"_\d+$", "", path.stem).lower()


def medmnist_path(flag: str, data_root: Path | None, data_path: Path | None = None) -> Path:
    """Where ``<flag>.npz`` is: ``data_path`` if given, else ``data_root/medmnist/<flag>.npz``.

    Raises
    ------
    DataError
        The file does not exist; the message names the path and how to obtain the file.
    """
    if data_path is not None:
        path = Path(data_path)
        if path.is_dir():
            path = path / "medmnist" / f"{flag}.npz" if (path / "medmnist").is_dir() else path / f"{flag}.npz"
    elif data_root is not None:
        path = Path(data_root) / "medmnist" / f"{flag}.npz"
    else:
        path = Path("medmnist") / f"{flag}.npz"
    if not path.is_file():
        cls = flag[:-5].capitalize() + "MNIST" if flag.endswith("mnist") else flag
        raise DataError(
            f"MedMNIST file not found: {path}. " + OBTAIN_HINT.format(cls=cls),
            f"找不到 MedMNIST 文件：{path}。请从 Zenodo（https://zenodo.org/records/10519652）下载，或用 medmnist 包"
            f"（`pip install medmnist`，然后 `medmnist.{cls}(split='train', download=True, root=DIR)`）获取，"
            "再用 --data 指定该文件，或放到 $BENTU_DATA/medmnist/ 下。",
        )
    return path


def load_medmnist(path: str | Path, *, n_classes: int | None = None, label_names: list[str] | None = None) -> ImageSplits:
    """Load and check a MedMNIST ``.npz`` file with its official splits.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file.
    n_classes : int, optional
        Declared number of classes (default: from the known label names of the subset, else 2).
    label_names : list of str, optional
        Names of the classes in label order.

    Returns
    -------
    ImageSplits
        Images as uint8 ``(n, s, s, c)``, labels as int64 ``(n,)`` per split.

    Raises
    ------
    DataError
        Corrupt or incomplete file, images of mixed sizes, labels outside the declared classes,
        a class without training images. Each message names the file.
    """
    path = Path(path)
    flag = _flag_of(path)
    names = label_names or MEDMNIST_LABELS.get(flag)
    n = n_classes or (len(names) if names else 2)
    names = list(names) if names else [f"class {k}" for k in range(n)]
    if len(names) != n:
        raise DataError(f"{path}: {len(names)} label names given for {n} classes.",
                        f"{path}：给出了 {len(names)} 个标签名称，但类别数为 {n}。")
    raw = path.read_bytes()
    try:
        with np.load(path, allow_pickle=False) as d:
            keys = set(d.files)
            need = [f"{s}_{k}" for s in SPLITS for k in ("images", "labels")]
            missing = [k for k in need if k not in keys]
            if missing:
                raise DataError(
                    f"{path}: not a MedMNIST file; missing arrays {missing} (found {sorted(keys)[:8]}).",
                    f"{path}：不是 MedMNIST 文件；缺少数组 {missing}（找到 {sorted(keys)[:8]}）。",
                )
            arrays = {k: d[k] for k in need}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as err:
        raise DataError(
            f"{path}: cannot read the .npz file ({type(err).__name__}: {err}); it is corrupt or truncated. "
            "Download it again and check its MD5 against medmnist's info.py.",
            f"{path}：无法读取该 .npz 文件（{type(err).__name__}: {err}），文件已损坏或不完整。"
            "请重新下载，并用 medmnist 的 info.py 核对 MD5。",
        ) from err
    images, labels = {}, {}
    for s in SPLITS:
        x = arrays[f"{s}_images"]
        images[s] = x[..., None] if x.ndim == 3 else x
        y = arrays[f"{s}_labels"]
        if y.ndim == 2 and y.shape[1] != 1:
            raise DataError(
                f"{path}: {s}_labels has shape {y.shape}; multi-label files are not supported (one label per image).",
                f"{path}：{s}_labels 的形状为 {y.shape}；不支持多标签文件（每张图像一个标签）。",
            )
        labels[s] = y.reshape(-1).astype(np.int64)
        if images[s].dtype != np.uint8:
            raise DataError(f"{path}: {s}_images has dtype {images[s].dtype}; MedMNIST images are uint8.",
                            f"{path}：{s}_images 的数据类型为 {images[s].dtype}；MedMNIST 图像应为 uint8。")
    check_splits(images, labels, n, path)
    return ImageSplits(images, labels, names, path, hashlib.sha256(raw).hexdigest())
