"""SHAP explanations of tabular models, summed back to raw features and turned into reason codes.

Attributions are in the model's **logit** space: for each row, the attributions of its raw
features sum to ``logit(x) − base_value``, where ``base_value`` is the mean logit over the
background rows. Positive attributions push toward the event (credit: default) — the adverse
factors a reason code names.

Methods (``method=``):

* ``"deeplift"`` — DeepSHAP (DeepLIFT rescale rule averaged over the background), the algorithm
  of ``shap.DeepExplainer``, computed in one batched pass for MLPs built from ``Linear``,
  ``BatchNorm1d``, ``ReLU`` and ``Dropout`` (e.g. ``tabular_mlp``); exact additivity.
* ``"deep"`` — ``shap.DeepExplainer`` itself (any model it supports; loops over rows, slower).
* ``"gradient"`` — ``shap.GradientExplainer`` (expected gradients; additive only approximately).
* ``"auto"`` (default) — ``"deeplift"`` when the model is such an MLP, else ``"deep"``.

``bench/explain.py`` measures their speed and additivity. KernelExplainer is not offered: too
slow for credit volumes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from bentu.audit.reason_phrases import describe
from bentu.errors import ConfigError, DataError
from bentu.i18n import is_zh, normalize_lang

__all__ = ["Explanation", "explain_tabular"]

log = logging.getLogger(__name__)

METHODS = ("auto", "deeplift", "deep", "gradient")
_STRENGTH = ((0.5, "strong", "显著"), (0.2, "moderate", "中等"), (0.0, "slight", "轻微"))
# exp() of a contribution above this overflows a float: an input far outside anything the model saw
# (age -54352) can give one; the odds ratio is then reported as exp(700) ≈ 1e304, never an error
_MAX_LOG_ODDS = 700.0


def _odds(phi: float) -> float:
    return math.exp(min(phi, _MAX_LOG_ODDS))


def _times(factor: float) -> str:
    return f"{factor:.1f}" if factor < 1e4 else f"{factor:.1e}"


@dataclass
class Explanation:
    """Per-decision attributions over raw features, in logit space.

    Attributes
    ----------
    base_value : float
        Mean logit of the background rows.
    values : numpy.ndarray
        ``(n, n_features)`` attributions per raw feature; each row sums to
        ``logits[i] - base_value``.
    feature_names : list of str
        Raw feature names (columns of ``values``).
    logits : numpy.ndarray
        The model's logit for each explained row.
    method : str
        The explainer used.
    direction : numpy.ndarray
        ``(n, n_features)``: the row's value of the feature's first preprocessed column minus its
        background mean (> 0: higher than typical). Used to phrase numeric features.
    sensitive_features_used : list of str
        Sensitive attributes that are model features (they then appear in reason codes,
        marked ``"sensitive": True``).
    event : tuple of str
        The event's name in English and Chinese, e.g. ``("default", "违约")``.
    """

    base_value: float
    values: np.ndarray
    feature_names: list[str]
    logits: np.ndarray
    method: str
    direction: np.ndarray
    sensitive_features_used: list[str] = field(default_factory=list)
    event: tuple[str, str] = ("default", "违约")
    space: str = "logit"

    def additivity_error(self) -> float:
        """Largest ``|Σ attributions + base_value − logit|`` over the rows."""
        return float(np.max(np.abs(self.values.sum(axis=1) + self.base_value - self.logits))) if len(self.logits) else 0.0

    def global_importance(self) -> list[tuple[str, float]]:
        """Raw features by mean absolute attribution (logit units), largest first."""
        imp = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(len(self.feature_names))
        order = np.argsort(-imp, kind="stable")
        return [(self.feature_names[i], float(imp[i])) for i in order]

    def reason_codes(self, raw_rows: pd.DataFrame, *, top_k: int = 4, lang: str = "zh") -> list[list[dict]]:
        """The top adverse factors of each decision, as plain sentences.

        Parameters
        ----------
        raw_rows : pandas.DataFrame
            The explained rows before preprocessing, in the same order (values are quoted).
        top_k : int, default 4
            At most this many factors per decision; only factors that push toward the event
            (positive attribution) are given, so a decision may have fewer.
        lang : {"zh", "en"}

        Returns
        -------
        list of list of dict
            Per row, factors largest first: ``{"feature", "value", "direction" ("high" | "low" |
            "category" | "missing"), "contribution" (logit), "odds_ratio" (exp(contribution)),
            "strength" ("strong" ≥ 0.5, "moderate" ≥ 0.2, "slight"), "sensitive", "text"}``.

        Raises
        ------
        DataError
            If ``raw_rows`` has a different number of rows or lacks an explained feature.
        """
        if len(raw_rows) != len(self.values):
            raise DataError(
                f"reason_codes: raw_rows has {len(raw_rows)} rows but {len(self.values)} decisions were "
                "explained; pass the same rows, in the same order.",
                f"reason_codes：raw_rows 有 {len(raw_rows)} 行，但解释了 {len(self.values)} 个决策；"
                "请按相同顺序传入相同的行。",
            )
        missing = sorted(set(self.feature_names) - set(map(str, raw_rows.columns)))
        if missing:
            raise DataError(
                f"reason_codes: raw_rows lacks column(s) {', '.join(map(repr, missing[:5]))} that were explained.",
                f"reason_codes：raw_rows 缺少已解释的列 {', '.join(map(repr, missing[:5]))}。",
            )
        lang = normalize_lang(lang)
        cols = {f: raw_rows[f].to_numpy(dtype=object) for f in self.feature_names}
        numeric = {f: pd.api.types.is_numeric_dtype(raw_rows[f]) and not pd.api.types.is_bool_dtype(raw_rows[f])
                   for f in self.feature_names}
        sensitive = set(self.sensitive_features_used)
        k = max(int(top_k), 0)
        top = np.argsort(-self.values, axis=1, kind="stable")[:, :k]
        out = []
        for i in range(len(self.values)):
            reasons = []
            for j in top[i]:
                phi = float(self.values[i, j])
                if phi <= 1e-9:
                    break
                f = self.feature_names[j]
                value = cols[f][i]
                direction = self._direction(i, j, value, numeric[f])
                reasons.append({
                    "feature": f, "value": _jsonable(value), "direction": direction,
                    "contribution": phi, "odds_ratio": _odds(phi),
                    "strength": next(s[1] for s in _STRENGTH if phi >= s[0]),
                    "sensitive": f in sensitive,
                    "text": self._sentence(f, direction, value, phi, lang),
                })
            out.append(reasons)
        return out

    def _direction(self, i: int, j: int, value, is_numeric: bool) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return "missing"
        if not is_numeric:
            return "category"
        return "high" if self.direction[i, j] > 0 else "low"

    def _sentence(self, feature: str, direction: str, value, phi: float, lang: str) -> str:
        phrase = describe(feature, direction=direction, value=value, lang=lang)
        factor = _odds(phi)
        en_event, zh_event = self.event
        if is_zh(lang):
            size = (f"使{zh_event}几率约增至 {_times(factor)} 倍" if factor >= 2
                    else f"使{zh_event}几率提高约 {_pct(factor)}")
            return f"{phrase}，{size}"
        size = (f"multiplying the odds of {en_event} by about {_times(factor)}" if factor >= 2
                else f"raising the odds of {en_event} by about {_pct(factor)}")
        return f"{phrase[:1].upper()}{phrase[1:]}, {size}"

    def to_dict(self, *, top: int = 20) -> dict:
        """JSON-ready summary: method, space, base value, additivity error, global importance."""
        return {
            "method": self.method, "space": self.space, "base_value": self.base_value,
            "n_rows": int(len(self.values)), "additivity_error": self.additivity_error(),
            "global_importance": [{"feature": f, "mean_abs_shap": v} for f, v in self.global_importance()[:top]],
            "sensitive_features_used": list(self.sensitive_features_used),
        }


def _pct(factor: float) -> str:
    p = (factor - 1.0) * 100
    return "<1%" if p < 0.5 else f"{p:.0f}%"


def _jsonable(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)


# --------------------------------------------------------------------------- explainers

_SUPPORTED = (nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Identity)


def _mlp_layers(model: nn.Module) -> list[nn.Module] | None:
    """The layers of an MLP in forward order, or None if the model is not a plain MLP."""
    from bentu.models.tabular import TabularMLP

    if isinstance(model, TabularMLP):
        layers = list(model.body) + [model.head]
    elif isinstance(model, nn.Sequential):
        layers = [m for m in model.modules() if not isinstance(m, nn.Sequential)]
    else:
        return None
    return layers if all(isinstance(m, _SUPPORTED) for m in layers) else None


def _affine(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(weight matrix or scale vector, bias) of an affine layer in eval mode, float64."""
    if isinstance(layer, nn.Linear):
        b = layer.bias if layer.bias is not None else torch.zeros(layer.out_features)
        return layer.weight.detach().double(), b.detach().double()
    if isinstance(layer, nn.BatchNorm1d):
        scale = layer.weight.detach().double() / torch.sqrt(layer.running_var.double() + layer.eps)
        return scale, layer.bias.detach().double() - layer.running_mean.double() * scale
    return None


def _forward(params, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and the pre-activations at every ReLU."""
    zs, h = [], x
    for kind, p in params:
        if kind == "linear":
            h = h @ p[0].T + p[1]
        elif kind == "bn":
            h = h * p[0] + p[1]
        elif kind == "relu":
            zs.append(h)
            h = torch.relu(h)
    return h.reshape(h.shape[0], -1)[:, 0], zs


def _deeplift(layers: list[nn.Module], X: np.ndarray, B: np.ndarray, chunk: int = 64) -> tuple[np.ndarray, float]:
    """DeepSHAP for an MLP: DeepLIFT rescale multipliers for every (row, background) pair,
    attributions averaged over the background. Returns (phi (n, d), base value)."""
    params = []
    for layer in layers:
        if isinstance(layer, nn.ReLU):
            params.append(("relu", None))
        elif isinstance(layer, nn.Linear):
            params.append(("linear", _affine(layer)))
        elif isinstance(layer, nn.BatchNorm1d):
            params.append(("bn", _affine(layer)))
    with torch.no_grad():
        b = torch.as_tensor(B, dtype=torch.float64)
        fb, zbs = _forward(params, b)
        out = np.empty(X.shape, dtype=np.float64)
        for s in range(0, len(X), chunk):
            x = torch.as_tensor(X[s:s + chunk], dtype=torch.float64)
            _, zxs = _forward(params, x)
            m = torch.ones(x.shape[0], b.shape[0], 1, dtype=torch.float64)  # (c, nb, out)
            k = len(zxs)
            for kind, p in reversed(params):
                if kind == "linear":
                    m = m @ p[0]  # (c, nb, in)
                elif kind == "bn":
                    m = m * p[0]
                elif kind == "relu":
                    k -= 1
                    zx, zb = zxs[k][:, None, :], zbs[k][None, :, :]  # (c, 1, h), (1, nb, h)
                    dz = zx - zb
                    ratio = torch.where(dz.abs() > 1e-9, (torch.relu(zx) - torch.relu(zb)) / torch.where(
                        dz.abs() > 1e-9, dz, torch.ones_like(dz)), (zx > 0).to(dz.dtype))
                    m = m * ratio
            out[s:s + chunk] = ((x[:, None, :] - b[None, :, :]) * m).mean(dim=1).numpy()
    return out, float(fb.mean())


class _Logit2D(nn.Module):
    """Wrap a model so that its output is ``(b, 1)`` logits, as shap expects."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x).reshape(x.shape[0], -1)[:, :1]


def _shap_values(model: nn.Module, X: np.ndarray, B: np.ndarray, method: str, nsamples: int, seed: int):
    import shap

    wrapped = _Logit2D(model).eval()
    x, b = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(B, dtype=torch.float32)
    if method == "deep":
        explainer = shap.DeepExplainer(wrapped, b)
        values = explainer.shap_values(x, check_additivity=False)
        base = float(np.asarray(explainer.expected_value).ravel()[0])
    else:
        explainer = shap.GradientExplainer(wrapped, b)
        values = explainer.shap_values(x, nsamples=nsamples, rseed=seed)
        with torch.no_grad():
            base = float(wrapped(b).mean())
    return np.asarray(values, dtype=np.float64).reshape(X.shape), base


def _check_inputs(X, background, feature_names, groups, method):
    if method not in METHODS:
        raise ConfigError(
            f"The 'method' parameter of explain_tabular must be one of {', '.join(METHODS)}. Got {method!r} instead.",
            f"explain_tabular 的参数 'method' 必须是 {', '.join(METHODS)} 之一，实际为 {method!r}。",
        )
    if X.ndim != 2 or background.ndim != 2 or X.shape[1] != background.shape[1]:
        raise DataError(
            f"explain_tabular: X {X.shape} and background {background.shape} must be 2-D with the same "
            "number of (preprocessed) columns.",
            f"explain_tabular：X {X.shape} 与 background {background.shape} 必须是二维且列数相同。",
        )
    if len(feature_names) != X.shape[1]:
        raise DataError(
            f"explain_tabular: {len(feature_names)} feature names for {X.shape[1]} columns; pass one name per "
            "preprocessed column.",
            f"explain_tabular：{len(feature_names)} 个特征名对应 {X.shape[1]} 列；每个预处理列应有一个名称。",
        )
    if groups is not None:
        idx = sorted(i for cols in groups.values() for i in cols)
        if idx != list(range(X.shape[1])):
            raise DataError(
                f"explain_tabular: groups must cover each of the {X.shape[1]} preprocessed columns exactly once.",
                f"explain_tabular：groups 必须恰好覆盖 {X.shape[1]} 个预处理列各一次。",
            )


def explain_tabular(
    *,
    model: nn.Module,
    background: np.ndarray,
    X: np.ndarray,
    feature_names: list[str],
    groups: dict[str, list[int]] | None = None,
    method: str = "auto",
    n_background: int = 100,
    sensitive: Sequence[str] = (),
    event: tuple[str, str] = ("default", "违约"),
    nsamples: int = 200,
    seed: int = 0,
) -> Explanation:
    """SHAP attributions of a tabular model's logit, summed to raw features.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a ``(b, d)`` float tensor of preprocessed rows to ``(b,)`` (or ``(b, 1)``) logits.
        Put in eval mode here.
    background : numpy.ndarray
        Preprocessed reference rows (e.g. training rows); ``n_background`` of them are drawn.
    X : numpy.ndarray
        Preprocessed rows to explain, ``(n, d)``.
    feature_names : list of str
        Names of the ``d`` preprocessed columns.
    groups : dict, optional
        Raw feature → indices of its preprocessed columns (one-hot groups, missing indicators),
        e.g. ``TabularPreprocessor.groups_``; attributions are summed per raw feature. Default:
        each column is its own feature.
    method : {"auto", "deeplift", "deep", "gradient"}, default "auto"
        See the module notes.
    n_background : int, default 100
        Background rows drawn (seeded) from ``background``.
    sensitive : sequence of str
        Sensitive attribute names; any that are model features are reported in
        ``sensitive_features_used`` and marked in reason codes.
    event : tuple of str, default ("default", "违约")
        Name of the event (English, Chinese) used in reason-code sentences.
    nsamples : int, default 200
        Samples per row for ``"gradient"``.
    seed : int, default 0

    Returns
    -------
    Explanation
    """
    X = np.asarray(X, dtype=np.float32)
    background = np.asarray(background, dtype=np.float32)
    _check_inputs(X, background, feature_names, groups, method)
    rng = np.random.default_rng(seed)
    if len(background) > n_background:
        background = background[np.sort(rng.choice(len(background), n_background, replace=False))]
    model = model.eval()
    layers = _mlp_layers(model)
    if method == "auto":
        method = "deeplift" if layers is not None else "deep"
    with torch.no_grad():
        logits = model(torch.as_tensor(X)).reshape(len(X), -1)[:, 0].double().numpy()
    if method == "deeplift":
        if layers is None:
            raise ConfigError(
                f"method='deeplift' needs an MLP of Linear/BatchNorm1d/ReLU/Dropout layers; got {type(model).__name__}. "
                "Use method='deep' or 'gradient'.",
                f"method='deeplift' 需要由 Linear/BatchNorm1d/ReLU/Dropout 组成的 MLP，实际为 {type(model).__name__}；"
                "请改用 method='deep' 或 'gradient'。",
            )
        phi, base = _deeplift(layers, X, background)
    else:
        phi, base = _shap_values(model, X, background, method, nsamples, seed)
    if groups is None:
        groups = {name: [i] for i, name in enumerate(feature_names)}
    raw = list(groups)
    values = np.column_stack([phi[:, groups[f]].sum(axis=1) for f in raw]) if raw else np.zeros((len(X), 0))
    bg_mean = background.mean(axis=0)
    direction = np.column_stack([X[:, groups[f][0]] - bg_mean[groups[f][0]] for f in raw]) if raw else values
    used = [f for f in raw if f in set(sensitive)]
    if used:
        log.warning("sensitive attribute(s) %s are model features; they appear in reason codes", used)
    return Explanation(base_value=base, values=values, feature_names=raw, logits=logits, method=method,
                       direction=direction, sensitive_features_used=used, event=tuple(event))
