"""Helpers of the learning tests: the shared data folder, tiny settings, a hand-built run context."""

from __future__ import annotations

from pathlib import Path

import torch

from bentu.compliance.audit_log import AuditLog
from bentu.pipeline._context import RunContext
from bentu.recipe import load_recipe
from bentu.report.builder import Report

DATA_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data"

torch.set_num_threads(1)

#: Settings that keep a whole learning run to a few seconds.
TINY = [
    "train.epochs=3", "train.batch_size=32", "train.lr=0.01", "model.hidden=16", "model.embed=8",
    "learning.challenger_params={sakt: {d_model: 16, heads: 2}}", "learning.graph_params={embed: 8, hidden: 16}",
    "learning.rec_students=8", "learning.rec_steps=3", "learning.rec_seeds=[0,1]", "learning.mastery_students=3",
    "learning.heldout_exercises=5",
]


def make_ctx(tmp_path: Path, recipe: str, overrides: list[str], data_path: Path | None = None,
             lang: str = "en") -> RunContext:
    r = load_recipe(recipe, TINY + overrides)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return RunContext(recipe=r, dir=run_dir, lang=lang, data_root=DATA_ROOT, data_path=data_path,
                      audit=AuditLog(run_dir / "audit.jsonl"), report=Report(lang=lang, title=r.name), progress=False)
