"""`bentu run imaging-*` through the command line and the common driver, on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bentu.cli.app import app

SETS = ["train.epochs=1", "model.width=4", "model.blocks=[1,1]", "model.attention=[1]", "transfer.layers=[stem,stages.0]",
        "imaging.pretrain_epochs=1",
        "imaging.data_volume=[1.0]", "imaging.compare_scratch=false", "imaging.primary=transfer",
        "imaging.gradcam_cases=1"]


def _run(tiny_root: Path, out: Path, *extra: str):
    args = ["run", "imaging-breastmnist", "--data", str(tiny_root), "--out", str(out), "--quiet", "--lang", "en"]
    for s in [*SETS, *extra]:
        args += ["--set", s]
    return CliRunner().invoke(app, args)


def test_cli_run_breastmnist_and_seed(tmp_path, tiny_root):
    res = _run(tiny_root, tmp_path / "a", "train.seed=5")
    assert res.exit_code == 0, res.output
    run_dir = tmp_path / "a"
    for rel in ("metrics.json", "data_profile.json", "model/model.onnx", "model/preprocess.json",
                "explanations/gradcam/index.json", "report.html", "audit.jsonl", "recipe.yaml"):
        assert (run_dir / rel).is_file(), rel
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["seed"] == 5 and "seed: 5" in (run_dir / "recipe.yaml").read_text()
    html = (run_dir / "report.html").read_text()
    assert "False negatives" in html and "Grad-CAM" in html
    assert CliRunner().invoke(app, ["audit", "verify", str(run_dir)]).exit_code == 0


def test_cli_missing_data_is_a_clean_error(tmp_path):
    empty = tmp_path / "data"
    empty.mkdir()
    res = _run(empty, tmp_path / "b")
    assert res.exit_code != 0
    assert "MedMNIST file not found" in res.output and "zenodo.org/records/10519652" in res.output
    assert "Traceback" not in res.output
