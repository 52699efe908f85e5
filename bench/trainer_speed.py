"""Trainer speed benchmark: time per training step of `resnet_small`, default vs channels-last layout.

The layout is `Trainer(channels_last=...)` (recipe key `train.channels_last`). For each model
(no attention, CBAM in every stage, CBAM in stages 1-2 only: `model.attention`) and layout, one
training step is the Trainer's own `_train_step` (forward, loss, backward, AdamW step) on a batch
of 28×28 images. The six configurations take turns, `--rounds` times, so load on the machine
falls on all of them alike; the table gives the median time per step, each layout's ratio to the
default layout of the same model, and each row's ratio to the model without attention in the
default layout.

Then the way to spend the cores (``train.processes``): the BreastMNIST recipe's model (CBAM in
stages 1-2, channels-last) trained by one process with ``--threads`` threads against
``--processes`` one-thread processes training side by side (each its own model, as the workers of
``TrainPool`` do), in alternating rounds; the table gives training steps per second of each and
their ratio. Writes bench/results/trainer_speed.json.

    .venv/bin/python bench/trainer_speed.py [--threads 2] [--processes 2] [--batch 32] [--steps 30] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def _step_time(model, trainer, opt, x, y, steps: int) -> float:
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        trainer._train_step(model, opt, (x,), y, None)
    return (time.perf_counter() - start) / steps


def _recipe_setup(threads: int, batch: int):
    """The BreastMNIST recipe's model, trainer and optimizer with ``threads`` torch threads, warmed up."""
    torch.set_num_threads(threads)
    from bentu.models import create_model
    from bentu.train import Trainer
    from bentu.train.trainer import make_optimizer

    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=g)
    y = (torch.rand(batch, generator=g) > 0.7).float()
    torch.manual_seed(0)
    model = create_model("resnet_small", width=16, blocks=[2, 2, 2], attention=[1, 2])
    model.to(memory_format=torch.channels_last)
    trainer = Trainer(channels_last=True)
    opt = make_optimizer("adamw", model.parameters(), 2e-3, 1e-4)
    _step_time(model, trainer, opt, x, y, 3)
    return model, trainer, opt, x, y


def _timed_worker(threads: int, batch: int, steps: int, barrier, out) -> None:
    model, trainer, opt, x, y = _recipe_setup(threads, batch)
    barrier.wait()  # the processes of one arm start their steps together
    out.put(_step_time(model, trainer, opt, x, y, steps) * steps)


def _steps_per_second(procs: int, threads: int, batch: int, steps: int) -> float:
    """Training steps a second of ``procs`` spawned processes with ``threads`` threads each, side by side."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_timed_worker, args=(threads, batch, steps, barrier, out)) for _ in range(procs)]
    for w in workers:
        w.start()
    seconds = [out.get() for _ in workers]
    for w in workers:
        w.join()
    return procs * steps / max(seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--processes", type=int, default=2, help="one-thread processes to compare with (0: skip)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from bentu.models import create_model
    from bentu.train import Trainer
    from bentu.train.trainer import make_optimizer

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 1, 28, 28, generator=g)
    y = (torch.rand(args.batch, generator=g) > 0.7).float()
    variants = {"resnet_small": False, "resnet_small + CBAM": True, "resnet_small + CBAM in stages 1-2": [1, 2]}
    setups = {}
    for name, attention in variants.items():
        for cl in (False, True):
            torch.manual_seed(0)
            model = create_model("resnet_small", width=16, blocks=[2, 2, 2], attention=attention)
            trainer = Trainer(channels_last=cl)
            if cl:  # what Trainer.fit does before its first step
                model.to(memory_format=torch.channels_last)
            opt = make_optimizer("adamw", model.parameters(), 2e-3, 1e-4)
            _step_time(model, trainer, opt, x, y, 3)  # warm-up: oneDNN builds its kernels
            setups[(name, cl)] = (model, trainer, opt)
    times: dict[tuple[str, bool], list[float]] = {k: [] for k in setups}
    for _ in range(args.rounds):
        for key, (model, trainer, opt) in setups.items():
            times[key].append(_step_time(model, trainer, opt, x, y, args.steps))

    rows = []
    plain = statistics.median(times[("resnet_small", False)])
    for (name, cl), ts in times.items():
        base = statistics.median(times[(name, False)])
        rows.append({"model": name, "attention": variants[name], "channels_last": cl,
                     "ms_per_step": 1e3 * statistics.median(ts), "ratio_to_default_layout": statistics.median(ts) / base,
                     "ratio_to_plain_default": statistics.median(ts) / plain,
                     "ms_per_step_all_rounds": [1e3 * t for t in ts]})
    print(f"resnet_small training step, batch {args.batch} of 28×28, {args.threads} thread(s), "
          f"median of {args.rounds} rounds × {args.steps} steps\n")
    print("| model | layout | ms / step | vs default layout | vs no attention, default layout |\n|---|---|---|---|---|")
    for r in rows:
        layout = "channels-last" if r["channels_last"] else "default"
        print(f"| {r['model']} | {layout} | {r['ms_per_step']:.1f} | {r['ratio_to_default_layout']:.2f} | "
              f"{r['ratio_to_plain_default']:.2f} |")
    parallel = None
    if args.processes:
        one, many = [], []
        for _ in range(args.rounds):
            one.append(_steps_per_second(1, args.threads, args.batch, args.steps))
            many.append(_steps_per_second(args.processes, 1, args.batch, args.steps))
        parallel = {"one_process_threads": args.threads, "steps_per_s_one_process": statistics.median(one),
                    "processes": args.processes, "steps_per_s_processes": statistics.median(many),
                    "ratio": statistics.median(many) / statistics.median(one),
                    "all_rounds": {"one_process": one, "processes": many}}
        print(f"\nresnet_small + CBAM in stages 1-2, channels-last (the BreastMNIST recipe), steps per second, "
              f"median of {args.rounds} rounds × {args.steps} steps\n")
        print("| training | steps / s | ratio |\n|---|---|---|")
        print(f"| 1 process × {args.threads} threads | {parallel['steps_per_s_one_process']:.1f} | 1.00 |")
        print(f"| {args.processes} processes × 1 thread, side by side | {parallel['steps_per_s_processes']:.1f} | "
              f"{parallel['ratio']:.2f} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "trainer_speed.json"
    out.write_text(json.dumps({"args": vars(args), "torch": torch.__version__, "machine": platform.processor() or
                               platform.machine(), "rows": rows, "parallel": parallel}, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
