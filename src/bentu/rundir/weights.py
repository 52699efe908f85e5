"""Model weights of a run directory: ``model/model.safetensors`` plus ``model/model.json``.

The weights are a flat tensor file (safetensors: no code runs when it is read); the spec is a
typed JSON document (:class:`bentu.rundir.ModelSpec`) naming the registry model and its keyword
arguments. Callers rebuild the module with ``bentu.models.create_model(spec.name,
**spec.params)`` and ``load_state_dict``; nothing here unpickles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from bentu.atomic import atomic_path
from bentu.errors import DataError
from bentu.rundir import ModelSpec, read_artifact, write_artifact

__all__ = ["load_model_weights", "save_model_weights"]


def save_model_weights(run_dir: Path, state_dict: dict[str, torch.Tensor], *, name: str, params: dict[str, Any],
                 ensemble: int = 1, **extra: Any) -> tuple[Path, Path]:
    """Write ``model/model.safetensors`` and ``model/model.json``; return both paths.

    ``extra`` keeps application fields in the spec (e.g. imaging's ``tta``).
    """
    spec = ModelSpec(name=name, params=params, ensemble=int(ensemble), **extra)
    path = Path(run_dir) / spec.weights
    path.parent.mkdir(parents=True, exist_ok=True)
    # own, contiguous copies: safetensors refuses tensors that share storage (tied weights)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"name": name})
    return path, write_artifact(run_dir, ModelSpec, spec)


def load_model_weights(run_dir: Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """Read the spec and the state dict of a run's model (on the CPU).

    Raises
    ------
    DataError
        ``model/model.json`` or ``model/model.safetensors`` is absent or malformed.
    """
    spec = read_artifact(run_dir, ModelSpec)
    path = Path(run_dir) / spec.weights
    if not path.is_file():
        raise DataError(f"Run directory '{run_dir}' has no {spec.weights} (named by model/model.json).",
                        f"运行目录 '{run_dir}' 中没有 {spec.weights}（model/model.json 所指）。")
    return spec, load_file(str(path), device="cpu")
