"""GB 45438-2025 labels of AI-generated text: the explicit label and the implicit (metadata) label.

What this relies on (GB 45438-2025 《网络安全技术 人工智能生成合成内容标识方法》 and the 《人工智能生成合成内容
标识办法》, both in force 2025-09-01), as summarised publicly — secondary [S], field list
remembered [M]; check against the standard's text before a filing relies on it:

- Explicit label for text: a perceivable text prompt such as "人工智能生成" at the beginning, the
  end or a suitable place in the middle of the generated text [S].
- Implicit label: metadata of the file or response holding an ``AIGC`` JSON object with
  ``Label`` (``"1"`` AI-generated, ``"2"`` possibly AI-generated, ``"3"`` suspected AI-generated),
  ``ContentProducer`` (producer's name or code), ``ProduceID`` (content id), ``ReservedCode1``,
  ``ContentPropagator``, ``PropagateID``, ``ReservedCode2`` [S/M].
- Output without the explicit label only by agreement with the user, with logs kept ≥ 6 months [S].
"""

from __future__ import annotations

__all__ = ["EXPLICIT_LABEL", "AIGC_FIELDS", "add_explicit_label", "implicit_label", "has_explicit_label"]

EXPLICIT_LABEL = {"zh": "【本内容由人工智能生成】", "en": "[AI-generated content]"}
AIGC_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
               "PropagateID", "ReservedCode2")


def add_explicit_label(text: str, lang: str = "zh") -> str:
    """``text`` with the explicit label at its end (on its own line)."""
    return f"{text}\n{EXPLICIT_LABEL[lang]}"


def has_explicit_label(text: str) -> bool:
    """Whether ``text`` carries one of the explicit labels."""
    return any(label in text for label in EXPLICIT_LABEL.values())


def implicit_label(*, producer: str, produce_id: str, propagator: str = "", propagate_id: str = "",
                   reserved1: str = "", reserved2: str = "") -> dict:
    """The ``AIGC`` metadata object (``Label`` "1": AI-generated)."""
    return {"Label": "1", "ContentProducer": producer, "ProduceID": produce_id, "ReservedCode1": reserved1,
            "ContentPropagator": propagator, "PropagateID": propagate_id, "ReservedCode2": reserved2}
