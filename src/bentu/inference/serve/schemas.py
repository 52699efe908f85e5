"""Request and response models of the scoring API.

Requests and responses are separate models, so raw input is never echoed back. The record model
of a request is built from the run's saved preprocessing: one field per raw input column, unknown
fields forbidden, numbers finite (``null`` means missing and is imputed as in training).
"""

from typing import Annotated, Any

from pydantic import AfterValidator, AllowInfNan, BaseModel, ConfigDict, Field, Strict, StringConstraints, create_model

__all__ = [
    "ErrorField", "ErrorBody", "ErrorResponse", "ModelRef", "Prediction", "PredictResponse", "Reason",
    "Explanation", "ExplainResponse", "InputField", "ModelInfo", "Health", "record_model", "request_model",
]

MAX_RECORDS = 10_000
MAX_TEXT = 200
MAX_IMAGE_B64 = 4_000_000
MAX_STEPS = 2_000



def _unicode(value: str) -> str:
    # JSON can carry lone surrogates ("\ud800"), which are not text and cannot be written as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


Number = Annotated[float, Strict(), AllowInfNan(False)]
Text = Annotated[str, StringConstraints(strict=True, max_length=MAX_TEXT), AfterValidator(_unicode)]
Int = Annotated[int, Strict()]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorField(_Out):
    field: str = Field(description="Where the problem is, e.g. records[0].income.")
    message: str


class ErrorBody(_Out):
    code: str = Field(description="invalid_request, unauthorized, payload_too_large, not_implemented, ...")
    message: str
    message_zh: str
    fields: list[ErrorField] = Field(default_factory=list)


class ErrorResponse(_Out):
    error: ErrorBody
    request_id: str | None = None


class ModelRef(_Out):
    name: str
    variant: str
    sha256: str


class Prediction(_Out):
    score: float = Field(description="Probability of the event (e.g. default), in [0, 1].")
    decision: str = Field(description="The decision at the model's threshold.")


class PredictResponse(_Out):
    request_id: str
    model: ModelRef
    threshold: float
    predictions: list[Prediction]


class Reason(_Out):
    code: str = Field(description="feature:direction, e.g. debt_to_income:high.")
    feature: str
    direction: str = Field(description="high, low, category or missing.")
    contribution: float = Field(description="SHAP attribution on the logit (> 0 pushes toward the event).")
    strength: str
    sensitive: bool
    text: str
    text_zh: str


class Explanation(_Out):
    score: float
    decision: str
    reasons: list[Reason]


class ExplainResponse(_Out):
    request_id: str
    model: ModelRef
    method: str = Field(description="How the reason codes were computed.")
    explanations: list[Explanation]


class InputField(_Out):
    name: str
    type: str
    categories: list[str] | None = None


class ModelInfo(_Out):
    name: str
    kind: str
    variant: str
    file: str
    sha256: str
    threshold: float
    decisions: dict[str, str]
    input_schema: list[InputField]
    metrics: dict[str, Any] | None = None
    compression: dict[str, Any] | None = None
    model_card: dict[str, str] = Field(default_factory=dict, description="Model cards by language (Markdown).")
    bentu_version: str


class Health(_Out):
    status: str


def _tabular_fields(schema: list[dict]) -> dict:
    fields = {}
    for i, col in enumerate(schema):
        if col["type"] == "numeric":
            ann, desc = Number | None, "A number; null when missing (imputed as in training)."
        else:
            # no example levels: the published schema carries no data values
            ann, desc = Text | Int | None, ("A category (the levels are in GET /v1/model, behind the key); unseen "
                                            "values count as 'other', null as missing.")
        fields[f"f{i}"] = (ann, Field(..., alias=col["name"], description=desc))
    return fields


def record_model(kind: str, schema: list[dict], pre: dict) -> type[BaseModel]:
    """The pydantic model of one input record for a run's preprocessing ``kind``."""
    cfg = ConfigDict(extra="forbid", populate_by_name=False)
    if kind == "tabular":
        fields = _tabular_fields(schema)
    elif kind == "image":
        pixels = list[list[Number]] | list[list[list[Number]]]
        image = Annotated[str, StringConstraints(strict=True, max_length=MAX_IMAGE_B64), AfterValidator(_unicode)] | pixels
        fields = {"image": (image, Field(..., description="A base64-encoded PNG/JPEG, or pixel values 0-255 "
                                                           f"of shape ({pre.get('size')}, {pre.get('size')}) or (channels, size, size)."))}
    else:
        n = int(pre.get("n_exercises", 1))
        ex = Annotated[int, Strict(), Field(ge=0, lt=n)]
        resp = Annotated[int, Strict(), Field(ge=0, le=1)]
        fields = {
            "exercises": (list[ex], Field(..., max_length=MAX_STEPS, description="Past exercises, oldest first.")),
            "responses": (list[resp], Field(..., max_length=MAX_STEPS, description="0/1 responses to them.")),
            "next": (ex, Field(..., description="The exercise to predict.")),
        }
    return create_model("Record", __config__=cfg, **fields)


def request_model(name: str, record: type[BaseModel]) -> type[BaseModel]:
    """``{"records": [Record, ...]}`` with 1 to MAX_RECORDS records."""
    return create_model(
        name, __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(..., min_length=1, max_length=MAX_RECORDS, description="Raw records to score.")),
    )
