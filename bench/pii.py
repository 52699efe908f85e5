"""Benchmark of the privacy layer (issue 3).

1. Quality: exact-span precision / recall / F1 per type on the generated labelled corpus
   (``bentu.privacy._corpus``), micro F1, and the share of look-alike numbers flagged.
2. Throughput of ``bentu pii detect`` (a subprocess, JSONL in → JSONL out), in MB/s of UTF-8
   text, optionally pinned to some CPUs (``--cpus 0,1`` = "on 2 cores").
3. ``bentu pii mask`` on a large CSV (default 1 GB, generated in a temporary directory): peak
   RSS of the subprocess (VmHWM, polled) and throughput.

Writes JSON (default ``bench/results/pii.json``) and prints a Markdown table.

    python bench/pii.py                       # everything, 1 GB mask file
    python bench/pii.py --mask-mb 50 --cpus 0,1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bentu.green.memory import peak_rss_kib  # noqa: E402
from bentu.privacy import PII_TYPES, detect  # noqa: E402
from bentu.privacy._corpus import (  # noqa: E402
    evaluate, generate_corpus, generate_documents, write_table_csv)

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)}


def quality(records: int, seed: int) -> dict:
    corpus = generate_corpus(records, seed=seed)
    return evaluate(corpus, lambda t: [tuple(s) for s in detect(t)])


def _pin(cpus):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def throughput(mb: float, workers: int, cpus, seed: int, kind: str = "corpus") -> dict:
    """``kind``: "corpus" (the labelled test lines: short, about two identifiers each) or
    "documents" (200–600 character lines of prose with a few identifiers)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        text_bytes = 0
        with src.open("w", encoding="utf-8") as fh:
            s = seed
            while text_bytes < mb * 1e6:
                texts = ([r["text"] for r in generate_corpus(5000, seed=s)] if kind == "corpus"
                         else generate_documents(1000, seed=s))
                for text in texts:
                    fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
                    text_bytes += len(text.encode("utf-8"))
                s += 1
        file_bytes = src.stat().st_size
        cmd = [sys.executable, "-m", "bentu.cli.pii", "detect", "--workers", str(workers)]
        # startup (imports, dictionary load) measured separately on a one-line input
        t0 = time.perf_counter()
        subprocess.run(cmd, input=b'{"text": "x"}\n', capture_output=True, check=True, env=ENV,
                       preexec_fn=_pin(cpus))
        startup = time.perf_counter() - t0
        with src.open("rb") as fin:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, stdin=fin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=ENV, preexec_fn=_pin(cpus))
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU time of the command and its worker processes: unlike wall time, not inflated by
        # other work on a shared machine.
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if proc.returncode:
            raise SystemExit(proc.stderr.decode())
        lines = proc.stdout.count(b"\n")
    return {"kind": kind, "text_mb": text_bytes / 1e6, "file_mb": file_bytes / 1e6, "lines": lines,
            "workers": workers, "cpus": sorted(cpus) if cpus else None, "wall_s": wall,
            "startup_s": startup, "mb_per_s": text_bytes / 1e6 / wall,
            "cpu_s": cpu, "mb_per_cpu_s": text_bytes / 1e6 / max(cpu, 1e-9),
            "mb_per_s_excluding_startup": text_bytes / 1e6 / max(wall - startup, 1e-9)}


def mask_memory(mb: float, cpus, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "customers.csv", Path(tmp) / "masked.csv"
        t0 = time.perf_counter()
        rows = write_table_csv(src, int(mb * 1e6), seed=seed)
        gen = time.perf_counter() - t0
        size = src.stat().st_size
        env = {**ENV, "BENTU_PSEUDONYM_KEY": "bench-key-" + "0" * 32}
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "bentu.cli.pii", "mask", str(src), str(out)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 preexec_fn=_pin(cpus))
        peak = peak_rss_kib(child)
        code = child.wait()
        wall = time.perf_counter() - t0
        if code:
            raise SystemExit(child.stderr.read().decode())
        out_size = out.stat().st_size
    return {"input_mb": size / 1e6, "rows": rows, "generate_s": gen, "wall_s": wall,
            "mb_per_s": size / 1e6 / wall, "peak_rss_mb": peak / 1024, "output_mb": out_size / 1e6,
            "under_500mb": peak / 1024 < 500}


def markdown(res: dict) -> str:
    q = res["quality"]
    lines = ["| type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t in (*PII_TYPES, "micro"):
        v = q[t]
        lines.append(f"| {t} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} | {v['support']} |")
    lines.append(f"\nLook-alike numbers flagged: {q['lookalike_flagged_rate']:.2%} of {q['lookalikes']}")
    for name in ("throughput", "throughput_documents"):
        if name not in res:
            continue
        t = res[name]
        lines.append(f"\n`bentu pii detect` on {t['kind']}: {t['mb_per_s']:.2f} MB/s of UTF-8 text "
                     f"({t['text_mb']:.1f} MB, {t['lines']} lines, {t['wall_s']:.1f} s wall incl. "
                     f"{t['startup_s']:.1f} s startup; {t['workers']} workers, cpus={t['cpus']}); "
                     f"{t['mb_per_s_excluding_startup']:.2f} MB/s excluding startup; "
                     f"{t['cpu_s']:.1f} CPU-s in all processes = {t['mb_per_cpu_s']:.2f} MB per CPU-second")
    if "mask" in res:
        m = res["mask"]
        lines.append(f"\n`bentu pii mask` on {m['input_mb']:.0f} MB CSV ({m['rows']} rows): peak RSS "
                     f"{m['peak_rss_mb']:.0f} MB, {m['wall_s']:.0f} s ({m['mb_per_s']:.2f} MB/s)")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=5000, help="labelled corpus records")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--detect-mb", type=float, default=20.0, help="text fed to pii detect")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cpus", default=None, help="pin subprocesses to these CPUs, e.g. 0,1")
    ap.add_argument("--mask-mb", type=float, default=1024.0, help="size of the CSV for pii mask")
    ap.add_argument("--skip", default="", help="comma list of: quality,throughput,mask")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pii.json")
    args = ap.parse_args(argv)
    cpus = {int(c) for c in args.cpus.split(",")} if args.cpus else None
    skip = set(filter(None, args.skip.split(",")))
    res: dict = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                             "platform": platform.platform()}, "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save():  # after every stage, so that a run cut short keeps what it measured
        args.out.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")

    res["quality"] = quality(args.records, args.seed)
    save()
    if "throughput" not in skip:
        res["throughput"] = throughput(args.detect_mb, args.workers, cpus, args.seed, "corpus")
        res["throughput_documents"] = throughput(args.detect_mb, args.workers, cpus, args.seed,
                                                 "documents")
        save()
        print(markdown(res), flush=True)
    if "mask" not in skip:
        res["mask"] = mask_memory(args.mask_mb, cpus, args.seed)
        save()
    print(markdown(res))
    print(f"\nwritten: {args.out}")
    return res


if __name__ == "__main__":
    main()
