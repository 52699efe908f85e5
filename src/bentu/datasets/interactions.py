"""Interaction logs for knowledge tracing: one sequence of (exercise, correct) per student.

Three published layouts are read into one in-memory form, :class:`Interactions`:

- the DKT paper's synthetic students (Piech et al. 2015): a headerless CSV, one row per
  student, one column per exercise (always answered in column order), values 0/1;
- the ASSISTments 2009–2010 skill-builder CSV (one row per answer; ``user_id``, ``skill_id``,
  ``correct``, ``order_id`` … columns);
- pyKT's processed sequence CSV (``train_valid_sequences.csv`` / ``test_sequences.csv``:
  ``uid``, ``concepts``, ``responses`` … as comma-joined strings, padded with ``-1``).

Every loader validates once, here at the boundary: unknown columns, missing columns,
correctness values other than 0/1 and students without answers are errors that name the file,
the column or line, what was expected and what was found.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = [
    "Interactions",
    "load_dkt_synthetic",
    "load_dkt_synthetic_concepts",
    "dkt_synthetic_path",
    "load_assistments2009",
    "load_pykt",
    "ASSISTMENTS2009_COLUMNS",
    "PYKT_COLUMNS",
]

log = logging.getLogger(__name__)

#: Columns of the ASSISTments 2009–2010 skill-builder release (both the original and the
#: corrected file use this layout). Only ``user_id``, ``skill_id`` and ``correct`` are required.
ASSISTMENTS2009_COLUMNS = (
    "order_id", "assignment_id", "user_id", "assistment_id", "problem_id", "original", "correct",
    "attempt_count", "ms_first_response", "tutor_mode", "answer_type", "sequence_id",
    "student_class_id", "position", "type", "base_sequence_id", "skill_id", "skill_name",
    "teacher_id", "school_id", "hint_count", "hint_total", "overlap_time", "template_id",
    "answer_id", "answer_text", "first_action", "bottom_hint", "opportunity", "opportunity_original",
)
_ASSIST_REQUIRED = ("user_id", "skill_id", "correct")

#: Columns of pyKT's processed sequence files; ``uid``, ``concepts`` and ``responses`` are required.
PYKT_COLUMNS = (
    "fold", "uid", "questions", "concepts", "responses", "timestamps", "usetimes", "selectmasks",
    "is_repeat", "qidxs", "rest", "orirow", "cidxs",
)
_PYKT_REQUIRED = ("uid", "concepts", "responses")


@dataclass
class Interactions:
    """Answer sequences of students, with exercises encoded as ``0 .. n_exercises - 1``.

    Attributes
    ----------
    students : list of str
        Student ids, one per sequence.
    exercises, responses : list of ndarray of int64
        Per student, the exercise index and the 0/1 correctness of each answer, in time order.
    n_exercises : int
    exercise_names : list of str
        The original id of each exercise index (e.g. ASSISTments ``skill_id``).
    concept_of : ndarray of int64, optional
        The concept index of each exercise (``-1`` when unknown).
    groups : list of str, optional
        A group label per student (e.g. ``"urban"``/``"rural"``), for AUC by group.
    source : str
    """

    students: list[str]
    exercises: list[np.ndarray]
    responses: list[np.ndarray]
    n_exercises: int
    exercise_names: list[str]
    concept_of: np.ndarray | None = None
    groups: list[str] | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.students)

    @property
    def n_answers(self) -> int:
        """Total number of answers."""
        return int(sum(len(e) for e in self.exercises))

    def subset(self, idx: np.ndarray | list[int]) -> "Interactions":
        """The students at positions ``idx`` (same exercise encoding)."""
        idx = [int(i) for i in idx]
        return Interactions(
            students=[self.students[i] for i in idx],
            exercises=[self.exercises[i] for i in idx],
            responses=[self.responses[i] for i in idx],
            n_exercises=self.n_exercises,
            exercise_names=self.exercise_names,
            concept_of=self.concept_of,
            groups=None if self.groups is None else [self.groups[i] for i in idx],
            source=self.source,
            extra=self.extra,
        )


# -- DKT synthetic ------------------------------------------------------------------------

_DKT_HOWTO_EN = (
    "The files come from github.com/chrispiech/DeepKnowledgeTracing (data/synthetic/), stored "
    "gzip-compressed in shared/data/dkt_synthetic/; pass --data PATH or set BENTU_DATA to the folder "
    "that holds dkt_synthetic/."
)
_DKT_HOWTO_ZH = (
    "文件来自 github.com/chrispiech/DeepKnowledgeTracing（data/synthetic/），以 gzip 压缩形式存放在 "
    "shared/data/dkt_synthetic/；请用 --data PATH 或环境变量 BENTU_DATA 指向包含 dkt_synthetic/ 的目录。"
)


def dkt_synthetic_path(root: str | Path, *, concepts: int = 5, version: int = 0) -> Path:
    """Path of the DKT synthetic file for ``concepts`` (2 or 5) and ``version`` (0..19) under ``root``."""
    return Path(root) / "dkt_synthetic" / f"naive_c{concepts}_q50_s4000_v{version}.csv.gz"


def _missing(path: Path) -> DataError:
    return DataError(
        f"Data file {path} does not exist. {_DKT_HOWTO_EN}",
        f"数据文件 {path} 不存在。{_DKT_HOWTO_ZH}",
    )


def load_dkt_synthetic(path: str | Path) -> Interactions:
    """Read a DKT synthetic file: one row per student, one 0/1 column per exercise, no header.

    Every student answers exercises ``0 .. n-1`` in column order (the paper's setting).

    Raises
    ------
    DataError
        The file is missing, rows have different lengths, or a value is not 0 or 1.
    """
    path = Path(path)
    if not path.exists():
        raise _missing(path)
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as err:
        raise DataError(
            f"{path}: rows have different numbers of columns ({err}). Each row must hold one 0/1 value per exercise.",
            f"{path}：各行的列数不一致（{err}）。每行应为每道练习一个 0/1 值。",
        ) from err
    values = frame.to_numpy()
    bad = ~np.isin(values, ["0", "1"])
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        raise DataError(
            f"{path}: row {r + 1}, column {c + 1} holds {values[r, c]!r}; correctness must be 0 or 1.",
            f"{path}：第 {r + 1} 行第 {c + 1} 列为 {values[r, c]!r}；作答正误必须是 0 或 1。",
        )
    x = values.astype(np.int64)
    n_students, n_ex = x.shape
    order = np.arange(n_ex, dtype=np.int64)
    return Interactions(
        students=[f"s{i}" for i in range(n_students)],
        exercises=[order.copy() for _ in range(n_students)],
        responses=[x[i].copy() for i in range(n_students)],
        n_exercises=n_ex,
        exercise_names=[str(j) for j in range(n_ex)],
        source=f"dkt_synthetic:{path.name}",
    )


def load_dkt_synthetic_concepts(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Concept index and difficulty of each exercise from a DKT synthetic ``info`` file.

    The columns (inferred, undocumented upstream; see PROVENANCE.md) are: empirical correct
    rate, its standard deviation, hidden concept index, difficulty. Version 0 files separate them
    with tabs, the other versions with commas; both are read.
    """
    path = Path(path)
    if not path.exists():
        raise _missing(path)
    # v0 files are tab-separated, the other versions comma-separated
    rows = [re.split(r"[\t,]", line.strip()) for line in path.read_text().splitlines() if line.strip()]
    if any(len(r) != 4 for r in rows):
        bad = next(r for r in rows if len(r) != 4)
        raise DataError(
            f"{path}: expected 4 tab- or comma-separated columns (rate, std, concept, difficulty), got {len(bad)}.",
            f"{path}：应有 4 列（正确率、标准差、概念、难度，以制表符或逗号分隔），实际为 {len(bad)} 列。",
        )
    info = np.array(rows, dtype=float).reshape(-1, 4)
    if info.shape[1] != 4:
        raise DataError(
            f"{path}: expected 4 tab-separated columns (rate, std, concept, difficulty), got {info.shape[1]}.",
            f"{path}：应有 4 列（正确率、标准差、概念、难度），实际为 {info.shape[1]} 列。",
        )
    return info[:, 2].astype(np.int64), info[:, 3].astype(np.float64)


# -- shared checks ---------------------------------------------------------------------------


def _check_columns(path: Path, columns: list[str], known: tuple[str, ...], required: tuple[str, ...], layout: str) -> None:
    unknown = sorted(set(columns) - set(known))
    missing = sorted(set(required) - set(columns))
    if unknown or missing:
        parts_en, parts_zh = [], []
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (" …" if len(unknown) > 5 else "")
            parts_en.append(f"unknown column(s) {shown}")
            parts_zh.append(f"未知列 {shown}")
        if missing:
            shown = ", ".join(map(repr, missing[:5]))
            parts_en.append(f"missing required column(s) {shown}")
            parts_zh.append(f"缺少必需列 {shown}")
        raise DataError(
            f"{path} is not in the {layout} layout: {'; '.join(parts_en)}. "
            f"Expected columns from: {', '.join(known)} (required: {', '.join(required)}). "
            "Rename or drop the columns, or pick the loader that matches the file.",
            f"{path} 不符合 {layout} 格式：{'；'.join(parts_zh)}。可用列：{', '.join(known)}"
            f"（必需：{', '.join(required)}）。请重命名或删除这些列，或选用与文件相符的加载器。",
        )


def _check_binary(path: Path, column: str, values: np.ndarray, raw: np.ndarray, where: np.ndarray) -> None:
    bad = ~np.isin(values, [0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: column {column!r} at {where[i]} holds {raw[i]!r}; correctness must be 0 or 1 "
            f"({int(bad.sum())} such value(s)). Binarise partial credit before loading (e.g. correct = score == 1).",
            f"{path}：列 {column!r} 在 {where[i]} 处为 {raw[i]!r}；作答正误必须是 0 或 1（共 {int(bad.sum())} 个）。"
            "请先把部分得分二值化（例如 score == 1 记为正确）。",
        )


def _encode(names: list[str]) -> tuple[dict[str, int], list[str]]:
    uniq = sorted(set(names), key=lambda s: (len(s), s))
    return {n: i for i, n in enumerate(uniq)}, uniq


# -- ASSISTments 2009 ----------------------------------------------------------------------


def load_assistments2009(path: str | Path) -> Interactions:
    """Read an ASSISTments 2009–2010 skill-builder CSV into one sequence per ``user_id``.

    The exercise tag is ``skill_id`` (as in the DKT paper). Rows are ordered by ``order_id``
    when present (else file order). Documented fallback: rows without a ``skill_id`` are dropped
    (the DKT paper and pyKT do the same), and their number is logged.

    Raises
    ------
    DataError
        Missing file, unknown or missing columns, ``correct`` not 0/1, or no usable row.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"Data file {path} does not exist. ASSISTments 2009 is not redistributed with bentu; download the "
            "skill-builder CSV from sites.google.com/site/assistmentsdata and pass its path with --data.",
            f"数据文件 {path} 不存在。bentu 不分发 ASSISTments 2009 数据；请从 sites.google.com/site/assistmentsdata "
            "下载 skill-builder CSV，并用 --data 指定其路径。",
        )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")
    _check_columns(path, list(frame.columns), ASSISTMENTS2009_COLUMNS, _ASSIST_REQUIRED, "ASSISTments 2009 skill-builder")
    keep = frame["skill_id"].str.strip() != ""
    if (~keep).any():
        log.info("%s: dropped %d rows without skill_id", path, int((~keep).sum()))
    frame = frame[keep]
    correct = pd.to_numeric(frame["correct"], errors="coerce").to_numpy()
    where = np.array([f"line {i + 2}" for i in frame.index])
    _check_binary(path, "correct", np.where(np.isnan(correct), -1, correct), frame["correct"].to_numpy(), where)
    if frame.empty:
        raise DataError(f"{path}: no row has a skill_id; nothing to load.", f"{path}：没有任何行含 skill_id，无可加载数据。")
    frame = frame.assign(_correct=correct.astype(np.int64), _pos=np.arange(len(frame)))
    if "order_id" in frame.columns:
        frame = frame.assign(_order=pd.to_numeric(frame["order_id"], errors="coerce").fillna(np.inf))
        frame = frame.sort_values(["user_id", "_order", "_pos"], kind="stable")
    else:
        frame = frame.sort_values(["user_id", "_pos"], kind="stable")
    index, names = _encode(frame["skill_id"].str.strip().tolist())
    codes = frame["skill_id"].str.strip().map(index).to_numpy(np.int64)
    users, exs, rs = [], [], []
    for user, rows in frame.groupby("user_id", sort=False).indices.items():
        users.append(str(user))
        exs.append(codes[rows])
        rs.append(frame["_correct"].to_numpy()[rows])
    return Interactions(users, exs, rs, len(names), names, source=f"assistments2009:{path.name}")


# -- pyKT -----------------------------------------------------------------------------------


def _split_ints(path: Path, column: str, text: str, line: int) -> list[str]:
    items = [s.strip() for s in str(text).split(",")]
    if not items or items == [""]:
        raise DataError(
            f"{path}: line {line}, column {column!r} is empty; expected comma-separated values.",
            f"{path}：第 {line} 行的列 {column!r} 为空；应为逗号分隔的值。",
        )
    return items


def load_pykt(path: str | Path) -> Interactions:
    """Read a pyKT processed sequence CSV (``train_valid_sequences.csv`` or ``test_sequences.csv``).

    The exercise tag is the ``concepts`` entry (pyKT's knowledge components; a multi-concept
    entry ``"12_40"`` uses its first concept). Padding (``-1`` responses or ``selectmasks``) and
    pyKT's repeated rows for multi-concept questions (``is_repeat == 1``) are dropped. Rows of the
    same ``uid`` (pyKT cuts long sequences into windows) are joined in file order.

    Raises
    ------
    DataError
        Missing file, unknown or missing columns, lengths that differ between columns of a row,
        responses not 0/1, or a student without any answer.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"Data file {path} does not exist. Produce it with pyKT's data_preprocess.py and pass its path with --data.",
            f"数据文件 {path} 不存在。请用 pyKT 的 data_preprocess.py 生成该文件，并用 --data 指定其路径。",
        )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    _check_columns(path, list(frame.columns), PYKT_COLUMNS, _PYKT_REQUIRED, "pyKT processed sequence")
    per_user: dict[str, tuple[list[str], list[int]]] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        line = i + 2
        row = row._asdict()
        cs = _split_ints(path, "concepts", row["concepts"], line)
        rs = _split_ints(path, "responses", row["responses"], line)
        sm = _split_ints(path, "selectmasks", row["selectmasks"], line) if "selectmasks" in row else ["1"] * len(rs)
        rep = _split_ints(path, "is_repeat", row["is_repeat"], line) if "is_repeat" in row else ["0"] * len(rs)
        if not (len(cs) == len(rs) == len(sm) == len(rep)):
            raise DataError(
                f"{path}: line {line} has {len(cs)} concepts but {len(rs)} responses; every column of a row "
                "must have one value per step.",
                f"{path}：第 {line} 行有 {len(cs)} 个概念，却有 {len(rs)} 个作答；同一行各列每步须各有一个值。",
            )
        ex, out = per_user.setdefault(str(row["uid"]), ([], []))
        for c, r, m, rp in zip(cs, rs, sm, rep):
            if r == "-1" or m == "-1" or rp == "1":
                continue  # padding, or a repeated row of a multi-concept question
            if r not in ("0", "1"):
                raise DataError(
                    f"{path}: line {line}, column 'responses' holds {r!r}; correctness must be 0 or 1 (-1 = padding).",
                    f"{path}：第 {line} 行的列 'responses' 为 {r!r}；作答正误必须是 0 或 1（-1 表示填充）。",
                )
            ex.append(c.split("_")[0])
            out.append(int(r))
    empty = sorted(u for u, (e, _) in per_user.items() if not e)
    if empty:
        raise DataError(
            f"{path}: student(s) {', '.join(map(repr, empty[:5]))} have no answers (only padding). "
            "Remove them before loading.",
            f"{path}：学生 {', '.join(map(repr, empty[:5]))} 没有任何作答（只有填充）。请先删除这些行。",
        )
    index, names = _encode([c for e, _ in per_user.values() for c in e])
    users = list(per_user)
    exs = [np.array([index[c] for c in per_user[u][0]], dtype=np.int64) for u in users]
    rs_ = [np.array(per_user[u][1], dtype=np.int64) for u in users]
    return Interactions(users, exs, rs_, len(names), names, source=f"pykt:{path.name}")
