"""Where models train: ``train.device`` = ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.

``auto`` is the first CUDA device when torch sees one, the CPU otherwise. On the CPU nothing
changes: the Trainer runs the very same operations as without a device setting, so results stay
bit-identical. On CUDA the Trainer moves the model and each batch to the device, runs the forward
pass under bfloat16 autocast (where the GPU supports bf16; losses and the optimizer stay in
float32) and hands the model back on the CPU.
"""

from __future__ import annotations

import platform
import re

import torch

from bentu.errors import ConfigError

__all__ = ["resolve_device", "device_info"]

_SPEC = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The :class:`torch.device` for a ``train.device`` value, or a ConfigError saying why not."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = "auto" if spec is None else str(spec).strip().lower()
    m = _SPEC.match(spec)
    if not m or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ConfigError(
            f"The 'device' parameter must be 'auto', 'cpu', 'cuda' or 'cuda:N'. Got {spec!r} instead.",
            f"参数 'device' 必须是 'auto'、'cpu'、'cuda' 或 'cuda:N'，实际为 {spec!r}。",
        )
    kind, index = m.group(1), m.group(2)
    if kind == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if kind == "auto":
        return torch.device("cuda:0") if available else torch.device("cpu")
    if not available:
        raise ConfigError(
            f"train.device is {spec!r} but torch sees no CUDA device (torch {torch.__version__}, "
            f"{'CUDA ' + torch.version.cuda if torch.version.cuda else 'a CPU-only build'}). "
            "Use train.device: auto (CUDA when present, else CPU) or cpu.",
            f"train.device 为 {spec!r}，但 torch 没有检测到 CUDA 设备（torch {torch.__version__}，"
            f"{'CUDA ' + torch.version.cuda if torch.version.cuda else '仅 CPU 版本'}）。"
            "请使用 train.device: auto（有 CUDA 时用 CUDA，否则用 CPU）或 cpu。",
        )
    n = torch.cuda.device_count()
    i = int(index or 0)
    if i >= n:
        raise ConfigError(
            f"train.device is {spec!r} but this machine has {n} CUDA device(s) (cuda:0 … cuda:{n - 1}).",
            f"train.device 为 {spec!r}，但本机只有 {n} 个 CUDA 设备（cuda:0 … cuda:{n - 1}）。",
        )
    return torch.device(f"cuda:{i}")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info(device: torch.device) -> dict:
    """What to record about a device: ``{"type", "index", "name", "bf16"}`` (JSON-ready)."""
    if device.type == "cuda":
        i = device.index or 0
        return {"type": "cuda", "index": i, "name": torch.cuda.get_device_name(i),
                "bf16": bool(torch.cuda.is_bf16_supported()), "torch": torch.__version__, "cuda": torch.version.cuda}
    return {"type": "cpu", "index": None, "name": _cpu_name(), "bf16": False, "torch": torch.__version__,
            "threads": torch.get_num_threads()}
