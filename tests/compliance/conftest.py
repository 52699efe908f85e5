"""Real tiny runs for the compliance tests, each built once per session with `run_recipe`.

- ``credit_run``: the built-in credit recipe (k = 5, shap, human review declared), tiny.
- ``csv_runs``: a user CSV recipe (credit rows with a ``login_password`` column) twice: ``good``
  (a policy suppresses the password) and ``changed`` (a policy keeps ``mobile``, nothing treats
  the password, ``audit.explain: null``, ``governance.human_review`` not declared, no target k).
- ``learning_run``: the learning recipe with ``governance.human_review`` not declared.
- ``imaging_run``: BreastMNIST cut to a few images (pixels only: ``privacy.pii`` is off).

Tests must not change these directories (copy one to ``tmp_path`` first).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import yaml

from bentu.datasets.credit_sim import simulate_credit
from bentu.pipeline import run_recipe
from bentu.recipe import load_recipe

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
KEY = "compliance-tests-0123456789abcdef"
DELETE = object()  # a recipe key left out (not declared)

CREDIT_TINY = ["train.epochs=1", "data.options.n_rows=1500", "train.baselines=[]"]
LEARNING_TINY = [
    "train.epochs=2", "train.batch_size=32", "train.lr=0.01", "model.hidden=16", "model.embed=8",
    "learning.challengers=[]", "learning.students=120", "learning.length=20", "learning.exercises=15",
    "learning.concepts=3", "learning.max_len=16", "learning.rec_students=8", "learning.rec_steps=3",
    "learning.rec_seeds=[0,1]", "learning.mastery_students=3", "learning.heldout_exercises=5",
    "learning.graph=false", "learning.recommend=false",
]
IMAGING_TINY = [
    "train.epochs=1", "train.batch_size=16", "model.width=4", "model.blocks=[1,1]", "model.attention=[1]",
    "transfer.layers=[stem,stages.0]", "imaging.pretrain_epochs=1", "imaging.data_volume=[1.0]",
    "imaging.gradcam_cases=1",
]

CSV_RECIPE = {
    "name": "bank-csv",
    "application": "credit",
    "locale": {"region": "CN", "language": "zh-CN", "rules": ["pipl", "gbt37964", "jrt0171", "jrt0221",
                                                               "eu_ai_act", "gdpr"]},
    "data": {"format": "csv", "path": "applicants.csv", "target": "default",
             "identifiers": ["name", "id_card", "mobile"], "sensitive": ["sex", "age", "province", "hukou"],
             "institution": "lender", "drop": ["true_pd"], "split": {"test": 0.2, "val": 0.1}},
    "privacy": {"pii": "auto", "key_env": "BENTU_PSEUDONYM_KEY", "k_anonymity": 5},
    "model": {"name": "tabular_mlp", "hidden": [16]},
    "train": {"epochs": 1, "batch_size": 256, "seed": 0, "baselines": []},
    "compress": {"int8": False},
    "audit": {"fairness": True, "fairness_attributes": ["sex"], "explain": "shap"},
    "governance": {"subjects": ["adults"], "data_location": "CN", "serving_location": "CN",
                   "human_review": True,
                   "intended_use": {"zh": "为信贷员提供违约概率排序，辅助授信决定",
                                    "en": "Ranking applicants by probability of default for credit officers"},
                   "limitations": {"zh": "仅在本行历史申请人数据上验证",
                                   "en": "Validated on this bank's past applicants only"}},
}


@pytest.fixture(scope="session", autouse=True)
def _environment(tmp_path_factory):
    """One thread, a pseudonymisation key and a private model cache for the whole session."""
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENTU_PSEUDONYM_KEY", KEY)
        mp.setenv("BENTU_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def _recipe_of(run: Path) -> dict:
    return yaml.safe_load((run / "recipe.yaml").read_text(encoding="utf-8"))


def _run(root: Path, recipe: str, sets: list[str], data: Path | None = None) -> tuple[Path, dict]:
    run = run_recipe(load_recipe(recipe, sets), out=root / "run", data=data, progress=False, lang="en")
    return run, _recipe_of(run)


@pytest.fixture(scope="session")
def credit_run(tmp_path_factory) -> tuple[Path, dict]:
    """The built-in credit recipe, tiny: (run directory, its recipe.yaml)."""
    return _run(tmp_path_factory.mktemp("credit"), "credit", CREDIT_TINY)


def _write_csv_recipe(folder: Path, name: str, *, policy: dict, changes: dict) -> Path:
    recipe = yaml.safe_load(yaml.safe_dump(CSV_RECIPE))
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = recipe
        for p in parents:
            node = node[p]
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    (folder / f"{name}-policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    recipe["name"] = f"bank-csv-{name}"
    recipe["privacy"]["policy"] = str(folder / f"{name}-policy.yaml")
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def csv_runs(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """A user CSV recipe run twice: ``good`` and ``changed`` (see the module docstring)."""
    folder = tmp_path_factory.mktemp("csv")
    df = simulate_credit(n_rows=1500, seed=0)
    df["login_password"] = [f"pw{i:05d}!x" for i in range(len(df))]
    df.to_csv(folder / "applicants.csv", index=False)
    good = _write_csv_recipe(folder, "good", policy={"columns": {"login_password": "suppress"}}, changes={})
    changed = _write_csv_recipe(folder, "changed", policy={"columns": {"mobile": "keep"}}, changes={
        "audit.explain": None, "governance.human_review": DELETE, "privacy.k_anonymity": DELETE})
    return {name: _run(folder / name, str(path), [], data=folder)
            for name, path in (("good", good), ("changed", changed))}


@pytest.fixture(scope="session")
def learning_run(tmp_path_factory) -> tuple[Path, dict]:
    """The learning recipe, tiny, with ``governance.human_review`` not declared."""
    return _run(tmp_path_factory.mktemp("learning"), "learning", [*LEARNING_TINY, "governance.human_review=null"])


@pytest.fixture(scope="session")
def imaging_run(tmp_path_factory) -> tuple[Path, dict]:
    """BreastMNIST, a few images per class (cut from the real file), tiny model."""
    spec = importlib.util.spec_from_file_location(  # the imaging tests' own cutter
        "_imaging_conftest", Path(__file__).resolve().parents[1] / "imaging" / "conftest.py")
    cut = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cut)
    BREAST, PNEUMONIA, write_subset = cut.BREAST, cut.PNEUMONIA, cut.write_subset
    root = tmp_path_factory.mktemp("imaging-data")
    write_subset(BREAST, root / "medmnist" / "breastmnist.npz", {"train": 16, "val": 6, "test": 8})
    write_subset(PNEUMONIA, root / "medmnist" / "pneumoniamnist.npz", {"train": 16, "val": 6, "test": 4})
    return _run(tmp_path_factory.mktemp("imaging"), "imaging-breastmnist", IMAGING_TINY, data=root)
