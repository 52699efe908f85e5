"""The privacy gate every recipe passes through before anything trains.

``run_privacy_gate`` classifies the columns from a full scan of every value (a header only
raises suspicion), refuses direct identifiers as model features,
de-identifies direct-identifier columns with the policy's operators (keyed pseudonyms by
default, so records still join), optionally generalises quasi-identifiers to a target k, and
returns a report (written by the pipeline as ``privacy.json``) that never holds a raw value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bentu.errors import ConfigError, DataError
from bentu.privacy.detectors import PiiEngine
from bentu.privacy.kanon import generalize_to_k
from bentu.privacy.kanon import k_anonymity as measure_k
from bentu.privacy.operators import apply_operator, load_key
from bentu.privacy.policy import load_policy
from bentu.privacy.tables import classify_table
from bentu.i18n import is_zh

__all__ = ["run_privacy_gate"]

_REPORT_VERSION = 1


def _feature_error(col: str, info) -> DataError:
    return DataError(
        f"Column '{col}' holds direct identifiers ({info.why('en')}) and cannot be a model feature. "
        f"Remove it from data.features, or set privacy.pii: off only for data that holds no "
        f"personal information.",
        f"列 '{col}' 含直接标识符（{info.why('zh')}），不能作为模型特征。请将其从 data.features 中删除；"
        f"只有数据不含个人信息时才可设置 privacy.pii: off。")


def _column_op(col: str, info, policy) -> dict | None:
    if col in policy.columns:
        return policy.columns[col]
    if info.cls == "direct_identifier":
        return policy.for_type(info.main_type or "PERSON")
    return None


def _deidentify_text(series: pd.Series, engine: PiiEngine, policy, key) -> tuple[pd.Series, dict]:
    """Replace the PII spans inside free-text cells; returns counts per type."""
    counts: dict[str, int] = {}

    def one(value):
        if not isinstance(value, str) or not value:
            return value
        spans = engine.detect(value)
        if not spans:
            return value
        out, last = [], 0
        for s in spans:
            counts[s.type] = counts.get(s.type, 0) + 1
            new = apply_operator(value[s.start:s.end], policy.for_type(s.type), s.type, key)
            out.append(value[last:s.start])
            out.append("" if new is None else str(new))
            last = s.end
        out.append(value[last:])
        return "".join(out)

    return series.map(one), counts


def run_privacy_gate(
    df: pd.DataFrame,
    *,
    pii: str = "auto",
    policy: str | Path | None = None,
    key_env: str = "BENTU_PSEUDONYM_KEY",
    key_file: str | Path | None = None,
    k_anonymity: int | None = None,
    quasi_identifiers: list[str] | None = None,
    features: list[str],
    target: str,
    protected: list[str] = (),
    lang: str = "en",
) -> tuple[pd.DataFrame, dict]:
    """Find and de-identify personal information in a training table.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, one row per person or record.
    pii : {"auto", "off"}
        ``"off"`` returns ``df`` unchanged with a report saying so (compliance checks fail on
        it by design).
    policy : path, optional
        Policy file choosing operators per PII type or column (see :mod:`bentu.privacy.policy`).
    key_env, key_file : str, path
        Where the pseudonymisation key is read from (``key_file`` first when given). Without
        either, a random ephemeral key is used and ``key_source`` is ``"ephemeral"``.
    k_anonymity : int, optional
        Target k; quasi-identifiers are generalised (and small classes suppressed) to reach it.
    quasi_identifiers : list of str, optional
        Columns to measure k over; default: the columns classified as quasi-identifiers.
    features, target, protected : columns
        Model features (must hold no direct identifier), the label and the fairness columns
        (not generalised or pseudonymised unless the policy names them under ``columns``; PII
        spans found inside their text are still replaced). A numeric feature in which the scan
        found identifiers is withheld (``features_withheld``): it is not used as a feature.
    lang : {"en", "zh"}
        Language of the report's notes.

    Returns
    -------
    (pandas.DataFrame, dict)
        The de-identified table and the report (no raw values).

    Raises
    ------
    DataError
        A direct identifier is among ``features``; the policy names an unknown column; the
        key file is missing.
    ConfigError
        ``pii`` is not "auto" or "off"; the policy is malformed.
    """
    zh = is_zh(lang)
    if pii == "off":
        return df, {
            "version": _REPORT_VERSION, "pii": "off", "deidentified": False,
            "note": ("去标识化已关闭：数据未经检查即用于训练。" if zh else
                     "De-identification was off: the data was used without a PII check."),
            "columns": {}, "key_source": None, "k_anonymity": None, "records_suppressed": 0,
            "rows_in": int(len(df)), "rows_out": int(len(df)),
        }
    if pii != "auto":
        raise ConfigError(f"The 'privacy.pii' setting must be 'auto' or 'off'. Got {pii!r} instead.",
                          f"'privacy.pii' 必须是 'auto' 或 'off'，实际为 {pii!r}。")
    pol = load_policy(policy)
    pol.check_columns(df.columns)
    engine = PiiEngine()
    infos = classify_table(df, engine=engine)
    for col in features:
        info = infos.get(str(col))
        if info is not None and info.cls == "direct_identifier":
            raise _feature_error(str(col), info)

    untouchable = {str(target), *map(str, protected)}
    ops = {c: _column_op(c, info, pol) for c, info in infos.items()}
    needs_key = any(op and op["op"] in ("pseudonymize", "replace") for op in ops.values()) \
        or pol.default["op"] in ("pseudonymize", "replace")
    key = load_key(key_env, key_file, ephemeral=True) if needs_key else None

    out = df.copy()
    columns: dict[str, dict] = {}
    withheld: dict[str, dict] = {}
    feature_set = set(map(str, features))
    for col, info in infos.items():
        entry = info.to_dict()
        op = ops[col]
        if col in untouchable and col not in pol.columns:
            op = None
            entry["note"] = "target or protected column: left unchanged"
        if op is not None and op["op"] != "keep":
            pii_type = info.main_type if info.cls == "direct_identifier" else None
            out[col] = out[col].map(lambda v, o=op, t=pii_type: apply_operator(v, o, t, key))
            entry["operator"] = dict(op)
        elif info.cls != "direct_identifier" and info.pii and col != str(target) \
                and (pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col])):
            # PII found anywhere in a text column (features and protected columns alike: their
            # values reach fairness tables and reports) is replaced span by span
            out[col], found = _deidentify_text(out[col], engine, pol, key)
            entry.pop("note", None)
            entry["operator"] = {"op": "per-span", "types": {t: pol.for_type(t)["op"] for t in found}}
            entry["spans_replaced"] = found
        elif info.cls != "direct_identifier" and info.pii and col not in untouchable and col in feature_set:
            # numbers that are identifiers (a phone number in an integer column) cannot be
            # de-identified span by span: the column is not used as a model feature
            withheld[col] = {"en": f"{info.why('en')}; numeric, so it is not used as a model feature",
                             "zh": f"{info.why('zh')}；该列为数值，因此不作为模型特征"}
            entry["operator"] = {"op": "withheld"}
        else:
            entry["operator"] = {"op": "none"}
        columns[col] = entry

    direct = [c for c, i in infos.items() if i.cls == "direct_identifier"]
    qis = list(quasi_identifiers) if quasi_identifiers is not None else \
        [c for c, i in infos.items() if i.cls == "quasi_identifier" and c != str(target)]
    report = {
        "version": _REPORT_VERSION, "pii": "auto", "deidentified": True,
        "key_source": key.source if key else None,
        "policy": pol.source,
        "columns": columns,
        "direct_identifiers": direct,
        "quasi_identifiers": qis,
        "sensitive": [c for c, i in infos.items() if i.cls == "sensitive"],
        "rows_in": int(len(df)),
        "scan": "full",
        "features_withheld": withheld,
    }
    if key is not None and key.source == "ephemeral":
        report["note"] = ("使用了临时随机密钥：假名无法跨运行关联。" if zh else
                          "An ephemeral random key was used: pseudonyms do not join across runs.")
    if k_anonymity is not None:
        frozen = sorted(set(qis) & untouchable - set(pol.columns))
        out, kreport = generalize_to_k(out, qis, int(k_anonymity), frozen=frozen)
        kreport["features_changed"] = sorted(set(kreport["generalised_columns"]) & set(features))
        report["k_anonymity"] = kreport
        report["records_suppressed"] = kreport["records_suppressed"]
        for c in kreport["generalised_columns"]:
            columns[c]["generalised_to_k"] = kreport["generalisation_levels"][c]
    else:
        report["k_anonymity"] = k_anonymity_report(out, qis)
        report["records_suppressed"] = 0
    report["rows_out"] = int(len(out))
    return out, report


def k_anonymity_report(df: pd.DataFrame, qis: list[str]) -> dict:
    """k measured over ``qis`` without changing the data."""
    if not qis:
        return {"k": None, "smallest_class_size": None, "quasi_identifiers": [],
                "records_suppressed": 0, "target_k": None}
    res = measure_k(df, qis).to_dict()
    res.update(records_suppressed=0, target_k=None)
    return res
