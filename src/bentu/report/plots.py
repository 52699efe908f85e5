"""Plots for reports (matplotlib, Agg backend). Axis text follows ``lang`` ("en" or "zh"; Chinese
is drawn with the bundled Noto Sans CJK font); the report's captions carry the run's language too."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from bentu.i18n import is_zh  # noqa: E402
from bentu.metrics import roc_auc  # noqa: E402
from bentu.report.fonts import use_cjk_font  # noqa: E402

use_cjk_font()

__all__ = ["roc_plot", "ks_plot", "calibration_plot", "score_by_group_plot", "bar_plot", "line_plot", "axis_text",
           "fairness_plot", "importance_plot", "rounds_plot", "clinical_roc_plot", "data_volume_plot", "gradcam_grid",
           "save_gradcam_overlays", "mastery_heatmap", "policy_plot"]

#: Axis and legend text of the report's figures in Chinese (English is the key).
ZH = {
    "False positive rate": "假阳性率", "True positive rate": "真阳性率", "ROC": "ROC 曲线",
    "non-events (y=0)": "未发生（y=0）", "events (y=1)": "发生（y=1）", "score": "评分",
    "cumulative share": "累计占比", "KS": "KS 曲线", "mean predicted probability": "平均预测概率",
    "observed rate": "实际发生率", "Calibration": "校准曲线", "Score by institution": "各机构评分分布",
    "Score by group": "各群体评分分布", "1 - specificity": "1 - 特异度", "sensitivity": "灵敏度",
    "operating point": "工作点", "local training images": "本地训练图像数", "test AUC": "测试 AUC",
    "round": "轮次", "validation AUC": "验证集 AUC", "federated (global model)": "联邦（全局模型）",
    "a client dropped": "有客户端掉线", "pooled (upper bound)": "集中训练（上限）", "best alone": "单独训练最佳",
    "test student": "测试学生", "estimated mastery": "估计掌握度", "true mastery": "真实掌握度",
}


def axis_text(text: str, lang: str = "en") -> str:
    """``text`` in ``lang`` (figures' axis and legend text; unknown text is returned as is)."""
    return ZH.get(text, text) if is_zh(lang) else text


def _subplots(*args, **kw):
    """``plt.subplots`` with the CJK font registered (cached: a no-op after the first figure)."""
    use_cjk_font()
    return plt.subplots(*args, **kw)


def _fig(w: float = 5.0, h: float = 3.6):
    fig, ax = _subplots(figsize=(w, h))
    ax.grid(alpha=0.3)
    return fig, ax


def roc_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], lang: str = "en"):
    """ROC curves of several models: ``{name: (y, p)}``."""
    fig, ax = _fig()
    for name, (y, p) in curves.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    t = lambda x: axis_text(x, lang)  # noqa: E731
    ax.set(xlabel=t("False positive rate"), ylabel=t("True positive rate"), title=t("ROC"))
    ax.legend(fontsize=8)
    return fig


def ks_plot(y: np.ndarray, p: np.ndarray, lang: str = "en"):
    """Cumulative score distributions of events and non-events, with the KS gap marked."""
    fig, ax = _fig()
    grid = np.linspace(0, 1, 201)
    pos = np.sort(p[y == 1])
    neg = np.sort(p[y == 0])
    cdf_pos = np.searchsorted(pos, grid, side="right") / max(len(pos), 1)
    cdf_neg = np.searchsorted(neg, grid, side="right") / max(len(neg), 1)
    gap = cdf_neg - cdf_pos
    i = int(np.argmax(gap))
    t = lambda x: axis_text(x, lang)  # noqa: E731
    ax.plot(grid, cdf_neg, label=t("non-events (y=0)"))
    ax.plot(grid, cdf_pos, label=t("events (y=1)"))
    ax.vlines(grid[i], cdf_pos[i], cdf_neg[i], colors="red", label=f"KS = {gap[i]:.3f} at {grid[i]:.2f}")
    ax.set(xlabel=t("score"), ylabel=t("cumulative share"), title=t("KS"))
    ax.legend(fontsize=8)
    return fig


def calibration_plot(curve: dict, lang: str = "en"):
    """Reliability diagram from :func:`bentu.audit.metrics.calibration_curve`."""
    fig, ax = _fig()
    mp = np.asarray(curve["mean_predicted"], dtype=float)
    obs = np.asarray(curve["observed_rate"], dtype=float)
    ok = ~np.isnan(mp)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.plot(mp[ok], obs[ok], marker="o")
    t = lambda x: axis_text(x, lang)  # noqa: E731
    ax.set(xlabel=t("mean predicted probability"), ylabel=t("observed rate"), title=t("Calibration"))
    return fig


def score_by_group_plot(p: np.ndarray, groups: np.ndarray, title: str = "Score by group", lang: str = "en"):
    """Score distributions per group (box plot), e.g. per lender."""
    fig, ax = _fig(6.0, 3.6)
    names = sorted(map(str, np.unique(groups)))
    data = [p[groups.astype(str) == g] for g in names]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel=axis_text("score", lang), title=axis_text(title, lang))
    return fig


def bar_plot(labels: list[str], values: list[float], *, title: str, ylabel: str, ref: float | None = None):
    fig, ax = _fig()
    ax.bar(range(len(values)), values)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    if ref is not None:
        ax.axhline(ref, ls="--", c="red", lw=0.8)
    ax.set(title=title, ylabel=ylabel)
    return fig


def line_plot(series: dict[str, tuple[list[float], list[float]]], *, title: str, xlabel: str, ylabel: str):
    fig, ax = _fig()
    for name, (x, y) in series.items():
        ax.plot(x, y, marker="o", label=name)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return fig


_PINYIN = {
    "北京": "Beijing", "天津": "Tianjin", "河北": "Hebei", "山西": "Shanxi", "内蒙古": "Inner Mongolia",
    "辽宁": "Liaoning", "吉林": "Jilin", "黑龙江": "Heilongjiang", "上海": "Shanghai", "江苏": "Jiangsu",
    "浙江": "Zhejiang", "安徽": "Anhui", "福建": "Fujian", "江西": "Jiangxi", "山东": "Shandong",
    "河南": "Henan", "湖北": "Hubei", "湖南": "Hunan", "广东": "Guangdong", "广西": "Guangxi",
    "海南": "Hainan", "重庆": "Chongqing", "四川": "Sichuan", "贵州": "Guizhou", "云南": "Yunnan",
    "西藏": "Tibet", "陕西": "Shaanxi", "甘肃": "Gansu", "青海": "Qinghai", "宁夏": "Ningxia", "新疆": "Xinjiang",
}


def _latin(label: str) -> str:
    """Province names in pinyin, for English figures."""
    for zh, en in _PINYIN.items():
        label = label.replace(zh, en)
    return label


def fairness_plot(audit: dict, lang: str = "en", *, attributes: list[str] | None = None, label=None):
    """Selection rate by group with 95 % interval bars and the four-fifths line.

    Parameters
    ----------
    audit : dict
        Output of :func:`bentu.audit.fairness.fairness_audit`.
    lang : {"zh", "en"}
        Language of the labels (province names in pinyin in English).
    attributes : list of str, optional
        Which single attributes to draw; default all.
    label : callable, optional
        Display name of an attribute or group (e.g. :class:`bentu.report.glossary.Namer`).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per attribute; the dashed line is 0.8 × the reference group's rate; flagged
        groups are drawn in red.
    """
    from bentu.audit.fairness import FOUR_FIFTHS

    zh = is_zh(lang)
    name_of = label or str
    names = attributes or list(audit["attributes"])
    fig, axes = _subplots(len(names), 1, figsize=(7, 1.0 + 0.45 * sum(
        len(audit["attributes"][n]["groups"]) for n in names) + 0.6 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        res = audit["attributes"][name]
        rows = res["groups"]
        y = np.arange(len(rows))
        rate = np.array([r["selection_rate"] for r in rows])
        ci = np.array([r.get("selection_rate_ci") or [r["selection_rate"]] * 2 for r in rows], dtype=float)
        err = np.vstack([rate - ci[:, 0], ci[:, 1] - rate])
        colors = ["#c0392b" if r.get("four_fifths") else ("#95a5a6" if r["small"] else "#2e86c1") for r in rows]
        ax.barh(y, rate, xerr=err, color=colors, capsize=3)
        groups = [name_of(r["group"]) if zh else _latin(name_of(r["group"])) for r in rows]
        ax.set_yticks(y, [f"{g} (n={r['n']})" for g, r in zip(groups, rows)], fontsize=10)
        ax.invert_yaxis()  # first group on top
        ref = res["reference_group"]
        if ref is not None:
            ref_rate = next(r["selection_rate"] for r in rows if r["group"] == ref)
            ax.axvline(FOUR_FIFTHS * ref_rate, ls="--", color="k", lw=1)
        ax.set_xlim(0, 1)
        ax.set_title(name_of(name), fontsize=11)
        ax.tick_params(axis="x", labelsize=10)
    xlabel = "通过率（虚线 = 最高组的 0.8 倍）" if zh else "approval (selection) rate; dashed: 0.8 × highest group"
    axes[-1, 0].set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def importance_plot(importance: list[tuple[str, float]], *, top: int = 15, lang: str = "en", label=None):
    """Horizontal bar chart of global importance (mean |SHAP|, logit units), largest on top.

    ``importance`` is :meth:`bentu.audit.explain.Explanation.global_importance`; ``label`` gives a
    feature's display name (default: the feature name).
    """
    imp = list(importance)[:top][::-1]
    fig, ax = _subplots(figsize=(6.5, 0.9 + 0.32 * len(imp)))
    ax.barh([(label or str)(f) for f, _ in imp], [v for _, v in imp], color="#2e86c1")
    ax.set_xlabel("平均 |SHAP|（对数几率）" if is_zh(lang) else "mean |SHAP| (log-odds of the event)")
    ax.tick_params(axis="both", labelsize=10)
    fig.tight_layout()
    return fig


def rounds_plot(result_or_comparison, lang: str = "en"):
    """Validation AUC per federated round, with the pooled and the best institution-alone AUC as lines.

    Accepts a :class:`bentu.federated.FederatedResult` or the dict of
    :func:`bentu.federated.compare_federation`.
    """
    t = lambda x: axis_text(x, lang)  # noqa: E731
    comp = result_or_comparison if isinstance(result_or_comparison, dict) else None
    rounds = comp["federated"]["rounds"] if comp else result_or_comparison.rounds
    fig, ax = _subplots(figsize=(6, 3.6))
    xs = [r["round"] for r in rounds]
    ax.plot(xs, [r["val_auc"] for r in rounds], marker="o", ms=3, label=t("federated (global model)"))
    dropped = [r["round"] for r in rounds if r.get("dropped")]
    if dropped:
        ax.scatter(dropped, [r["val_auc"] for r in rounds if r.get("dropped")], marker="x", color="red",
                   zorder=3, label=t("a client dropped"))
    if comp:
        ax.axhline(comp["pooled"]["val"]["auc"], color="black", ls="--", label=t("pooled (upper bound)"))
        if comp["local"]:
            name, best = max(comp["local"].items(), key=lambda kv: kv[1]["val"]["auc"])
            ax.axhline(best["val"]["auc"], color="grey", ls=":", label=f"{t('best alone')} ({name})")
    ax.set_xlabel(t("round"))
    ax.set_ylabel(t("validation AUC"))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# -- imaging -----------------------------------------------------------------------------------


def clinical_roc_plot(curves: list[tuple[str, np.ndarray, np.ndarray, float]], operating_point: tuple[float, float],
                      lang: str = "en"):
    """ROC curves ``(label, y_true, p, auc)`` on one axis, with the operating point
    ``(1 - specificity, sensitivity)`` of the deployed model."""
    fig, ax = _subplots(figsize=(4.2, 4))
    for label, y_true, p, auc in curves:
        fpr, tpr, _ = roc_curve(y_true, p)
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([operating_point[0]], [operating_point[1]], "ko", label=axis_text("operating point", lang))
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel(axis_text("1 - specificity", lang))
    ax.set_ylabel(axis_text("sensitivity", lang))
    ax.legend(loc="lower right", fontsize=7)
    return fig


def data_volume_plot(curve: list[dict], arms: list[str], lang: str = "en"):
    """Test AUC (± std) against the number of local training images, one line per arm."""
    fig, ax = _subplots(figsize=(4.5, 3.2))
    for a in arms:
        pts = [c for c in curve if c["arm"] == a]
        ax.errorbar([c["n_train"] for c in pts], [c["test_auc"] for c in pts], yerr=[c["test_auc_std"] for c in pts],
                    marker="o", capsize=3, label=a)
    ax.set_xscale("log")
    ax.set_xlabel(axis_text("local training images", lang))
    ax.set_ylabel(axis_text("test AUC", lang))
    ax.legend(fontsize=7)
    return fig


def _show(ax, img: np.ndarray) -> None:
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=255)


def gradcam_grid(images: np.ndarray, cams: np.ndarray, titles: list[str]):
    """Grad-CAM maps (``jet``, alpha 0.45) over uint8 images ``(n, h, w, c)``, four to a row;
    a title ``"TP #3: true=…, p=…"`` is split at its first colon."""
    import math

    n = len(titles)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = _subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, cam, title in zip(axes.ravel(), images, cams, titles):
        _show(ax, img)
        ax.imshow(cam, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(title.split(":")[0] + "\n" + title.split(":", 1)[1].strip(), fontsize=6)
    return fig


def save_gradcam_overlays(images: np.ndarray, cams: np.ndarray, titles: list[str], out_dir, *,
                          prefix: str = "case") -> list:
    """Write one PNG per image: the image beside it with its Grad-CAM map overlaid (``jet``,
    alpha 0.45). ``images`` are uint8 ``(n, h, w, c)``; ``cams`` are ``(n, h, w)`` in [0, 1]."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (img, cam, title) in enumerate(zip(images, cams, titles)):
        fig, axes = _subplots(1, 2, figsize=(4.2, 2.3))
        for ax in axes:
            _show(ax, img)
            ax.axis("off")
        axes[1].imshow(cam, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        fig.suptitle(title, fontsize=7)
        p = out / f"{prefix}_{i:02d}.png"
        fig.savefig(p, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(p)
    return paths


# -- learning ----------------------------------------------------------------------------------


def mastery_heatmap(mastery: np.ndarray, concepts: list[str], lang: str = "en"):
    """Estimated mastery (students × concepts, in [0, 1])."""
    m = np.asarray(mastery)
    fig, ax = _subplots(figsize=(1.2 + 0.5 * m.shape[1], 1.2 + 0.25 * m.shape[0]))
    im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(m.shape[1]), concepts)
    ax.set_ylabel(axis_text("test student", lang))
    fig.colorbar(im, ax=ax, label=axis_text("estimated mastery", lang))
    return fig


def policy_plot(policies: dict[str, dict], lang: str = "en"):
    """True mastery (mean ± std over seeds) reached by each recommendation policy."""
    fig, ax = _subplots(figsize=(4.5, 3))
    means = [v["mean"] for v in policies.values()]
    ax.bar(list(policies), means, yerr=[v["std"] for v in policies.values()], color=["C2", "C0", "C7"][:len(policies)] or None)
    ax.set_ylim(min(means) - 0.05, max(means) + 0.03)
    ax.set_ylabel(axis_text("true mastery", lang))
    return fig
