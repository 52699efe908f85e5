"""LLM tuning (recipe llm-lora) on a tiny random-weight model: the corpus gate, LoRA through the
Trainer, federated LoRA on Flower where only the adapter travels, quantization, and the errors a
bad corpus, a foreign adapter or a model too large for the memory given get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from bentu.data.corpus import corpus_fields, read_corpus
from bentu.errors import ConfigError, DataError
from bentu.llm.faq_sim import generate_bank_faq
from bentu.pipeline import run_recipe
from bentu.privacy.corpus import gate_corpus
from bentu.recipe import load_recipe
from bentu.train import Trainer

FAST = ["train.epochs=2", "train.batch_size=16", "train.lr=0.005", "tuning.quantize.prompts=2",
        "tuning.quantize.tokens=4", "data.options.n=150"]


def _recipe(model: Path, *extra: str):
    return load_recipe("llm-lora", [f"tuning.model={model}", *FAST, *extra])


def _files_text(run: Path) -> dict[str, bytes]:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in run.rglob("*") if p.is_file()}


ASSESS = ["tuning.assess.banks=[example]", "tuning.assess.sample=1", "tuning.assess.max_tokens=4"]


@pytest.fixture(scope="module")
def pooled_run(tiny_model_dir, tmp_path_factory) -> Path:
    return run_recipe(_recipe(tiny_model_dir, *ASSESS), out=tmp_path_factory.mktemp("lora") / "run", lang="en",
                      progress=False)


def test_llm_eval_rates_before_and_after_tuning(pooled_run) -> None:
    m = json.loads((pooled_run / "metrics.json").read_text(encoding="utf-8"))
    a = m["assessment"]
    assert a["sample"] == 1 and a["banks"][0].endswith("banks.example.jsonl")
    for when in ("before", "after"):
        rates = a[when]["rates"]
        assert set(rates) == {"generated", "should_refuse", "should_answer"} and all(r["n"] == 1 for r in rates.values())
        doc = json.loads((pooled_run / "assessment" / when / "assessment.json").read_text(encoding="utf-8"))
        assert doc["rates"] == rates and doc["model"]["name"].endswith(f"({when} tuning)")
        assert len((pooled_run / "assessment" / when / "answers.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    steps = [json.loads(x)["step"] for x in (pooled_run / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert steps.count("llm_eval") == 2
    html = (pooled_run / "report.html").read_text(encoding="utf-8")
    assert "after tuning" in html and "assessment/before" in html


def test_a_missing_question_bank_is_refused_before_training(tiny_model_dir, tmp_path) -> None:
    with pytest.raises(DataError) as err:
        run_recipe(_recipe(tiny_model_dir, f"tuning.assess.banks=[{tmp_path / 'nope.jsonl'}]"),
                   out=tmp_path / "run", lang="en", progress=False)
    assert err.value.en == f"tuning.assess.banks: question bank {tmp_path / 'nope.jsonl'} does not exist."
    assert err.value.zh == f"配置项 tuning.assess.banks：题库 {tmp_path / 'nope.jsonl'} 不存在。"
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_lora_run_lowers_held_out_perplexity_and_saves_only_the_adapter(pooled_run) -> None:
    m = json.loads((pooled_run / "metrics.json").read_text(encoding="utf-8"))
    assert m["test"]["perplexity"] < m["before"]["test"]["perplexity"]
    assert m["val"]["perplexity"] < m["before"]["val"]["perplexity"]
    assert len(m["tuning"]["history"]) == 2 and m["tuning"]["history"][0]["val_ppl"] > 0
    adapter = pooled_run / "model" / "adapter"
    assert sorted(p.name for p in adapter.iterdir()) == ["adapter_config.json", "adapter_model.safetensors",
                                                          "bentu_adapter.json"]
    with safe_open(adapter / "adapter_model.safetensors", "pt") as f:
        names = list(f.keys())
        n = sum(f.get_tensor(k).numel() for k in names)
    assert names and all("lora_" in k for k in names)  # no base weight is in the adapter file
    assert n == m["tuning"]["adapter"]["trainable_parameters"]
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == "tiny-qwen2"  # the base's name, not this machine's path
    comp = json.loads((pooled_run / "compression.json").read_text())
    assert comp["variants"]["int8"]["size_bytes"] < comp["variants"]["fp32"]["size_bytes"]
    assert comp["chosen"] in ("fp32", "int8", "int4") and comp["reason"] and comp["reason_zh"]


def test_planted_personal_information_reaches_no_artifact(pooled_run) -> None:
    _, planted = generate_bank_faq(150, 0)
    privacy = json.loads((pooled_run / "privacy.json").read_text(encoding="utf-8"))["corpus"]
    assert privacy["records_with_pii"] > 20 and privacy["residual_pii_records"] == 0
    assert privacy["automated_check"]["coverage"] == 1.0 and privacy["manual_review"]["sample_size"] == 150
    files = _files_text(pooled_run)
    leaked = sorted({(p["type"], name) for p in planted for name, data in files.items()
                     if p["value"].encode("utf-8") in data})
    assert leaked == []
    review = (pooled_run / "review" / "manual_sample.csv").read_text(encoding="utf-8-sig")
    assert review.splitlines()[0].startswith("item 序号,id,prompt,answer,pass 合格")
    assert "[手机号]" in review or "[身份证号]" in review


def test_tuning_run_has_a_compliance_verdict_for_its_corpus(pooled_run) -> None:
    c = json.loads((pooled_run / "compliance.json").read_text(encoding="utf-8"))
    by = {v["rule"]: v for v in c["verdicts"]}
    assert by["gbt45654.training_corpus"]["verdict"] == "needs_human_review"
    assert "manual review of 150 sampled items" in by["gbt45654.training_corpus"]["reason"]
    assert by["pipl.art28.sensitive_pi_identified"]["verdict"] == "pass"
    assert by["pipl.art24.explanation"]["verdict"] == "not_applicable"
    card = (pooled_run / "model_card.en.md").read_text(encoding="utf-8")
    assert "tiny-qwen2 + LoRA" in card and "| perplexity |" in card.replace("perplexity | loss", "perplexity |")


def test_federated_lora_sends_only_the_adapter(tiny_model_dir, tmp_path) -> None:
    rec = _recipe(tiny_model_dir, "federated.enabled=true", "federated.rounds=2", "tuning.quantize.int8=false",
                  "tuning.quantize.int4=false")
    run = run_recipe(rec, out=tmp_path / "fed", lang="en", progress=False)
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    fed = m["tuning"]["federated"]
    assert sorted(fed["clients"]) == ["城东支行", "城西支行", "高新区支行"] and len(fed["rounds"]) == 2
    adapter_bytes = m["tuning"]["adapter"]["trainable_parameters"] * 4  # float32
    base_bytes = m["tuning"]["base"]["parameters"] * 4
    with safe_open(run / "model" / "adapter" / "adapter_model.safetensors", "pt") as f:
        tensors = len(list(f.keys()))
    for r in fed["rounds"]:  # three replies and three sends, each the adapter's tensors (+ a .npy header each)
        for way in ("bytes_up", "bytes_down"):
            per_client = r[way] / 3
            assert adapter_bytes <= per_client <= adapter_bytes + 200 * tensors, (way, per_client, adapter_bytes)
        assert r["bytes_up"] / 3 < base_bytes / 5
    assert m["test"]["perplexity"] < m["before"]["test"]["perplexity"]
    assert not (run / "federated" / "clients").exists()  # the clients' token ids are not kept in the run


def test_corpus_gate_replaces_pii_with_typed_placeholders_and_counts_it() -> None:
    recs = [{"prompt": "我叫张伟，手机号13812345678，卡丢了怎么办？", "answer": "请拨打95588挂失。"},
            {"prompt": "信用卡年费多少？", "answer": "首年免年费。"}]
    g = gate_corpus(recs, ["prompt", "answer"], risk_scan=lambda t: [], risk_method="test")
    assert g.records[0]["prompt"] == "我叫[姓名]，手机号[手机号]，卡丢了怎么办？"
    assert g.records[1] == recs[1]
    assert g.report["pii_found"] == {"CN_PHONE": 1, "PERSON": 1} and g.report["records_with_pii"] == 1
    assert g.report["automated_check"]["pass_rate"] == 1.0 and g.report["automated_check"]["meets"]
    flagged = gate_corpus(recs, ["prompt", "answer"], risk_scan=lambda t: ["A.1.1"] if "年费" in t else [])
    assert [x["id"] for x in flagged.excluded] == [1] and flagged.report["risk_share"] == 0.5
    assert len(flagged.records) == 1 and not flagged.report["automated_check"]["meets"]


def test_corpus_errors_name_the_record_and_the_field(tmp_path) -> None:
    with pytest.raises(DataError, match=r"The corpus c.jsonl holds no records"):
        gate_corpus([], ["prompt"], source="c.jsonl")
    with pytest.raises(DataError, match=r"Record 2 of the corpus c.jsonl has no field 'answer'"):
        gate_corpus([{"prompt": "a", "answer": "b"}, {"prompt": "c"}], ["prompt", "answer"], source="c.jsonl")
    with pytest.raises(DataError, match=r"Record 1 of the corpus c.jsonl has a int in field 'prompt'"):
        gate_corpus([{"prompt": 3, "answer": "b"}], ["prompt", "answer"], source="c.jsonl")
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty.txt holds no records: there is nothing to train on"):
        read_corpus(tmp_path / "empty.txt")
    p = tmp_path / "notext.jsonl"
    p.write_text('{"title": "a", "score": 1}\n', encoding="utf-8")
    records, _ = read_corpus(p)
    with pytest.raises(DataError) as err:
        corpus_fields(records, source=str(p))
    assert str(err.value).startswith(f"The corpus {p} has no field 'prompt/answer', 'instruction/output', "
                                     "'question/answer', 'text'; its records have 'title', 'score'.")
    with pytest.raises(DataError, match=r"has no field 'body'; its records have 'title', 'score'"):
        corpus_fields(records, text="body", source=str(p))


def test_a_run_with_a_corpus_without_a_text_field_writes_nothing(tiny_model_dir, tmp_path) -> None:
    p = tmp_path / "faq.csv"
    p.write_text("title,score\n贷款,1\n", encoding="utf-8")
    rec = _recipe(tiny_model_dir, f"data.path={p}")
    with pytest.raises(DataError, match=r"has no field 'prompt/answer'"):
        run_recipe(rec, out=tmp_path / "run", lang="en", progress=False)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["faq.csv"]


def test_jsonl_corpus_with_instruction_output_fields_trains(tiny_model_dir, tmp_path) -> None:
    records, _ = generate_bank_faq(60, 1)
    p = tmp_path / "alpaca.jsonl"
    p.write_text("".join(json.dumps({"instruction": r["prompt"], "output": r["answer"], "branch": r["institution"]},
                                    ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    rec = _recipe(tiny_model_dir, f"data.path={p}", "data.institution=branch", "train.epochs=1",
                  "tuning.quantize.int8=false", "tuning.quantize.int4=false")
    run = run_recipe(rec, out=tmp_path / "run", lang="zh", progress=False)
    prof = json.loads((run / "data_profile.json").read_text(encoding="utf-8"))
    assert prof["fields"] == {"prompt": "instruction", "answer": "output"} and prof["rows"] == 60
    assert "训练语料与语料关卡" in (run / "report.html").read_text(encoding="utf-8")


def test_an_adapter_of_another_base_model_is_refused(pooled_run, tmp_path) -> None:
    from llm_tiny import build_tiny_model

    from bentu.models.causal_lm import load_adapter, load_causal_lm

    other = build_tiny_model(tmp_path / "other")
    model, _ = load_causal_lm(other)
    torch.manual_seed(123)
    with torch.no_grad():  # the same architecture with other weights
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    with pytest.raises(DataError, match=r"was trained on another base model \(tiny-qwen2, fingerprint [0-9a-f]{12}…\), "
                                        r"not on this one"):
        load_adapter(model, pooled_run / "model" / "adapter")
    with pytest.raises(DataError, match=r"is not a bentu LoRA adapter"):
        load_adapter(model, tmp_path)


def test_a_model_that_does_not_fit_the_memory_given_is_refused(tiny_model_dir, tmp_path) -> None:
    rec = _recipe(tiny_model_dir, "tuning.max_memory_gb=0.0001")
    with pytest.raises(DataError) as err:
        run_recipe(rec, out=tmp_path / "run", lang="en", progress=False)
    msg = str(err.value)
    assert "does not fit: 0M parameters need about 0.00 GiB in float32 (weights + 25 %), but 0.00 GiB is given" in msg
    assert "tuning.max_memory_gb" in msg and not (tmp_path / "run").exists()


def test_trainer_causal_lm_refuses_what_does_not_apply() -> None:
    with pytest.raises(ConfigError, match=r"The 'mixup' parameter of Trainer does not apply to objective='causal_lm'"):
        Trainer(objective="causal_lm", mixup=0.2)._validate()
    with pytest.raises(ConfigError, match=r"The 'objective' parameter of Trainer must be 'binary' or 'causal_lm'"):
        Trainer(objective="regression")._validate()


def test_the_tuned_adapter_serves_through_the_local_model(pooled_run, tiny_model_dir) -> None:
    from bentu.llm.models import LocalModel

    chat = LocalModel(tiny_model_dir, device="cpu", adapter=pooled_run / "model" / "adapter")
    assert chat.describe()["adapter"] == str(pooled_run / "model" / "adapter") and chat.name == "tiny-qwen2+run"
    out = chat.generate([{"role": "user", "content": "信用卡年费怎么收？"}], max_tokens=4)
    assert out.completion_tokens >= 1 and out.prompt_tokens > 1


def test_the_gateway_serves_the_variant_the_tuning_run_chose(pooled_run, tiny_model_dir, tmp_path) -> None:
    import shutil

    from bentu.llm.models import LocalModel, open_model, tuned_variant

    adapter = pooled_run / "model" / "adapter"
    chosen = json.loads((pooled_run / "compression.json").read_text(encoding="utf-8"))["chosen"]
    assert tuned_variant(adapter) == (chosen if chosen != "fp32" else None)
    copy = tmp_path / "run"  # the same run, with int8 chosen
    shutil.copytree(pooled_run, copy)
    comp = json.loads((copy / "compression.json").read_text(encoding="utf-8"))
    (copy / "compression.json").write_text(json.dumps({**comp, "chosen": "int8"}), encoding="utf-8")
    assert tuned_variant(copy / "model" / "adapter") == "int8"
    chat = LocalModel(tiny_model_dir, device="cpu", adapter=copy / "model" / "adapter", quantize="int8")
    assert chat.describe()["quantized"] == "int8" and type(chat.model.lm_head.weight).__name__ != "Parameter"
    assert chat.generate([{"role": "user", "content": "信用卡年费怎么收？"}], max_tokens=3).completion_tokens >= 1
    with pytest.raises(ConfigError, match="--quantize must be one of int8, int4, auto or none; got 'int2'"):
        LocalModel(tmp_path / "no-model-here", device="cpu", quantize="int2")  # refused before any load
    with pytest.raises(ConfigError, match="--quantize applies to a local model, not to an endpoint"):
        open_model(endpoint="http://127.0.0.1:9/v1", quantize="int8")


def test_plain_dialogue_is_the_form_tuning_trains_on() -> None:
    from bentu.data.corpus import plain_dialogue

    assert plain_dialogue([{"role": "user", "content": "年费？"}]) == "问：年费？\n答："
    assert plain_dialogue([{"role": "system", "content": "你是客服。"}, {"role": "user", "content": "你好"},
                           {"role": "assistant", "content": "您好"}, {"role": "user", "content": "年费？"}]) == \
        "你是客服。\n问：你好\n答：您好\n问：年费？\n答："


@pytest.mark.parametrize("setting, message", [
    ("federated.strategy=secagg", "federated.strategy 'secagg' is not available for language-model tuning yet"),
    ("train.dp={epsilon: 8}", "train.dp (record-level DP-SGD) is not available for language-model tuning"),
])
def test_federated_settings_that_do_not_apply_to_language_models_are_refused(tiny_model_dir, tmp_path, setting,
                                                                             message) -> None:
    rec = _recipe(tiny_model_dir, "federated.enabled=true", setting)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_recipe(rec, out=tmp_path / "run", lang="en", progress=False)
    assert not (tmp_path / "run").exists() and list(tmp_path.iterdir()) == []


def test_pooled_tuning_refuses_record_level_dp_before_loading(tiny_model_dir, tmp_path) -> None:
    rec = _recipe(tiny_model_dir, "train.dp={epsilon: 8}", "tuning.model=/nonexistent/model")
    with pytest.raises(ConfigError, match=r"The 'dp' parameter of Trainer does not apply to objective='causal_lm'"):
        run_recipe(rec, out=tmp_path / "run", lang="en", progress=False)


def test_bentu_serve_on_a_tuning_run_points_to_the_llm_gateway(pooled_run) -> None:
    from typer.testing import CliRunner

    from bentu.cli.app import app

    r = CliRunner().invoke(app, ["serve", str(pooled_run), "--lang", "en"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "is a language-model tuning run (model/adapter is a LoRA adapter), not a scoring model: serve it with " \
           f"`bentu llm serve --model BASE --adapter {pooled_run / 'model' / 'adapter'}`" in " ".join(r.output.split())


def test_merge_writes_a_model_folder_that_loads_back_and_continues_from_an_adapter(pooled_run, tiny_model_dir,
                                                                                   tmp_path) -> None:
    from bentu.models.causal_lm import load_causal_lm

    rec = _recipe(tiny_model_dir, "tuning.merge=true", f"tuning.adapter={pooled_run / 'model' / 'adapter'}",
                  "train.epochs=1", "tuning.quantize.int8=false", "tuning.quantize.int4=false")
    run = run_recipe(rec, out=tmp_path / "run", lang="en", progress=False)
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    first = json.loads((pooled_run / "metrics.json").read_text(encoding="utf-8"))
    assert m["before"]["test"]["perplexity"] == pytest.approx(first["before"]["test"]["perplexity"])
    merged, tok = load_causal_lm(run / "model" / "merged")
    assert sum(p.numel() for p in merged.parameters()) == m["tuning"]["base"]["parameters"]
