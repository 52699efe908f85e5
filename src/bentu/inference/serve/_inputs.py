"""Turn validated request records into model inputs, as the saved preprocessing says.

The tabular encoder applies ``preprocess.json`` with NumPy alone (no DataFrame per request): the
same arithmetic as :class:`bentu.data.preprocess.TabularPreprocessor.transform`, which a test
checks column by column, at a fraction of its per-call cost for one record.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np

from bentu.data.generalize import generalise_value
from bentu.errors import DataError

#: Standardised numeric inputs beyond this are refused (they would overflow float32 arithmetic).
_MAX_Z = 1e6

__all__ = ["TabularEncoder", "ImageEncoder", "SequenceEncoder", "make_encoder"]


class TabularEncoder:
    """Raw records (dicts) → float32 matrix, from a tabular ``preprocess.json``."""

    kind = "tabular"

    def __init__(self, pre: dict):
        num, cat = pre["numeric"], pre["categorical"]
        self.num_names = [s["name"] for s in num]
        self.median = np.array([s["median"] for s in num], dtype=np.float64)
        self.log = np.array([bool(s["log"]) for s in num], dtype=bool)
        self.mean = np.array([s["mean"] for s in num], dtype=np.float64)
        self.std = np.array([s["std"] for s in num], dtype=np.float64)
        # output column of each numeric value, and of each missing indicator
        cols, ind_cols, ind_src, col = [], [], [], 0
        for k, s in enumerate(num):
            cols.append(col)
            col += 1
            if s["indicator"]:
                ind_cols.append(col)
                ind_src.append(k)
                col += 1
        self.num_cols, self.ind_cols, self.ind_src = np.array(cols, int), np.array(ind_cols, int), np.array(ind_src, int)
        self.categorical = []
        for s in cat:
            index = {c: i for i, c in enumerate(s["categories"])}
            self.categorical.append((s["name"], col, index, len(s["categories"])))
            col += len(s["categories"]) + 1
        self.width = col
        # what the privacy gate did to a training column (k-anonymity) is done to every record
        self.generalise = dict(pre.get("generalise") or {})

    def __call__(self, records: list[dict]) -> tuple[dict[str, np.ndarray], None]:
        if self.generalise:
            records = [{**r, **{c: generalise_value(r.get(c), step) for c, step in self.generalise.items()}}
                       for r in records]
        n = len(records)
        out = np.zeros((n, self.width), dtype=np.float32)
        if self.num_names:
            # None (missing) becomes NaN here and is imputed below, as in training
            x = np.array([[r.get(name) for name in self.num_names] for r in records], dtype=np.float64)
            missing = ~np.isfinite(x)
            x = np.where(missing, self.median, x)
            x = np.where(self.log, np.sign(x) * np.log1p(np.abs(x)), x)
            with np.errstate(over="ignore", invalid="ignore"):
                z = (x - self.mean) / self.std
            bad = ~(np.abs(z) < _MAX_Z)
            if bad.any():
                i, k = (int(v[0]) for v in np.nonzero(bad))
                where = f"records[{i}].{self.num_names[k]}"
                raise DataError(
                    f"{where}: the value is out of range for this model (more than {_MAX_Z:g} training standard "
                    "deviations from the training mean).",
                    f"{where}：该值超出模型可处理的范围（距训练均值超过 {_MAX_Z:g} 个训练标准差）。",
                )
            out[:, self.num_cols] = z
            if len(self.ind_cols):
                out[:, self.ind_cols] = missing[:, self.ind_src]
        for name, start, index, k in self.categorical:
            for i, r in enumerate(records):
                v = r.get(name)
                out[i, start + index.get("__missing__" if v is None else str(v), k)] = 1.0
        return {"input": out}, None


class ImageEncoder:
    """Base64 PNG/JPEG strings or pixel arrays (0–255) → normalised NCHW float32 images."""

    kind = "image"

    def __init__(self, pre: dict):
        self.size = int(pre["size"])
        self.channels = int(pre["channels"])
        self.scale = float(pre.get("scale", 1 / 255.0))
        self.mean = np.asarray(pre.get("mean", [0.0] * self.channels), np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(pre.get("std", [1.0] * self.channels), np.float32).reshape(-1, 1, 1)
        self.input_name = pre.get("input_name", "image")

    def _decode(self, value, where: str) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        if isinstance(value, str):
            try:
                raw = base64.b64decode(value, validate=True)
                img = Image.open(io.BytesIO(raw))
                img.load()
            except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as err:
                raise DataError(
                    f"{where}: not a base64-encoded PNG or JPEG image.",
                    f"{where}：不是 base64 编码的 PNG 或 JPEG 图像。",
                ) from err
            img = img.convert("L" if self.channels == 1 else "RGB")
            if img.size != (self.size, self.size):
                img = img.resize((self.size, self.size), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.float32)
            return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        arr = np.asarray(value, dtype=np.float32)
        if arr.ndim == 2 and self.channels == 1:
            arr = arr[None]
        elif arr.ndim == 3 and arr.shape[-1] == self.channels and arr.shape[0] != self.channels:
            arr = arr.transpose(2, 0, 1)
        want = (self.channels, self.size, self.size)
        if arr.shape != want:
            raise DataError(
                f"{where}: pixel array of shape {tuple(arr.shape)}; expected {want} (or {want[1:]} for one channel).",
                f"{where}：像素数组形状为 {tuple(arr.shape)}，应为 {want}（单通道也可为 {want[1:]}）。",
            )
        if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 255:
            raise DataError(f"{where}: pixel values must be finite numbers in [0, 255].",
                            f"{where}：像素值必须是 [0, 255] 内的有限数。")
        return arr

    def __call__(self, records: list[dict]) -> tuple[dict[str, np.ndarray], None]:
        imgs = [self._decode(r["image"], f"records[{i}].image") for i, r in enumerate(records)]
        x = (np.stack(imgs) * self.scale - self.mean) / self.std
        return {self.input_name: x.astype(np.float32)}, None


class SequenceEncoder:
    """Answer histories → right-padded int64 ``(exercises, responses, query)``; scores the next exercise.

    A record is ``{"exercises": [...], "responses": [...], "next": int}``: the past exercises and
    their 0/1 responses, and the exercise to predict. The model sees the history and is asked
    about ``next`` at the last position.
    """

    kind = "sequence"

    def __init__(self, pre: dict):
        self.n_exercises = int(pre["n_exercises"])
        self.names = tuple(pre.get("input_names", ("exercises", "responses", "query")))
        # histories longer than the model was trained on keep their most recent steps
        self.max_history = int(pre["max_len"]) - 1 if pre.get("max_len") else None

    def __call__(self, records: list[dict]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        for i, r in enumerate(records):
            if len(r["responses"]) != len(r["exercises"]):
                raise DataError(
                    f"records[{i}]: 'exercises' has {len(r['exercises'])} steps but 'responses' has {len(r['responses'])}.",
                    f"records[{i}]：'exercises' 有 {len(r['exercises'])} 步，而 'responses' 有 {len(r['responses'])} 步。",
                )
        if self.max_history is not None:
            records = [{**r, "exercises": r["exercises"][-self.max_history:] if self.max_history else [],
                        "responses": r["responses"][-self.max_history:] if self.max_history else []} for r in records]
        t = max(len(r["exercises"]) for r in records) + 1
        ex = np.zeros((len(records), t), np.int64)
        resp = np.zeros((len(records), t), np.int64)
        last = np.zeros(len(records), np.int64)
        for i, r in enumerate(records):
            k = len(r["exercises"])
            ex[i, :k], resp[i, :k], ex[i, k] = r["exercises"], r["responses"], r["next"]
            last[i] = k
        return dict(zip(self.names, (ex, resp, ex.copy()))), last


def make_encoder(pre: dict):
    """The encoder for a ``preprocess.json`` by its ``kind``."""
    kind = pre.get("kind", "tabular")
    encoders = {"tabular": TabularEncoder, "image": ImageEncoder, "sequence": SequenceEncoder}
    if kind not in encoders:
        raise DataError(
            f"preprocess.json has kind {kind!r}; the server knows {', '.join(encoders)}.",
            f"preprocess.json 的 kind 为 {kind!r}；服务只支持 {', '.join(encoders)}。",
        )
    return encoders[kind](pre)
