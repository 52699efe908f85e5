"""The Python API: run a recipe from a notebook or a script and use what it made.

>>> import bentu
>>> run = bentu.run("credit", overrides=["train.epochs=3"])      # doctest: +SKIP
>>> run.metrics["test"]["auc"], run.paths["report"]              # doctest: +SKIP
>>> run.predict(new_applicants)                                  # doctest: +SKIP

Heavy libraries (torch, ONNX Runtime, pandas) are imported when a function needs them, so
``import bentu`` stays cheap.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bentu.errors import DataError, RecipeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from bentu.inference.predictor import Predictor
    from bentu.recipe import Recipe

__all__ = ["Run", "run", "load_run"]

# Files of a run directory that a user opens, by the name they have in ``Run.paths``.
_PATHS = {
    "report": "report.html", "metrics": "metrics.json", "recipe": "recipe.yaml", "data_profile": "data_profile.json",
    "privacy": "privacy.json", "fairness": "fairness.json", "compliance": "compliance.json",
    "compression": "compression.json", "energy": "energy.json", "audit_log": "audit.jsonl",
    "model_card_en": "model_card.en.md", "model_card_zh": "model_card.zh.md", "model_onnx": "model/model.onnx",
    "model_weights": "model/model.safetensors", "model_spec": "model/model.json", "preprocess": "model/preprocess.json", "reference": "model/reference.json",
    "shap_global": "explanations/shap_global.json", "reason_codes": "explanations/reason_codes.json",
}


class Run:
    """A finished run directory: its metrics, its files, and its model for scoring.

    Get one from :func:`run` or :func:`load_run`; it reads files when asked and caches them.

    Attributes
    ----------
    dir : pathlib.Path
        The run directory, absolute (so a later ``os.chdir`` does not lose it).
    """

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir).resolve()
        self._metrics: dict | None = None
        self._predictors: dict[str | None, Predictor] = {}
        self._explainer = None

    def __repr__(self) -> str:
        auc = (self.metrics.get("test") or {}).get("auc") if self.paths.get("metrics") else None
        shown = f", test_auc={auc:.4f}" if isinstance(auc, (int, float)) else ""
        return f"Run({str(self.dir)!r}{shown})"

    @property
    def metrics(self) -> dict:
        """``metrics.json``: test / validation metrics, threshold, baselines, training history."""
        if self._metrics is None:
            path = self.dir / "metrics.json"
            if not path.is_file():
                raise DataError(f"{self.dir} has no metrics.json (not a finished run).",
                                f"{self.dir} 中没有 metrics.json（不是已完成的运行）。")
            self._metrics = json.loads(path.read_text(encoding="utf-8"))
        return self._metrics

    @property
    def paths(self) -> dict[str, Path]:
        """The run's files that exist, by name: ``report``, ``metrics``, ``model_onnx``, ``model_card_zh``, ..."""
        return {k: self.dir / v for k, v in _PATHS.items() if (self.dir / v).is_file()}

    @property
    def recipe(self) -> Recipe:
        """The fully resolved recipe the run was made with (``recipe.yaml``)."""
        import yaml

        from bentu.recipe import validate_recipe

        path = self.dir / "recipe.yaml"
        return validate_recipe(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))

    @property
    def predictor(self) -> Predictor:
        """The served model (the variant chosen in ``compression.json``), as ``bentu serve`` loads it."""
        return self._load(None)

    def _load(self, variant: str | None) -> Predictor:
        if variant not in self._predictors:
            from bentu.inference.predictor import Predictor

            self._predictors[variant] = Predictor.from_run_dir(self.dir, variant)
        return self._predictors[variant]

    def predict(self, df: pd.DataFrame, variant: str | None = None) -> pd.DataFrame:
        """Score raw rows with the run's preprocessing and model.

        Parameters
        ----------
        df : pandas.DataFrame
            Rows with the input columns the model was trained on (extra columns are ignored).
        variant : str, optional
            A model variant from ``compression.json`` (e.g. ``"fp32"``); default the chosen one.

        Returns
        -------
        pandas.DataFrame
            ``score`` (probability of the event) and ``decision`` (at the run's threshold), with
            ``df``'s index — the same numbers ``bentu serve`` and ``bentu predict`` give.
        """
        from bentu.inference.batch import score_frame

        return score_frame(self._load(variant), df, source="df")

    def explain(self, df: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
        """Scores, decisions and the reason codes behind each decision (DeepSHAP, as ``/v1/explain``).

        Parameters
        ----------
        df : pandas.DataFrame
            Raw rows, as for :meth:`predict`.
        lang : {"en", "zh"}
            Language of the reason sentences.

        Returns
        -------
        pandas.DataFrame
            ``score``, ``decision``, ``reason_codes`` (``feature:direction`` joined by ``|``),
            ``reasons`` (sentences) and ``factors`` (per row, a list of dicts with ``feature``,
            ``direction``, ``contribution`` on the logit, ``strength`` and ``text``).
        """
        from bentu.inference.batch import ReasonExplainer, reason_columns, score_frame

        if lang not in ("en", "zh"):
            raise DataError(f"lang must be 'en' or 'zh'. Got {lang!r} instead.", f"lang 必须是 'en' 或 'zh'，实际为 {lang!r}。")
        if self._explainer is None:
            self._explainer = ReasonExplainer(self.predictor)
        out = score_frame(self.predictor, df, source="df")
        factors = self._explainer(df, lang=lang)
        out["reason_codes"], out["reasons"] = reason_columns(factors)
        out["factors"] = factors
        return out


def _recipe(recipe: Any, overrides: list[str]) -> Recipe:
    from bentu.recipe import Recipe, apply_overrides, load_recipe, recipe_to_dict, validate_recipe

    if isinstance(recipe, Recipe):
        return validate_recipe(apply_overrides(recipe_to_dict(recipe), overrides), f"recipe {recipe.name!r}")
    if isinstance(recipe, Mapping):
        return validate_recipe(apply_overrides(copy.deepcopy(dict(recipe)), overrides), "the recipe mapping")
    if isinstance(recipe, (str, Path)):
        return load_recipe(str(recipe), overrides)
    raise RecipeError(
        f"recipe must be a built-in recipe name, a .yaml path, a mapping or a bentu.recipe.Recipe. "
        f"Got {type(recipe).__name__} instead.",
        f"recipe 必须是内置配方名、.yaml 路径、映射或 bentu.recipe.Recipe，实际为 {type(recipe).__name__}。",
    )


def run(
    recipe: str | Path | Mapping | Recipe,
    *,
    data: str | Path | None = None,
    out: str | Path | None = None,
    lang: str | None = None,
    overrides: list[str] | Mapping[str, Any] | None = None,
    progress: bool = False,
    runs_root: str | Path = "runs",
) -> Run:
    """Run a recipe end to end, as ``bentu run`` does, and return the finished :class:`Run`.

    Parameters
    ----------
    recipe : str, Path, mapping or Recipe
        A built-in recipe name (``"credit"``), a recipe ``.yaml`` file, a mapping with the same
        keys, or a :class:`bentu.recipe.Recipe`.
    data : path, optional
        A data file (for ``data.path``), or the folder of datasets (default ``BENTU_DATA`` or
        ``../shared/data``).
    out : path, optional
        The run directory to create (must not exist, or be empty). Default ``runs/<name>-<time>/``.
    lang : {"zh", "en"}, optional
        Language of the report; default the recipe's ``locale.language``.
    overrides : list of str or mapping, optional
        ``["train.epochs=3"]`` or ``{"train.epochs": 3}``, as ``--set`` (values as YAML text).
    progress : bool, default False
        Show progress bars (off by default in notebooks and scripts).
    runs_root : path, default "runs"
        Where timestamped run directories go when ``out`` is not given.

    Returns
    -------
    Run

    Raises
    ------
    bentu.errors.BentuError
        An unknown recipe or key, a bad value, a data file that does not fit the recipe — the
        same messages ``bentu run`` prints.
    """
    from bentu.pipeline import run_recipe

    if isinstance(overrides, Mapping):
        overrides = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in overrides.items()]
    rec = _recipe(recipe, list(overrides or []))
    run_dir = run_recipe(rec, out=Path(out) if out is not None else None, data=Path(data) if data is not None else None,
                         lang=lang, progress=progress, runs_root=Path(runs_root))
    return Run(run_dir)


def load_run(run_dir: str | Path) -> Run:
    """Open a finished run directory (written by ``bentu run`` or :func:`run`).

    Raises
    ------
    bentu.errors.DataError
        ``run_dir`` does not exist or holds no run (no ``recipe.yaml`` and no ``model/``).
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise DataError(f"Run directory {path} does not exist.", f"运行目录 {path} 不存在。")
    if not (path / "recipe.yaml").is_file() and not (path / "model").is_dir():
        raise DataError(f"{path} is not a run directory: it has no recipe.yaml and no model/ (written by `bentu run`).",
                        f"{path} 不是运行目录：其中没有 recipe.yaml 和 model/（由 `bentu run` 生成）。")
    return Run(path)
