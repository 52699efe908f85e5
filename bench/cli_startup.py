"""Start-up time of `bentu --help` against `python -c pass`, reported as a ratio.

Runs each command ``--repeat`` times, interleaved, in child processes, and reports the median wall
time and the median CPU time (user + system, from ``os.wait4``) of each. On a shared machine the
CPU time is the steadier number: wall time includes waiting for a core. Prints a Markdown table
and writes bench/results/cli_startup.json.

    .venv/bin/python bench/cli_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _once(cmd: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out", type=Path, default=RESULTS / "cli_startup.json")
    args = ap.parse_args()
    script = shutil.which("bentu", path=str(Path(sys.executable).parent))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bentu --help": [script, "--help"] if script else [sys.executable, "-m", "bentu.cli.app", "--help"],
        "bentu predict --help": ([script] if script else [sys.executable, "-m", "bentu.cli.app"]) + ["predict", "--help"],
    }
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            samples[name].append(_once(cmd))
    rows = {name: {"wall_s": statistics.median(w for w, _ in s), "cpu_s": statistics.median(c for _, c in s)}
            for name, s in samples.items()}
    base = rows["python -c pass"]
    print(f"| command | median wall s | median CPU s | wall ratio | CPU ratio |  (n={args.repeat})\n|---|---|---|---|---|")
    for name, r in rows.items():
        r["wall_ratio"], r["cpu_ratio"] = r["wall_s"] / base["wall_s"], r["cpu_s"] / max(base["cpu_s"], 1e-3)
        print(f"| {name} | {r['wall_s']:.3f} | {r['cpu_s']:.3f} | {r['wall_ratio']:.1f}x | {r['cpu_ratio']:.1f}x |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"load average while measured: {load:.1f} on {os.cpu_count()} CPUs" if load is not None else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.partial")
    tmp.write_text(json.dumps({"repeat": args.repeat, "load_average": load, "cpu_count": os.cpu_count(),
                               "results": rows}, indent=2), encoding="utf-8")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
