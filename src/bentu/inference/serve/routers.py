"""The routes: /v1/predict, /v1/explain, /v1/model, /healthz, /readyz.

No ``from __future__ import annotations`` here: the request model is built at start-up from the
run's preprocessing, and FastAPI must see the class itself in the endpoint's signature.
"""

from typing import Annotated

import bentu
from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bentu.inference.serve import schemas
from bentu.inference.serve.decision_log import input_hash

__all__ = ["build_router"]

INLINE_RECORDS = 64  # score small requests on the event loop; larger ones in the thread pool

_ERRORS = {
    401: {"model": schemas.ErrorResponse, "description": "Missing or invalid API key."},
    413: {"model": schemas.ErrorResponse, "description": "Request body over the size limit."},
    422: {"model": schemas.ErrorResponse, "description": "A field is missing, unknown, of the wrong type or not finite."},
}


def build_router(state) -> APIRouter:
    """Routes bound to one loaded run (``state``: a :class:`ServingState`)."""
    request_model = state.request_model
    bearer = HTTPBearer(auto_error=False, description="An API key from 'bentu keys new FILE'.")

    def require_key(cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if state.keys is not None and (cred is None or not state.keys(cred.credentials)):
            raise HTTPException(status_code=401)

    deps = [Depends(require_key)] if state.keys is not None else []
    router = APIRouter()

    def _score_and_log(records: list[dict], request_id: str, with_reasons: bool):
        scores = state.score(records)
        decisions = state.decide(scores)
        reasons = state.explainer(state, records, scores) if with_reasons else [[] for _ in records]
        state.decisions_log.append_many([
            {"request_id": request_id, "index": i, "model_sha256": state.model_sha256, "variant": state.predictor.variant,
             "input_sha256": input_hash(rec), "output": {"score": round(float(s), 6), "decision": d},
             "reason_codes": [r["code"] for r in rs]}
            for i, (rec, s, d, rs) in enumerate(zip(records, scores, decisions, reasons))
        ])
        return scores, decisions, reasons

    async def _run(records: list[dict], request_id: str, with_reasons: bool = False):
        if len(records) <= INLINE_RECORDS:
            return _score_and_log(records, request_id, with_reasons)
        return await run_in_threadpool(_score_and_log, records, request_id, with_reasons)

    @router.post("/v1/predict", response_model=schemas.PredictResponse, responses=_ERRORS, dependencies=deps,
                 summary="Score raw records", tags=["scoring"])
    async def predict(body: request_model, response: Response) -> dict:
        """Scores, decisions at the model's threshold and a request id; each decision is logged."""
        request_id = _new_id()
        records = [r.model_dump(by_alias=True) for r in body.records]
        scores, decisions, _ = await _run(records, request_id)
        response.headers["X-Request-ID"] = request_id
        return {
            "request_id": request_id, "model": state.model_ref, "threshold": state.predictor.threshold,
            "predictions": [{"score": float(s), "decision": d} for s, d in zip(scores, decisions)],
        }

    @router.post("/v1/explain", response_model=schemas.ExplainResponse,
                 responses={**_ERRORS, 501: {"model": schemas.ErrorResponse, "description": "No explainer installed."}},
                 dependencies=deps, summary="Reason codes of raw records", tags=["scoring"])
    async def explain(body: request_model, response: Response) -> dict:
        """Scores, decisions and the reason codes behind each decision."""
        if state.explainer is None:
            raise HTTPException(status_code=501, detail={
                "en": "Reason codes are not available for this run: they need bentu.audit.explain and a tabular "
                      "run with model/model.safetensors. /v1/predict still scores.",
                "zh": "该运行无法提供原因码：需要 bentu.audit.explain 模块以及含 model/model.safetensors 的表格模型。/v1/predict 仍可评分。",
            })
        request_id = _new_id()
        records = [r.model_dump(by_alias=True) for r in body.records]
        scores, decisions, reasons = await _run(records, request_id, with_reasons=True)
        response.headers["X-Request-ID"] = request_id
        return {
            "request_id": request_id, "model": state.model_ref,
            "method": f"DeepSHAP on the fp32 PyTorch model against {state.explainer.reference}; top adverse factors",
            "explanations": [{"score": float(s), "decision": d, "reasons": r} for s, d, r in zip(scores, decisions, reasons)],
        }

    @router.get("/v1/model", response_model=schemas.ModelInfo, responses={401: _ERRORS[401]}, dependencies=deps,
                summary="Model card and metadata", tags=["model"])
    async def model_info() -> dict:
        """What is served: the model, its variant and hash, threshold, input schema, metrics, model card."""
        # category levels are data values: only a caller who holds a key sees them
        schema = state.input_schema if state.keys is not None else \
            [{k: v for k, v in c.items() if k != "categories"} for c in state.input_schema]
        return {
            "name": state.model_name, "kind": state.kind, "variant": state.predictor.variant, "file": state.model_file,
            "sha256": state.model_sha256, "threshold": state.predictor.threshold, "decisions": state.decisions,
            "input_schema": schema, "bentu_version": bentu.__version__, **state.info,
        }

    @router.get("/healthz", response_model=schemas.Health, tags=["health"], summary="Liveness")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", response_model=schemas.Health, tags=["health"], summary="Readiness",
                responses={503: {"model": schemas.ErrorResponse, "description": "Not ready (starting or stopping)."}})
    async def readyz() -> dict:
        if not state.ready:
            raise HTTPException(status_code=503)
        return {"status": "ready"}

    return router


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex
