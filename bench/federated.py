"""Federated training benchmark: is federation worth it, what do faults, robustness and DP cost,
and what does a real deployment cost against the simulation?

Usage (from the project root; every number in the output is measured by this run)::

    .venv/bin/python bench/federated.py [--only compare_uci,compare_sim,poison,fail,dp,runtime,secagg]
        [--rounds 20] [--sim-rows 30000] [--out bench/results]
    # the privacy / utility table (record-level DP-SGD vs client-level DP), resumable, by parts:
    .venv/bin/python bench/federated.py --only dpsgd_uci,dpsgd_sim --eps 0.5,1,2,4,8,inf --seeds 0,1,2 \
        --modes pooled,federated,client_dp

Writes ``<out>/federated.json`` and ``<out>/federated.md``. Data: the UCI default-credit table with
FATE's three-party homogeneous split (``../shared/data/uci_default_credit``), and the credit
simulator's lenders. Preprocessing: bentu's TabularPreprocessor fitted on the training rows only.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import TensorDataset

from bentu.data.partition import partition_rows
from bentu.data.preprocess import TabularPreprocessor
from bentu.federated import compare_federation, train_federated
from bentu.federated.compare import central_trainer
from bentu.models import create_model
from bentu.recipe import FederatedCfg, TrainCfg, default_data_root
from bentu.audit.metrics import binary_metrics

UCI_FEATURES = ["LIMIT_BAL", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6", "BILL_AMT1", "BILL_AMT2",
                "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6", "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4",
                "PAY_AMT5", "PAY_AMT6", "SEX", "AGE", "EDUCATION", "MARRIAGE"]
UCI_CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE"]
TRAIN = TrainCfg(optimizer="adam", lr=1e-3, epochs=40, batch_size=512, patience=6, seed=0)


class Task:
    """Preprocessed train/val/test arrays, the institution of each training row, a model builder."""

    def __init__(self, X: dict, Y: dict, groups: np.ndarray, hidden=(128, 64)):
        self.X, self.Y, self.groups, self.hidden = X, Y, groups, list(hidden)
        n_in = X["train"].shape[1]

        def model_fn() -> torch.nn.Module:
            torch.manual_seed(0)
            return create_model("tabular_mlp", in_features=n_in, hidden=[128, 64], dropout=0.1)

        self.model_fn = model_fn

    def ds(self, split: str, idx: np.ndarray | None = None) -> TensorDataset:
        x, y = self.X[split], self.Y[split]
        if idx is not None:
            x, y = x[idx], y[idx]
        return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))

    def clients(self, parts: dict[str, np.ndarray]) -> dict[str, TensorDataset]:
        return {name: self.ds("train", idx) for name, idx in parts.items()}


def _split_val(rng: np.random.Generator, idx: np.ndarray, y: np.ndarray, frac: float) -> tuple[np.ndarray, np.ndarray]:
    val = []
    for label in (0, 1):
        rows = idx[y[idx] == label]
        val.append(rng.choice(rows, int(round(frac * len(rows))), replace=False))
    val_idx = np.sort(np.concatenate(val))
    return np.setdiff1d(idx, val_idx), val_idx


def _task(df: pd.DataFrame, target: str, numeric: list[str], categorical: list[str], inst: str,
          train_idx: np.ndarray, val_idx: np.ndarray, test_idx: np.ndarray) -> Task:
    pre = TabularPreprocessor(numeric=numeric, categorical=categorical).fit(df.iloc[train_idx])
    X, Y = {}, {}
    for split, idx in (("train", train_idx), ("val", val_idx), ("test", test_idx)):
        X[split] = pre.transform(df.iloc[idx]).astype(np.float32)
        Y[split] = df[target].to_numpy()[idx].astype(np.float32)
    return Task(X, Y, df[inst].astype(str).to_numpy()[train_idx])


def uci_task() -> Task:
    root = default_data_root() / "uci_default_credit"
    df = pd.read_csv(root / "UCI_Credit_Card.csv.gz").merge(pd.read_csv(root / "fate_homo_split.csv.gz"), on="ID")
    df = df.rename(columns={"default.payment.next.month": "default"})
    test_idx = np.flatnonzero(df["fate_homo_party"] == "fate_test")
    rest = np.flatnonzero(df["fate_homo_party"] != "fate_test")
    train_idx, val_idx = _split_val(np.random.default_rng(0), rest, df["default"].to_numpy(), 0.1)
    numeric = [c for c in UCI_FEATURES if c not in UCI_CATEGORICAL]
    return _task(df, "default", numeric, UCI_CATEGORICAL, "fate_homo_party", train_idx, val_idx, test_idx)


def sim_task(n_rows: int) -> Task:
    from bentu.datasets.credit_sim import CREDIT_SIM_ROLES, simulate_credit

    df = simulate_credit(n_rows=n_rows, seed=0)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(df))
    test_idx = np.sort(perm[: int(0.2 * len(df))])
    rest = np.sort(perm[int(0.2 * len(df)):])
    train_idx, val_idx = _split_val(rng, rest, df["default"].to_numpy(), 0.1)
    cat = [c for c in CREDIT_SIM_ROLES["features"] if c in CREDIT_SIM_ROLES["categorical"]]
    num = [c for c in CREDIT_SIM_ROLES["features"] if c not in cat] + ["age"]
    return _task(df, "default", num, cat, "lender", train_idx, val_idx, test_idx)


def _fed(task: Task, parts, workdir: Path, train: TrainCfg = TRAIN, model_fn=None, **cfg) -> dict:
    fc = FederatedCfg(enabled=True, **cfg)
    res = train_federated(model_fn=model_fn or task.model_fn, clients=task.clients(parts), val=task.ds("val"), cfg=fc,
                          train=train, workdir=workdir)
    p, y = central_trainer(train).predict_proba(res.model, task.ds("test"))
    rounds = res.rounds
    return {"test_auc": binary_metrics(y, p)["auc"], "seconds": res.seconds, "best_round": res.best_round,
            "val_auc_best": max((r["val_auc"] for r in rounds), default=float("nan")),
            "dropped": res.dropped, "privacy": res.privacy, "runtime": res.runtime,
            "round_seconds_median": float(np.median([r["seconds"] for r in rounds])),
            "bytes_up_per_round": float(np.mean([r.get("bytes_up", np.nan) for r in rounds])),
            "bytes_down_per_round": float(np.mean([r.get("bytes_down", np.nan) for r in rounds])),
            "rounds_aggregated": int(sum(bool(r.get("aggregated")) for r in rounds)),
            "record_dp": res.dp, "_model": res.model}


def _strip(d: dict) -> dict:
    return {k: v for k, v in d.items() if not k.startswith("_")}


def bench_compare(task: Task, name: str, rounds: int, work: Path) -> dict:
    parts = partition_rows(groups=task.groups, scheme="institution", column="institution")
    comp = compare_federation(evaluate=binary_metrics, model_fn=task.model_fn, clients=task.clients(parts), pooled_train=task.ds("train"),
                              val=task.ds("val"), test=task.ds("test"),
                              cfg=FederatedCfg(enabled=True, rounds=rounds, strategy="fedavg"), train=TRAIN,
                              workdir=work / name)
    comp.pop("model")
    return comp


def bench_poison(task: Task, rounds: int, work: Path) -> dict:
    parts = partition_rows(n_rows=len(task.Y["train"]), scheme="iid", num_clients=5, seed=0)
    poison = {"poison": {"client": "client_4", "mode": "sign_flip", "scale": 10}}
    out = {}
    for label, strategy, options in [("fedavg clean", "fedavg", {}), ("fedavg poisoned", "fedavg", poison),
                                     ("trimmed_mean clean", "trimmed_mean", {}),
                                     ("trimmed_mean poisoned", "trimmed_mean", poison),
                                     ("median poisoned", "median", poison), ("krum poisoned", "krum", poison)]:
        out[label] = _strip(_fed(task, parts, work / "poison", strategy=strategy, rounds=rounds, options=options))
        print(label, out[label]["test_auc"], file=sys.stderr)
    return out


def bench_fail(task: Task, rounds: int, work: Path) -> dict:
    parts = partition_rows(n_rows=len(task.Y["train"]), scheme="iid", num_clients=5, seed=0)
    r = _fed(task, parts, work / "fail", strategy="fedavg", rounds=rounds, min_clients=3,
             options={"fail": {"client": "client_2", "every_round": True}})
    return _strip(r)


def bench_dp(task: Task, rounds: int, work: Path) -> dict:
    parts = partition_rows(groups=task.groups, scheme="institution")
    out = {}
    for eps in (1.0, 4.0, 8.0, None):
        if eps is None:
            r = _fed(task, parts, work / "dp", strategy="fedavg", rounds=rounds)
        else:
            r = _fed(task, parts, work / "dp", strategy="dp_server_fixed", rounds=rounds,
                     options={"epsilon": eps, "delta": 1e-5, "clipping_norm": 0.5})
        out["inf" if eps is None else str(eps)] = _strip(r)
        print("dp", eps, r["test_auc"], file=sys.stderr)
    return out


def bench_runtime(task: Task, rounds: int, work: Path) -> dict:
    parts = partition_rows(groups=task.groups, scheme="institution")
    sim = _fed(task, parts, work / "rt_sim", strategy="fedavg", rounds=rounds)
    dep = _fed(task, parts, work / "rt_dep", strategy="fedavg", rounds=rounds, deploy=True)
    model = task.model_fn()
    trainer = central_trainer(TRAIN).fit(model, task.ds("train"), task.ds("val"))
    diff = max(float((a - b).abs().max()) for a, b in zip(sim["_model"].state_dict().values(),
                                                         dep["_model"].state_dict().values()))
    return {"simulation": _strip(sim), "deploy": _strip(dep), "max_abs_weight_diff_sim_vs_deploy": diff,
            "pooled_train_seconds": trainer.train_seconds_, "pooled_epochs": len(trainer.history_)}


def bench_secagg(task: Task, rounds: int, work: Path) -> dict:
    """SecAgg+ vs plain FedAvg: after one round (the aggregation alone) and after ``rounds``."""
    parts = partition_rows(groups=task.groups, scheme="institution")
    out = {}
    for n in sorted({1, rounds}):
        plain = _fed(task, parts, work / "sa_plain", strategy="fedavg", rounds=n)
        sec = _fed(task, parts, work / "sa_sec", strategy="secagg", rounds=n)
        diff = max(float((a - b).abs().max()) for a, b in zip(plain["_model"].state_dict().values(),
                                                             sec["_model"].state_dict().values()))
        out[f"rounds_{n}"] = {"fedavg": _strip(plain), "secagg": _strip(sec), "max_abs_weight_diff": diff}
    return out


DP_MODES = ("pooled", "federated", "client_dp")
DP_MAX_GRAD_NORM = 1.0


def _dp_model_fn(n_in: int, seed: int):
    """The bench MLP with layer norm instead of batch norm (Opacus refuses batch norm), seeded."""

    def model_fn() -> torch.nn.Module:
        torch.manual_seed(seed)
        return create_model("tabular_mlp", in_features=n_in, hidden=[128, 64], dropout=0.1, norm="layer")

    return model_fn


def bench_dpsgd(task: Task, rounds: int, work: Path, eps_list: list[float], seeds: list[int], modes: list[str],
                store: dict, save, lr: float | None = None) -> dict:
    """Test AUC of pooled DP-SGD, federated DP-SGD (record-level, in every client) and client-level
    central DP (``dp_server_fixed``) per ε target and seed; ``inf`` = the same run without DP.

    Results go into ``store[mode][eps][seed]`` (``mode@lr…`` with another learning rate than
    ``TRAIN.lr``); cells already there are skipped (resumable)."""
    parts = partition_rows(groups=task.groups, scheme="institution")
    n_in = task.X["train"].shape[1]
    for mode in modes:
        for eps in eps_list:
            key = "inf" if math.isinf(eps) else f"{eps:g}"
            for seed in seeds:
                if mode == "client_dp" and math.isinf(eps):
                    continue  # no DP: the same run as federated at ∞
                name = mode if lr is None else f"{mode}@lr{lr:g}"
                cell = store.setdefault(name, {}).setdefault(key, {})
                if str(seed) in cell:
                    continue
                dp = None if math.isinf(eps) or mode == "client_dp" else {"epsilon": eps, "max_grad_norm": DP_MAX_GRAD_NORM}
                train = TrainCfg(**{**TRAIN.model_dump(), "seed": seed, "dp": dp, "epochs": rounds, "patience": rounds,
                                    "lr": lr or TRAIN.lr})
                model_fn = _dp_model_fn(n_in, seed)
                start = time.perf_counter()
                if mode == "pooled":  # the same passes over the data as the federation: `rounds` epochs
                    model = model_fn()
                    trainer = central_trainer(train, rows=len(task.Y["train"])).fit(model, task.ds("train"),
                                                                                    task.ds("val"))
                    p, y = trainer.predict_proba(model, task.ds("test"))
                    r = {"test_auc": binary_metrics(y, p)["auc"], "best_epoch": trainer.best_epoch_, "dp": trainer.dp_,
                         "val_auc_best": trainer.best_score_}
                elif mode == "federated" or math.isinf(eps):
                    r = _strip(_fed(task, parts, work / "dpsgd", train=train, model_fn=model_fn, strategy="fedavg",
                                    rounds=rounds))
                else:  # client-level central DP on the server, as today
                    r = _strip(_fed(task, parts, work / "dpsgd", train=train, model_fn=model_fn,
                                    strategy="dp_server_fixed", rounds=rounds,
                                    options={"epsilon": eps, "delta": 1e-5, "clipping_norm": 0.5}))
                r["seconds"] = time.perf_counter() - start
                cell[str(seed)] = r
                print(f"dpsgd {name} eps={key} seed={seed}: test AUC {r['test_auc']:.4f} ({r['seconds']:.0f} s)",
                      file=sys.stderr)
                save()
    return store


def _dp_table(store: dict) -> list[str]:
    eps_keys = sorted({k for m in store.values() for k in m}, key=lambda k: math.inf if k == "inf" else float(k))
    modes = [m for m in DP_MODES if m in store] + sorted(m for m in store if m not in DP_MODES)
    lines = ["| ε | " + " | ".join(f"{m} test AUC (mean ± std, n)" for m in modes) + " |",
             "|---|" + "---|" * len(modes)]
    for k in eps_keys:
        cells = []
        for m in modes:
            source = m.replace("client_dp", "federated") if m.startswith("client_dp") and k == "inf" else m  # same run
            aucs = [v["test_auc"] for v in store.get(source, {}).get(k, {}).values()]
            cells.append(f"{np.mean(aucs):.4f} ± {np.std(aucs):.4f} ({len(aucs)})" if aucs else "")
        lines.append(f"| {'∞' if k == 'inf' else k} | " + " | ".join(cells) + " |")
    return lines


def _markdown(res: dict) -> str:
    lines = ["# Federated benchmark", ""]
    for name in ("compare_uci", "compare_sim"):
        if name in res:
            c = res[name]
            lines += [f"## {name}", "", "| model | rows | test AUC |", "|---|---|---|",
                      f"| pooled | {c['pooled']['rows']} | {c['pooled']['test']['auc']:.4f} |",
                      f"| federated (FedAvg, {len(c['federated']['rounds'])} rounds) | {sum(v['rows'] for v in c['clients'].values())} | {c['federated']['test']['auc']:.4f} |"]
            lines += [f"| {k} alone | {v['rows']} | {v['test']['auc']:.4f} |" for k, v in c["local"].items()]
            lines.append("")
    if "poison" in res:
        lines += ["## Poisoning (5 IID clients on credit-uci, client_4 sign-flipped ×10)", "", "| run | test AUC |", "|---|---|"]
        lines += [f"| {k} | {v['test_auc']:.4f} |" for k, v in res["poison"].items()]
        lines.append("")
    if "fail" in res:
        f = res["fail"]
        lines += ["## One client failing every round", "",
                  f"Completed: {f['rounds_aggregated']} rounds aggregated, dropped {f['dropped']}, test AUC {f['test_auc']:.4f}.", ""]
    if "dp" in res:
        lines += ["## Central DP (server-side clipping 0.5, δ=1e-5) on credit-uci", "", "| ε target | noise multiplier | ε spent | test AUC |", "|---|---|---|---|"]
        for k, v in res["dp"].items():
            p = v["privacy"] or {}
            lines.append(f"| {k} | {p.get('noise_multiplier', 0):.3f} | {p.get('epsilon', math.inf):.3f} | {v['test_auc']:.4f} |")
        lines.append("")
    for name in ("dpsgd_uci", "dpsgd_sim"):
        if name in res:
            lines += [f"## {name}: record-level DP-SGD vs client-level DP (test AUC)", ""] + _dp_table(res[name]) + [""]
    if "runtime" in res:
        r = res["runtime"]
        lines += ["## Runtimes (credit-uci, 3 parties)", "", "| runtime | total s | median s / round | bytes up / round | bytes down / round | test AUC |", "|---|---|---|---|---|---|"]
        for k in ("simulation", "deploy"):
            v = r[k]
            lines.append(f"| {k} | {v['seconds']:.1f} | {v['round_seconds_median']:.2f} | {v['bytes_up_per_round']:.0f} | {v['bytes_down_per_round']:.0f} | {v['test_auc']:.4f} |")
        lines += ["", f"Pooled training: {r['pooled_train_seconds']:.1f} s ({r['pooled_epochs']} epochs). "
                  f"Max |weight diff| simulation vs deploy: {r['max_abs_weight_diff_sim_vs_deploy']:.2e}.", ""]
    if "secagg" in res:
        lines += ["## SecAgg+ vs FedAvg (credit-uci, 3 parties)", "", "| rounds | max abs weight diff | test AUC SecAgg+ | test AUC FedAvg | s SecAgg+ | s FedAvg |", "|---|---|---|---|---|---|"]
        for k, v in res["secagg"].items():
            if isinstance(v, dict) and "secagg" in v:
                lines.append(f"| {k.split('_')[-1]} | {v['max_abs_weight_diff']:.2e} | {v['secagg']['test_auc']:.4f} | {v['fedavg']['test_auc']:.4f} | {v['secagg']['seconds']:.1f} | {v['fedavg']['seconds']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="compare_uci,compare_sim,poison,fail,dp,runtime,secagg")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--sim-rows", type=int, default=30000)
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--eps", default="0.5,1,2,4,8,inf", help="dpsgd_*: ε targets (inf = no DP)")
    ap.add_argument("--seeds", default="0,1,2", help="dpsgd_*: seeds")
    ap.add_argument("--modes", default=",".join(DP_MODES), help="dpsgd_*: pooled, federated, client_dp")
    ap.add_argument("--lr", type=float, default=None, help="dpsgd_*: learning rate (default: TRAIN.lr, 1e-3)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    todo = args.only.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "federated.json"
    res = json.loads(json_path.read_text()) if json_path.exists() else {}
    uci = uci_task() if set(todo) - {"compare_sim", "dpsgd_sim"} else None
    dp_args = dict(eps_list=[float(e) for e in args.eps.split(",")], seeds=[int(s) for s in args.seeds.split(",")],
                   modes=args.modes.split(","), lr=args.lr)

    def save() -> None:
        json_path.write_text(json.dumps(res, indent=1, default=str))
        (args.out / "federated.md").write_text(_markdown(res))

    with tempfile.TemporaryDirectory(prefix="bentu-fed-bench-") as tmp:
        work = Path(tmp)
        for item in todo:
            start = time.perf_counter()
            if item == "compare_uci":
                res[item] = bench_compare(uci, "uci", args.rounds, work)
            elif item == "compare_sim":
                res[item] = bench_compare(sim_task(args.sim_rows), "sim", args.rounds, work)
            elif item == "poison":
                res[item] = bench_poison(uci, args.rounds, work)
            elif item == "fail":
                res[item] = bench_fail(uci, min(args.rounds, 5), work)
            elif item == "dp":
                res[item] = bench_dp(uci, args.rounds, work)
            elif item == "runtime":
                res[item] = bench_runtime(uci, min(args.rounds, 5), work)
            elif item == "secagg":
                res[item] = bench_secagg(uci, min(args.rounds, 3), work)
            elif item == "dpsgd_uci":
                res[item] = bench_dpsgd(uci, args.rounds, work, store=res.setdefault(item, {}), save=save, **dp_args)
            elif item == "dpsgd_sim":
                res[item] = bench_dpsgd(sim_task(args.sim_rows), args.rounds, work, store=res.setdefault(item, {}),
                                        save=save, **dp_args)
            print(f"{item}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
            save()
    print(_markdown(res))


if __name__ == "__main__":
    main()
