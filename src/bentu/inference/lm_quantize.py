"""Weight-only quantization of a language model for local CPUs (torchao), measured like compression.json.

:func:`quantize_lm` makes int8 and int4 copies of a full-precision model with torchao's
``IntxWeightOnlyConfig`` (the weight-only path it supports on CPUs); :func:`measure_lm` gives each variant's serialized size, generation speed and held-out
perplexity; :func:`choose_variant` keeps the smallest one whose perplexity rises no more than the
bound, else the full-precision model.
"""

from __future__ import annotations

import copy
import io
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["quantize_lm", "measure_lm", "choose_variant", "state_bytes", "VARIANTS"]

log = logging.getLogger(__name__)

VARIANTS = ("int8", "int4")


def _torchao():
    logging.getLogger("torchao").setLevel(logging.ERROR)  # its CUDA kernels fail to load on a CPU build: noise
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    import torchao.quantization as q

    return q


def _is_head(module: nn.Module, fqn: str) -> bool:
    return isinstance(module, nn.Embedding) or (isinstance(module, nn.Linear) and fqn.split(".")[-1] == "lm_head")


def quantize_lm(model: nn.Module, kind: str) -> nn.Module:
    """A weight-only quantized copy of ``model`` (``kind``: ``int8`` or ``int4``); ``model`` is unchanged.

    ``int8``: every linear layer and the token embedding (the largest tensor of a small model with a
    big vocabulary, and the tied output head) in int8, one scale per row. ``int4``: the transformer
    blocks' linear layers in int4 with one scale per group of 32 weights; the embedding and the output
    head stay int8 (4-bit output heads cost a small model most of its accuracy).

    Raises
    ------
    NotImplementedError
        torchao cannot quantize this way on this machine (the message says why).
    """
    q = _torchao()
    if kind not in VARIANTS:
        raise ValueError(f"unknown quantization {kind!r}; expected one of {VARIANTS}")
    out = copy.deepcopy(model).eval()
    int8 = q.IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=q.PerAxis(0))
    if kind == "int8":
        q.quantize_(out, int8, filter_fn=lambda m, fqn: isinstance(m, (nn.Linear, nn.Embedding)))
    else:
        q.quantize_(out, int8, filter_fn=_is_head)
        q.quantize_(out, q.IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=q.PerGroup(32)),
                    filter_fn=lambda m, fqn: isinstance(m, nn.Linear) and not _is_head(m, fqn))
    return out


def state_bytes(model: nn.Module) -> int:
    """Bytes of ``model``'s state dict as ``torch.save`` writes it (what a deployment stores)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


@torch.inference_mode()
def _tokens_per_second(model: nn.Module, prompts: list[torch.Tensor], new_tokens: int, pad_id: int | None) -> float:
    model.eval()
    total, start = 0, time.perf_counter()
    for ids in prompts:
        out = model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=pad_id, temperature=None, top_p=None, top_k=None)
        total += int(out.shape[1] - ids.shape[1])
    return total / max(time.perf_counter() - start, 1e-9)


def measure_lm(model: nn.Module, *, loss_fn: Callable[[nn.Module], float], prompts: list[torch.Tensor],
               new_tokens: int, pad_id: int | None) -> dict[str, Any]:
    """Size, tokens/s of greedy generation over ``prompts`` and held-out perplexity of ``model``."""
    loss = loss_fn(model)
    return {"size_bytes": state_bytes(model), "tokens_per_s": _tokens_per_second(model, prompts, new_tokens, pad_id),
            "loss": loss, "perplexity": math.exp(min(loss, 50.0))}


def choose_variant(measured: dict[str, dict], *, max_ppl_increase: float) -> tuple[str, dict]:
    """The smallest variant whose perplexity is within ``(1 + max_ppl_increase)`` of fp32's, and why."""
    ref = measured["fp32"]["perplexity"]
    ok = {k: v for k, v in measured.items() if k != "fp32" and "perplexity" in v
          and v["perplexity"] <= ref * (1 + max_ppl_increase)}
    for name, v in measured.items():
        if name != "fp32" and "perplexity" in v:
            v["ppl_increase"] = v["perplexity"] / ref - 1
    if not ok:
        return "fp32", {"en": f"every quantized variant raised perplexity by more than {max_ppl_increase:.0%} "
                              "(or none could be made): the full-precision model is kept",
                        "zh": f"所有量化版本的困惑度升幅都超过 {max_ppl_increase:.0%}（或无法生成）：保留全精度模型"}
    best = min(ok, key=lambda k: ok[k]["size_bytes"])
    inc = ok[best]["ppl_increase"]
    return best, {"en": f"{best}: {ok[best]['size_bytes'] / measured['fp32']['size_bytes']:.0%} of the fp32 size, "
                        f"perplexity {inc:+.1%} (bound {max_ppl_increase:.0%})",
                  "zh": f"{best}：体积为 fp32 的 {ok[best]['size_bytes'] / measured['fp32']['size_bytes']:.0%}，"
                        f"困惑度变化 {inc:+.1%}（上限 {max_ppl_increase:.0%}）"}
