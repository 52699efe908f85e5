"""One conformance test over the model registry: every model exports to ONNX and matches PyTorch.

New families are covered automatically: the test is parametrised by ``list_models()``. A model
whose factory has a required parameter must have a value for it in ``REQUIRED`` below (the
registry's example builder receives the same config).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from bentu.inference.export import PARITY_TOLERANCE, export_onnx
from bentu.models import create_model, get_entry, list_models

# Values for factory parameters that have no default (the registry's "default config" of them).
REQUIRED = {"in_features": 16}


def _default_config(name: str) -> dict:
    entry = get_entry(name)
    cfg = {}
    for pname, p in inspect.signature(entry.factory).parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.default is not inspect.Parameter.empty:
            continue
        if pname not in REQUIRED:
            pytest.fail(
                f"model {name!r}: parameter {pname!r} has no default; add a value for it to REQUIRED in {__file__}"
            )
        cfg[pname] = REQUIRED[pname]
    return cfg


@pytest.mark.parametrize("name", list_models())
def test_model_exports_to_onnx_and_matches_pytorch(name, tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    entry = get_entry(name)
    cfg = _default_config(name)
    model = create_model(name, **cfg).eval()
    example = entry.example(batch_size=4, **cfg)
    path = tmp_path / f"{name}.onnx"
    result = export_onnx(model, example, path, input_names=entry.input_names)
    assert result["passed"], f"{name}: max |torch - onnx| = {result['max_abs_diff']:.3g} > {PARITY_TOLERANCE}"
    assert result["max_abs_diff"] <= 1e-4

    # The batch axis is dynamic: a batch of another size gives the same numbers too.
    other = entry.example(batch_size=3, **cfg)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: t.numpy() for n, t in zip(entry.input_names, other)})[0]
    with torch.no_grad():
        want = model(*other).numpy()
    assert got.shape == want.shape
    assert float(np.max(np.abs(got - want))) <= 1e-4


def test_registry_covers_every_family():
    families = {get_entry(n).family for n in list_models()}
    assert "tabular" in families
    assert len(list_models()) >= 1
