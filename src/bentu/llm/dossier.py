"""The filing dossier (``bentu llm dossier RUN_DIR``): evidence of an assessment run, gathered in one folder.

Contents: the self-assessment report (zh/en) and ``assessment.json``; bank statistics; keyword
library statistics; labelling evidence (``labels.json`` and, when a gateway log is given, counts
of the labels and masking decisions it recorded — never the logged texts); the rule packs
``gbt45654`` and ``gb45438`` evaluated on the run (``compliance.json``); ``index.md``. Written
to a temporary folder and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from bentu.compliance.engine import evaluate_compliance
from bentu.errors import DataError

__all__ = ["build_dossier", "gateway_log_stats"]

_COPY = ("assessment.json", "report.zh.md", "report.en.md", "banks.json", "keywords.json", "labels.json")


def gateway_log_stats(path: Path) -> dict:
    """Counts over a gateway exchange log: exchanges, labels, keyword actions, masked PII by type."""
    n = labelled = implicit = 0
    actions, pii = Counter(), Counter()
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        try:
            p = json.loads(line)["params"]
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(f"gateway log {path}:{i} is not an exchange entry.", f"网关日志 {path} 第 {i} 行不是交互记录。") from err
        n += 1
        labelled += bool(p.get("explicit_label"))
        implicit += bool((p.get("aigc") or {}).get("Label"))
        actions[(p.get("decisions") or {}).get("action", "?")] += 1
        pii.update((p.get("decisions") or {}).get("pii_masked") or {})
    return {"log": str(path), "exchanges": n, "explicit_label": labelled, "implicit_label": implicit,
            "actions": dict(actions), "pii_masked": dict(pii)}


def build_dossier(run_dir: Path, *, out: Path | None = None, gateway_log: Path | None = None, lang: str = "zh") -> Path:
    """Assemble the dossier of ``run_dir`` (an ``bentu llm eval`` run) into ``out`` (must not exist).

    Raises
    ------
    DataError
        ``run_dir`` is not an assessment run, or ``out`` exists.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "assessment.json").is_file():
        raise DataError(f"{run_dir} is not a run of 'bentu llm eval' (it has no assessment.json).",
                        f"{run_dir} 不是 'bentu llm eval' 的运行目录（没有 assessment.json）。")
    out = Path(out) if out else run_dir / "dossier"
    if out.exists():
        raise DataError(f"dossier folder {out} exists already; pass a new folder with --out.",
                        f"备案材料目录 {out} 已存在；请用 --out 指定新目录。")
    recipe = {"name": "llm-eval", "application": "llm", "locale": {"region": "CN", "rules": ["gbt45654", "gb45438"]}}
    compliance = evaluate_compliance(run_dir, recipe, lang=lang)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in _COPY:
            if (run_dir / name).is_file():
                shutil.copy2(run_dir / name, tmp / name)
        (tmp / "compliance.json").write_text(json.dumps(compliance, ensure_ascii=False, indent=2), encoding="utf-8")
        if gateway_log:
            stats = gateway_log_stats(gateway_log)
            (tmp / "gateway_labels.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2), encoding="utf-8")
        lines = ["# 备案材料 / Filing dossier", "",
                 "> 由 bentu 汇编的证据，须经人工复核后使用。/ Evidence assembled by bentu; a person must review it.", "",
                 "| 规则 / Rule | 结论 / Verdict | 说明 / Reason |", "|---|---|---|"]
        lines += [f"| {v['rule']} | {v['verdict']} | {v['reason']} |" for v in compliance["verdicts"]]
        lines += ["", "Files: " + ", ".join(sorted(p.name for p in tmp.iterdir())), ""]
        (tmp / "index.md").write_text("\n".join(lines), encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
