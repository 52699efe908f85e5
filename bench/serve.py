"""Serving benchmark: single-record scoring over loopback, against in-process ONNX Runtime.

Starts `bentu serve` (uvicorn, 127.0.0.1 only) on a run directory, then a load generator in a
separate process: C keep-alive HTTP/1.1 connections (raw asyncio sockets) each POSTing one
record per request to /v1/predict for a fixed number of seconds. Reports requests/s and p50/p99
latency, and the same model scored in-process with ONNX Runtime (session.run on one
preprocessed record, and the server's own encode + run + decide path without HTTP). Writes
bench/results/serve.json and prints a Markdown table.

    .venv/bin/python bench/serve.py [--run-dir RUN] [--seconds 10] [--connections 8] [--workers 1]

Without --run-dir it first runs the `credit` recipe into a temporary directory. Server and load
generator share the machine's cores; `--server-cpus 0` / `--client-cpus 1` pin them with taskset.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


# ----------------------------------------------------------------------------- load generator


async def _connection(host: str, port: int, bodies: list[bytes], deadline: float, lat: list[float], errors: list[int]):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            body = bodies[i % len(bodies)]
            i += 1
            head = (f"POST /v1/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readuntil(b"\r\n")
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if b" 200 " not in status_line:
                errors.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def _load(host: str, port: int, bodies: list[bytes], seconds: float, connections: int) -> dict:
    lat: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_connection(host, port, bodies, deadline, lat, errors) for _ in range(connections)))
    wall = time.perf_counter() - start
    return {"requests": len(lat), "seconds": wall, "errors": len(errors), "latencies_ms": [x * 1e3 for x in lat]}


def client_main(args) -> None:
    """Entry of the load-generator process: prints one JSON line."""
    bodies = [line.encode() for line in Path(args.bodies).read_text(encoding="utf-8").splitlines() if line]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # a short warm-up, not counted in the latencies (its requests count toward server CPU per request)
    warm = asyncio.run(_load(args.host, args.port, bodies, min(1.0, args.seconds / 5), args.connections))
    out = asyncio.run(_load(args.host, args.port, bodies, args.seconds, args.connections))
    out["warmup_requests"] = warm["requests"]
    print(json.dumps(out))


# ------------------------------------------------------------------------------------ server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    import urllib.request

    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not become ready")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _taskset(cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []


def _percentiles(ms: list[float]) -> dict:
    import numpy as np

    a = np.asarray(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 3), "p99_ms": round(float(np.percentile(a, 99)), 3),
            "mean_ms": round(float(a.mean()), 3)}


def _in_process(run_dir: Path, records: list[dict], n: int = 3000) -> dict:
    """The same model in this process: bare session.run, and the server's scoring path without HTTP."""
    from bentu.inference.predictor import Predictor
    from bentu.inference.serve import load_state

    pred = Predictor.from_run_dir(run_dir, threads=1)
    x = pred.transform(records[:1])
    name = pred.session.get_inputs()[0].name
    for _ in range(200):
        pred.session.run(None, {name: x})
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        pred.session.run(None, {name: x})
        t.append((time.perf_counter() - t0) * 1e3)
    state = load_state(run_dir, decision_log=Path(tempfile.mkdtemp()) / "d.jsonl")
    path = []
    for i in range(n):
        rec = [records[i % len(records)]]
        t0 = time.perf_counter()
        s = state.score(rec)
        state.decide(s)
        path.append((time.perf_counter() - t0) * 1e3)
    state.decisions_log.close()
    return {"variant": pred.variant, "session_run": {**_percentiles(t), "per_s": round(1e3 / (sum(t) / len(t)))},
            "encode_run_decide": {**_percentiles(path), "per_s": round(1e3 / (sum(path) / len(path)))}}


def _records(run_dir: Path, n: int = 256) -> list[dict]:
    """Raw records in the run's input schema: test rows of the credit simulator when it fits, else synthetic."""
    import numpy as np

    from bentu.inference.predictor import Predictor

    schema = Predictor.from_run_dir(run_dir).input_schema
    rng = np.random.default_rng(0)
    pre = json.loads((run_dir / "model" / "preprocess.json").read_text(encoding="utf-8"))
    num = {s["name"]: s for s in pre["numeric"]}
    out = []
    for _ in range(n):
        rec = {}
        for col in schema:
            if col["type"] == "numeric":
                s = num[col["name"]]
                rec[col["name"]] = round(float(s["median"] * (1 + 0.3 * rng.standard_normal())), 4)
            else:
                rec[col["name"]] = str(rng.choice(col["categories"]))
        out.append(rec)
    return out


def _credit_run(tmp: Path) -> Path:
    from bentu.pipeline import run_recipe
    from bentu.recipe import load_recipe

    recipe = load_recipe("credit", ["audit.fairness=false", "audit.explain=null"])
    return run_recipe(recipe, out=tmp / "credit", progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--server-cpus", default=None, help="taskset CPU list for the server, e.g. 0")
    ap.add_argument("--client-cpus", default=None, help="taskset CPU list for the load generator, e.g. 1")
    ap.add_argument("--out", type=Path, default=RESULTS / "serve.json")
    ap.add_argument("--_client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--bodies", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._client:
        return client_main(args)
    if args.host not in ("127.0.0.1", "localhost"):
        raise SystemExit("bench/serve.py only targets loopback")

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        run_dir = args.run_dir or _credit_run(tmp)
        records = _records(run_dir)
        bodies = tmp / "bodies.jsonl"
        bodies.write_text("\n".join(json.dumps({"records": [r]}, ensure_ascii=False) for r in records), encoding="utf-8")
        port = _free_port()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        server_cmd = [*_taskset(args.server_cpus), sys.executable, "-c",
                      "import sys, typer; from bentu.cli.serve import serve; sys.argv[0] = 'bentu serve'; typer.run(serve)",
                      str(run_dir), "--port", str(port), "--workers", str(args.workers),
                      "--decision-log", str(tmp / "decisions.jsonl")]
        server = subprocess.Popen(server_cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_ready(port, server)
            cpu0 = _cpu_seconds(server.pid)
            client = subprocess.run(
                [*_taskset(args.client_cpus), sys.executable, __file__, "--_client", "--port", str(port),
                 "--bodies", str(bodies), "--seconds", str(args.seconds), "--connections", str(args.connections)],
                capture_output=True, text=True, timeout=args.seconds * 3 + 60, env=env,
            )
            if client.returncode != 0:
                raise RuntimeError(client.stderr[-2000:])
            load = json.loads(client.stdout.strip().splitlines()[-1])
            cpu_used = _cpu_seconds(server.pid) - cpu0
        finally:
            server.terminate()  # graceful: uvicorn finishes, the decision log is flushed and synced
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        logged = sum(1 for p in tmp.glob("decisions*.jsonl") for _ in p.open(encoding="utf-8"))
        inproc = _in_process(run_dir, records)

    served = load["requests"] + load["warmup_requests"]
    http = {"requests": load["requests"], "seconds": round(load["seconds"], 2), "errors": load["errors"],
            "per_s": round(load["requests"] / load["seconds"]), **_percentiles(load["latencies_ms"]),
            # CPU the server process spent per request: what the machine's load does not change much
            "server_cpu_ms_per_request": round(cpu_used * 1e3 / served, 4),
            "capacity_per_core_per_s": round(served / cpu_used) if cpu_used else None}
    result = {
        "run_dir": str(run_dir), "variant": inproc["variant"], "connections": args.connections, "workers": args.workers,
        "server_cpus": args.server_cpus, "client_cpus": args.client_cpus, "cpu_count": os.cpu_count(),
        "http_single_record": http, "decisions_logged": logged, "in_process": inproc,
        "machine": platform.platform(), "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"| path | req/s | p50 ms | p99 ms |\n|---|---|---|---|")
    print(f"| HTTP /v1/predict, 1 record, {args.connections} conns, {args.workers} worker(s) | {http['per_s']} | "
          f"{http['p50_ms']} | {http['p99_ms']} |")
    for k in ("session_run", "encode_run_decide"):
        v = inproc[k]
        print(f"| in-process {k} | {v['per_s']} | {v['p50_ms']} | {v['p99_ms']} |")
    print(f"\nserver CPU per request: {http['server_cpu_ms_per_request']} ms "
          f"(= {http['capacity_per_core_per_s']} req/s per fully used core)")
    print(f"errors: {http['errors']}; decisions logged: {logged}; variant: {inproc['variant']}; wrote {args.out}")


if __name__ == "__main__":
    main()
