"""bentu.atomic: a file is written whole or not at all, and no temporary file is left behind."""

from __future__ import annotations

import doctest

import pytest
import torch

import bentu.atomic
from bentu.atomic import atomic_output, atomic_path, write_text_atomic
from bentu.rundir.weights import load_model_weights, save_model_weights


def test_doctests():
    assert doctest.testmod(bentu.atomic).failed == 0


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    out = tmp_path / "report.json"
    write_text_atomic(out, "old\n")
    with pytest.raises(RuntimeError, match="disk gone"):
        with atomic_output(out) as fh:
            fh.write("new, half")
            raise RuntimeError("disk gone")
    assert out.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "w.bin") as tmp:
            tmp.write_bytes(b"\0" * 10)
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_text_is_written_as_given(tmp_path):
    write_text_atomic(tmp_path / "a.csv", "x,名\r\n1,张\n")
    assert (tmp_path / "a.csv").read_bytes() == "x,名\r\n1,张\n".encode()


def test_weights_go_through_it(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    save_model_weights(tmp_path, state, name="tabular_mlp", params={"in_features": 3})
    spec, loaded = load_model_weights(tmp_path)
    assert torch.equal(loaded["w"], state["w"]) and spec.name == "tabular_mlp"
    assert not [p for p in (tmp_path / "model").iterdir() if p.name.startswith(".")]
