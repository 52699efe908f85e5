"""``bentu llm serve | eval | dossier``: the compliant LLM gateway and the GB/T 45654 assessment."""

from __future__ import annotations

import datetime as _dt
import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, out_console, pick_lang, user_errors
from bentu.errors import ConfigError, DataError
from bentu.i18n import is_zh

__all__ = ["app", "serve", "eval_", "dossier"]

app = typer.Typer(help="Large language models: the compliant gateway and the GB/T 45654 assessment.",
                  no_args_is_help=True)

EndpointOpt = Annotated[Optional[str], typer.Option("--endpoint", help="An OpenAI-compatible server, e.g. http://10.0.0.5:8000/v1.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="A Hugging Face folder, a .gguf file, or 'gemma-270m' (the pinned offline package).")]
Sha256Opt = Annotated[Optional[str], typer.Option("--sha256", help="Expected SHA-256 of a .gguf model file (checked before loading).")]
KeywordsOpt = Annotated[Optional[Path], typer.Option("--keywords", help="Keyword library (YAML/JSON); default: the shipped EXAMPLE library.")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Language of the messages: zh or en.")]


def _library(path: Path | None):
    from bentu.llm.keywords import KeywordLibrary, example_library

    return KeywordLibrary.load(path) if path else example_library()


def _recipe_llm(name: str) -> tuple[dict, object]:
    from bentu.recipe import load_recipe, recipe_to_dict

    rec = load_recipe(name)
    if rec.llm is None:
        raise DataError(f"recipe {name!r} has no 'llm' section; use llm-eval or llm-gateway.",
                        f"配方 {name!r} 没有 'llm' 部分；请使用 llm-eval 或 llm-gateway。")
    return recipe_to_dict(rec), rec.llm


def serve(
    endpoint: EndpointOpt = None,
    model: ModelOpt = None,
    sha256: Sha256Opt = None,
    recipe: Annotated[Optional[str], typer.Option(help="Take model and policy from a recipe (e.g. llm-gateway).")] = None,
    adapter: Annotated[Optional[Path], typer.Option(help="A LoRA adapter folder from `bentu run llm-lora` (RUN/model/adapter), merged into the local model.")] = None,
    quantize: Annotated[str, typer.Option(help="auto: with --adapter, the variant its tuning run chose in compression.json (int8 / int4 weight-only), else full precision; none; int8; int4.")] = "auto",
    host: Annotated[str, typer.Option(help="Address to listen on (default: loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8100,
    api_keys_file: Annotated[Optional[Path], typer.Option(help="SHA-256 hashes of accepted keys (`bentu keys new FILE`).")] = None,
    pii_keys_file: Annotated[Optional[Path], typer.Option(help="Hashes of the keys whose callers may see their prompt's PII restored in answers.")] = None,
    log: Annotated[Path, typer.Option(help="Hash-chained exchange log (masked).")] = Path("llm-gateway/exchanges.jsonl"),
    log_sync: Annotated[str, typer.Option(help="fsync: every log entry forced to disk before the answer (default); flush: handed to the OS only (a gateway crash loses nothing, a power cut may lose the last entries), about 2 ms faster a request.")] = "fsync",
    log_after_reply: Annotated[bool, typer.Option("--log-after-reply", help="Write a non-streaming exchange's log entry right after the answer is sent.")] = False,
    keywords: KeywordsOpt = None,
    keyword_action: Annotated[str, typer.Option(help="block or mask answers in which a keyword is found.")] = "block",
    no_label: Annotated[bool, typer.Option("--no-label", help="Do not append the explicit GB 45438 label (only by agreement with the user).")] = False,
    max_prompt_chars: Annotated[int, typer.Option(min=1, help="Longer prompts get 413.")] = 20_000,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Larger request bodies get 413.")] = 1_000_000,
    lang: LangOpt = None,
) -> None:
    """Serve an OpenAI-compatible gateway (POST /v1/chat/completions, GET /v1/models, /healthz) in front of a model."""
    import uvicorn

    from bentu.llm.gateway import GatewayPolicy, create_gateway
    from bentu.llm.models import open_model, tuned_variant

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with user_errors(lang):
        if log_sync not in ("fsync", "flush"):
            raise ConfigError(f"--log-sync must be fsync or flush; got {log_sync!r}.",
                              f"--log-sync 只能是 fsync 或 flush；收到的是 {log_sync!r}。")
        label = not no_label
        if recipe:
            _, cfg = _recipe_llm(recipe)
            if not (endpoint or model):
                endpoint, model, sha256 = cfg.endpoint, (None if cfg.endpoint else cfg.model), cfg.sha256
            keyword_action, label, max_prompt_chars = cfg.keyword_action, cfg.label and label, cfg.max_prompt_chars
        policy = GatewayPolicy(keyword_action=keyword_action, label=label, max_prompt_chars=max_prompt_chars,
                               label_lang="zh" if is_zh(pick_lang(lang)) else "en", log_sync=log_sync,
                               log_after_reply=log_after_reply)
        if quantize == "auto":
            quantize = tuned_variant(adapter) if adapter is not None else None
        elif quantize == "none":
            quantize = None
        chat = open_model(endpoint=endpoint, model=model, sha256=sha256, adapter=adapter, quantize=quantize)
        gw = create_gateway(chat, api_keys_file=api_keys_file, pii_keys_file=pii_keys_file, log_path=log,
                            library=_library(keywords), policy=policy, max_body_bytes=max_body_bytes)
    weights = f", {chat.quantized} weight-only" if getattr(chat, "quantized", None) else ""
    err_console.print(f"bentu LLM gateway for {chat.name}{weights} on http://{host}:{port}/v1 (log: {log})")
    uvicorn.run(gw, host=host, port=port, log_level="info", access_log=False)


def eval_(
    source: Annotated[list[str], typer.Argument(help="A recipe (llm-eval) or question bank files (.jsonl/.csv).")],
    endpoint: EndpointOpt = None,
    model: ModelOpt = None,
    sha256: Sha256Opt = None,
    adapter: Annotated[Optional[Path], typer.Option(help="A LoRA adapter folder from `bentu run llm-lora`, merged into the local model: assess the tuned model.")] = None,
    through_gateway: Annotated[bool, typer.Option("--through-gateway", help="Ask through the gateway's guards (in process).")] = False,
    sample: Annotated[Optional[int], typer.Option(min=1, help="Questions per bank (default: the standard's sample sizes).")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(min=1, help="Tokens per answer.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Sampling seed.")] = None,
    keywords: KeywordsOpt = None,
    out: Annotated[Optional[Path], typer.Option(help="Run directory to create (default: runs/llm-eval-<time>).")] = None,
    lang: LangOpt = None,
) -> None:
    """GB/T 45654 assessment: sample the banks, run the model, rate refusals and passes, write the report."""
    from bentu.llm.assess import GatewayModel, run_assessment
    from bentu.llm.banks import example_bank_path, load_banks
    from bentu.llm.gateway import Gateway, GatewayPolicy
    from bentu.llm.models import open_model
    from bentu.recipe import builtin_recipes

    with user_errors(lang):
        recipe = None
        files = source
        if len(source) == 1 and (source[0] in builtin_recipes() or source[0].endswith((".yaml", ".yml"))):
            recipe, cfg = _recipe_llm(source[0])
            files = cfg.banks or [str(example_bank_path())]
            if not (endpoint or model):
                endpoint, model, sha256 = cfg.endpoint, (None if cfg.endpoint else cfg.model), cfg.sha256
            sample = sample or cfg.sample
            max_tokens = max_tokens or cfg.max_tokens
            seed = cfg.seed if seed is None else seed
            through_gateway = through_gateway or cfg.through_gateway
            keywords = keywords or (Path(cfg.keywords) if cfg.keywords else None)
        questions = load_banks(files)  # bad banks fail before any model is loaded
        library = _library(keywords)
        chat = open_model(endpoint=endpoint, model=model, sha256=sha256, adapter=adapter)
        if through_gateway:
            chat = GatewayModel(Gateway(chat, library=library, policy=GatewayPolicy()))
        out = out or Path("runs") / f"llm-eval-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        doc = run_assessment(questions, chat, out, bank_files=[Path(f) for f in files], sample=sample,
                             seed=seed or 0, params={"max_tokens": max_tokens or 32}, library=library,
                             route="gateway" if through_gateway else "direct")
        if recipe is not None:
            (out / "recipe.json").write_text(json.dumps(recipe, ensure_ascii=False, indent=2), encoding="utf-8")
    zh = is_zh(pick_lang(lang))
    for c in doc["clauses"]:
        out_console.print(f"{c['verdict_zh'] if zh else c['verdict_en']:>16}  {c['title']['zh' if zh else 'en']}: "
                          f"{c['reason']['zh' if zh else 'en']}")
    out_console.print(f"{'报告' if zh else 'Report'}: {out / ('report.zh.md' if zh else 'report.en.md')}")


def dossier(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `bentu llm eval`.")],
    out: Annotated[Optional[Path], typer.Option(help="Dossier folder to create (default: RUN_DIR/dossier).")] = None,
    gateway_log: Annotated[Optional[Path], typer.Option(help="A gateway exchange log to add as labelling evidence.")] = None,
    lang: LangOpt = None,
) -> None:
    """Assemble the filing dossier from an eval run: self-assessment, bank and keyword statistics, labels, rule packs."""
    from bentu.llm.dossier import build_dossier

    with user_errors(lang):
        path = build_dossier(run_dir, out=out, gateway_log=gateway_log, lang=pick_lang(lang))
    out_console.print(str(path))


app.command("serve")(serve)
app.command("eval")(eval_)
app.command("dossier")(dossier)
