"""The run directory's contract: one pydantic model per artifact, one reader and one writer.

A run directory (``bentu run``) holds JSON artifacts written by the pipeline and read by
compliance, the model cards and the report. Their shapes live here, built from what the
producers write on real credit, imaging and learning runs::

    privacy.json        Privacy         what the privacy step found and did per column
    data_profile.json   DataProfile     source, rows, columns, split
    metrics.json        Metrics         held-out metrics (+ an optional ``dp`` section)
    fairness.json       Fairness        per-attribute group tables
    compression.json    Compression     fp32 / int8 variants and the one chosen
    energy.json         Energy          CodeCarbon energy and CO2
    recipe.yaml         bentu.recipe.Recipe
    audit.jsonl         AuditRecord     one hash-chained record per line

Every model keeps the fields it does not name (``extra="allow"``), so a producer may add a
field without breaking old readers, but a consumer may only *rely on* (and a rule pack only
*cite*) the fields named here: :func:`has_pointer` checks a ``file#/pointer`` against the
generated JSON Schema. ``docs/run-directory.md`` is generated from these models
(:func:`render_docs`; ``python -m bentu.rundir``). Model weights are
``model/model.safetensors`` with a typed spec ``model/model.json`` (:mod:`bentu.rundir.weights`);
nothing in a run directory is loaded by unpickling.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bentu.atomic import write_text_atomic
from bentu.errors import DataError
from bentu.recipe import Recipe

__all__ = [
    "ARTIFACTS",
    "AUDIT_STEPS",
    "step_matches",
    "FOLDERS",
    "Artifact",
    "AuditRecord",
    "Compression",
    "DataProfile",
    "DpMetrics",
    "Energy",
    "Fairness",
    "FairnessAttribute",
    "FairnessGroup",
    "KAnonymity",
    "Metrics",
    "ModelSpec",
    "Operator",
    "Privacy",
    "PrivacyColumn",
    "SplitMetrics",
    "artifact_model",
    "has_pointer",
    "json_schema",
    "read_artifact",
    "read_audit_records",
    "render_docs",
    "write_artifact",
]


class Artifact(BaseModel):
    """Base of the JSON artifacts: unknown fields are kept, named fields are typed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    FILE: ClassVar[str] = ""


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ------------------------------------------------------------------------------ privacy.json


class Operator(_Part):
    """What the privacy step did to a column: ``op`` is ``none`` when it was left as is."""

    op: str = Field(description="pseudonymize, mask, generalize, suppress, replace, per-span or none")
    types: dict[str, str] | None = Field(None, description="per-span: operator per PII type found")


class PrivacyColumn(_Part):
    """One column's class and treatment."""

    class_: Literal["direct_identifier", "quasi_identifier", "sensitive", "other"] = Field(alias="class")
    pii_types: dict[str, Any] = Field(default_factory=dict)
    operator: Operator
    main_type: str | None = None
    note: str | None = None
    generalised_to_k: int | None = Field(None, description="generalisation level reached for k-anonymity")


class KAnonymityLevel(_Part):
    k: int | None
    smallest_class_size: int | None = None
    equivalence_classes: int | None = None
    quasi_identifiers: list[str] = Field(default_factory=list)


class KAnonymity(_Part):
    """k-anonymity over the quasi-identifiers (measured; generalised to ``target_k`` when set)."""

    k: int | None = Field(description="size of the smallest equivalence class after the privacy step")
    target_k: int | None = Field(None, description="privacy.k_anonymity of the recipe; null: only measured")
    reached: bool | None = None
    quasi_identifiers: list[str] = Field(default_factory=list)
    records_suppressed: int = 0
    before: KAnonymityLevel | None = None
    after: KAnonymityLevel | None = None
    generalised_columns: list[str] = Field(default_factory=list)
    features_changed: list[str] = Field(default_factory=list)


class CorpusAutomatedCheck(_Part):
    """GB/T 45654 training data: the automated check (every record, after de-identification)."""

    scanned: int
    coverage: float = Field(description="share of the corpus checked (required ≥ coverage_min)")
    coverage_min: float
    passed: int
    pass_rate: float = Field(description="share of checked records without PII left or risk terms")
    pass_rate_min: float
    method: str
    risk_scan: bool = Field(description="whether a keyword library checked the text (not only PII)")
    meets: bool


class CorpusManualReview(_Part):
    """GB/T 45654 training data: the random sample exported for people to check."""

    sample_size: int
    required: int
    whole_corpus: bool
    pass_rate_min: float
    status: str = Field(description="pending until people fill in the checklist")
    file: str | None = Field(None, description="the checklist, e.g. review/manual_sample.csv")


class CorpusGate(_Part):
    """What the corpus gate (bentu.privacy.corpus) found and did to a language model's training text."""

    records: int
    fields: list[str]
    policy: str
    pii_found: dict[str, int] = Field(description="spans de-identified, by PII type")
    records_with_pii: int
    residual_pii_records: int
    risk_records: int
    risk_share: float
    harmful_source_max: float
    records_used: int
    records_excluded: int
    automated_check: CorpusAutomatedCheck
    manual_review: CorpusManualReview


class Privacy(Artifact):
    """``privacy.json``: the PII scan and the de-identification of the training data."""

    FILE: ClassVar[str] = "privacy.json"
    pii: Literal["auto", "off"]
    deidentified: bool
    key_source: str | None = None
    policy: str | None = None
    columns: dict[str, PrivacyColumn] = Field(default_factory=dict)
    direct_identifiers: list[str] = Field(default_factory=list)
    quasi_identifiers: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(default_factory=list)
    k_anonymity: KAnonymity | None = None
    records_suppressed: int = 0
    rows_in: int | None = None
    rows_out: int | None = None
    corpus: CorpusGate | None = Field(None, description="llm_tuning: the corpus gate's evidence")


# ------------------------------------------------------------------------- data_profile.json


class DataSource(_Part):
    dataset: str | None = None
    path: str | None = None
    rows: int | None = None
    sha256: str | None = None
    generator: str | None = Field(None, description="set when the data was simulated")
    loaded_at: str | None = None


class ProfileColumn(_Part):
    name: str
    role: str | None = None
    dtype: str | None = None
    missing: int | None = None


class DataProfile(Artifact):
    """``data_profile.json``: where the data came from and what it holds (tabular, images or
    answer sequences; the fields each kind writes differ)."""

    FILE: ClassVar[str] = "data_profile.json"
    source: DataSource | str | None = Field(None, description="a dataset record (tabular) or a path / simulator id")
    sha256: str | None = Field(None, description="images: checksum of the source file")
    rows: int | None = None
    columns: list[ProfileColumn] | None = None
    split: dict[str, Any] | None = None
    duplicates: int | None = None
    class_balance: dict[str, Any] | None = None
    institutions: dict[str, Any] | None = None
    total: int | None = Field(None, description="images: number of images")
    students: int | None = Field(None, description="learning: number of students")


# ------------------------------------------------------------------------------ metrics.json


class SplitMetrics(_Part):
    """Metrics on one split; which ones exist depends on the application."""

    auc: float | None = None
    ks: float | None = None
    accuracy: float | None = None
    f1: float | None = None
    precision: float | None = None
    sensitivity: float | None = None
    specificity: float | None = None
    brier: float | None = None
    ece: float | None = None
    threshold: float | None = None
    n: int | None = None
    tp: int | None = None
    tn: int | None = None
    fp: int | None = None
    fn: int | None = None
    loss: float | None = Field(None, description="llm_tuning: mean next-token cross-entropy (nats per token)")
    perplexity: float | None = Field(None, description="llm_tuning: exp(loss)")


class DpText(_Part):
    """A statement in both languages."""

    en: str | None = None
    zh: str | None = None


class DpMetrics(_Part):
    """Differential privacy of the training (written when ``train.dp`` is on; see bentu.train.dp)."""

    level: str | None = None  # "record": the unit protected is one row of one institution
    epsilon: float | None = None  # spent, by the accountant (the maximum over clients when federated)
    epsilon_target: float | None = None
    delta: float | None = None
    max_grad_norm: float | None = None
    noise_multiplier: float | None = None
    accountant: str | None = None
    per_client: dict[str, Any] | None = None
    protects: DpText | None = None
    does_not_protect: DpText | None = None


class Metrics(Artifact):
    """``metrics.json``: held-out metrics of the deployed model and its baselines."""

    FILE: ClassVar[str] = "metrics.json"
    test: SplitMetrics | None = None
    val: SplitMetrics | None = None
    train: SplitMetrics | None = None
    baselines: dict[str, Any] | None = None
    psi_score_train_test: float | None = None
    data_volume: Any = Field(None, description="imaging: metric against training-set size")
    dp: DpMetrics | None = None
    before: dict[str, SplitMetrics] | None = Field(None, description="llm_tuning: the base model before tuning")
    comparison: dict[str, Any] | None = Field(None, description="pooled / federated / local arms")


# ----------------------------------------------------------------------------- fairness.json


class FairnessGroup(_Part):
    """One group's row of an attribute's table."""

    group: str
    n: int | None = None
    small: bool | None = None
    selection_rate: float | None = None
    tpr: float | None = None
    fpr: float | None = None
    auc: float | None = None
    accuracy: float | None = None
    ratio_to_reference: float | None = None


class FairnessAttribute(_Part):
    """Fairness of one sensitive attribute: credit writes ``groups`` (a list of rows),
    learning writes ``by_group`` (group → metrics); :meth:`rows` reads either."""

    groups: list[FairnessGroup] | None = None
    by_group: dict[str, dict[str, Any]] | None = None
    reference_group: str | None = None
    demographic_parity_difference: float | None = None
    equalized_odds_difference: float | None = None
    four_fifths_flag: bool = False
    flagged_groups: list[str] = Field(default_factory=list)

    def rows(self) -> list[FairnessGroup]:
        """The group rows, whichever form the producer wrote."""
        if self.groups is not None:
            return list(self.groups)
        return [FairnessGroup(group=str(g), **v) for g, v in (self.by_group or {}).items()]


class Fairness(Artifact):
    """``fairness.json``: group metrics per sensitive attribute and the mitigation tried."""

    FILE: ClassVar[str] = "fairness.json"
    attributes: dict[str, FairnessAttribute] = Field(default_factory=dict)
    overall: dict[str, Any] | None = None
    mitigation: dict[str, Any] | None = None


# -------------------------------------------------------------------------- compression.json


class CompressionVariant(_Part):
    file: str
    size_bytes: int | None = None
    metric: float | None = None
    metric_loss: float | None = None


class Compression(Artifact):
    """``compression.json``: the model variants measured and the one deployed."""

    FILE: ClassVar[str] = "compression.json"
    metric: str | None = None
    variants: dict[str, CompressionVariant] = Field(default_factory=dict)
    chosen: str | None = None
    chosen_file: str | None = None
    reason: str | None = None
    reason_zh: str | None = None


# ------------------------------------------------------------------------------- energy.json


class Energy(Artifact):
    """``energy.json``: energy and CO2 of the run (CodeCarbon)."""

    FILE: ClassVar[str] = "energy.json"
    duration_s: float | None = None
    energy_kwh: float | None = None
    co2_kg: float | None = None
    grid_intensity_g_per_kwh: float | None = None
    method: str | None = None
    power_is_estimate: bool | None = None
    estimate_note: dict[str, str] | None = Field(None, description="{en, zh}")


# ------------------------------------------------------------------------------- audit.jsonl

# Every step an audit record may name, for every application, named once: the pipeline writes only
# these (a test walks the source), and a compliance rule may only ask for these (its pack fails to
# load otherwise). A step ``s_variant`` (``train_federated``, ``train_transfer``) is a kind of ``s``.
AUDIT_STEPS: dict[str, tuple[str, str]] = {
    "start": ("the run starts: recipe written", "运行开始：已写入配方"),
    "load_data": ("data read, with its source and checksum", "读取数据（含来源与校验值）"),
    "privacy_gate": ("PII scan, de-identification, k-anonymity", "个人信息扫描、去标识化、k-匿名"),
    "prepare_data": ("training corpus or features prepared", "准备训练语料或特征"),
    "pretrain": ("pretraining on public data", "在公开数据上预训练"),
    "load_pretrained": ("pretrained weights loaded", "加载预训练权重"),
    "baselines": ("baseline models fitted", "拟合基线模型"),
    "train": ("model trained (train_federated, train_<arm>: kinds of training)", "训练模型（train_federated、train_<分支> 为其变体）"),
    "choose_primary": ("deployed model chosen on validation data", "在验证集上选定部署模型"),
    "data_volume": ("data-volume curve", "数据量曲线"),
    "graph_heldout": ("graph model on held-out students", "图模型在留出学生上的评估"),
    "export": ("model exported (ONNX, parity)", "导出模型（ONNX 与一致性）"),
    "evaluate": ("held-out evaluation, metrics.json", "留出集评估，metrics.json"),
    "explain": ("explanations (reason codes, SHAP)", "解释（理由码、SHAP）"),
    "explain_gradcam": ("Grad-CAM overlays", "Grad-CAM 热力图"),
    "fairness": ("fairness by group", "分组公平性"),
    "mastery": ("mastery estimates", "掌握度估计"),
    "recommendation": ("recommendations against fixed curricula", "推荐与固定课程对比"),
    "drift_reference": ("drift reference for monitoring", "监测用漂移参照"),
    "compress": ("int8 / pruned variants measured", "测量 int8 / 剪枝变体"),
    "energy": ("energy and CO2", "能耗与碳排放"),
    "compliance": ("compliance verdicts", "合规结论"),
    "model_card": ("model cards written", "写入模型卡"),
    "report": ("report written", "写入报告"),
    "complete": ("every file of the run hashed: the run is finished", "对运行的每个文件计算哈希：运行已完成"),
    "llm_eval": ("generative-AI assessment (bentu llm eval)", "生成式人工智能评估（bentu llm eval）"),
    "llm_exchange": ("one gateway exchange (bentu llm serve's log)", "一次网关交互（bentu llm serve 的日志）"),
}


def step_matches(recorded: str, wanted: str) -> bool:
    """True when ``recorded`` is step ``wanted`` or one of its kinds (``train_federated`` for ``train``)."""
    return recorded == wanted or (recorded.startswith(wanted + "_") and recorded not in AUDIT_STEPS)



class AuditRecord(Artifact):
    """One line of ``audit.jsonl`` (the hash chain itself is checked by ``bentu audit verify``)."""

    FILE: ClassVar[str] = "audit.jsonl"
    seq: int
    step: str
    time: str
    operator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    environment: dict[str, Any] = Field(default_factory=dict)
    hash: str
    prev_hash: str


class ModelSpec(Artifact):
    """``model/model.json``: what rebuilds the trained model from ``model/model.safetensors``."""

    FILE: ClassVar[str] = "model/model.json"
    name: str = Field(description="registry name (bentu.models.create_model)")
    params: dict[str, Any] = Field(description="keyword arguments of create_model")
    ensemble: int = Field(1, description="members of a logit ensemble (bentu.models.ensemble.LogitEnsemble)")
    weights: str = Field("model/model.safetensors", description="the state dict, in safetensors")


#: Every typed file of a run directory, by its path inside the run.
ARTIFACTS: dict[str, type[BaseModel]] = {
    m.FILE: m for m in (Privacy, DataProfile, Metrics, Fairness, Compression, Energy, AuditRecord, ModelSpec)
}
ARTIFACTS["recipe.yaml"] = Recipe
#: Folders whose presence (and files) is evidence.
FOLDERS = ("explanations", "model")

M = TypeVar("M", bound=BaseModel)


def _file_of(model: type[BaseModel]) -> str:
    return "recipe.yaml" if model is Recipe else model.FILE  # type: ignore[attr-defined]


def artifact_model(relpath: str) -> type[BaseModel] | None:
    """The model of the artifact at ``relpath`` in a run directory, or None if untyped."""
    return ARTIFACTS.get(Path(relpath).as_posix())


def _invalid(path: Path, err: ValidationError) -> DataError:
    first = err.errors()[0]
    where = "/".join(str(p) for p in first["loc"]) or "(top level)"
    return DataError(
        f"Run artifact '{path}' does not match its schema at field '{where}': {first['msg']}.",
        f"运行产物 '{path}' 与其结构不符，字段 '{where}'：{first['msg']}。")


def read_artifact(run_dir: Path, model: type[M], *, required: bool = True) -> M | None:
    """Read and validate one artifact of ``run_dir``.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    model : type
        One of :data:`ARTIFACTS`' models (e.g. :class:`Privacy`, ``Recipe``).
    required : bool, default True
        When False, an absent file gives None instead of an error.

    Raises
    ------
    DataError
        The file is absent (and ``required``), cannot be parsed, or does not match the model.
    """
    path = Path(run_dir) / _file_of(model)
    if not path.is_file():
        if not required:
            return None
        raise DataError(f"Run directory '{run_dir}' has no {path.name}.", f"运行目录 '{run_dir}' 中没有 {path.name}。")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise DataError(f"Run artifact '{path}' cannot be parsed: {err}", f"运行产物 '{path}' 无法解析：{err}") from err
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _invalid(path, err) from err


def read_audit_records(run_dir: Path) -> list[AuditRecord]:
    """The records of ``audit.jsonl`` (empty when absent); a malformed line is a DataError."""
    path = Path(run_dir) / AuditRecord.FILE
    if not path.is_file():
        return []
    records = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            records.append(AuditRecord.model_validate_json(line))
        except ValidationError as err:
            raise DataError(f"Line {i} of '{path}' is not an audit record: {err.errors()[0]['msg']}.",
                            f"'{path}' 第 {i} 行不是审计记录：{err.errors()[0]['msg']}。") from err
    return records


def write_artifact(run_dir: Path, model: type[BaseModel], data: BaseModel | dict) -> Path:
    """Validate ``data`` against ``model`` and write it atomically into ``run_dir``.

    A mapping is written as given (JSON-native values; the producer's field order is kept)
    once it validates; a model instance is written with its aliases.

    Raises
    ------
    DataError
        ``data`` does not match ``model`` (names the file and the field).
    """
    path = Path(run_dir) / _file_of(model)
    if isinstance(data, BaseModel):
        doc: Any = data.model_dump(mode="json", by_alias=True)
    else:
        try:
            model.model_validate(data)
        except ValidationError as err:
            raise _invalid(path, err) from err
        doc = data
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False) if path.suffix == ".yaml" else \
        json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path


# ---------------------------------------------------------------------------- schemas, docs


def json_schema(relpath: str) -> dict:
    """The JSON Schema of the artifact at ``relpath`` (generated from its model)."""
    model = artifact_model(relpath)
    if model is None:
        raise KeyError(relpath)
    return model.model_json_schema(by_alias=True)


def _deref(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _options(node: dict, root: dict) -> list[dict]:
    node = _deref(node, root)
    alts = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
    return [o for a in alts for o in _options(a, root)] if alts else [node]


def _step(node: dict, token: str, root: dict) -> dict | None:
    """The schema below ``token``, or None when the schema does not name it."""
    for opt in _options(node, root):
        if token in opt.get("properties", {}):
            return opt["properties"][token]
        if opt.get("type") == "array" and token.isdigit():
            return opt.get("items", {})
        extra = opt.get("additionalProperties")
        if "properties" not in opt and opt.get("type") == "object":
            return extra if isinstance(extra, dict) else {}  # a map: any key
        if not opt:  # Any
            return {}
    return None


def has_pointer(ref: str) -> bool:
    """Whether ``file#/pointer`` names a field of a typed artifact (or a known file/folder).

    Only the fields a model names count: a model's "extra" fields are not citable evidence.
    """
    file, _, pointer = ref.partition("#")
    if file in FOLDERS and not pointer:
        return True
    if artifact_model(file) is None:
        return False
    if file == AuditRecord.FILE:  # a list of records: "/<line>/<field>"
        pointer = "/".join(pointer.split("/")[2:]) if pointer.count("/") > 1 else ""
    root = json_schema(file)
    node: dict | None = root
    for raw in [t for t in pointer.lstrip("/").split("/") if t] if pointer else []:
        node = _step(node, raw.replace("~1", "/").replace("~0", "~"), root)
        if node is None:
            return False
    return True


def _models_in(ann: Any) -> list[tuple[str, type[BaseModel]]]:
    """(pointer suffix, model) for the models inside an annotation: ``X``, ``X | None``,
    ``dict[str, X]`` (suffix ``/*``) and ``list[X]`` (suffix ``/<i>``)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [("", ann)]
    origin, args = get_origin(ann), get_args(ann)
    if origin is dict and args:
        return [("/*" + s, m) for s, m in _models_in(args[1])]
    if origin is list and args:
        return [("/<i>" + s, m) for s, m in _models_in(args[0])]
    return [x for a in args for x in _models_in(a)]


def _field_rows(model: type[BaseModel], prefix: str, depth: int = 0) -> list[str]:
    rows = []
    for name, f in model.model_fields.items():
        key = f"{prefix}/{f.alias or name}"
        rows.append(f"| `{key}` | `{_type_name(f.annotation)}` | {f.description or ''} |")
        inner = _models_in(f.annotation)
        if inner and depth < 3:
            suffix, sub = inner[0]
            rows += _field_rows(sub, key + suffix, depth + 1)
    return rows


def _type_name(ann: Any) -> str:
    text = ann.__name__ if isinstance(ann, type) else str(ann)
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", text.replace("typing.", "")).replace("|", "\\|")


def render_docs() -> str:
    """The Markdown of ``docs/run-directory.md`` (generated; a test keeps the file current)."""
    out = ["# The run directory", "",
           ("<!-- Generated by bentu.rundir.render_docs(); do not edit by hand. "
            "Regenerate: python -m bentu.rundir > docs/run-directory.md -->"), "",
           ("Every file below is read and written through `bentu.rundir` (`read_artifact` / "
            "`write_artifact`); its JSON Schema is `bentu.rundir.json_schema(file)`. A compliance "
            "rule cites evidence as `file#/pointer`; a rule pack whose pointer is not a field listed "
            "here fails to load. Fields not listed may exist but are not part of the contract."), ""]
    for file, model in ARTIFACTS.items():
        if model is Recipe:
            continue
        doc = (model.__doc__ or "").strip().splitlines()
        out += [f"## `{file}` — `{model.__name__}`", "", " ".join(x.strip() for x in doc), "",
                "| pointer | type | meaning |", "|---|---|---|",
                *_field_rows(model, f"{file}#" if file != AuditRecord.FILE else f"{file}#/<line>"), ""]
        if model is AuditRecord:
            out += [("Audit steps (`AUDIT_STEPS`; `train_federated`, `train_<arm>` are kinds of `train`). "
                     "A rule may ask only for these:"), "", "| step | records | 记录 |", "|---|---|---|",
                    *[f"| `{k}` | {en} | {zh} |" for k, (en, zh) in AUDIT_STEPS.items()], ""]
    out += ["## `recipe.yaml` — `bentu.recipe.Recipe`", "",
            ("The resolved recipe the run used; every recipe key is a pointer "
             "(e.g. `recipe.yaml#/governance/human_review`)."), ""]
    return "\n".join(out)
