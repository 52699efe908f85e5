"""One application skeleton: credit, imaging and learning run the stages of
``bentu.pipeline._app`` in one order, checked on the real tiny runs of this folder's conftest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bentu.errors import ConfigError
from bentu.pipeline import run_recipe
from bentu.pipeline._app import STAGES, Application
from bentu.pipeline.credit import CreditApp
from bentu.pipeline.imaging import ImagingApp
from bentu.pipeline.learning import LearningApp
from bentu.recipe import load_recipe

#: The stage each audit step of an application belongs to ("evaluate" is the skeleton's own
#: record of metrics.json, written after the export stage).
STAGE_OF = {
    "load_data": "load", "privacy_gate": "privacy", "prepare_data": "profile",
    "pretrain": "train", "load_pretrained": "train", "baselines": "train", "train": "train", "choose_primary": "train",
    "recommendation": "evaluate", "graph_heldout": "evaluate", "data_volume": "evaluate",
    "export": "export", "drift_reference": "export", "evaluate": "export",
    "explain": "explain", "explain_gradcam": "explain", "mastery": "explain",
    "fairness": "fairness", "compress": "compress",
}
COMMON = ["energy", "compliance", "model_card", "report", "complete"]


def _steps(run: Path) -> list[str]:
    return [json.loads(line)["step"] for line in (run / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def _stage(step: str) -> str:
    return STAGE_OF.get(step) or STAGE_OF[step.split("_")[0]]  # train_transfer, train_federated → train


@pytest.mark.parametrize("fixture", ["credit_run", "learning_run", "imaging_run"])
def test_real_runs_record_their_steps_in_stage_order(fixture, request) -> None:
    run, _ = request.getfixturevalue(fixture)
    steps = _steps(run)
    assert steps[0] == "start" and steps[-len(COMMON):] == COMMON
    app_steps = steps[1:-len(COMMON)]
    order = [STAGES.index(_stage(s)) for s in app_steps]
    assert order == sorted(order), list(zip(app_steps, order))
    assert app_steps.count("evaluate") == 1 and app_steps[0] == "load_data" and app_steps[1] == "privacy_gate"
    assert "prepare_data" in app_steps  # every application profiles its data after the split


def test_the_credit_run_goes_through_every_stage(credit_run) -> None:
    stages = {_stage(s) for s in _steps(credit_run[0])[1:-len(COMMON)]}
    assert stages == {"load", "privacy", "profile", "train", "export", "explain", "fairness", "compress"}


def test_applications_fill_in_hooks_and_never_the_run() -> None:
    for app in (CreditApp, ImagingApp, LearningApp):
        assert issubclass(app, Application) and "run" not in vars(app)
        own = {name for name in vars(app) if not name.startswith("_") and callable(vars(app)[name])}
        assert own <= set(STAGES), own - set(STAGES)
    with pytest.raises(TypeError, match="overrides Application.run; override the stage hooks instead"):
        type("Mine", (Application,), {"run": lambda self: None})


def test_an_unknown_audit_step_is_refused(tmp_path: Path) -> None:
    app = object.__new__(CreditApp)  # record() needs no data
    with pytest.raises(ValueError, match=r"audit step 'scoring' is not one of bentu.rundir.AUDIT_STEPS"):
        app.record("scoring")


@pytest.mark.parametrize(("recipe", "model", "en", "zh"), [
    ("credit", "dkt", "is not a tabular model; the credit application needs one (e.g. 'tabular_mlp')",
     "不是表格模型；信用风险应用需要表格模型（例如 'tabular_mlp'）"),
    ("learning", "tabular_mlp", "is not a knowledge-tracing model; the learning application needs one (e.g. 'dkt')",
     "不是知识追踪模型；学习分析应用需要知识追踪模型（例如 'dkt'）"),
    ("imaging-breastmnist", "tabular_mlp", "is not a vision model; the imaging application needs one (e.g. 'resnet_small')",
     "不是视觉模型；影像应用需要视觉模型（例如 'resnet_small'）"),
])
def test_a_model_of_another_family_is_refused_before_any_data_is_read(tmp_path: Path, recipe, model, en, zh) -> None:
    rc = load_recipe(recipe, [f"model.name={model}"])
    (tmp_path / "data").mkdir()  # no dataset: an application that read data first would fail on that
    with pytest.raises(ConfigError) as err:
        run_recipe(rc, out=tmp_path / "out", data=tmp_path / "data", progress=False, lang="en")
    assert f"model.name {model!r} {en}" in err.value.en and f"model.name {model!r} {zh}" in err.value.zh
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())  # nothing left behind
