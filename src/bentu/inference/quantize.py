"""int8 quantization of ONNX models with ONNX Runtime: dynamic, and static (QDQ) with calibration.

Before quantizing, batch normalisation that follows a fully connected layer is folded into that
layer's weights (the exporter already folds it into convolutions): the folded graph computes the
same function, quantizes into one int8 matrix per layer, and does not keep the normalisation's
float parameters. Whether the result is faster is a property of the model and the CPU, so
:mod:`bentu.inference.compress` measures it rather than assuming it. After quantizing, internal
tensor names are shortened (:func:`compact_names`): the quantizer's derived names are a visible
part of a small model's file.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["compact_names", "fold_batchnorm", "quantize_dynamic_int8", "quantize_static_int8"]

log = logging.getLogger(__name__)


def _attr(node, name: str, default):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def fold_batchnorm(model):
    """Fold ``Gemm -> BatchNormalization`` pairs of an ONNX model into one ``Gemm`` (in place).

    Only a Gemm whose output feeds nothing but the BatchNormalization, with constant weights,
    ``alpha = beta = 1`` and ``transA = 0``, is folded. Returns the number of pairs folded.
    """
    from onnx import numpy_helper as nh

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}
    folded, drop = 0, []
    for gemm in list(graph.node):
        if gemm.op_type != "Gemm" or len(gemm.input) < 2 or gemm.input[1] not in inits:
            continue
        users = consumers.get(gemm.output[0], [])
        if len(users) != 1 or users[0].op_type != "BatchNormalization" or gemm.output[0] in graph_outputs:
            continue
        bn = users[0]
        if any(n not in inits for n in bn.input[1:5]) or _attr(gemm, "transA", 0) != 0:
            continue
        if _attr(gemm, "alpha", 1.0) != 1.0 or _attr(gemm, "beta", 1.0) != 1.0:
            continue
        gamma, beta, mean, var = (nh.to_array(inits[n]).astype(np.float64) for n in bn.input[1:5])
        scale = gamma / np.sqrt(var + _attr(bn, "epsilon", 1e-5))  # (out,)
        w = nh.to_array(inits[gemm.input[1]]).astype(np.float64)
        trans_b = _attr(gemm, "transB", 0)
        w = w * scale[:, None] if trans_b else w * scale[None, :]
        b = nh.to_array(inits[gemm.input[2]]).astype(np.float64) if len(gemm.input) > 2 and gemm.input[2] else 0.0
        b = (b - mean) * scale + beta
        w_name, b_name = gemm.input[1] + "_bnfold", gemm.output[0] + "_bnfold_bias"
        graph.initializer.append(nh.from_array(w.astype(np.float32), w_name))
        graph.initializer.append(nh.from_array(np.asarray(b, np.float32), b_name))
        a_name = gemm.input[0]
        del gemm.input[:]
        gemm.input.extend([a_name, w_name, b_name])
        gemm.output[0] = bn.output[0]
        drop.append(bn)
        folded += 1
    for node in drop:
        graph.node.remove(node)
    _drop_unused_initializers(graph)
    return folded


def compact_names(model) -> None:
    """Give internal tensors and nodes short names (in place); graph inputs and outputs keep theirs.

    Quantization writes long derived names (``/body/body.0/Gemm_output_0_MatMul_output_quantized``)
    that take several KB of a small model's file; the computation does not change.
    """
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    mapping: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        if name not in mapping:
            mapping[name] = f"t{len(mapping)}"
        return mapping[name]

    for init in graph.initializer:
        init.name = short(init.name)
    for node in graph.node:
        node.name = ""
        node.doc_string = ""
        for i, n in enumerate(node.input):
            node.input[i] = short(n)
        for i, n in enumerate(node.output):
            node.output[i] = short(n)
    for vi in graph.value_info:
        vi.name = short(vi.name)
    model.doc_string = ""


def _finish(out_path: Path) -> None:
    import onnx

    model = onnx.load(str(out_path))
    compact_names(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(out_path))


def _drop_unused_initializers(graph) -> None:
    used = {n for node in graph.node for n in node.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


class _DropPreprocessAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage() and "pre-process" not in record.getMessage()


@contextlib.contextmanager
def _quiet_root():
    """ONNX Runtime's quantizer advises pre-processing through the root logger; we already did it."""
    root = logging.getLogger()
    guard, filt = logging.NullHandler(), _DropPreprocessAdvice()
    added = not root.handlers  # keep logging.warning() from calling basicConfig()
    if added:
        root.addHandler(guard)
    root.addFilter(filt)
    try:
        yield
    finally:
        root.removeFilter(filt)
        if added:
            root.removeHandler(guard)


def _prepared(onnx_path: Path, workdir: Path) -> Path:
    """A copy of the model with batch norm folded, doc strings dropped, shapes inferred."""
    import onnx

    model = onnx.load(str(onnx_path))
    n = fold_batchnorm(model)
    for node in model.graph.node:
        node.doc_string = ""
    model = onnx.shape_inference.infer_shapes(model)
    out = workdir / "prepared.onnx"
    onnx.save(model, str(out))
    log.debug("folded %d batch-norm layer(s) of %s before quantization", n, onnx_path)
    return out


def quantize_dynamic_int8(onnx_path: str | Path, out_path: str | Path) -> Path:
    """Dynamic int8 quantization: int8 weights, activations quantized at run time.

    Parameters
    ----------
    onnx_path, out_path : Path
        The fp32 model and where to write the int8 one.

    Returns
    -------
    Path
        ``out_path``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_path = Path(out_path)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = _prepared(Path(onnx_path), Path(tmp))
        with _quiet_root():
            quantize_dynamic(str(prepared), str(out_path), weight_type=QuantType.QInt8, per_channel=False)
    _finish(out_path)
    return out_path


class _Reader:
    """An ONNX Runtime calibration data reader over arrays keyed by input name."""

    def __init__(self, calib: dict[str, np.ndarray], batch_size: int):
        n = min(a.shape[0] for a in calib.values())
        self._batches = [
            {k: np.ascontiguousarray(v[i : i + batch_size]) for k, v in calib.items()} for i in range(0, n, batch_size)
        ]
        self._it = iter(self._batches)

    def get_next(self):
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._batches)


def quantize_static_int8(
    onnx_path: str | Path,
    out_path: str | Path,
    calib: dict[str, np.ndarray],
    *,
    batch_size: int = 64,
    max_rows: int = 1024,
    per_channel: bool = True,
) -> Path:
    """Static int8 quantization (QDQ format) calibrated on ``calib`` (min-max ranges).

    Parameters
    ----------
    calib : dict of str to ndarray
        Calibration inputs by input name, drawn from the training split; at most ``max_rows``
        rows are used.
    """
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Reader(_Reader, CalibrationDataReader):
        pass

    out_path = Path(out_path)
    calib = {k: np.asarray(v)[:max_rows] for k, v in calib.items()}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = _prepared(Path(onnx_path), Path(tmp))
        with _quiet_root():
            quantize_static(
                str(prepared), str(out_path), Reader(calib, batch_size),
                quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                per_channel=per_channel, calibrate_method=CalibrationMethod.MinMax,
                extra_options={"ActivationSymmetric": True},
            )
    _finish(out_path)
    return out_path
