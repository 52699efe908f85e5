"""Latency of an ONNX model under ONNX Runtime, measured in-process after warm-up.

Numbers are wall-clock times of ``session.run`` on one thread of this process (or the number of
intra-op threads you ask for), at a given batch size, after a warm-up that lets ONNX Runtime
allocate its buffers. The thread count is recorded with every measurement: latency without it
cannot be compared.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bentu.errors import ConfigError

__all__ = ["make_session", "take_batch", "measure_latency"]


def make_session(path: str | Path, *, threads: int = 1):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and all graph optimisations."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def take_batch(inputs: dict[str, np.ndarray], batch_size: int) -> dict[str, np.ndarray]:
    """The first ``batch_size`` rows of every input, repeating rows when there are fewer."""
    out = {}
    for name, arr in inputs.items():
        n = arr.shape[0]
        if n == 0:
            raise ConfigError(
                f"Input {name!r} has no rows; latency needs at least one example.",
                f"输入 {name!r} 没有任何样本；测量延迟至少需要一个样本。",
            )
        idx = np.arange(batch_size) % n
        out[name] = np.ascontiguousarray(arr[idx])
    return out


def measure_latency(
    path: str | Path,
    inputs: dict[str, np.ndarray],
    *,
    batch_sizes: tuple[int, ...] = (1, 256),
    threads: int = 1,
    warmup: int = 20,
    repeats: int = 200,
    max_seconds: float = 5.0,
) -> dict:
    """Latency percentiles of ``path`` at each batch size.

    Parameters
    ----------
    path : Path
        The ONNX model.
    inputs : dict of str to ndarray
        Example inputs by input name (batch on axis 0); rows are repeated to fill a batch.
    batch_sizes : tuple of int
    threads : int
        ONNX Runtime intra-op threads.
    warmup, repeats : int
        Untimed runs first, then at most ``repeats`` timed runs per batch size...
    max_seconds : float
        ...or fewer when they take longer than this (at least 20 timed runs).

    Returns
    -------
    dict
        ``{"threads": int, "batch_<n>": {"p50_ms", "p99_ms", "mean_ms", "runs"}}``.
    """
    sess = make_session(path, threads=threads)
    result: dict = {"threads": int(threads)}
    for bs in batch_sizes:
        feeds = take_batch(inputs, bs)
        for _ in range(warmup):
            sess.run(None, feeds)
        times: list[float] = []
        deadline = time.perf_counter() + max_seconds
        while len(times) < repeats and (len(times) < 20 or time.perf_counter() < deadline):
            t0 = time.perf_counter()
            sess.run(None, feeds)
            times.append((time.perf_counter() - t0) * 1e3)
        arr = np.asarray(times)
        result[f"batch_{bs}"] = {
            "p50_ms": round(float(np.percentile(arr, 50)), 4),
            "p99_ms": round(float(np.percentile(arr, 99)), 4),
            "mean_ms": round(float(arr.mean()), 4),
            "runs": len(times),
        }
    return result
