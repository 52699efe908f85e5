"""Batch scoring benchmark: `bentu predict` on 1 M rows, peak RSS and rows/s.

Writes a CSV of simulated applicants (``--rows``, default 1,000,000) in pieces, then scores it with
`bentu predict` in a child process per chunk size, and reads the child's peak resident set size
(``os.wait4``'s resource usage of that child) — bounded memory means the
peak stays flat as the file grows and moves with ``--chunk-rows`` instead. For contrast, the same
file is scored in one piece (``pd.read_csv`` of the whole file + ``Predictor.predict_proba``).
Prints a Markdown table and writes bench/results/predict.json.

    .venv/bin/python bench/predict.py [--run-dir RUN] [--rows 1000000] [--chunk-rows 10000 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
WHOLE = ("import sys, time, pandas as pd; from bentu.inference import Predictor; "
         "p = Predictor.from_run_dir(sys.argv[1]); t = time.perf_counter(); s = p.predict_proba(pd.read_csv(sys.argv[2])); "
         "pd.DataFrame({'score': s}).to_csv(sys.argv[3], index=False); print(time.perf_counter() - t)")


def _child(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of this child alone, its output), via ``os.wait4``."""
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        text = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{text}")
    return wall, usage.ru_maxrss / 1024, text  # ru_maxrss is KiB on Linux


def _write_rows(path: Path, rows: int, piece: int = 100_000) -> None:
    from bentu.datasets.credit_sim import simulate_credit

    with open(path, "w", encoding="utf-8", newline="") as f:
        for i, start in enumerate(range(0, rows, piece)):
            df = simulate_credit(n_rows=min(piece, rows - start), seed=100 + i).drop(columns=["default", "true_pd"])
            df.to_csv(f, header=i == 0, index=False, lineterminator="\n")


def _tiny_run(root: Path) -> Path:
    import bentu

    return bentu.run("credit", out=root / "run", lang="en", overrides={
        "data.options.n_rows": 3000, "train.epochs": 3, "audit.explain": None, "audit.fairness": False}).dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, help="A finished credit run (default: a tiny one is trained first).")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-rows", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--whole", action=argparse.BooleanOptionalAction, default=True,
                    help="Also score the file in one piece, for contrast.")
    ap.add_argument("--out", type=Path, default=RESULTS / "predict.json")
    args = ap.parse_args()
    bentu_cli = [sys.executable, "-c", "from bentu.cli.app import main; main()"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_dir = args.run_dir or _tiny_run(tmp)
        src = tmp / "applicants.csv"
        t = time.perf_counter()
        _write_rows(src, args.rows)
        print(f"wrote {args.rows:,} rows ({src.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.0f} s",
              file=sys.stderr)
        for chunk in sorted(args.chunk_rows):
            out = tmp / f"scores-{chunk}.csv"
            wall, rss, _ = _child([*bentu_cli, "predict", str(run_dir), str(src), str(out), "--chunk-rows", str(chunk),
                                   "--quiet", "--lang", "en"])
            with open(out, encoding="utf-8") as f:
                n = sum(1 for _ in f) - 1
            results.append({"mode": f"bentu predict --chunk-rows {chunk}", "rows": n, "wall_s": wall,
                            "rows_per_s": n / wall, "peak_rss_mib": rss})
        if args.whole:
            wall, rss, _ = _child([sys.executable, "-c", WHOLE, str(run_dir), str(src), str(tmp / "whole.csv")])
            results.append({"mode": "whole file in memory (read_csv + predict_proba)", "rows": args.rows,
                            "wall_s": wall, "rows_per_s": args.rows / wall, "peak_rss_mib": rss})
    print("| mode | rows | wall s (incl. start-up) | rows/s | peak RSS MiB |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['mode']} | {r['rows']:,} | {r['wall_s']:.1f} | {r['rows_per_s']:,.0f} | {r['peak_rss_mib']:.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"cpu_count": os.cpu_count(), "python": platform.python_version(), "results": results}
    tmp_out = args.out.with_name(f".{args.out.name}.partial")
    tmp_out.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    os.replace(tmp_out, args.out)


if __name__ == "__main__":
    main()
