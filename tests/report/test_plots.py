"""Report figures speak the run's language: axis and legend text in zh or en."""

from __future__ import annotations

import numpy as np
import pytest

from bentu.report import plots


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    return y, np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)


@pytest.mark.parametrize("lang, xlabel, ylabel", [("en", "False positive rate", "True positive rate"),
                                                  ("zh", "假阳性率", "真阳性率")])
def test_roc_axis_text_follows_lang(scores, lang, xlabel, ylabel):
    ax = plots.roc_plot({"mlp": scores}, lang=lang).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (xlabel, ylabel)


def test_ks_legend_in_chinese(scores):
    ax = plots.ks_plot(*scores, lang="zh").axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["未发生（y=0）", "发生（y=1）"] and ax.get_title() == "KS 曲线"


def test_unknown_text_passes_through():
    assert plots.axis_text("lender A", "zh") == "lender A" and plots.axis_text("score", "en") == "score"
