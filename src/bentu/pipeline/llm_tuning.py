"""The LLM tuning application: adapt a language model to local text (recipe ``llm-lora``).

Steps, each recorded in the audit log:

1. **load_data**: a corpus file (JSONL / CSV / text) or the built-in ``bank-faq-sim``.
2. **privacy** (the corpus gate, :mod:`bentu.privacy.corpus`): every record scanned for PII and
   de-identified by policy, scanned again, checked against the keyword library; a record that
   fails is left out. ``privacy.json#/corpus`` holds the GB/T 45654 training-data evidence and
   ``review/manual_sample.csv`` the checklist for the manual review.
3. **prepare_data**: split by record (train / validation / held-out test), tokenize.
4. **train**: LoRA (PEFT) with the Trainer (``objective="causal_lm"``: seed, early stopping on
   validation loss, checkpoints, progress) — pooled, or federated on Flower
   (``federated.enabled``), where only the adapter's weights travel; ``federated.compare`` adds
   pooled and each institution alone.
5. **evaluate**: held-out perplexity before and after tuning (``metrics.json``); with
   ``tuning.assess.banks``, the ``bentu llm eval`` rates of the base and the tuned model
   (``assessment/before``, ``assessment/after``, ``metrics.json#/assessment``).
6. **compress**: weight-only int8 / int4 of the tuned model (torchao): size, tokens/s,
   perplexity change; the full-precision model is kept when the loss exceeds the bound.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
from pathlib import Path

import numpy as np
import torch

from bentu.data.corpus import corpus_fields, encode_corpus, prompt_ids, read_corpus
from bentu.errors import ConfigError, DataError
from bentu.federated._data import TensorItems
from bentu.models.causal_lm import (
    add_lora,
    base_fingerprint,
    count_parameters,
    load_adapter,
    load_causal_lm,
    save_adapter,
    save_model_folder,
)
from bentu.pipeline._context import RunContext
from bentu.recipe import TuningCfg
from bentu.train import Trainer
from bentu.train.device import device_info, resolve_device

__all__ = ["run", "DATASETS"]

log = logging.getLogger(__name__)

DATASETS = ("bank-faq-sim",)


def _ppl(loss: float) -> float:
    return float(math.exp(min(loss, 50.0)))


def _resolve_model(t: TuningCfg) -> tuple[Path, str | None]:
    if t.model == "gemma-270m":
        from bentu.llm.models import GEMMA_SHA256, gemma_270m_path

        return gemma_270m_path(), GEMMA_SHA256
    path = Path(t.model)
    if t.sha256 and path.is_file():
        from bentu.llm.models import check_sha256

        check_sha256(path, t.sha256)
    return path, t.sha256


def _memory_limit(t: TuningCfg) -> int:
    if t.max_memory_gb is not None:
        return int(t.max_memory_gb * 2**30)
    import psutil

    return int(psutil.virtual_memory().available)


def _load(ctx: RunContext) -> tuple[list[dict], dict, list[dict]]:
    d = ctx.recipe.data
    if d.path:
        path = Path(d.path)
        if not path.is_absolute() and ctx.data_root is not None and not path.exists():
            path = ctx.data_root / path
        if ctx.data_path is not None and ctx.data_path.is_file():
            path = ctx.data_path
        records, source = read_corpus(path, d.format)
        return records, source, []
    name = d.dataset or "bank-faq-sim"
    if name not in DATASETS:
        raise ConfigError(f"data.dataset {name!r} is not a corpus; the built-in corpus is 'bank-faq-sim', or give data.path.",
                          f"data.dataset {name!r} 不是语料；内置语料为 'bank-faq-sim'，或请指定 data.path。")
    from bentu.llm.faq_sim import generate_bank_faq

    opts = {"n": 360, "seed": 0, **d.options}
    records, planted = generate_bank_faq(int(opts["n"]), int(opts["seed"]))
    return records, {"dataset": name, "generator": "bentu.llm.faq_sim.generate_bank_faq", "rows": len(records),
                     "options": opts}, planted


def _gate(ctx: RunContext, records: list[dict], fields: dict[str, str], source: str):
    from bentu.llm.keywords import KeywordLibrary, example_library
    from bentu.privacy.corpus import gate_corpus

    t = ctx.recipe.tuning or TuningCfg()
    policy, key = None, None
    if t.policy:
        from bentu.privacy.operators import load_key
        from bentu.privacy.policy import load_policy

        policy = load_policy(t.policy)
        if any(op.get("op") in ("pseudonymize", "replace") for op in [policy.default, *policy.types.values()]):
            key = load_key(ctx.recipe.privacy.key_env, ctx.recipe.privacy.key_file)
    lib_path = ctx.recipe.llm.keywords if ctx.recipe.llm else None
    lib = KeywordLibrary.load(lib_path) if lib_path else example_library()
    method = f"keyword library {Path(lib.source).name} ({len(lib.terms)} terms)"
    result = gate_corpus(records, list(fields.values()), policy=policy, key=key,
                         risk_scan=lambda text: [h.risk for h in lib.find(text)], risk_method=method,
                         seed=ctx.recipe.train.seed, source=source)
    result.report["keyword_library"] = {"source": lib.source, "terms": len(lib.terms), "notice": lib.notice}
    return result


def _write_review(ctx: RunContext, sample: list[dict], fields: dict[str, str]) -> Path:
    """The manual review's checklist: one row per sampled item, columns to fill in (UTF-8 with BOM for Excel)."""
    path = ctx.path("review/manual_sample.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["item 序号", "id", *fields.values(), "pass 合格 (是/否)", "risk 风险类别", "reviewer 审核人", "note 备注"])
    for row in sample:
        w.writerow([row["item"], row["id"], *(row[f] for f in fields.values()), "", "", "", ""])
    path.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
    return path


def _split(n: int, groups: list[str] | None, test: float, val: float, seed: int) -> dict[str, np.ndarray]:
    """Record indices of train / val / test, split within each group (institution) so every one is in each."""
    rng = np.random.default_rng(seed)
    keys = groups or ["all"] * n
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for g in sorted(set(keys)):
        idx = np.array([i for i, k in enumerate(keys) if k == g])
        rng.shuffle(idx)
        n_test, n_val = max(1, round(len(idx) * test)), max(1, round(len(idx) * val))
        out["test"] += idx[:n_test].tolist()
        out["val"] += idx[n_test:n_test + n_val].tolist()
        out["train"] += idx[n_test + n_val:].tolist()
    return {k: np.array(sorted(v), dtype=int) for k, v in out.items()}


def _items(enc: dict, idx: np.ndarray) -> TensorItems:
    t = torch.as_tensor(idx, dtype=torch.long)
    return TensorItems((enc["input_ids"][t], enc["attention_mask"][t]), enc["labels"][t])


def _loss_on(ev: Trainer, model, ds: TensorItems, device: torch.device) -> float:
    """Held-out loss of ``model`` computed on ``device``; the model is handed back on the CPU."""
    model.to(device)
    try:
        return ev.lm_loss(model, ds)
    finally:
        model.to("cpu")


def _trainer(ctx: RunContext, *, checkpoints: Path | None = None, description: str = "LoRA") -> Trainer:
    tr = ctx.recipe.train
    return Trainer(objective="causal_lm", optimizer=tr.optimizer, lr=tr.lr, weight_decay=tr.weight_decay,
                   epochs=tr.epochs, batch_size=tr.batch_size, patience=tr.patience, seed=tr.seed,
                   device=tr.device, progress=ctx.progress, checkpoint_dir=checkpoints, description=description,
                   mixup=tr.mixup, ema_decay=tr.ema_decay, pos_weight=tr.pos_weight, channels_last=tr.channels_last,
                   dp=tr.dp)


def run(ctx: RunContext) -> None:
    """Run the LLM tuning application inside ``ctx`` (see the module docstring)."""
    r, t = ctx.recipe, ctx.recipe.tuning or TuningCfg()
    if r.federated.enabled:  # settings that do not apply to a language model fail before anything loads
        from bentu.federated._core import check_objective
        from bentu.federated.strategies import resolve_strategy

        check_objective(resolve_strategy(r.federated.strategy), r.train, "causal_lm")
        if t.adapter:
            raise ConfigError("tuning.adapter (start from an adapter) is not available with federated.enabled.",
                              "federated.enabled 时不支持 tuning.adapter（从已有适配器开始）。")
    _trainer(ctx)._validate()
    banks = _banks(t)  # a bad bank fails before anything trains
    records, source, planted = _load(ctx)
    src_name = str(source.get("path") or source.get("dataset"))
    fields = corpus_fields(records, prompt=t.prompt_field, answer=t.answer_field, text=t.text_field, source=src_name)
    ctx.audit.append("load_data", params={"source": {k: v for k, v in source.items() if k != "options"},
                                          "rows": len(records), "fields": fields},
                     inputs={"corpus": Path(source["path"])} if "path" in source else {})

    # 2. the corpus gate
    gate = _gate(ctx, records, fields, src_name)
    review = _write_review(ctx, gate.review_sample, fields)
    gate.report["manual_review"]["file"] = "review/manual_sample.csv"
    privacy = {"pii": "auto", "deidentified": True, "policy": gate.report["policy"], "rows_in": len(records),
               "rows_out": len(gate.records), "records_suppressed": len(gate.excluded), "corpus": gate.report}
    ctx.write_json("privacy.json", privacy)
    ctx.evidence["privacy"] = privacy
    ctx.audit.append("privacy_gate", params={"policy": gate.report["policy"], "pii_found": gate.report["pii_found"],
                                        "records_excluded": len(gate.excluded)},
                     outputs={"privacy": ctx.dir / "privacy.json", "manual_review": review})
    kept = gate.records
    if not kept:
        raise DataError(f"Every record of the corpus {src_name} failed the corpus gate (PII left or risk terms): "
                        "nothing is left to train on.",
                        f"语料 {src_name} 的所有记录都未通过语料关卡（残留个人信息或风险词）：没有可训练的内容。")

    # 3. split and tokenize
    inst = r.data.institution or ("institution" if all("institution" in x for x in kept) else None)
    groups = [str(x[inst]) for x in kept] if inst else None
    split = _split(len(kept), groups, r.data.split.test, r.data.split.val, r.train.seed)
    path, sha = _resolve_model(t)
    device = resolve_device(r.train.device)
    base, tok = load_causal_lm(path, max_memory_bytes=_memory_limit(t))
    fp = base_fingerprint(base)
    enc = encode_corpus(kept, tok, fields, max_length=t.max_length)
    data = {k: _items(enc, idx) for k, idx in split.items()}
    profile = {"source": {**{k: v for k, v in source.items() if k in ("dataset", "path", "rows", "sha256", "generator")}},
               "rows": len(kept), "split": {k: int(len(v)) for k, v in split.items()} | {"seed": r.train.seed},
               "institutions": {g: groups.count(g) for g in sorted(set(groups))} if groups else None,
               "tokens": {"label_tokens": enc["tokens"], "truncated": enc["truncated"], "max_length": t.max_length},
               "fields": fields}
    ctx.write_json("data_profile.json", profile)
    ctx.evidence["profile"] = profile
    ctx.audit.append("prepare_data", params={"split": profile["split"], "max_length": t.max_length},
                     outputs={"data_profile": ctx.dir / "data_profile.json"})

    # 4. before / train / after
    evaluator = _trainer(ctx)
    before = {k: _loss_on(evaluator, base, data[k], device) for k in ("val", "test")}
    assessed = {"before": _assess(ctx, banks, base, tok, "before")} if banks else {}
    lora = t.lora

    def model_fn():
        m, _ = load_causal_lm(path)
        m = add_lora(m, r=lora.r, alpha=lora.alpha, dropout=lora.dropout, target_modules=lora.target_modules,
                     seed=r.train.seed)
        return m

    if t.adapter:
        model = load_adapter(base, t.adapter)
    else:
        model = add_lora(base, r=lora.r, alpha=lora.alpha, dropout=lora.dropout, target_modules=lora.target_modules,
                         seed=r.train.seed)
    info: dict = {"base": {"path": str(path), "sha256": sha, "fingerprint": fp,
                           "parameters": count_parameters(model) - count_parameters(model, trainable=True)},
                  "adapter": {"r": lora.r, "alpha": lora.alpha, "dropout": lora.dropout,
                              "trainable_parameters": count_parameters(model, trainable=True)},
                  "device": device_info(device)}
    if r.federated.enabled:
        model, fed = _federated(ctx, model_fn, data, split, groups, kept)
        info["federated"] = fed
    else:
        trainer = _trainer(ctx, checkpoints=ctx.dir / "model" / "checkpoints", description=ctx.tr("LoRA tuning", "LoRA 微调"))
        trainer.fit(model, data["train"], data["val"])
        info.update(history=trainer.history_, best_epoch=trainer.best_epoch_, stopped_early=trainer.stopped_early_,
                    train_seconds=trainer.train_seconds_)
    ckpt = ctx.dir / "model" / "checkpoints"
    ctx.audit.append("train", params={"mode": "federated" if r.federated.enabled else "pooled",
                                      "adapter": info["adapter"], "epochs": r.train.epochs},
                     outputs={"checkpoints": ckpt} if ckpt.exists() else {})
    after = {k: _loss_on(evaluator, model, data[k], device) for k in ("val", "test")}

    # 5. save the adapter (and the merged model)
    adapter_files = save_adapter(model, ctx.dir / "model" / "adapter", fingerprint=fp, base=str(path))
    outputs = {f"adapter/{p.name}": p for p in adapter_files}
    merged = model.merge_and_unload()
    if t.merge:
        for f in save_model_folder(merged, tok, ctx.dir / "model" / "merged"):
            outputs[f"merged/{f.name}"] = f
    metrics = {
        "test": {"loss": after["test"], "perplexity": _ppl(after["test"]), "n": int(len(split["test"]))},
        "val": {"loss": after["val"], "perplexity": _ppl(after["val"]), "n": int(len(split["val"]))},
        "before": {"test": {"loss": before["test"], "perplexity": _ppl(before["test"])},
                   "val": {"loss": before["val"], "perplexity": _ppl(before["val"])}},
        "tuning": info,
    }
    if "federated" in info and "comparison" in info["federated"]:
        metrics["comparison"] = info["federated"].pop("comparison")
    if banks:
        assessed["after"] = _assess(ctx, banks, merged, tok, "after")
        metrics["assessment"] = {"banks": [str(p) for p in banks[1]], "sample": t.assess.sample,
                                 "max_tokens": t.assess.max_tokens, **assessed}
    ctx.write_json("metrics.json", metrics)
    ctx.evidence["metrics"] = metrics
    ctx.audit.append("evaluate", params={"metric": "held-out perplexity"},
                     outputs={"metrics": ctx.dir / "metrics.json", **outputs})

    # 6. quantization
    if t.quantize.int8 or t.quantize.int4:
        _compress(ctx, merged, tok, data["test"], kept, split["test"], fields)
    _report(ctx, privacy, profile, metrics, planted)


def _banks(t: TuningCfg) -> tuple[list, list[Path]] | None:
    """The question banks of ``tuning.assess.banks`` (``"example"``: the shipped EXAMPLE bank), read and checked."""
    if not t.assess.banks:
        return None
    from bentu.llm.banks import example_bank_path, load_banks

    paths = [example_bank_path() if b == "example" else Path(b) for b in t.assess.banks]
    try:
        return load_banks(paths), paths
    except DataError as err:
        raise DataError(f"tuning.assess.banks: {err.en}", f"配置项 tuning.assess.banks：{err.zh}") from err


def _assess(ctx: RunContext, banks: tuple[list, list[Path]], model, tok, when: str) -> dict:
    """``bentu llm eval`` of ``model`` (direct, greedy) into ``assessment/<when>/``; its rates per bank."""
    from bentu.llm.assess import run_assessment
    from bentu.llm.models import LocalModel

    t = ctx.recipe.tuning or TuningCfg()
    a = t.assess
    questions, paths = banks
    out = ctx.dir / "assessment" / when
    chat = LocalModel.wrap(model, tok, name=f"{Path(t.model).name} ({when} tuning)")
    doc = run_assessment(questions, chat, out, bank_files=paths, sample=a.sample, seed=ctx.recipe.train.seed,
                         params={"max_tokens": a.max_tokens})
    ctx.audit.append("llm_eval", params={"when": when, "sample": a.sample, "max_tokens": a.max_tokens},
                     inputs={f"bank{i}": p for i, p in enumerate(paths)},
                     outputs={"assessment": out / "assessment.json", "answers": out / "answers.jsonl"})
    return {"rates": doc["rates"], "dir": f"assessment/{when}"}


def _federated(ctx: RunContext, model_fn, data: dict, split: dict, groups: list[str] | None, kept: list[dict]):
    from bentu.federated import train_federated

    r = ctx.recipe
    if not groups:
        raise DataError("federated.enabled needs an institution for every record: set data.institution to the field "
                        "that names it.", "federated.enabled 要求每条记录都有所属机构：请把 data.institution 设为标明机构的字段。")
    enc_train = data["train"]
    clients: dict[str, TensorItems] = {}
    train_groups = [groups[i] for i in split["train"]]
    for g in sorted(set(train_groups)):
        pos = torch.as_tensor([j for j, x in enumerate(train_groups) if x == g], dtype=torch.long)
        clients[g] = TensorItems(tuple(x[pos] for x in enc_train.x), enc_train.y[pos])
    result = train_federated(model_fn=model_fn, clients=clients, val=data["val"], cfg=r.federated, train=r.train,
                             workdir=ctx.dir / "federated", progress=ctx.progress, objective="causal_lm")
    fed = result.to_dict()
    rounds = fed["rounds"]
    fed["adapter_bytes_per_client_round"] = [r_.get("bytes_up") for r_ in rounds]
    if r.federated.compare:
        fed["comparison"] = _compare(ctx, model_fn, data, clients, result.model)
    import shutil

    shutil.rmtree(ctx.dir / "federated" / "clients", ignore_errors=True)  # the clients' token ids stay out of the run
    return result.model, fed


def _compare(ctx: RunContext, model_fn, data: dict, clients: dict, federated_model) -> dict:
    """Held-out loss of pooled, federated and each institution alone (same base, same adapter shape)."""
    ev = _trainer(ctx)
    rows = {"federated": {"test_loss": ev.lm_loss(federated_model, data["test"])}}
    pooled = model_fn()
    _trainer(ctx, description="LoRA pooled").fit(pooled, data["train"], data["val"])
    rows["pooled"] = {"test_loss": ev.lm_loss(pooled, data["test"])}
    for name, ds in clients.items():
        m = model_fn()
        _trainer(ctx, description=f"LoRA {name}").fit(m, ds, data["val"])
        rows[f"local:{name}"] = {"test_loss": ev.lm_loss(m, data["test"])}
    for v in rows.values():
        v["test_ppl"] = _ppl(v["test_loss"])
    return rows


def _compress(ctx: RunContext, merged, tok, test: TensorItems, kept: list[dict], test_idx: np.ndarray,
              fields: dict[str, str]) -> None:
    from bentu.inference.lm_quantize import choose_variant, measure_lm, quantize_lm

    q = (ctx.recipe.tuning or TuningCfg()).quantize
    ev = _trainer(ctx)
    rng = random.Random(ctx.recipe.train.seed)
    picks = rng.sample(list(test_idx), min(q.prompts, len(test_idx)))
    prompts = []
    for i in picks:
        first = next(iter(fields.values()))
        ids = enc_prompt(tok, str(kept[i][first]))
        prompts.append(ids)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    measure = lambda m: measure_lm(m, loss_fn=lambda mm: ev.lm_loss(mm, test), prompts=prompts,  # noqa: E731
                                   new_tokens=q.tokens, pad_id=pad)
    measured = {"fp32": measure(merged)}
    for kind, on in (("int8", q.int8), ("int4", q.int4)):
        if not on:
            continue
        try:
            measured[kind] = measure(quantize_lm(merged, kind))
        except (NotImplementedError, RuntimeError, ValueError) as err:
            measured[kind] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
    chosen, why = choose_variant(measured, max_ppl_increase=q.max_ppl_increase)
    variants = {k: {"file": "model/adapter" if k == "fp32" else f"(in memory: {k} weight-only, torchao)",
                    "size_bytes": v.get("size_bytes"), "metric": v.get("perplexity"),
                    "metric_loss": v.get("ppl_increase"), **v} for k, v in measured.items()}
    comp = {"metric": "perplexity", "variants": variants, "chosen": chosen, "chosen_file": variants[chosen]["file"],
            "reason": why["en"], "reason_zh": why["zh"], "max_ppl_increase": q.max_ppl_increase,
            "method": "torchao IntxWeightOnlyConfig: int8 = linear layers and embedding int8 per row; "
                      "int4 = block linear layers int4 per group of 32, embedding and output head int8"}
    ctx.write_json("compression.json", comp)
    ctx.evidence["compression"] = comp
    ctx.audit.append("compress", params={"chosen": chosen}, outputs={"compression": ctx.dir / "compression.json"})


def enc_prompt(tok, prompt: str) -> torch.Tensor:
    return torch.tensor([prompt_ids(tok, prompt)], dtype=torch.long)


def _report(ctx: RunContext, privacy: dict, profile: dict, metrics: dict, planted: list[dict]) -> None:
    tr = ctx.tr
    c = privacy["corpus"]
    s = ctx.report.section("corpus", tr("Training corpus and its gate", "训练语料与语料关卡"), first=True)
    s.kv({tr("records", "记录数"): c["records"], tr("fields", "字段"): ", ".join(c["fields"]),
          tr("records with PII", "含个人信息的记录"): c["records_with_pii"],
          tr("PII found (by type)", "发现的个人信息（按类型）"): ", ".join(f"{k} {v}" for k, v in c["pii_found"].items()) or "—",
          tr("treatment", "处理方式"): c["policy"],
          tr("records left out", "未用于训练的记录"): c["records_excluded"],
          tr("records used", "用于训练的记录"): c["records_used"]})
    a, m = c["automated_check"], c["manual_review"]
    s.table([tr("check (GB/T 45654 training data)", "检查（GB/T 45654 训练语料）"), tr("required", "要求"),
             tr("this run", "本次"), tr("verdict", "结论")], [
        [tr("automated check coverage", "自动抽检覆盖率"), "≥ 10%", f"{a['coverage']:.0%}", tr("meets", "符合")],
        [tr("automated check pass rate", "自动抽检合格率"), "≥ 98%", f"{a['pass_rate']:.1%}",
         tr("meets", "符合") if a["meets"] else tr("does not meet", "不符合")],
        [tr("manual review sample", "人工抽检样本"), "≥ 4000", f"{m['sample_size']}" + (tr(" (whole corpus)", "（全部语料）")
                                                                                   if m["whole_corpus"] else ""),
         tr("pending: review/manual_sample.csv", "待人工审核：review/manual_sample.csv")],
        [tr("harmful share of the source", "来源中违法不良信息占比"), "≤ 5%", f"{c['risk_share']:.1%}",
         tr("meets", "符合") if c["risk_share"] <= c["harmful_source_max"] else tr("does not meet", "不符合")],
    ])
    s.note(tr(f"Automated check: {a['method']}. The keyword library is {c['keyword_library']['source']}"
              f" ({c['keyword_library']['terms']} terms){': ' + c['keyword_library']['notice'] if c['keyword_library']['notice'] else ''}.",
              f"自动抽检：{a['method']}。关键词库为 {c['keyword_library']['source']}（{c['keyword_library']['terms']} 个词）"
              f"{'：' + c['keyword_library']['notice'] if c['keyword_library']['notice'] else ''}。"))
    if planted:
        s.note(tr(f"The simulated corpus planted {len(planted)} personal-information values; the gate found and replaced "
                  f"{sum(c['pii_found'].values())} spans.",
                  f"模拟语料中植入了 {len(planted)} 个个人信息值；语料关卡发现并替换了 {sum(c['pii_found'].values())} 处。"))
    t = metrics["tuning"]
    s = ctx.report.section("tuning", tr("LoRA tuning", "LoRA 微调"))
    s.kv({tr("base model", "基座模型"): Path(t["base"]["path"]).name, tr("base parameters (frozen)", "基座参数（冻结）"):
          f"{t['base']['parameters']:,}", tr("adapter parameters (trained)", "适配器参数（训练）"):
          f"{t['adapter']['trainable_parameters']:,}", "LoRA r / alpha": f"{t['adapter']['r']} / {t['adapter']['alpha']}",
          tr("device", "设备"): t["device"].get("name") or t["device"].get("type")})
    b = metrics["before"]
    s.table([tr("held-out", "留出集"), tr("perplexity before", "微调前困惑度"), tr("perplexity after", "微调后困惑度")], [
        [tr("validation", "验证集"), f"{b['val']['perplexity']:.2f}", f"{metrics['val']['perplexity']:.2f}"],
        [tr("test", "测试集"), f"{b['test']['perplexity']:.2f}", f"{metrics['test']['perplexity']:.2f}"]])
    if "assessment" in metrics:
        a = metrics["assessment"]
        rows = []
        for bank, before in a["before"]["rates"].items():
            after = a["after"]["rates"][bank]
            fmt = lambda r: f"{r['rate']:.0%} ({r['k']}/{r['n']})" if r["rate"] is not None else "—"  # noqa: E731
            rows.append([bank, before["metric"], fmt(before), fmt(after)])
        s.table([tr("question bank", "题库"), tr("rate", "指标"), tr("before tuning", "微调前"), tr("after tuning", "微调后")],
                rows, caption=tr(f"bentu llm eval on {a['sample']} question(s) per bank, greedy, {a['max_tokens']} tokens; "
                                 "answers in assessment/before and assessment/after.",
                                 f"bentu llm eval：每个题库 {a['sample']} 题，贪心解码，{a['max_tokens']} 个词元；"
                                 "回答见 assessment/before 与 assessment/after。"))
    if "comparison" in metrics:
        rows = [[k, f"{v['test_ppl']:.2f}"] for k, v in metrics["comparison"].items()]
        s.table([tr("training", "训练方式"), tr("test perplexity", "测试集困惑度")], rows,
                caption=tr("Pooled vs federated vs each institution alone (same base, same adapter).",
                           "集中训练、联邦训练与各机构单独训练对比（同一基座、同一适配器结构）。"))
    if "federated" in t:
        f = t["federated"]
        up = [x for x in f.get("adapter_bytes_per_client_round", []) if x]
        s.note(tr(f"Federated on Flower ({f['strategy']}, {len(f['rounds'])} rounds, best round {f['best_round']}): only "
                  f"the adapter's weights travelled ({up[0] / 1e6:.2f} MB up per round)" if up else
                  f"Federated on Flower ({f['strategy']}, {len(f['rounds'])} rounds): only the adapter's weights travelled",
                  f"基于 Flower 联邦训练（{f['strategy']}，{len(f['rounds'])} 轮，最佳轮次 {f['best_round']}）：只传输适配器权重"
                  f"（每轮上行 {up[0] / 1e6:.2f} MB）" if up else
                  f"基于 Flower 联邦训练（{f['strategy']}，{len(f['rounds'])} 轮）：只传输适配器权重"))
    comp = ctx.evidence.get("compression")
    if comp:
        s = ctx.report.section("compression", tr("Quantization for local hardware", "面向本地硬件的量化"))
        rows = []
        for k, v in comp["variants"].items():
            if "error" in v:
                rows.append([k, "—", "—", "—", v["error"][:80]])
            else:
                rows.append([k, f"{v['size_bytes'] / 1e6:.1f} MB", f"{v['tokens_per_s']:.1f}", f"{v['perplexity']:.2f}",
                             f"{v.get('ppl_increase', 0):+.1%}" if k != "fp32" else "—"])
        s.table([tr("variant", "版本"), tr("size", "体积"), tr("tokens/s", "词元/秒"), tr("perplexity", "困惑度"),
                 tr("change", "变化")], rows)
        s.paragraph(tr(f"Chosen: {comp['reason']}.", f"选用：{comp['reason_zh']}。"))
