"""The app factory: load and check a run directory, then build the FastAPI app around it."""

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from scipy.special import expit
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import bentu
from bentu.compliance.audit_log import sha256_file, verify_run
from bentu.errors import BentuError, DataError
from bentu.inference.serve import schemas
from bentu.inference.serve._inputs import make_encoder
from bentu.inference.serve._limits import BodySizeLimit, HeadAsGet, KeyGate, too_large_body
from bentu.inference.serve._masking import mask_pii
from bentu.inference.serve.auth import KeyChecker, load_key_hashes
from bentu.inference.serve.decision_log import DecisionLog

__all__ = ["create_app", "ServingState", "load_state"]

log = logging.getLogger("bentu.serve")
DEFAULT_DECISION_LOG = Path("serving") / "decisions.jsonl"


@dataclass
class ServingState:
    """Everything a request needs, loaded once at start-up."""

    run_dir: Path
    predictor: Any
    encoder: Any
    kind: str
    model_name: str
    model_sha256: str
    model_file: str
    input_schema: list[dict]
    decisions: dict[str, str]
    keys: KeyChecker | None
    decisions_log: DecisionLog | None
    record_model: Any = None
    request_model: Any = None
    explainer: Any = None
    ready: bool = False
    info: dict = field(default_factory=dict)
    input_names: tuple[str, ...] = ()

    @property
    def model_ref(self) -> dict:
        return {"name": self.model_name, "variant": self.predictor.variant, "sha256": self.model_sha256}

    def score(self, records: list[dict]) -> np.ndarray:
        """Probabilities of the event for validated records."""
        feeds, positions = self.encoder(records)
        if len(feeds) == 1 and len(self.input_names) == 1:
            feeds = {self.input_names[0]: next(iter(feeds.values()))}
        logits = self.predictor.session.run(None, feeds)[0]
        if positions is not None:
            logits = logits[np.arange(len(logits)), positions]
        scores = expit(logits.reshape(len(records)).astype(np.float64))
        bad = np.flatnonzero(~np.isfinite(scores))
        if bad.size:
            raise DataError(
                f"records[{bad[0]}]: the model cannot score this record (its values are far outside the training data).",
                f"records[{bad[0]}]：模型无法为该记录评分（其取值远超训练数据的范围）。",
            )
        return scores

    def decide(self, scores: np.ndarray) -> list[str]:
        pos, neg = self.decisions["at_or_above_threshold"], self.decisions["below_threshold"]
        return [pos if s >= self.predictor.threshold else neg for s in scores]


# -------------------------------------------------------------------------------- loading


def _verify(run_dir: Path) -> None:
    """Refuse a run directory whose audit log is broken or whose files changed since recorded."""
    report = verify_run(run_dir)
    if not report.ok:
        p = report.first or {"line": 0, "reason": "unknown problem", "reason_zh": "未知问题"}
        raise DataError(
            f"Refusing to serve {run_dir}: its files fail their recorded checksums (audit.jsonl line "
            f"{p['line']}: {p['reason']}). Check it with 'bentu audit verify {run_dir}' and serve an intact run.",
            f"拒绝提供服务：{run_dir} 的文件与记录的校验值不符（audit.jsonl 第 {p['line']} 行："
            f"{p['reason_zh']}）。请用 'bentu audit verify {run_dir}' 检查，并使用完好的运行目录。",
        )


def _recorded(run_dir: Path, model_path: Path) -> None:
    """Refuse to serve a model file that the audit log never recorded (its checksum is unknown)."""
    rel = model_path.resolve().relative_to(run_dir.resolve()).as_posix()
    recorded = set()
    for line in (run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        for role in ("inputs", "outputs"):
            recorded.update(r.get("path") for r in (entry.get(role) or {}).values() if isinstance(r, dict))
    if not any(rel == p or rel.startswith(f"{p}/") for p in recorded if isinstance(p, str)):
        raise DataError(
            f"Refusing to serve {run_dir}: the model file {rel} has no recorded checksum in audit.jsonl, "
            "so it cannot be shown to be the file the run produced. Write variants with 'bentu compress', "
            "which records them.",
            f"拒绝提供服务：{run_dir} 的模型文件 {rel} 在 audit.jsonl 中没有记录的校验值，无法证明它是该运行产生的文件。"
            "请用 'bentu compress' 生成其它版本（它会记录校验值）。",
        )


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError:
        return None


def _decisions(pre: dict) -> dict[str, str]:
    if pre.get("kind") == "sequence":
        return {"at_or_above_threshold": "likely_correct", "below_threshold": "likely_incorrect"}
    if isinstance(pre.get("decision"), dict):
        return {k: str(pre["decision"][k]) for k in ("at_or_above_threshold", "below_threshold")}
    if isinstance(pre.get("label_names"), list) and len(pre["label_names"]) == 2:
        return {"at_or_above_threshold": str(pre["label_names"][1]), "below_threshold": str(pre["label_names"][0])}
    return {"at_or_above_threshold": "positive", "below_threshold": "negative"}


def _model_name(run_dir: Path) -> str:
    recipe = run_dir / "recipe.yaml"
    if recipe.is_file():
        import yaml

        with contextlib.suppress(Exception):
            data = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
            model = data.get("model") or {}
            return str(model.get("name") or data.get("name") or run_dir.name)
    return run_dir.name


def _warm_record(state: ServingState) -> dict:
    if state.kind == "tabular":
        return {c["name"]: (None if c["type"] == "numeric" else (c.get("categories") or ["x"])[0]) for c in state.input_schema}
    if state.kind == "image":
        size, ch = state.encoder.size, state.encoder.channels
        return {"image": np.zeros((ch, size, size)).tolist()}
    return {"exercises": [0], "responses": [1], "next": 0}


def _input_schema(predictor, pre: dict, kind: str) -> list[dict]:
    if kind == "tabular":
        return predictor.input_schema
    if kind == "image":
        return [{"name": "image", "type": "image"}]
    return [{"name": "exercises", "type": "sequence"}, {"name": "responses", "type": "sequence"},
            {"name": "next", "type": "integer"}]


class ReasonCodes:
    """Reason codes of tabular decisions with ``bentu.audit.explain`` (DeepSHAP on the fp32 model).

    The reference rows are ``model/background.npy`` (preprocessed training rows) when the run saved
    them, else one reference applicant built from the saved preprocessing: training medians and the
    most common category of each column.
    """

    def __init__(self, run_dir: Path, pre: dict):
        from bentu.models import create_model
        from bentu.rundir.weights import load_model_weights  # torch: only when reason codes are served

        spec, state = load_model_weights(run_dir)
        self.model = create_model(spec.name, **spec.params)
        self.model.load_state_dict(state)
        self.model.eval()
        self.pre = pre
        from bentu.data.preprocess import TabularPreprocessor

        # quoted values as the model sees them: generalised like training, rare or unseen ones as
        # __other__ (so a raw identifier sent in a categorical field is never echoed)
        self.view = TabularPreprocessor.from_dict(pre).view
        self.sensitive = tuple(pre.get("sensitive") or ())
        bg = run_dir / "model" / "background.npy"
        if bg.is_file():
            self.background, self.reference = np.load(bg).astype(np.float32), "model/background.npy"
        else:
            self.background = self._reference_row(pre)
            self.reference = "training medians and most common categories (preprocess.json)"

    @staticmethod
    def _reference_row(pre: dict) -> np.ndarray:
        from bentu.inference.serve._inputs import TabularEncoder

        row = {s["name"]: s["median"] for s in pre["numeric"]}
        row.update({s["name"]: (s["categories"] or [None])[0] for s in pre["categorical"]})
        return TabularEncoder(pre)([row])[0]["input"]

    def __call__(self, state: "ServingState", records: list[dict], scores: np.ndarray) -> list[list[dict]]:
        import pandas as pd

        from bentu.audit.explain import explain_tabular

        x = state.encoder(records)[0]["input"]
        exp = explain_tabular(model=self.model, background=self.background, X=x, feature_names=list(self.pre["feature_names"]),
                              groups={k: list(v) for k, v in self.pre["groups"].items()}, sensitive=self.sensitive)
        raw = self.view(pd.DataFrame.from_records(records))
        en, zh = exp.reason_codes(raw, lang="en"), exp.reason_codes(raw, lang="zh")
        return [
            [{"code": f"{r['feature']}:{r['direction']}", "feature": r["feature"], "direction": r["direction"],
              "contribution": float(r["contribution"]), "strength": r["strength"], "sensitive": bool(r["sensitive"]),
              "text": mask_pii(r["text"]), "text_zh": mask_pii(z["text"])} for r, z in zip(row_en, row_zh)]
            for row_en, row_zh in zip(en, zh)
        ]


def _find_explainer(run_dir: Path, pre: dict, kind: str):
    """Reason codes when ``bentu.audit.explain`` is installed and the run is tabular with saved weights."""
    try:
        import bentu.audit.explain  # noqa: F401
    except ImportError:
        return None
    if kind != "tabular" or not (run_dir / "model" / "model.json").is_file():
        return None
    return ReasonCodes(run_dir, pre)


def load_state(
    run_dir: Path, *, api_keys_file: Path | None = None, decision_log: Path | None = None, variant: str | None = None,
) -> ServingState:
    """Check and load everything; raises a :class:`BentuError` with a clear message on a bad run."""
    from bentu.inference.predictor import Predictor

    run_dir = Path(run_dir)
    keys = KeyChecker(load_key_hashes(api_keys_file)) if api_keys_file is not None else None
    if (run_dir / "model" / "model.onnx").is_file() and (run_dir / "model" / "preprocess.json").is_file():
        _verify(run_dir)  # before any model file is parsed
    try:
        predictor = Predictor.from_run_dir(run_dir, variant, threads=1)  # no model → DataError
    except BentuError:
        raise
    except Exception as err:  # e.g. ONNX Runtime cannot parse an unrecorded, damaged file
        raise DataError(
            f"Cannot load the model of {run_dir}: {type(err).__name__}: {str(err)[:300]}",
            f"无法加载 {run_dir} 的模型：{type(err).__name__}：{str(err)[:300]}",
        ) from err
    _recorded(run_dir, Path(predictor.model_path))
    pre = predictor.preprocess
    kind = pre.get("kind", "tabular")
    state = ServingState(
        run_dir=run_dir, predictor=predictor, encoder=make_encoder(pre), kind=kind, model_name=_model_name(run_dir),
        model_sha256=sha256_file(Path(predictor.model_path)),
        model_file=Path(predictor.model_path).resolve().relative_to(run_dir.resolve()).as_posix(),
        input_schema=_input_schema(predictor, pre, kind), decisions=_decisions(pre), keys=keys,
        decisions_log=None, explainer=_find_explainer(run_dir, pre, kind),
    )
    state.input_names = tuple(i.name for i in predictor.session.get_inputs())
    state.record_model = schemas.record_model(kind, state.input_schema, pre)
    state.request_model = schemas.request_model("PredictRequest", state.record_model)
    state.score([state.record_model.model_validate(_warm_record(state)).model_dump(by_alias=True)])  # warm-up
    state.decisions_log = DecisionLog(decision_log if decision_log is not None else run_dir / DEFAULT_DECISION_LOG)
    state.info = {
        "metrics": _read_json(run_dir / "metrics.json"), "compression": _read_json(run_dir / "compression.json"),
        "model_card": {lang: (run_dir / f"model_card.{lang}.md").read_text(encoding="utf-8")
                       for lang in ("en", "zh") if (run_dir / f"model_card.{lang}.md").is_file()},
    }
    state.ready = True
    return state


# --------------------------------------------------------------------------------- errors


def _error(status: int, code: str, en: str, zh: str, fields: list[dict] | None = None, headers=None) -> JSONResponse:
    body = {"error": {"code": code, "message": en, "message_zh": zh, "fields": fields or []}, "request_id": None}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_path(loc: tuple) -> str:
    """``("body", "records", 0, "income", "float")`` → ``records[0].income`` (union tags dropped)."""
    items = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    limit = 2 if items and items[0] == "records" else 1
    out, names = "", 0
    for item in items:
        if isinstance(item, int):
            out += f"[{item}]"
        elif names < limit:
            out += ("." if out else "") + mask_pii(str(item))
            names += 1
    return ("body" + out if out.startswith("[") else out) or "body"


def _validation_fields(errors: list[dict]) -> list[dict]:
    merged: dict[str, list[str]] = {}
    for e in errors[:50]:
        msgs = merged.setdefault(_field_path(tuple(e.get("loc", ()))), [])
        msg = mask_pii(str(e.get("msg", "invalid value")))
        if msg not in msgs:
            msgs.append(msg)
    return [{"field": f, "message": " or ".join(m)} for f, m in merged.items()]


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _validation_fields(list(exc.errors()))
        names = ", ".join(f["field"] for f in fields[:5])
        log.info("422 %s %s: %s", request.method, request.url.path, names)
        return _error(422, "invalid_request", f"The request is invalid: {names}.", f"请求无效：{names}。", fields)

    @app.exception_handler(BentuError)
    async def _bentu(request: Request, exc: BentuError) -> JSONResponse:
        en, zh = mask_pii(exc.en), mask_pii(exc.zh)
        log.info("422 %s %s: %s", request.method, request.url.path, en)
        return _error(422, "invalid_request", en, zh, [{"field": en.split(":", 1)[0], "message": en}])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413:
            return JSONResponse(too_large_body(request.app.state.max_body_bytes), status_code=413)
        if exc.status_code == 401:
            return _error(401, "unauthorized", "A valid API key is required: send 'Authorization: Bearer <key>'.",
                          "需要有效的 API 密钥：请发送 'Authorization: Bearer <密钥>'。", headers={"WWW-Authenticate": "Bearer"})
        if exc.status_code == 501:
            return _error(501, "not_implemented", exc.detail["en"], exc.detail["zh"])
        if exc.status_code == 503:
            return _error(503, "not_ready", "The service is not ready.", "服务尚未就绪。")
        detail = mask_pii(str(exc.detail))
        return _error(exc.status_code, "http_error", detail, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # No traceback text from user data: the type and a masked message only.
        log.error("500 %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, mask_pii(str(exc))[:200])
        return _error(500, "internal_error", "Internal error; the request was not scored.", "内部错误；该请求未被评分。")


# ------------------------------------------------------------------------------------ app


def create_app(
    run_dir: Path,
    *,
    api_keys_file: Path | None = None,
    decision_log: Path | None = None,
    max_body_bytes: int = 1_000_000,
    variant: str | None = None,
) -> FastAPI:
    """Build the scoring service of a run directory.

    Parameters
    ----------
    run_dir : Path
        A run directory written by ``bentu run`` (``model/``, ``audit.jsonl``, ...). Its audit log
        must verify and must record the served model file; otherwise the service refuses to start.
    api_keys_file : Path, optional
        SHA-256 hashes of the accepted API keys (``bentu keys new FILE``); without it, no key is asked.
    decision_log : Path, optional
        The hash-chained decision log; default ``RUN_DIR/serving/decisions.jsonl``.
    max_body_bytes : int
        Larger request bodies get 413.
    variant : str, optional
        The model variant from ``compression.json``; default the chosen one.

    Raises
    ------
    BentuError
        No model in ``run_dir``, a tampered file, a broken audit log, or a bad keys file.
    """
    from bentu.inference.serve.routers import build_router

    state = load_state(Path(run_dir), api_keys_file=api_keys_file, decision_log=decision_log, variant=variant)
    keys = state.keys

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state.ready = True
        yield
        state.ready = False
        if state.decisions_log is not None:
            state.decisions_log.close()  # flush and sync every decision on graceful shutdown
        log.info("decision log closed: %s", state.decisions_log.path if state.decisions_log else None)

    # No /docs or /redoc: FastAPI's pages load their scripts and fonts from a CDN. /openapi.json
    # is served (it holds field names and types, no data values).
    app = FastAPI(
        title=f"bentu scoring service: {state.model_name}",
        version=bentu.__version__,
        description="Scores raw records with the run's saved preprocessing and ONNX model; every decision is logged.",
        lifespan=lifespan, docs_url=None, redoc_url=None,
    )
    app.state.serving = state
    app.state.max_body_bytes = int(max_body_bytes)
    app.add_middleware(BodySizeLimit, max_bytes=int(max_body_bytes))
    if keys is not None:
        # outermost after HEAD: the key is checked before any byte of the body is read
        app.add_middleware(KeyGate, check=keys, prefix="/v1/")
    app.add_middleware(HeadAsGet)
    _install_handlers(app)
    app.include_router(build_router(state))
    if api_keys_file is None:
        log.warning("serving %s without API keys: anyone who can reach the port can score", run_dir)
    return app

