"""Recipes: YAML files validated by pydantic, with ``--set key=value`` overrides.

A recipe says what a localization does, section by section (data, privacy, model, train,
federated, transfer, compress, audit, governance). Every section forbids unknown keys, so a
misspelt key fails with an error that names it and suggests the closest valid key.
"""

from __future__ import annotations

import difflib
import os
import types
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bentu._yaml import MAX_NODES as _YAML_MAX_NODES
from bentu._yaml import YamlBomb as _YamlBomb
from bentu._yaml import safe_load as _safe_load
from bentu.errors import RecipeError

__all__ = [
    "Recipe", "load_recipe", "validate_recipe", "builtin_recipes", "resolve_recipe", "apply_overrides", "recipe_to_dict",
    "DataCfg", "SplitCfg", "PrivacyCfg", "ModelCfg", "TrainCfg", "DPCfg", "FederatedCfg", "TransferCfg",
    "CompressCfg", "AuditCfg", "GovernanceCfg", "TrackingCfg", "LocaleCfg", "ImagingCfg", "LearningCfg",
]


# YAML 1.1 (PyYAML) reads unquoted off/no/false and on/yes/true as booleans; an enum field that
# has no boolean values takes the first of these spellings that it accepts instead.
_YAML11_FALSE: tuple = ("off", "none", "no", "false", None)
_YAML11_TRUE: tuple = ("auto", "on", "yes", "true")
_UNSET = object()


def _enum_choices(annotation: Any) -> tuple:
    """The values of a ``Literal[...]`` (or ``Literal[...] | None``) annotation; () for anything else."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        lits = tuple(v for a in args if get_origin(a) is Literal for v in get_args(a))
        return lits + ((None,) if lits and type(None) in args else ())
    return ()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _yaml11_enums(cls, data: Any) -> Any:
        """``pii: off`` (read by YAML as False) means "off"; ``pii: on`` means "auto"."""
        if not isinstance(data, dict):
            return data
        for name, f in cls.model_fields.items():
            key = f.alias if f.alias and f.alias in data else name
            value = data.get(key, _UNSET)
            if not isinstance(value, bool):
                continue
            choices = _enum_choices(f.annotation)
            if not choices or any(isinstance(c, bool) or not isinstance(c, (str, type(None))) for c in choices):
                continue
            pick = next((c for c in (_YAML11_TRUE if value else _YAML11_FALSE) if c in choices), _UNSET)
            if pick is not _UNSET:
                data = {**data, key: pick}
        return data


class LocaleCfg(_Section):
    region: str = "CN"
    language: str = "zh-CN"
    rules: list[str] = Field(default_factory=list)


class SplitCfg(_Section):
    """How rows are split into train / validation / test."""

    test: float = Field(0.2, gt=0, lt=1)
    val: float = Field(0.1, gt=0, lt=1)
    stratify: bool = True
    column: str | None = None  # a column that holds a predefined split
    test_values: list[str] = Field(default_factory=list)  # its values that mark test rows


class DataCfg(_Section):
    """Where the data comes from and what each column is for."""

    dataset: str | None = None  # a built-in dataset name, e.g. credit-sim, uci-credit
    format: Literal["csv", "parquet", "jsonl", "txt"] | None = None  # txt: a corpus, one document per line
    path: str | None = None  # a file path (relative paths resolve against --data / BENTU_DATA)
    target: str | None = None
    features: list[str] | None = None  # None: every column without another role
    categorical: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(default_factory=list)
    institution: str | None = None
    identifiers: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    numeric: list[str] = Field(default_factory=list)  # text-holding columns to read as numbers (texts: missing)
    positive: bool | int | float | str | None = None  # the target label that is the event, e.g. bad; None: 0/1
    split: SplitCfg = Field(default_factory=SplitCfg)
    options: dict[str, Any] = Field(default_factory=dict)  # passed to a built-in dataset
    # How the report names a column: {column: "name"} or {column: {zh: …, en: …}}
    display_names: dict[str, str | dict[Literal["zh", "en"], str]] = Field(default_factory=dict)


class PrivacyCfg(_Section):
    pii: Literal["auto", "off"] = "auto"
    policy: str | None = None
    key_env: str = "BENTU_PSEUDONYM_KEY"
    key_file: str | None = None
    k_anonymity: int | None = Field(None, ge=2)
    quasi_identifiers: list[str] | None = None


class ModelCfg(_Section):
    """``name`` picks a registered model; the other keys are that model's parameters."""

    model_config = ConfigDict(extra="allow")
    name: str = "tabular_mlp"

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DPCfg(_Section):
    """Record-level DP-SGD (``train.dp``, see bentu.train.dp): ε over the whole training, δ
    (default 1 / (10 · rows of the smallest client or of the training rows)), the per-record
    gradient clipping bound and the accountant."""

    epsilon: float
    delta: float | None = None
    max_grad_norm: float = 1.0
    accountant: Literal["rdp", "prv"] = "rdp"

    @field_validator("epsilon", "max_grad_norm")
    @classmethod
    def _positive_finite(cls, v: float, info) -> float:
        if not (v > 0 and v != float("inf")):
            raise PydanticCustomError(
                "dp_range", "The '{name}' parameter of train.dp must be a finite float in (0, inf)",
                {"name": info.field_name, "zh": f"train.dp 的参数 {info.field_name!r} 必须是 (0, inf) 内的有限浮点数"})
        return v

    @field_validator("delta")
    @classmethod
    def _delta(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v < 1:
            raise PydanticCustomError("dp_range", "The 'delta' parameter of train.dp must be a float in (0, 1)",
                                      {"zh": "train.dp 的参数 'delta' 必须是 (0, 1) 内的浮点数"})
        return v


class TrainCfg(_Section):
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(512, ge=1)
    patience: int = Field(5, ge=1)
    seed: int = 0
    pos_weight: float | None = Field(None, gt=0)
    # Weight averaging (validated and kept instead of the raw weights) and mixup; see Trainer.
    ema_decay: float | None = Field(None, gt=0, lt=1)
    mixup: float = Field(0.0, ge=0)
    # Channels-last memory layout for 4-D (image) weights and batches: faster CPU convolutions.
    channels_last: bool = False
    dp: DPCfg | None = None  # record-level DP-SGD (Opacus); see DPCfg
    # 0: train in this process. N >= 1: train independent models (ensemble members, curves) in N
    # worker processes on one torch thread each, so the same seed gives the same model on any machine.
    processes: int = Field(0, ge=0)
    # Where independent trainings run (bentu.train.parallel): inline (here, one at a time), processes
    # (`processes` one-thread workers), ray (Ray tasks on ray_address / RAY_ADDRESS, else a local
    # cluster; `processes` at a time). None: processes when processes > 0, else inline.
    executor: Literal["inline", "processes", "ray"] | None = None
    ray_address: str | None = None
    job_timeout: float | None = Field(None, gt=0)  # seconds per training job; None: no bound
    # auto: CUDA when torch sees one, else CPU (bit-identical to before); cpu; cuda; cuda:N
    device: str = "auto"
    baselines: list[Literal["logistic_regression", "gradient_boosting"]] = Field(
        default_factory=lambda: ["logistic_regression", "gradient_boosting"]
    )


class FederatedCfg(_Section):
    enabled: bool = False
    strategy: str = "fedavg"
    rounds: int = Field(20, ge=1)
    clients: str = "institution"  # "institution" | "iid" | "dirichlet"
    num_clients: int | None = Field(None, ge=2)
    alpha: float = Field(0.5, gt=0)  # Dirichlet concentration
    local_epochs: int = Field(1, ge=1)
    min_clients: int = Field(2, ge=1)
    compare: bool = False
    deploy: bool = False
    round_timeout: float = Field(600.0, gt=0)  # seconds a round waits for clients; late ones drop
    client_cpus: float = Field(1.0, gt=0)  # CPUs per simulated client (Ray); 0.5 runs two per core
    # strategy-specific settings: mu (fedprox), beta (trimmed_mean), num_malicious (krum),
    # epsilon / delta / noise_multiplier / clipping_norm (dp_*), num_shares, clipping_range (secagg);
    # poison / fail inject faults (a test facility, see docs/federated.md)
    options: dict[str, Any] = Field(default_factory=dict)


class TransferCfg(_Section):
    from_: str | None = Field(None, alias="from")
    freeze: list[str] = Field(default_factory=list)
    # Transfer only parameters under these names (e.g. [stem, stages.0]); None: every layer but the head.
    layers: list[str] | None = None


class CompressCfg(_Section):
    int8: bool = True
    static: bool = False
    prune: float | None = Field(None, ge=0, lt=1)
    prune_method: Literal["magnitude", "structured"] = "magnitude"
    distill: dict[str, Any] | None = None
    max_metric_loss: float = Field(0.002, ge=0)


class AuditCfg(_Section):
    fairness: bool = True
    # Attributes audited for group parity (default: every data.sensitive column).
    fairness_attributes: list[str] | None = None
    explain: Literal["shap", "gradcam", "mastery"] | None = "shap"
    mitigation: bool = True


class CrossBorderCfg(_Section):
    enabled: bool = False
    people_per_year: int = Field(0, ge=0)
    sensitive_people_per_year: int = Field(0, ge=0)


class LocalizedText(_Section):
    """A text given in both languages, e.g. ``{zh: ..., en: ...}``."""

    zh: str
    en: str


class GovernanceCfg(_Section):
    subjects: list[str] = Field(default_factory=lambda: ["adults"])
    guardian_consent: bool = False
    data_location: str = "CN"
    serving_location: str = "CN"
    cross_border: CrossBorderCfg = Field(default_factory=CrossBorderCfg)
    human_review: bool | None = None  # None: not declared → compliance asks for human review
    operator: str | None = None
    intended_use: str | LocalizedText | None = None
    limitations: str | LocalizedText | None = None
    # Who decides each role's review items in the sign-off block: {privacy, model_risk, business} → person
    reviewers: dict[Literal["privacy", "model_risk", "business"], str] = Field(default_factory=dict)


class ImagingCfg(_Section):
    """Settings of the imaging application (see bentu.pipeline.imaging)."""

    class Augment(_Section):
        """Training-time augmentation of the imaging application (torch ops, see bentu.train.augment)."""

        enabled: bool = True
        hflip: float = Field(0.5, ge=0, le=1)
        vflip: float = Field(0.0, ge=0, le=1)
        rotate: float = Field(10.0, ge=0, le=180)  # degrees
        shift: float = Field(0.1, ge=0, lt=0.5)  # fraction of the image side
        scale: float = Field(0.1, ge=0, lt=1)
        brightness: float = Field(0.1, ge=0)
        contrast: float = Field(0.1, ge=0, lt=1)

    source: Literal["medmnist", "folder", "dicom"] = "medmnist"
    path: str | None = None  # folder / DICOM root (relative paths resolve against --data / BENTU_DATA)
    classes: list[str] | None = None  # folder sources: class folder names in label order
    image_size: int | None = Field(None, ge=16, le=256)  # resize to; None: the files' own size
    channels: Literal[1, 3] = 1
    positive_label: int = Field(1, ge=0)  # the label value that is the positive (disease) class
    augment: "ImagingCfg.Augment" = Field(default_factory=lambda: ImagingCfg.Augment())
    balance: Literal["pos_weight", "none"] = "pos_weight"  # class-imbalance handling in the loss
    warmup_epochs: float = Field(1.0, ge=0)
    tta: bool = True  # average the logits of each image and its horizontal mirror
    # also average over the image moved by this many pixels to its 8 neighbouring positions (18 views)
    tta_shift: int = Field(0, ge=0, le=4)
    ensemble: int = Field(1, ge=1, le=10)  # models of seeds seed, seed+1000, ... (bentu.models.ensemble), logits averaged
    # the deployed arm: transfer, scratch, auto (the arm whose first model scores higher on validation
    # AUC), both (the ensemble alternates transfer and scratch models: no choice on a small validation
    # split, and two kinds of models to average), or None: transfer when transfer.from is set, else scratch
    primary: Literal["auto", "transfer", "scratch", "both"] | None = None
    operating_point: Literal["accuracy", "youden", "target_sensitivity"] = "accuracy"  # chosen on val
    target_sensitivity: float = Field(0.9, gt=0, le=1)
    pretrain_epochs: int = Field(10, ge=1)  # when transfer.from names a source dataset
    pretrain_lr: float = Field(2e-3, gt=0)
    pretrain_seed: int = 0  # the source model is one fixed model, whatever train.seed is
    pretrain_cache: bool = True  # reuse a source model trained with identical settings ($BENTU_CACHE)
    finetune_lr: float | None = Field(None, gt=0)  # default: train.lr
    compare_scratch: bool = True
    data_volume: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 1.0])
    data_volume_seeds: int = Field(1, ge=1)
    gradcam_cases: int = Field(4, ge=0, le=16)  # per kind: TP, TN, FP, FN
    onnx: bool = True

    @field_validator("data_volume")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if any(not 0 < f <= 1 for f in v):
            raise ValueError("fractions must be in (0, 1]")
        return sorted(set(v))


class LearningCfg(_Section):
    """Settings of the learning application (see bentu.pipeline.learning and docs/learning.md)."""

    class TrainOverride(_Section):
        """Trainer settings of one challenger; unset fields come from the recipe's train section."""

        optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] | None = None
        lr: float | None = Field(None, gt=0)
        weight_decay: float | None = Field(None, ge=0)
        epochs: int | None = Field(None, ge=1)
        batch_size: int | None = Field(None, ge=1)
        patience: int | None = Field(None, ge=1)

    source: Literal["simulator", "dkt_synthetic", "assistments2009", "pykt"] = "simulator"
    concepts: int = Field(5, ge=1)  # dkt_synthetic: 2 or 5 (file family); simulator: hidden concepts
    version: int = Field(0, ge=0, le=19)  # dkt_synthetic file version v0..v19
    students: int = Field(2000, ge=10)  # simulator: students in the log
    exercises: int = Field(50, ge=2)  # simulator: exercise bank size
    length: int = Field(50, ge=2)  # simulator: answers per student
    groups: dict[str, tuple[float, float, float]] = Field(
        default_factory=lambda: {"urban": (0.5, 0.4, 1.0), "rural": (0.5, -0.4, 1.0)}
    )  # simulator: group -> (share, mean skill, skill std)
    learn_rate: float = Field(0.15, ge=0)  # simulator: largest skill gain per answer
    sim_seed: int = 0  # simulator: exercise bank and cohort seed
    max_len: int = Field(200, ge=2)  # window length of the locked protocol
    ensemble: int = Field(1, ge=1, le=10)  # each model = mean logit of this many seeds (seed, seed+1000, ...)
    challengers: list[str] = Field(default_factory=lambda: ["sakt"])
    challenger_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # per-challenger Trainer settings that differ from the train section (e.g. {sakt: {lr: 2.0e-3}})
    challenger_train: dict[str, "LearningCfg.TrainOverride"] = Field(default_factory=dict)
    baselines: list[Literal["marginal", "per_skill", "running_accuracy"]] = Field(
        default_factory=lambda: ["marginal", "per_skill", "running_accuracy"]
    )
    graph: bool = True  # held-out-exercise comparison of graph_dkt vs the main model
    graph_params: dict[str, Any] = Field(default_factory=dict)
    heldout_exercises: int = Field(10, ge=1)
    recommend: bool = True  # evaluate recommendations on the simulator
    band: tuple[float, float] = (0.6, 0.8)
    k: int = Field(3, ge=1)
    rec_steps: int = Field(30, ge=1)
    rec_students: int = Field(200, ge=2)
    rec_seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    mastery_students: int = Field(20, ge=1)  # students shown in the mastery heat map


class LlmCfg(_Section):
    """``bentu llm serve`` / ``bentu llm eval`` settings (see docs/llm.md)."""

    model: str | None = "gemma-270m"  # a HF folder, a .gguf file, or the pinned offline Gemma 3 270M
    endpoint: str | None = None  # an OpenAI-compatible server instead of a local model
    sha256: str | None = None  # the expected SHA-256 of a .gguf model file
    banks: list[str] = Field(default_factory=list)  # question bank files; empty: the shipped EXAMPLE bank
    keywords: str | None = None  # keyword library file; None: the shipped EXAMPLE library
    sample: int | None = Field(None, ge=1)  # questions per bank; None: the standard's sample sizes
    max_tokens: int = Field(32, ge=1)
    seed: int = 0
    through_gateway: bool = False
    keyword_action: Literal["block", "mask"] = "block"
    label: bool = True
    max_prompt_chars: int = Field(20_000, ge=1)


class LoraCfg(_Section):
    """The LoRA adapter (PEFT) that tuning trains; the base model stays frozen."""

    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | None = None  # None: every linear layer but the output head


class LlmQuantCfg(_Section):
    """Weight-only quantization of the tuned model for local hardware (torchao, CPU)."""

    int8: bool = True
    int4: bool = False  # where torchao supports it on this CPU build; otherwise recorded as not supported
    max_ppl_increase: float = Field(0.05, ge=0)  # relative; above it the full-precision model is kept
    tokens: int = Field(32, ge=1)  # generated per prompt when tokens/s is measured
    prompts: int = Field(4, ge=1)


class TuningAssessCfg(_Section):
    """``bentu llm eval`` rates of the base model and the tuned one (GB/T 45654 question banks)."""

    banks: list[str] = Field(default_factory=list)  # bank files; "example": the shipped EXAMPLE bank; empty: none
    sample: int = Field(5, ge=1)  # questions per bank
    max_tokens: int = Field(48, ge=1)  # generated per answer


class TuningCfg(_Section):
    """Adapting a language model to local text: corpus gate, LoRA, federated LoRA, quantization
    (application llm_tuning; see docs/llm-tuning.md)."""

    model: str = "gemma-270m"  # a HF folder, a .gguf file, or the pinned offline Gemma 3 270M
    sha256: str | None = None  # the expected SHA-256 of a .gguf model file
    prompt_field: str | None = None  # None: prompt/answer, instruction/output, question/answer, query/response
    answer_field: str | None = None
    text_field: str | None = None  # documents instead of pairs
    max_length: int = Field(128, ge=8)
    lora: LoraCfg = Field(default_factory=LoraCfg)
    adapter: str | None = None  # start from this adapter (it must have been trained on the same base)
    merge: bool = False  # also write the base with the adapter merged in (model/merged/)
    max_memory_gb: float | None = Field(None, gt=0)  # refuse a model that needs more; None: this machine's RAM
    policy: str | None = None  # privacy policy for the corpus; None: typed placeholders ([手机号] …)
    quantize: LlmQuantCfg = Field(default_factory=LlmQuantCfg)
    assess: TuningAssessCfg = Field(default_factory=TuningAssessCfg)


class TrackingCfg(_Section):
    """Experiment tracking (bentu.pipeline.tracking): log each finished run to MLflow."""

    mlflow: str | None = None  # a tracking URI, e.g. sqlite:///mlflow.db or a server's http(s) URL
    experiment: str = "bentu"


class Recipe(_Section):
    name: str
    application: Literal["credit", "imaging", "learning", "llm", "llm_tuning"] = "credit"
    description: str | LocalizedText | None = None  # one text, or {zh: …, en: …}
    locale: LocaleCfg = Field(default_factory=LocaleCfg)
    data: DataCfg = Field(default_factory=DataCfg)
    privacy: PrivacyCfg = Field(default_factory=PrivacyCfg)
    model: ModelCfg = Field(default_factory=ModelCfg)
    train: TrainCfg = Field(default_factory=TrainCfg)
    federated: FederatedCfg = Field(default_factory=FederatedCfg)
    transfer: TransferCfg = Field(default_factory=TransferCfg)
    compress: CompressCfg = Field(default_factory=CompressCfg)
    audit: AuditCfg = Field(default_factory=AuditCfg)
    governance: GovernanceCfg = Field(default_factory=GovernanceCfg)
    imaging: ImagingCfg | None = None
    learning: LearningCfg | None = None
    llm: LlmCfg | None = None
    tuning: TuningCfg | None = None
    tracking: TrackingCfg = Field(default_factory=TrackingCfg)

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\ \t"):
            raise ValueError("must be a non-empty name without spaces or slashes")
        return v


# -- loading ----------------------------------------------------------------------------

_RECIPES_PACKAGE = "bentu.recipes"


def builtin_recipes() -> dict[str, Path]:
    """Built-in recipe names and their files."""
    folder = resources.files(_RECIPES_PACKAGE)
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def _field_names(model: type[BaseModel]) -> list[str]:
    return sorted({f.alias or name for name, f in model.model_fields.items()})


def _section_model(loc: tuple) -> type[BaseModel]:
    model: type[BaseModel] = Recipe
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        field = fields.get(part)
        ann = getattr(field, "annotation", None)
        candidates = [ann, *getattr(ann, "__args__", ())]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            break
        model = nxt
    return model


def _explain(err: ValidationError, source: str) -> RecipeError:
    lines_en, lines_zh = [], []
    for e in err.errors()[:5]:
        key = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            valid = _field_names(_section_model(e["loc"]))
            close = difflib.get_close_matches(str(e["loc"][-1]), valid, n=1, cutoff=0.5)
            hint_en = f" Did you mean {close[0]!r}?" if close else ""
            hint_zh = f"您是否想写 {close[0]!r}？" if close else ""
            lines_en.append(f"unknown key {key!r}.{hint_en} Valid keys here: {', '.join(valid)}.")
            lines_zh.append(f"未知的键 {key!r}。{hint_zh}此处可用的键：{', '.join(valid)}。")
        else:
            got = e.get("input")
            got_s = repr(got) if not isinstance(got, dict) else "a mapping"
            lines_en.append(f"{key!r}: {e['msg']} (got {got_s}).")
            lines_zh.append(f"{key!r}：{(e.get('ctx') or {}).get('zh', e['msg'])}（实际为 {got_s}）。")
    return RecipeError(
        f"Recipe {source} is invalid: " + " ".join(lines_en),
        f"配方 {source} 无效：" + " ".join(lines_zh),
    )


def _parse_yaml(text: str, source: str) -> dict:
    try:
        raw = _safe_load(text)
    except _YamlBomb as err:
        raise RecipeError(
            f"Recipe {source} is refused: {err.why}. Write the values out instead of nesting aliases.",
            f"配方 {source} 被拒绝：其别名（*name）展开后超过 {_YAML_MAX_NODES:,} 个值，或别名引用了包含它的映射/列表。"
            "请直接写出取值，不要嵌套别名。",
        ) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecipeError(
            f"Recipe {source} is not valid YAML{where}: {getattr(err, 'problem', err)}.",
            f"配方 {source} 不是有效的 YAML{('（第 %d 行第 %d 列）' % (mark.line + 1, mark.column + 1)) if mark else ''}。",
        ) from err
    if not isinstance(raw, dict):
        raise RecipeError(
            f"Recipe {source} must be a YAML mapping with at least a 'name' key.",
            f"配方 {source} 必须是至少包含 'name' 键的 YAML 映射。",
        )
    return raw


def resolve_recipe(name_or_path: str) -> tuple[dict, str]:
    """Find a recipe by built-in name or file path and return its raw mapping and its source."""
    builtins = builtin_recipes()
    path = Path(name_or_path)
    if name_or_path in builtins:
        path = builtins[name_or_path]
    elif not (path.suffix in (".yaml", ".yml") and path.exists()):
        if path.suffix in (".yaml", ".yml"):
            raise RecipeError(
                f"Recipe file {name_or_path} does not exist.",
                f"配方文件 {name_or_path} 不存在。",
            )
        close = difflib.get_close_matches(name_or_path, sorted(builtins), n=3, cutoff=0.5)
        hint_en = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        hint_zh = f"您是否想用 {'、'.join(close)}？" if close else ""
        raise RecipeError(
            f"Unknown recipe {name_or_path!r}.{hint_en} Built-in recipes: {', '.join(sorted(builtins))} "
            "(see `bentu recipes`); or give the path of a .yaml file.",
            f"未知配方 {name_or_path!r}。{hint_zh}内置配方：{'、'.join(sorted(builtins))}（见 `bentu recipes`），"
            "也可以给出 .yaml 文件的路径。",
        )
    source = str(path if name_or_path not in builtins else name_or_path)
    return _parse_yaml(_read_recipe_text(path, source), source), str(path)


def _read_recipe_text(path: Path, source: str) -> str:
    """The recipe file's text; a file that is not UTF-8 (e.g. saved as GBK) is a RecipeError."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        try:
            data.decode("gb18030")
            enc_en, enc_zh = "it looks like GBK/GB18030", "看起来是 GBK/GB18030"
        except UnicodeDecodeError:
            enc_en, enc_zh = "an unknown encoding", "未知编码"
        raise RecipeError(
            f"Recipe {source} is not UTF-8 (byte {err.start}: {enc_en}). Save it as UTF-8, e.g. "
            f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8.yaml`.",
            f"配方 {source} 不是 UTF-8 编码（第 {err.start} 字节：{enc_zh}）。请另存为 UTF-8，例如 "
            f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8.yaml`。",
        ) from err


def _set_path(raw: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise RecipeError(
                f"--set {dotted}: {part!r} is not a section, so it has no key {parts[-1]!r}.",
                f"--set {dotted}：{part!r} 不是一个配置段，不能设置 {parts[-1]!r}。",
            )
        node = child
    node[parts[-1]] = value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``key=value`` overrides (values parsed as YAML) to a raw recipe mapping."""
    for item in overrides:
        if "=" not in item:
            raise RecipeError(
                f"--set expects key=value (e.g. train.epochs=5). Got {item!r} instead.",
                f"--set 的格式是 键=值（例如 train.epochs=5），实际为 {item!r}。",
            )
        key, _, text = item.partition("=")
        try:
            value = _safe_load(text) if text else ""
        except _YamlBomb as err:
            raise RecipeError(f"--set {item.partition('=')[0]}: the value is refused: {err.why}.",
                              f"--set {item.partition('=')[0]}：该值被拒绝：别名展开过大或自引用。") from err
        except yaml.YAMLError:
            value = text
        _set_path(raw, key.strip(), value)
    return raw


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """Load a built-in recipe or a YAML file, apply ``--set`` overrides, and validate it.

    Raises
    ------
    RecipeError
        For an unknown recipe, invalid YAML, a misspelt key or a value of the wrong type.
    """
    raw, source = resolve_recipe(name_or_path)
    raw = apply_overrides(raw, list(overrides or []))
    try:
        return Recipe.model_validate(raw)
    except ValidationError as err:
        raise _explain(err, source) from err


def validate_recipe(raw: dict, source: str = "<mapping>") -> Recipe:
    """Validate a raw recipe mapping (e.g. built in Python); errors name ``source`` and the key."""
    try:
        return Recipe.model_validate(raw)
    except ValidationError as err:
        raise _explain(err, source) from err


def recipe_to_dict(recipe: Recipe) -> dict:
    """The fully resolved recipe as a plain mapping, every default written out."""
    return recipe.model_dump(mode="json", by_alias=True)


def default_data_root() -> Path | None:
    """``BENTU_DATA``, else ``../shared/data`` beside the working directory or the project."""
    env = os.environ.get("BENTU_DATA")
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        cand = base.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return None
