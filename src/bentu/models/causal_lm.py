"""Causal language models: load a local one, add a LoRA adapter (PEFT), save and reload adapters.

:func:`load_causal_lm` reads a Hugging Face folder or a ``.gguf`` file with ``transformers``,
offline (``local_files_only``); :func:`estimate_memory` says how much memory the model needs before
anything is loaded, so a model that does not fit is refused with the numbers. :func:`add_lora`
wraps the model with PEFT's LoRA (only the adapter trains); :func:`save_adapter` writes the adapter
in safetensors with a fingerprint of its base model, and :func:`load_adapter` refuses an adapter
trained on another base.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bentu.errors import ConfigError, DataError, MissingDependencyError

__all__ = ["load_causal_lm", "estimate_memory", "base_fingerprint", "add_lora", "save_adapter", "load_adapter",
           "save_model_folder",
           "ADAPTER_META", "count_parameters"]

ADAPTER_META = "bentu_adapter.json"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # torchao (imported by peft when installed) reports CUDA kernels it cannot load on a CPU build: noise
    logging.getLogger("torchao").setLevel(logging.ERROR)
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)  # torchao's enum registrations


def _folder_and_kw(path: Path) -> tuple[Path, dict]:
    if not path.exists():
        raise DataError(f"model path {path} does not exist; pass a Hugging Face model folder or a .gguf file.",
                        f"模型路径 {path} 不存在；请传入 Hugging Face 模型目录或 .gguf 文件。")
    if path.is_file() and path.suffix != ".gguf":
        raise DataError(f"model file {path} is not a .gguf file; pass a GGUF file or a Hugging Face model folder.",
                        f"模型文件 {path} 不是 .gguf 文件；请传入 GGUF 文件或 Hugging Face 模型目录。")
    kw: dict[str, Any] = {"local_files_only": True}
    if path.is_file():
        return path.parent, {**kw, "gguf_file": path.name}
    return path, kw


def _transformers():
    try:
        import transformers
    except ImportError as err:
        raise MissingDependencyError(
            "language models need transformers, gguf and accelerate: pip install 'bentu[llm]'.",
            "语言模型需要 transformers、gguf 和 accelerate：pip install 'bentu[llm]'。") from err
    return transformers


def count_parameters(model: nn.Module, trainable: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def _count_on_disk(path: Path) -> int | None:
    """Parameters stored in the model's weight files, read from their headers (nothing is loaded)."""
    if path.is_file():  # GGUF
        from gguf import GGUFReader

        return int(sum(int(t.n_elements) for t in GGUFReader(str(path)).tensors))
    files = sorted(path.glob("*.safetensors"))
    if not files:
        return None
    from safetensors import safe_open

    n = 0
    for f in files:
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                n += math.prod(st.get_slice(k).get_shape())
    return n


def estimate_memory(path: str | Path, *, dtype: torch.dtype = torch.float32) -> dict:
    """Parameters and bytes the model at ``path`` needs in ``dtype``, from its weight files' headers
    (or, without safetensors / GGUF files, from its config); no weight is loaded."""
    _offline()
    path = Path(path)
    folder, kw = _folder_and_kw(path)
    try:
        n = _count_on_disk(path)
        if n is None:
            transformers = _transformers()
            from accelerate import init_empty_weights

            config = transformers.AutoConfig.from_pretrained(folder, **kw)
            with init_empty_weights():
                n = count_parameters(transformers.AutoModelForCausalLM.from_config(config))
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"cannot read the model at {path}: {err}", f"无法读取 {path} 处的模型：{err}") from err
    per = torch.finfo(dtype).bits // 8
    return {"parameters": n, "bytes": n * per, "dtype": str(dtype).removeprefix("torch.")}


def load_causal_lm(path: str | Path, *, device: str = "cpu", dtype: torch.dtype = torch.float32,
                   max_memory_bytes: int | None = None) -> tuple[nn.Module, Any]:
    """The model and tokenizer at ``path`` (a Hugging Face folder or a ``.gguf`` file), offline.

    Raises
    ------
    DataError
        The path is missing or not a model; or the model needs more than ``max_memory_bytes``
        (weights, in ``dtype``, plus a quarter for activations and the adapter's optimizer).
    """
    _offline()
    transformers = _transformers()
    transformers.utils.logging.disable_progress_bar()  # bentu shows its own progress
    folder, kw = _folder_and_kw(Path(path))
    if max_memory_bytes is not None:
        est = estimate_memory(path, dtype=dtype)
        need = int(est["bytes"] * 1.25)
        if need > max_memory_bytes:
            raise DataError(
                f"the model at {path} does not fit: {est['parameters'] / 1e6:.0f}M parameters need about "
                f"{need / 2**30:.2f} GiB in {est['dtype']} (weights + 25 %), but {max_memory_bytes / 2**30:.2f} GiB "
                "is given (tuning.max_memory_gb). Give more memory, a smaller model, or bfloat16 on a GPU.",
                f"{path} 处的模型放不下：{est['parameters'] / 1e6:.0f}M 参数在 {est['dtype']} 下约需 "
                f"{need / 2**30:.2f} GiB（权重 + 25%），但只给了 {max_memory_bytes / 2**30:.2f} GiB"
                "（tuning.max_memory_gb）。请增加内存、换用更小的模型，或在 GPU 上使用 bfloat16。")
    cached = _converted(Path(path)) if Path(path).is_file() else None
    if cached is not None:  # a GGUF file converted once: loading safetensors is much faster than de-quantizing
        folder, kw = cached, {"local_files_only": True}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **kw)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kw)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot load the model at {path}: {err}", f"无法加载 {path} 处的模型：{err}") from err
    if Path(path).is_file() and cached is None and dtype == torch.float32:
        _store_converted(Path(path), model, tokenizer)
    return model.to(device), tokenizer


def save_model_folder(model: nn.Module, tokenizer: Any, folder: Path) -> list[Path]:
    """Write ``model`` and ``tokenizer`` as a Hugging Face folder (safetensors, config, tokenizer files).

    transformers refuses ``save_pretrained`` for a model it read from GGUF; this writes the weights
    (tied ones once) and the config without its GGUF quantization note, which loads back the same.
    """
    from safetensors.torch import save_model

    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, str(folder / "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (folder / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    tokenizer.save_pretrained(folder)
    return sorted(p for p in folder.iterdir() if p.is_file())


def _cache_root() -> Path:
    return Path(os.environ.get("BENTU_CACHE") or Path.home() / ".cache" / "bentu") / "converted"


def _cache_key(gguf: Path) -> str:
    st = gguf.stat()
    return hashlib.sha256(f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20]


def _converted(gguf: Path) -> Path | None:
    folder = _cache_root() / _cache_key(gguf)
    return folder if (folder / "complete").is_file() else None


def _store_converted(gguf: Path, model: nn.Module, tokenizer: Any) -> None:
    """Keep the de-quantized model as safetensors (atomically: a half-written copy is never used)."""
    import shutil
    import tempfile

    root = _cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
        save_model_folder(model, tokenizer, tmp)
        (tmp / "complete").write_text(json.dumps({"source": str(gguf)}), encoding="utf-8")
        os.replace(tmp, root / _cache_key(gguf))
    except OSError as err:  # a read-only home: the next load de-quantizes again
        shutil.rmtree(locals().get("tmp", root / ".none"), ignore_errors=True)
        logging.getLogger(__name__).warning("could not keep a converted copy of %s in %s: %s", gguf, root, err)


def base_fingerprint(model: nn.Module) -> str:
    """SHA-256 over the base model's parameter names, shapes and a strided sample of its values.

    Two bases with the same architecture but other weights give other fingerprints; it is cheap
    (a few thousand numbers per tensor), so it runs on every load.
    """
    h = hashlib.sha256()
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    for name, p in sorted(base.state_dict().items()):
        if "lora_" in name:
            continue
        h.update(f"{name}:{tuple(p.shape)}".encode())
        flat = p.detach().reshape(-1)
        step = max(1, flat.numel() // 2048)
        h.update(flat[::step].to(torch.float32).cpu().numpy().tobytes())
    return h.hexdigest()


def add_lora(model: nn.Module, *, r: int = 8, alpha: int = 16, dropout: float = 0.05,
             target_modules: list[str] | str | None = None, seed: int = 0) -> nn.Module:
    """``model`` with a LoRA adapter (PEFT); the base weights are frozen, only the adapter trains."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as err:
        raise MissingDependencyError("LoRA tuning needs peft: pip install 'bentu[llm]'.",
                                     "LoRA 微调需要 peft：pip install 'bentu[llm]'。") from err
    torch.manual_seed(seed)
    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules or "all-linear",
                     task_type="CAUSAL_LM", bias="none")
    try:
        with warnings.catch_warnings():  # peft calls a transformers method deprecated for v6
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            return get_peft_model(model, cfg)
    except ValueError as err:
        raise ConfigError(f"cannot add LoRA to this model: {err} (tuning.lora.target_modules)",
                          f"无法为该模型添加 LoRA：{err}（tuning.lora.target_modules）") from err


def save_adapter(model: nn.Module, folder: Path, *, fingerprint: str, base: str) -> list[Path]:
    """Write the adapter (``adapter_model.safetensors`` + ``adapter_config.json``) and its base's fingerprint."""
    with warnings.catch_warnings():  # peft looks the base up by name to see if its vocabulary changed: it did not
        warnings.filterwarnings("ignore", message="Could not find a config file", category=UserWarning)
        model.save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").unlink(missing_ok=True)  # PEFT's template card: bentu writes its own model cards
    cfg_path = folder / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["base_model_name_or_path"] = Path(base).name  # the base's name, not a path on this machine
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")
    (folder / ADAPTER_META).write_text(json.dumps({"base": Path(base).name, "base_fingerprint": fingerprint}, indent=1),
                                       encoding="utf-8")
    return sorted(p for p in folder.iterdir() if p.is_file())


def load_adapter(model: nn.Module, folder: str | Path, *, trainable: bool = True) -> nn.Module:
    """``model`` with the adapter in ``folder``; refuses an adapter trained on another base model.

    Raises
    ------
    DataError
        The folder is not an adapter, or its base fingerprint differs from ``model``'s.
    """
    from peft import PeftModel

    folder = Path(folder)
    meta = folder / ADAPTER_META
    if not (folder / "adapter_config.json").is_file() or not meta.is_file():
        raise DataError(f"{folder} is not a bentu LoRA adapter: it needs adapter_config.json and {ADAPTER_META}.",
                        f"{folder} 不是 bentu 的 LoRA 适配器：需要 adapter_config.json 与 {ADAPTER_META}。")
    want = json.loads(meta.read_text(encoding="utf-8"))
    got = base_fingerprint(model)
    if want.get("base_fingerprint") != got:
        raise DataError(
            f"the adapter in {folder} was trained on another base model ({want.get('base')}, fingerprint "
            f"{str(want.get('base_fingerprint'))[:12]}…), not on this one (fingerprint {got[:12]}…). "
            "Use it with its own base model, or train a new adapter.",
            f"{folder} 中的适配器是在另一个基座模型上训练的（{want.get('base')}，指纹 "
            f"{str(want.get('base_fingerprint'))[:12]}…），不是当前模型（指纹 {got[:12]}…）。"
            "请与其原基座模型一起使用，或重新训练适配器。")
    with warnings.catch_warnings():  # peft calls a transformers method deprecated for v6
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return PeftModel.from_pretrained(model, folder, is_trainable=trainable)
