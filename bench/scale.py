"""Scale benchmark: the same independent trainings under three executors, and a large simulated
federation on Flower's Ray backend.

1. **Executors.** ``--jobs`` ensemble members of the BreastMNIST recipe's model (``resnet_small``,
   width 16, CBAM in stages 1–2), ``--epochs`` epochs each on the BreastMNIST training split,
   trained by ``TrainPool`` with ``inline`` (one after the other, one thread), ``processes``
   (``--workers`` one-thread processes) and ``ray`` (a local Ray cluster, ``--workers`` tasks at a
   time, start-up included and reported apart), side by side in one run; the table gives wall
   time, speed-up over inline, and whether every executor trained bit-identical models.
2. **Federation.** ``--clients`` simulated institutions (IID partitions of the credit simulator)
   train a tabular MLP for ``--rounds`` FedAvg rounds in Flower's simulation engine on Ray, each
   client with ``federated.client_cpus`` CPUs; the table gives rounds per second and the peak
   resident memory of the process tree.

    .venv/bin/python bench/scale.py [--jobs 4] [--epochs 3] [--workers 2] [--clients 50] [--rounds 3]
        [--skip executors|federation]

Prints a Markdown table and writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from pathlib import Path

import psutil
import torch

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


class _PeakRSS:
    """Peak resident memory of this process and all its children, sampled every 0.2 s."""

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def executors(n_jobs: int, epochs: int, workers: int) -> dict:
    import numpy as np

    from bentu.datasets.images import ImageDataset
    from bentu.datasets.medmnist import load_medmnist
    from bentu.train.parallel import FitJob, TrainPool
    from bentu.train.transfer import FineTuneTrainer

    splits = load_medmnist(SHARED / "medmnist" / "breastmnist.npz")
    # BreastMNIST label 0 is malignant: the event the recipe predicts
    ds = {s: ImageDataset(splits.images[s], (splits.labels[s] == 0).astype(np.float32)) for s in ("train", "val")}
    train, val = ds["train"], ds["val"]
    size = splits.images["train"].shape[1]
    params = {"in_channels": 1, "image_size": size, "width": 16, "blocks": [2, 2, 2], "attention": [1, 2],
              "dropout": 0.2}
    jobs = [FitJob(name=f"member {s}", model="resnet_small", params=params, seed=1000 + s, train=train, val=val,
                   trainer={"epochs": epochs, "batch_size": 32, "lr": 1e-3, "channels_last": True},
                   trainer_cls=FineTuneTrainer) for s in range(n_jobs)]
    out, states = {}, {}
    for name in ("inline", "processes", "ray"):
        t0 = time.perf_counter()
        with TrainPool(workers, executor=name) as pool:
            t1 = time.perf_counter()
            fitted = [h.result() for h in [pool.submit(j) for j in jobs]]
            t2 = time.perf_counter()
        states[name] = [f.model.state_dict() for f in fitted]
        out[name] = {"wall_s": t2 - t0, "start_s": t1 - t0, "train_s": t2 - t1}
    ref = states["inline"]
    for name in out:
        out[name]["identical_to_inline"] = all(
            all(torch.equal(a[k], b[k]) for k in a) for a, b in zip(ref, states[name]))
        out[name]["speedup_vs_inline"] = out["inline"]["wall_s"] / out[name]["wall_s"]
    return {"jobs": n_jobs, "epochs": epochs, "workers": workers, "train_images": len(train), "executors": out}


def federation(n_clients: int, rounds: int) -> dict:
    import numpy as np
    from torch.utils.data import TensorDataset

    from bentu.data import TabularPreprocessor
    from bentu.datasets.credit_sim import simulate_credit
    from bentu.federated import train_federated
    from bentu.models import create_model
    from bentu.recipe import FederatedCfg, TrainCfg

    df = simulate_credit(n_rows=20_000, seed=0)
    num = ["monthly_income", "debt_to_income", "credit_utilization", "n_late_payments_6m", "months_on_book",
           "loan_amount", "loan_term_months", "n_credit_inquiries_3m"]
    X = TabularPreprocessor(numeric=num, categorical=[]).fit(df).transform(df)
    y = df["default"].to_numpy().astype(np.float32)
    val = TensorDataset(torch.from_numpy(X[-2000:]), torch.from_numpy(y[-2000:]))
    parts = np.array_split(np.random.default_rng(0).permutation(len(X) - 2000), n_clients)
    clients = {f"inst{i:03d}": TensorDataset(torch.from_numpy(X[p]), torch.from_numpy(y[p])) for i, p in enumerate(parts)}
    cfg = FederatedCfg(enabled=True, rounds=rounds, min_clients=n_clients, client_cpus=0.5)
    tr = TrainCfg(epochs=1, batch_size=64)
    with tempfile.TemporaryDirectory() as tmp, _PeakRSS() as mem:
        t0 = time.perf_counter()
        result = train_federated(model_fn=lambda: create_model("tabular_mlp", in_features=X.shape[1], hidden=[32]),
                                 clients=clients, val=val, cfg=cfg, train=tr, workdir=Path(tmp))
        wall = time.perf_counter() - t0
    return {"clients": n_clients, "rounds": rounds, "client_cpus": 0.5, "wall_s": wall, "rounds_per_s": rounds / wall,
            "peak_rss_mb": mem.peak / 2**20, "final_val_auc": result.rounds[-1].get("val_auc") if result.rounds else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip", action="append", default=[], choices=["executors", "federation"])
    a = ap.parse_args()
    res = {"machine": {"cpus": psutil.cpu_count(), "platform": platform.platform(), "torch": torch.__version__}}
    if "executors" not in a.skip:
        res["executors"] = executors(a.jobs, a.epochs, a.workers)
        e = res["executors"]
        print(f"\n### {e['jobs']} BreastMNIST models × {e['epochs']} epochs ({e['train_images']} images), {e['workers']} at a time\n")
        print("| executor | wall s | of which start-up s | speed-up vs inline | models identical to inline |")
        print("|---|---|---|---|---|")
        for name, r in e["executors"].items():
            print(f"| {name} | {r['wall_s']:.1f} | {r['start_s']:.1f} | {r['speedup_vs_inline']:.2f}× | {r['identical_to_inline']} |")
    if "federation" not in a.skip:
        res["federation"] = f = federation(a.clients, a.rounds)
        print(f"\n### Flower simulation on Ray: {f['clients']} clients, {f['rounds']} rounds\n")
        print("| clients | rounds | wall s | rounds/s | peak RSS MB | last val AUC |")
        print("|---|---|---|---|---|---|")
        auc = f["final_val_auc"]
        print(f"| {f['clients']} | {f['rounds']} | {f['wall_s']:.1f} | {f['rounds_per_s']:.3f} | {f['peak_rss_mb']:.0f} | "
              f"{auc if auc is None else round(auc, 4)} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
