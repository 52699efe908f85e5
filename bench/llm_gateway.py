"""LLM gateway overhead: added latency per request of 2,000 Chinese characters, gateway vs direct.

One run, on loopback: a stub OpenAI-compatible upstream (its own process, a fixed Chinese answer
of ``--answer-chars`` characters) is called (a) directly and (b) through ``bentu llm serve``'s app
(its own process, uvicorn, ``--endpoint`` to the stub, the shipped EXAMPLE keyword library, labels
and the hash-chained exchange log on). Requests alternate a/b; the added latency of each pair is
b − a. The prompt is 2,000 Chinese characters of banking text with planted identifiers (ID card,
mobile, bank card, name, address), so masking has real work to do. Also measured in process: the
guard steps alone (masking + keyword check + label, and the log append).

    .venv/bin/python bench/llm_gateway.py [--requests 400] [--answer-chars 300] [--no-log | --log-after-reply | --log-sync flush]

Writes bench/results/llm_gateway.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

RESULTS = Path(__file__).resolve().parent / "results"
_SENTENCES = ("您好，我想咨询一下个人住房贷款的利率和还款方式。", "我在贵行有一张储蓄卡，最近发现有一笔不明扣款。",
              "请帮我解释一下等额本息和等额本金的区别。", "我的征信报告上有一条逾期记录，是否会影响贷款审批？",
              "孩子明年上大学，想了解助学贷款的申请条件。", "最近收到自称客服的短信，让我点击链接修改密码。")
_PII = "客户王建华，身份证号11010519491231002X，手机13812345678，银行卡6222020000000007，住址上海市浦东新区世纪大道100号。"


def _prompt(chars: int = 2000) -> str:
    text, i = _PII, 0
    while len(text) < chars:
        text += _SENTENCES[i % len(_SENTENCES)]
        i += 1
    return text[:chars]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stub(port: int, answer_chars: int) -> None:
    import uvicorn

    answer = ("根据您的情况，建议您携带身份证到网点办理，或通过手机银行查询。" * 50)[:answer_chars]
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        await request.body()
        body = {"id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _gateway(port: int, upstream: str, log: str | None, after: bool, sync: str = "fsync") -> None:
    import uvicorn

    from bentu.llm.gateway import GatewayPolicy, create_gateway
    from bentu.llm.models import EndpointModel

    app = create_gateway(EndpointModel(upstream, model="stub"), log_path=Path(log) if log else None,
                         policy=GatewayPolicy(log_after_reply=after, log_sync=sync))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            httpx.post(url, json={"messages": [{"role": "user", "content": "ping"}]}, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _in_process(prompt: str, answer: str, n: int, log_dir: Path) -> dict:
    from bentu.llm.gateway import Gateway
    from bentu.llm.models import ChatModel, Completion

    class Fixed(ChatModel):
        name = "fixed"

        def generate(self, messages, **p):
            return Completion(answer)

        def stream(self, messages, **p):
            yield answer

    gw = Gateway(Fixed(), log_path=log_dir / "inproc.jsonl")
    guards, logs = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        ex = gw.prepare([{"role": "user", "content": prompt}])
        checked, _ = gw.check(ex, answer)
        gw.label(gw.deliver(ex, checked))
        t1 = time.perf_counter()
        gw.record(ex, checked, finish_reason="stop", usage={}, stream=False)
        t2 = time.perf_counter()
        guards.append((t1 - t0) * 1000)
        logs.append((t2 - t1) * 1000)
    return {"guards_ms": {"p50": _pct(guards, .5), "p95": _pct(guards, .95)},
            "log_append_ms": {"p50": _pct(logs, .5), "p95": _pct(logs, .95)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--answer-chars", type=int, default=300)
    ap.add_argument("--no-log", action="store_true", help="Run the gateway without its exchange log.")
    ap.add_argument("--log-after-reply", action="store_true", help="Write each log entry after the answer is sent.")
    ap.add_argument("--log-sync", choices=["fsync", "flush"], default="fsync",
                    help="fsync every log entry (default) or only flush it to the OS.")
    args = ap.parse_args()
    prompt = _prompt()
    tmp = Path(tempfile.mkdtemp(prefix="bentu-llm-bench-"))
    sp, gp = _port(), _port()
    stub = mp.Process(target=_stub, args=(sp, args.answer_chars), daemon=True)
    gate = mp.Process(target=_gateway, args=(gp, f"http://127.0.0.1:{sp}/v1",
                                             None if args.no_log else str(tmp / "exchanges.jsonl"), args.log_after_reply,
                                             args.log_sync),
                      daemon=True)
    stub.start()
    gate.start()
    direct_url, gw_url = f"http://127.0.0.1:{sp}/v1/chat/completions", f"http://127.0.0.1:{gp}/v1/chat/completions"
    try:
        _wait(direct_url)
        _wait(gw_url)
        body = {"model": "stub", "messages": [{"role": "user", "content": prompt}], "max_tokens": 64}
        direct, via, added = [], [], []
        with httpx.Client(timeout=30) as client:
            for i in range(args.requests + 20):  # 20 warm-up pairs
                times = {}
                for name, url in ((("d", direct_url), ("g", gw_url)) if i % 2 == 0 else (("g", gw_url), ("d", direct_url))):
                    t = time.perf_counter()
                    r = client.post(url, json=body)
                    times[name] = (time.perf_counter() - t) * 1000
                    assert r.status_code == 200, r.text
                if i >= 20:
                    direct.append(times["d"])
                    via.append(times["g"])
                    added.append(times["g"] - times["d"])
        answer = r.json()["choices"][0]["message"]["content"]
        inproc = _in_process(prompt, answer[: args.answer_chars], 200, tmp)
    finally:
        gate.terminate()
        stub.terminate()
    res = {
        "prompt_chars": len(prompt), "answer_chars": args.answer_chars, "requests": args.requests,
        "log": not args.no_log, "log_after_reply": args.log_after_reply, "log_sync": args.log_sync, "python": platform.python_version(), "cpus": mp.cpu_count(),
        "direct_ms": {"p50": _pct(direct, .5), "p95": _pct(direct, .95)},
        "gateway_ms": {"p50": _pct(via, .5), "p95": _pct(via, .95)},
        "added_ms": {"p50": _pct(added, .5), "p95": _pct(added, .95), "mean": statistics.fmean(added)},
        "in_process": inproc, "target_added_p95_ms": 5.0,
    }
    RESULTS.mkdir(exist_ok=True)
    name = ("llm_gateway_nolog.json" if args.no_log else
            "llm_gateway_after.json" if args.log_after_reply else
            "llm_gateway_flush.json" if args.log_sync == "flush" else "llm_gateway.json")
    (RESULTS / name).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"| {len(prompt)}-char prompt, {args.requests} requests, log {'off' if args.no_log else 'after reply' if args.log_after_reply else 'on, ' + args.log_sync} | p50 ms | p95 ms |")
    print("|---|---|---|")
    for key, label in (("direct_ms", "direct to upstream"), ("gateway_ms", "through the gateway"), ("added_ms", "added by the gateway")):
        print(f"| {label} | {res[key]['p50']:.2f} | {res[key]['p95']:.2f} |")
    for key, label in (("guards_ms", "guards in process (mask + keywords + label)"), ("log_append_ms", "log append in process")):
        print(f"| {label} | {inproc[key]['p50']:.2f} | {inproc[key]['p95']:.2f} |")


if __name__ == "__main__":
    main()
