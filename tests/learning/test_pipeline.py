"""run(ctx) of the learning application, end to end on tiny data (real DKT rows, the simulator)."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pytest

from bentu.errors import DataError
from bentu.pipeline.learning import run

from _learning_helpers import DATA_ROOT


@pytest.fixture
def dkt_subset(tmp_path):
    """The first 200 students of the real v0 file (100 train, 100 test by the half rule) + its info file."""
    folder = tmp_path / "data" / "dkt_synthetic"
    (folder / "info").mkdir(parents=True)
    src = DATA_ROOT / "dkt_synthetic" / "naive_c5_q50_s4000_v0.csv.gz"
    with gzip.open(src, "rt") as fh:
        rows = fh.read().splitlines()[:200]
    path = folder / "naive_c5_q50_s4000_v0.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(rows) + "\n")
    shutil.copy(DATA_ROOT / "dkt_synthetic" / "info" / "naive_c5_q50_s4000_v0_info.txt", folder / "info")
    return path


def test_dkt_synthetic_run_writes_the_run_directory(ctx_factory, dkt_subset):
    ctx = ctx_factory("learning-dkt-synthetic", ["learning.graph=false"], data_path=dkt_subset)
    run(ctx)
    metrics = json.loads((ctx.dir / "metrics.json").read_text())
    assert 0.5 < metrics["test"]["auc"] <= 1 and 0 < metrics["test"]["accuracy"] <= 1
    assert set(metrics["baselines"]) == {"marginal", "per_skill", "running_accuracy"}
    assert set(metrics["models"]) == {"dkt", "sakt", "irt"}
    # irt's exercise-concept map comes from the training answers, not from the info file
    assert metrics["models"]["irt"]["concepts"]["source"] == "training answers"
    assert "concept_of" not in metrics["models"]["irt"]["params"]
    assert metrics["onnx_parity"]["passed"]
    assert metrics["paper"]["dkt_preprint"] == 0.82
    assert metrics["recommendation"]["evaluated"]  # simulator built from the info file's bank
    prof = json.loads((ctx.dir / "data_profile.json").read_text())
    assert prof["students"] == 200 and prof["split"]["test"]["students"] == 100
    assert prof["split"]["train"]["students"] + prof["split"]["val"]["students"] == 100
    pre = json.loads((ctx.dir / "model" / "preprocess.json").read_text())
    assert pre["kind"] == "sequence" and pre["n_exercises"] == 50 and pre["max_len"] == 50
    mastery = json.loads((ctx.dir / "explanations" / "mastery.json").read_text())
    assert len(mastery["students"]) == 3 and len(mastery["students"][0]["mastery"]) == 5
    assert (ctx.dir / "model" / "model.onnx").exists() and (ctx.dir / "model" / "model.safetensors").exists()
    steps = [json.loads(line)["step"] for line in (ctx.dir / "audit.jsonl").read_text().splitlines()]
    assert steps == ["load_data", "privacy_gate", "prepare_data", "baselines", "train", "train", "train",
                     "recommendation", "export", "evaluate", "mastery"]  # the stages of bentu.pipeline._app
    assert ctx.evidence["metrics"]["test_auc"] == metrics["test"]["auc"]
    assert {"learning_models", "learning_mastery", "learning_recommend", "learning_groups"} <= {s.key for s in ctx.report.sections}


def test_simulator_run_reports_groups_recommendation_and_graph(ctx_factory):
    ctx = ctx_factory("learning", ["learning.students=120", "learning.length=20", "learning.exercises=15",
                                   "learning.concepts=3", "learning.challengers=[]", "learning.max_len=16"])
    run(ctx)
    metrics = json.loads((ctx.dir / "metrics.json").read_text())
    assert set(metrics["by_group"]) == {"rural", "urban"}
    assert set(metrics["recommendation"]["policies"]) == {"bentu", "fixed", "random"}
    g = metrics["graph"]
    assert g["evaluated"] and len(g["heldout_exercises"]) == 5
    assert set(g["models"]) == {"without_graph", "graph"}
    assert np.isfinite(g["models"]["graph"]["heldout"]["auc"])
    prof = json.loads((ctx.dir / "data_profile.json").read_text())
    assert set(prof["groups"]) == {"rural", "urban"}


def test_missing_data_names_the_path(ctx_factory, tmp_path):
    ctx = ctx_factory("learning-dkt-synthetic", ["learning.version=7"])
    ctx.data_root = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        run(ctx)
    assert err.value.en.startswith(f"Data file {tmp_path / 'nowhere' / 'dkt_synthetic' / 'naive_c5_q50_s4000_v7.csv.gz'} does not exist.")
    assert "BENTU_DATA" in err.value.en


def test_student_ids_are_pseudonymised_and_groups_audited(ctx_factory):
    ctx = ctx_factory("learning", ["learning.students=60", "learning.length=10", "learning.exercises=8",
                                   "learning.concepts=2", "learning.challengers=[]", "learning.graph=false",
                                   "learning.recommend=false"])
    run(ctx)
    privacy = json.loads((ctx.dir / "privacy.json").read_text())
    assert privacy["pii"] == "auto" and privacy["deidentified"] is True
    fairness = json.loads((ctx.dir / "fairness.json").read_text())
    assert set(fairness["attributes"]["group"]["by_group"]) == {"rural", "urban"}
    assert "sim0-" not in (ctx.dir / "explanations" / "mastery.json").read_text()
    # the saved model serves recommendations with the run's own exercise catalogue
    from bentu.inference.recommend import catalogue_from_run, load_run_model, recommend

    recs = recommend(load_run_model(ctx.dir), [(0, 1), (3, 0)], catalogue_from_run(ctx.dir), k=2)
    assert len(recs) == 2 and all(r["concept"] in ("C0", "C1") for r in recs)


def test_ensemble_run_averages_independent_seeds_and_reloads(ctx_factory):
    """learning.ensemble=2: each model is two members (seeds s, s+1000); model.safetensors reloads as that ensemble."""
    ctx = ctx_factory("learning", ["learning.students=80", "learning.length=12", "learning.exercises=8",
                                   "learning.concepts=2", "learning.graph=false", "learning.recommend=false",
                                   "learning.ensemble=2", "train.epochs=3", "train.seed=4",
                                   "learning.challenger_train={sakt: {lr: 0.005, epochs: 2}}"])
    run(ctx)
    metrics = json.loads((ctx.dir / "metrics.json").read_text())
    dkt, sakt = metrics["models"]["dkt"], metrics["models"]["sakt"]
    assert dkt["ensemble"] == 2 and dkt["seeds"] == [4, 1004] and len(dkt["best_epoch"]) == 2
    assert 0 < dkt["single_test"]["auc"] <= 1 and dkt["single_test"]["n"] == dkt["test"]["n"]
    assert dkt["train_overrides"] == {} and sakt["train_overrides"] == {"lr": 0.005, "epochs": 2}
    assert all(e <= 2 for e in sakt["best_epoch"])  # the challenger's own epoch budget was used
    # "best model" is chosen on the validation students, never on the test split
    assert metrics["best_model"] == max(metrics["models"], key=lambda n: metrics["models"][n]["val"]["auc"])
    from bentu.inference.recommend import load_run_model
    from bentu.models.ensemble import LogitEnsemble

    model = load_run_model(ctx.dir)
    assert isinstance(model, LogitEnsemble) and len(model.members) == 2
    assert metrics["onnx_parity"]["passed"]


def test_misspelt_challenger_train_key_names_the_key():
    from bentu.errors import RecipeError
    from bentu.recipe import load_recipe

    with pytest.raises(RecipeError) as err:
        load_recipe("learning-dkt-synthetic", ["learning.challenger_train={sakt: {lrr: 0.002}}"])
    assert "unknown key 'learning.challenger_train.sakt.lrr'. Did you mean 'lr'?" in err.value.en


def test_chinese_report_figures_have_every_glyph(ctx_factory):
    """A zh run draws its Chinese axis labels with a CJK font: matplotlib reports no missing glyph."""
    import warnings

    import matplotlib

    from bentu.report.fonts import use_cjk_font

    # as in a fresh process: no CJK font registered by an earlier test
    use_cjk_font.cache_clear()
    matplotlib.rcParams["font.sans-serif"] = list(matplotlib.rcParamsDefault["font.sans-serif"])
    ctx = ctx_factory("learning", ["learning.students=40", "learning.length=8", "learning.exercises=6",
                                   "learning.concepts=2", "learning.challengers=[]", "learning.graph=false",
                                   "learning.recommend=false", "train.epochs=1"], lang="zh")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(ctx)
    assert not [w for w in caught if "missing from font" in str(w.message)]
