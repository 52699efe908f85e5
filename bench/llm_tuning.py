"""LLM tuning on Gemma 3 270M (recipe llm-lora), offline, on the simulated bank FAQ with planted PII.

Two runs of the shipped recipe, in one invocation:

(a) pooled LoRA with int8 / int4 quantization: held-out perplexity before and after tuning, and
    each quantized variant's size, tokens/s and perplexity change against fp32;
(b) federated LoRA on Flower over the three branches (non-IID topics), with ``federated.compare``:
    federated vs pooled vs each branch alone, on the same held-out test set.

Then every planted personal-information value (the simulator returns them) is searched for in the
de-identified training records and in every file of both run directories.

    .venv/bin/python bench/llm_tuning.py [--records 360] [--epochs 2] [--rounds 3] [--device auto]

Writes bench/results/llm_tuning.json and prints a Markdown table. ``--model PATH`` tunes another
local model (a Hugging Face folder or a .gguf file) instead of the pinned Gemma package.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _leaks(run: Path, planted: list[dict]) -> list[dict]:
    out = []
    for p in run.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out += [{"file": p.relative_to(run).as_posix(), "type": v["type"]} for v in planted
                    if v["value"].encode("utf-8") in data]
    return out


def _write(out: Path, res: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=360)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="gemma-270m")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=RESULTS / "llm_tuning.json")
    args = ap.parse_args()

    from bentu.llm.faq_sim import generate_bank_faq
    from bentu.pipeline import run_recipe
    from bentu.privacy.corpus import gate_corpus
    from bentu.recipe import load_recipe

    common = [f"tuning.model={args.model}", f"data.options.n={args.records}", f"train.epochs={args.epochs}",
              f"train.device={args.device}"]
    records, planted = generate_bank_faq(args.records, 0)
    gate = gate_corpus(records, ["prompt", "answer"])
    in_training = sorted({v["type"] for v in planted for r in gate.records
                          if v["value"] in r["prompt"] or v["value"] in r["answer"]})
    missed = [v for v in planted if any(v["value"] in r["prompt"] or v["value"] in r["answer"] for r in gate.records)]
    res: dict = {"machine": platform.processor() or platform.machine(), "records": args.records,
                 "planted": len(planted), "planted_in_training_data": len(missed),
                 "planted_types_in_training_data": in_training}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pooled = run_recipe(load_recipe("llm-lora", common), out=Path(tmp) / "pooled", lang="en", progress=True)
        res["pooled_seconds"] = time.perf_counter() - t0
        m = json.loads((pooled / "metrics.json").read_text(encoding="utf-8"))
        comp = json.loads((pooled / "compression.json").read_text(encoding="utf-8"))
        res["before"], res["after"] = m["before"], {"test": m["test"], "val": m["val"]}
        res["adapter"], res["base"], res["device"] = m["tuning"]["adapter"], m["tuning"]["base"], m["tuning"]["device"]
        res["history"] = m["tuning"]["history"]
        res["quantization"] = {k: {f: v.get(f) for f in ("size_bytes", "tokens_per_s", "perplexity", "ppl_increase",
                                                           "error")} for k, v in comp["variants"].items()}
        res["quantization_chosen"] = comp["chosen"]
        res["leaks_pooled"] = _leaks(pooled, planted)
        _write(args.out, res)  # the pooled half survives if the federated half is cut short
        t0 = time.perf_counter()
        fed = run_recipe(load_recipe("llm-lora", [*common, "federated.enabled=true", "federated.compare=true",
                                                  f"federated.rounds={args.rounds}", "tuning.quantize.int8=false",
                                                  "tuning.quantize.int4=false"]),
                         out=Path(tmp) / "federated", lang="en", progress=True)
        res["federated_seconds"] = time.perf_counter() - t0
        fm = json.loads((fed / "metrics.json").read_text(encoding="utf-8"))
        res["comparison"] = fm["comparison"]
        f = fm["tuning"]["federated"]
        res["federated"] = {"rounds": [{k: r.get(k) for k in ("round", "val_ppl", "bytes_up", "bytes_down", "seconds")}
                                       for r in f["rounds"]], "best_round": f["best_round"]}
        res["leaks_federated"] = _leaks(fed, planted)
    _write(args.out, res)

    b, a = res["before"]["test"]["perplexity"], res["after"]["test"]["perplexity"]
    print(f"\n## LoRA on {Path(res['base']['path']).name} ({res['base']['parameters']:,} frozen, "
          f"{res['adapter']['trainable_parameters']:,} trained; {res['device'].get('name')})\n")
    print("| held-out test | perplexity |\n|---|---|")
    print(f"| base model (before) | {b:.2f} |\n| pooled LoRA (after) | {a:.2f} |")
    for k, v in res["comparison"].items():
        print(f"| {k} | {v['test_ppl']:.2f} |")
    print("\n| variant | size MB | tokens/s | perplexity | change |\n|---|---|---|---|---|")
    for k, v in res["quantization"].items():
        if v.get("error"):
            print(f"| {k} | — | — | — | {v['error'][:60]} |")
        else:
            ch = f"{v['ppl_increase']:+.2%}" if v.get("ppl_increase") is not None else "—"
            print(f"| {k} | {v['size_bytes'] / 1e6:.1f} | {v['tokens_per_s']:.1f} | {v['perplexity']:.2f} | {ch} |")
    up = res["federated"]["rounds"][0]["bytes_up"]
    print(f"\nfederated: {len(res['federated']['rounds'])} rounds, {up / 3 / 1e6:.2f} MB up per client per round "
          f"(base {res['base']['parameters'] * 4 / 1e6:.0f} MB in fp32)")
    print(f"planted PII values: {res['planted']}; in the training data: {res['planted_in_training_data']}; "
          f"in the pooled run's files: {len(res['leaks_pooled'])}; in the federated run's files: "
          f"{len(res['leaks_federated'])}")
    print(f"wall time: pooled {res['pooled_seconds']:.0f} s, federated + comparison {res['federated_seconds']:.0f} s")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
