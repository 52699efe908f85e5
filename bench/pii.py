"""Benchmark of the privacy layer (issues 3 and 19).

1. Quality, side by side on two labelled corpora: the regression corpus generated next to the
   detectors (``bentu.privacy._corpus``) and the independent corpus v2
   (``bench/pii_corpus_v2``, its own generator, lists and templates; a fresh seed with held-out
   templates too): exact-span precision / recall / F1 per type, micro F1, ADDRESS exact F1,
   PERSON P/R, the share of look-alikes flagged, and the character-level recall of redaction
   (the share of the characters of gold PII strings that masking the detected spans hides).
2. jieba ablation: PERSON without jieba's dictionary, and with jieba.posseg ``nr`` names added.
3. Throughput of ``bentu pii detect`` (a subprocess, JSONL in → JSONL out) against a naive
   regex detector written here (``--naive-detect``, same protocol), on the same records, in MB/s
   of UTF-8 text excluding start-up (start-up measured on a one-line input), optionally pinned
   to some CPUs (``--cpus 0,1``).
4. ``bentu pii mask`` on a large CSV (default 1 GB, generated in a temporary directory): peak
   RSS of the subprocess (VmHWM, polled) and throughput.

Writes JSON (default ``bench/results/pii.json``) and prints a Markdown table.

    python bench/pii.py --skip mask                    # quality + throughput, a few minutes
    python bench/pii.py --skip throughput,mask,jieba   # quality only
    python bench/pii.py --mask-mb 50 --cpus 0,1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
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
    generate_corpus, generate_documents, write_table_csv)

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)}


V2_DIR = ROOT / "bench" / "pii_corpus_v2"
CORPUS_V2 = V2_DIR / "corpus.jsonl"


def _v2_generator():
    spec = importlib.util.spec_from_file_location("pii_corpus_v2_generate", V2_DIR / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def score(records: list[dict], spans_of) -> dict:
    """Exact-span P/R/F1 per type and micro, look-alikes flagged, and redaction recall.

    ``records``: ``{"text", "spans": [{"start", "end", "type"}], "lookalikes": [...]}`` where a
    look-alike is ``{"start", "end", ...}`` (v2) or ``(start, end)`` (the regression corpus).
    ``spans_of(text) -> [(start, end, type), ...]``.
    """
    counts = {t: [0, 0, 0] for t in PII_TYPES}
    flagged = looks = 0
    hidden = {t: [0, 0] for t in PII_TYPES}  # characters of gold PII hidden, in all
    gold_hidden = 0
    gold_total = 0
    for rec in records:
        text = rec["text"]
        gold = {(s["start"], s["end"], s["type"]) for s in rec["spans"]}
        pred = {tuple(s) for s in spans_of(text)}
        for s in pred:
            counts.setdefault(s[2], [0, 0, 0])[0 if s in gold else 1] += 1
        for s in gold - pred:
            counts[s[2]][2] += 1
        masked = bytearray(len(text))
        for s in pred:
            masked[s[0]:s[1]] = b"\x01" * (s[1] - s[0])
        for a, b, t in gold:
            h = masked.count(1, a, b)
            hidden[t][0] += h
            hidden[t][1] += b - a
            gold_total += 1
            gold_hidden += h == b - a
        for la in rec.get("lookalikes", ()):
            a, b = (la["start"], la["end"]) if isinstance(la, dict) else la[:2]
            looks += 1
            flagged += any(s[0] < b and s[1] > a for s in pred)
    out = {t: _prf(*c) for t, c in counts.items()}
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    out["micro"] = _prf(tp, fp, fn)
    out["lookalike_flagged_rate"] = flagged / looks if looks else 0.0
    out["lookalikes"] = looks
    chars = sum(h[1] for h in hidden.values())
    out["redaction_char_recall"] = sum(h[0] for h in hidden.values()) / chars if chars else 1.0
    out["redaction_char_recall_by_type"] = {t: h[0] / h[1] for t, h in hidden.items() if h[1]}
    out["gold_fully_hidden_rate"] = gold_hidden / gold_total if gold_total else 1.0
    out["records"] = len(records)
    return out


def _bentu_spans(text: str):
    return [tuple(s) for s in detect(text)]


def quality(records: int, seed: int, fresh_seed: int, fresh_records: int) -> dict:
    """Both corpora, plus a fresh v2 corpus (new seed, held-out templates)."""
    gen = _v2_generator()
    return {
        "regression": score(generate_corpus(records, seed=seed), _bentu_spans),
        "v2": score(load_jsonl(CORPUS_V2), _bentu_spans),
        "v2_fresh": score(gen.generate(fresh_records, fresh_seed, holdout=True), _bentu_spans),
        "v2_fresh_seed": fresh_seed,
        "v2_naive_regex": score(load_jsonl(CORPUS_V2), naive_spans),
    }


def _posseg_names(text: str):
    import jieba.posseg

    pos = 0
    for word, flag in jieba.posseg.cut(text):
        if flag == "nr" and 2 <= len(word) <= 4:
            yield pos, pos + len(word), "PERSON"
        pos += len(word)


def jieba_ablation(seed: int) -> dict:
    """PERSON on corpus v2 and the regression corpus with jieba's dictionary (the default),
    without it, and with jieba.posseg person names (``nr``) added where nothing else was found;
    in-process MB/s of each on corpus v2."""
    from bentu.privacy import _person

    corpora = {"v2": load_jsonl(CORPUS_V2), "regression": generate_corpus(2000, seed=seed)}
    mb = sum(len(r["text"].encode("utf-8")) for r in corpora["v2"]) / 1e6

    def with_posseg(text):
        spans = _bentu_spans(text)
        taken = bytearray(len(text))
        for a, b, _ in spans:
            taken[a:b] = b"\x01" * (b - a)
        extra = [s for s in _posseg_names(text) if taken.find(1, s[0], s[1]) < 0]
        return spans + extra

    out = {}
    original = _person._freq
    for name, fn, patch in (("dictionary", _bentu_spans, None),
                            ("no_dictionary", _bentu_spans, lambda: {}),
                            ("dictionary+posseg", with_posseg, None)):
        if patch is not None:
            _person._freq = patch
        try:
            if name == "dictionary+posseg":
                import jieba
                jieba.setLogLevel(60)
                jieba.initialize()
            row = {}
            fn(corpora["v2"][0]["text"])  # warm: dictionaries loaded before timing
            for cname, recs in corpora.items():
                t0 = time.process_time()
                q = score(recs, fn)
                cpu = time.process_time() - t0
                row[cname] = {"PERSON": q["PERSON"], "micro_f1": q["micro"]["f1"]}
                if cname == "v2":
                    row["mb_per_cpu_s_in_process"] = mb / cpu
            out[name] = row
        finally:
            _person._freq = original
    return out


# A naive regex detector, as one would write it in an afternoon: one regex per type, no
# checksums, no context, a surname + one or two Han characters for names, an address from a
# province or city name to the next punctuation.
_NAIVE = [(t, re.compile(p)) for t, p in (
    ("CN_ID_CARD", r"(?<!\d)\d{17}[\dXx](?!\d)"),
    ("BANK_CARD", r"(?<!\d)\d{16,19}(?!\d)"),
    ("CN_PHONE", r"(?<!\d)(?:\+86[- ]?)?1[3-9]\d{9}(?!\d)"),
    ("CN_LANDLINE", r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"),
    ("EMAIL", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    ("IP_ADDRESS", r"(?<!\d)(?:\d{1,3}\.){3}\d{1,3}(?!\d)"),
    ("CN_USCC", r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])"),
    ("CN_PASSPORT", r"(?<![0-9A-Z])[EG]\d{8}(?!\d)"),
    ("CN_LICENSE_PLATE", r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z]·?[A-Z0-9]{5,6}"),
    ("ADDRESS", r"(?:[\u4e00-\u9fff]{2,3}(?:省|自治区))?[\u4e00-\u9fff]{2,4}市[^，。；,;\s]{2,40}"),
    ("PERSON", r"(?:(?<=姓名[:：])|(?<=联系人[:：])|(?<=患者))[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐]"
               r"[\u4e00-\u9fff]{1,2}"),
)]


def naive_spans(text: str) -> list[tuple[int, int, str]]:
    spans = [(m.start(), m.end(), t) for t, rx in _NAIVE for m in rx.finditer(text)]
    spans.sort(key=lambda s: (s[0], s[0] - s[1]))
    kept, end = [], -1
    for s in spans:
        if s[0] >= end:
            kept.append(s)
            end = s[1]
    return kept


def naive_detect_main() -> None:
    """The naive detector with the ``pii detect`` protocol (JSONL on stdin → stdout)."""
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        obj = json.loads(line)
        obj["spans"] = [{"start": a, "end": b, "type": t} for a, b, t in naive_spans(obj["text"])]
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()


def _pin(cpus):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def _run_detect(cmd, src: Path, cpus) -> tuple[float, float, float, int]:
    """(startup_s, wall_s, cpu_s, lines) of ``cmd`` over ``src``."""
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
    if proc.returncode:
        raise SystemExit(proc.stderr.decode())
    # CPU time of the command and its worker processes: unlike wall time, not inflated by
    # other work on a shared machine.
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return startup, wall, cpu, proc.stdout.count(b"\n")


def throughput(mb: float, workers: int, cpus, seed: int, kind: str = "corpus") -> dict:
    """``kind``: "v2" (the records of corpus v2, repeated), "corpus" (the regression corpus's
    short lines) or "documents" (200–600 character lines of prose).  bentu ``pii detect`` with
    ``workers`` workers and with one, and the naive regex detector, on the same file."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        text_bytes = 0
        v2 = [r["text"] for r in load_jsonl(CORPUS_V2)] if kind == "v2" else None
        with src.open("w", encoding="utf-8") as fh:
            s = seed
            while text_bytes < mb * 1e6:
                texts = (v2 if kind == "v2" else
                         [r["text"] for r in generate_corpus(5000, seed=s)] if kind == "corpus"
                         else generate_documents(1000, seed=s))
                for text in texts:
                    fh.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
                    text_bytes += len(text.encode("utf-8"))
                s += 1
        file_bytes = src.stat().st_size
        runs = {}
        bentu = [sys.executable, "-m", "bentu.cli.pii", "detect", "--workers"]
        for name, cmd in ((f"bentu_{workers}w", bentu + [str(workers)]),
                          ("bentu_1w", bentu + ["1"]),
                          ("naive_regex", [sys.executable, str(Path(__file__).resolve()),
                                           "--naive-detect"])):
            if name == "bentu_1w" and workers == 1:
                continue
            startup, wall, cpu, lines = _run_detect(cmd, src, cpus)
            runs[name] = {"wall_s": wall, "startup_s": startup, "cpu_s": cpu, "lines": lines,
                          "mb_per_s": text_bytes / 1e6 / wall,
                          "mb_per_s_excluding_startup": text_bytes / 1e6 / max(wall - startup, 1e-9),
                          "mb_per_cpu_s": text_bytes / 1e6 / max(cpu, 1e-9)}
    naive = runs["naive_regex"]
    for r in runs.values():
        r["vs_naive"] = r["mb_per_s_excluding_startup"] / naive["mb_per_s_excluding_startup"]
        r["vs_naive_cpu"] = r["mb_per_cpu_s"] / naive["mb_per_cpu_s"]
    return {"kind": kind, "text_mb": text_bytes / 1e6, "file_mb": file_bytes / 1e6,
            "workers": workers, "cpus": sorted(cpus) if cpus else None, "runs": runs}


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
    lines = []
    if "quality" in res:
        q = res["quality"]
        names = [("regression", "regression corpus (old)"), ("v2", "corpus v2"),
                 ("v2_fresh", f"v2 fresh (seed {q['v2_fresh_seed']}, + held-out templates)")]
        lines += ["| type | " + " | ".join(f"{label} P / R / F1" for _, label in names) + " |",
                  "|---|" + "---|" * len(names)]
        for t in (*PII_TYPES, "micro"):
            cells = []
            for key, _ in names:
                v = q[key].get(t)
                cells.append("—" if v is None or not v["support"] and not v["fp"] else
                             f"{v['precision']:.3f} / {v['recall']:.3f} / {v['f1']:.3f} ({v['support']})")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        for label, fmt in (("look-alikes flagged", lambda v: f"{v['lookalike_flagged_rate']:.2%} of {v['lookalikes']}"),
                           ("redaction: characters of PII hidden", lambda v: f"{v['redaction_char_recall']:.4f}"),
                           ("redaction: PII strings fully hidden", lambda v: f"{v['gold_fully_hidden_rate']:.4f}"),
                           ("records", lambda v: str(v["records"]))):
            lines.append(f"| {label} | " + " | ".join(fmt(q[k]) for k, _ in names) + " |")
        n = q["v2_naive_regex"]
        lines.append(f"\nThe naive regex detector on corpus v2: micro F1 {n['micro']['f1']:.3f}, look-alikes "
                     f"flagged {n['lookalike_flagged_rate']:.1%}, characters of PII hidden "
                     f"{n['redaction_char_recall']:.3f}.")
    if "jieba" in res:
        lines.append("\n| jieba | v2 PERSON P / R | regression PERSON P / R | v2 micro F1 | in-process MB per CPU-s (v2, incl. scoring) |")
        lines.append("|---|---|---|---|---|")
        for name, row in res["jieba"].items():
            a, b = row["v2"]["PERSON"], row["regression"]["PERSON"]
            lines.append(f"| {name} | {a['precision']:.3f} / {a['recall']:.3f} | {b['precision']:.3f} / "
                         f"{b['recall']:.3f} | {row['v2']['micro_f1']:.4f} | {row['mb_per_cpu_s_in_process']:.2f} |")
    for key in ("throughput_v2", "throughput", "throughput_documents"):
        if key not in res:
            continue
        t = res[key]
        lines.append(f"\n`pii detect` on {t['kind']} records ({t['text_mb']:.1f} MB of text, cpus={t['cpus']}):\n")
        lines.append("| detector | MB/s excl. start-up | start-up s | wall s | MB per CPU-s | × naive (wall excl. start-up) | × naive (CPU) |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, r in t["runs"].items():
            lines.append(f"| {name} | {r['mb_per_s_excluding_startup']:.2f} | {r['startup_s']:.2f} | "
                         f"{r['wall_s']:.1f} | {r['mb_per_cpu_s']:.2f} | {r['vs_naive']:.2f} | {r['vs_naive_cpu']:.2f} |")
    if "mask" in res:
        m = res["mask"]
        lines.append(f"\n`bentu pii mask` on {m['input_mb']:.0f} MB CSV ({m['rows']} rows): peak RSS "
                     f"{m['peak_rss_mb']:.0f} MB, {m['wall_s']:.0f} s ({m['mb_per_s']:.2f} MB/s)")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=5000, help="regression corpus records")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--fresh-seed", type=int, default=11,
                    help="seed of the fresh v2 corpus (7 was looked at while tuning; 11 was not)")
    ap.add_argument("--fresh-records", type=int, default=600)
    ap.add_argument("--detect-mb", type=float, default=5.0, help="text fed to each pii detect run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cpus", default=None, help="pin subprocesses to these CPUs, e.g. 0,1")
    ap.add_argument("--mask-mb", type=float, default=1024.0, help="size of the CSV for pii mask")
    ap.add_argument("--skip", default="",
                    help="comma list of: quality,jieba,throughput,documents,mask")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pii.json")
    ap.add_argument("--naive-detect", action="store_true",
                    help="act as the naive regex detector (JSONL stdin → stdout) and exit")
    args = ap.parse_args(argv)
    if args.naive_detect:
        naive_detect_main()
        return {}
    cpus = {int(c) for c in args.cpus.split(",")} if args.cpus else None
    skip = set(filter(None, args.skip.split(",")))
    res: dict = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                             "platform": platform.platform()}, "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save():  # after every stage, so that a run cut short keeps what it measured
        tmp = args.out.with_name(f".{args.out.name}.tmp")
        tmp.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, args.out)

    if "quality" not in skip:
        res["quality"] = quality(args.records, args.seed, args.fresh_seed, args.fresh_records)
        save()
        print(markdown(res), flush=True)
    if "jieba" not in skip:
        res["jieba"] = jieba_ablation(args.seed)
        save()
    if "throughput" not in skip:
        res["throughput_v2"] = throughput(args.detect_mb, args.workers, cpus, args.seed, "v2")
        save()
        if "documents" not in skip:
            res["throughput_documents"] = throughput(args.detect_mb, args.workers, cpus, args.seed,
                                                     "documents")
            save()
    if "mask" not in skip:
        res["mask"] = mask_memory(args.mask_mb, cpus, args.seed)
        save()
    print("\n" + markdown(res))
    print(f"\nwritten: {args.out}")
    return res


if __name__ == "__main__":
    main()
