"""The credit application: a tabular binary classifier (probability of default) taken
through the data, network, optimization and inference layers, with audit evidence."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import torch
from torch.utils.data import TensorDataset

from bentu.audit.metrics import binary_metrics, calibration_curve, psi, roc_points
from bentu.audit.scorecard import confusion_at, cutoff_table, gains_table, information_value
from bentu.data import TabularPreprocessor, binary_target, profile_table, resolve_roles, split_rows
from bentu.datasets import load_tabular
from bentu.errors import ConfigError
from bentu.inference.export import export_onnx
from bentu.models import create_model
from bentu.pipeline._app import Application
from bentu.pipeline._context import RunContext
from bentu.pipeline._sections import privacy_section
from bentu.report import plots
from bentu.report.glossary import Namer
from bentu.rundir.weights import save_model_weights
from bentu.report.dp import report_dp
from bentu.train import Trainer
from bentu.train.trainer import dp_settings
from bentu.i18n import is_zh

__all__ = ["run", "CreditApp", "ks_threshold", "fit_baselines"]

log = logging.getLogger(__name__)


def ks_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The score cut-off at the KS point (max TPR − FPR) — the usual credit decision cut-off."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(y, p)
    i = int(np.argmax(tpr - fpr))
    return float(min(thr[i], 1.0))


def fit_baselines(names: list[str], X_tr: np.ndarray, y_tr: np.ndarray, seed: int) -> dict[str, tuple[object, float]]:
    """Fit baseline models on the same preprocessed training rows; return (model, seconds)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    makers = {
        "logistic_regression": lambda: LogisticRegression(max_iter=2000),
        "gradient_boosting": lambda: HistGradientBoostingClassifier(random_state=seed),
    }
    fitted = {}
    for name in names:
        start = time.perf_counter()
        model = makers[name]().fit(X_tr, y_tr)
        fitted[name] = (model, time.perf_counter() - start)
    return fitted


def _dataset(X: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.from_numpy(X), torch.from_numpy(y.astype(np.float32)))


def _predict(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(X))).numpy()


class CreditApp(Application):
    """The credit application's stages (see :mod:`bentu.pipeline._app` for the order)."""

    families = ("tabular",)
    names = ("credit", "信用风险")
    family_names = ("tabular", "表格")
    example_model = "tabular_mlp"

    def load(self) -> None:
        ctx, d = self.ctx, self.recipe.data
        table = load_tabular(dataset=d.dataset, path=d.path, fmt=d.format, options=d.options,
                             data_root=ctx.data_root, data_path=ctx.data_path)
        self.table = table
        self.source = table.source.get("path", table.source.get("dataset", "data"))
        self.record("load_data", params={"source": table.source, "rows": len(table.df), "columns": table.df.shape[1]},
                    inputs=table.files)
        df = table.df
        self.roles = resolve_roles(df, source=self.source, target=d.target, features=d.features,
                                   categorical=d.categorical, sensitive=d.sensitive, institution=d.institution,
                                   identifiers=d.identifiers, drop=d.drop + ([d.split.column] if d.split.column else []),
                                   numeric=d.numeric)
        binary_target(df, self.roles.target, self.source, d.positive)  # a bad target fails before the privacy scan
        for col in d.numeric:  # the user decided: numbers, and its texts are missing values
            df[col] = pd.to_numeric(df[col], errors="coerce")
        self.df = df

    def privacy(self) -> None:
        raw_df = self.df
        self.df, self.privacy_report = _privacy(self.ctx, raw_df, self.roles)
        self.roles = _without_withheld(self.roles, self.privacy_report)
        self.replaced = _replaced_values(raw_df, self.df, self.privacy_report, self.roles.categorical)

    def split(self) -> None:
        r, d, df, roles = self.recipe, self.recipe.data, self.df, self.roles
        self.y = y = binary_target(df, roles.target, self.source, d.positive)  # the gate may suppress rows (k-anonymity)
        self.rows = rows = split_rows(y, test=d.split.test, val=d.split.val, seed=r.train.seed, stratify=d.split.stratify,
                                      predefined=df[d.split.column] if d.split.column else None,
                                      test_values=d.split.test_values, source=self.source)
        self.train_idx = train_idx = _drop_train_duplicates(df, roles, rows.train)
        self.numeric = [c for c in roles.features if c not in roles.categorical]
        self.pre = TabularPreprocessor(numeric=self.numeric, categorical=roles.categorical,
                                       generalise=_generalisation_steps(self.privacy_report),
                                       exclude_levels=self.replaced).fit(df.iloc[train_idx])
        self.X = {k: self.pre.transform(df.iloc[idx]) for k, idx in (("train", train_idx), ("val", rows.val), ("test", rows.test))}
        self.Y = {"train": y[train_idx], "val": y[rows.val], "test": y[rows.test]}

    def profile(self) -> None:
        ctx, r, d = self.ctx, self.recipe, self.recipe.data
        split_info = {**self.rows.sizes(), "train_after_dedup": len(self.train_idx), "seed": r.train.seed,
                      "scheme": f"predefined:{d.split.column}" if d.split.column else "stratified_random"}
        profile = profile_table(self.df, self.y, self.roles, source=self.table.source, split=split_info)
        profile["preprocessing"] = {"numeric": self.numeric, "categorical": self.roles.categorical,
                                    "n_inputs": self.X["train"].shape[1], "fitted_on": "train"}
        ctx.write_json("data_profile.json", profile)
        ctx.evidence["profile"] = profile
        self.record("prepare_data", params={"split": split_info, "roles": self.roles.as_dict()},
                    outputs={"data_profile": ctx.dir / "data_profile.json"})

    def train(self) -> None:
        self.model, self.train_info = _train(self.ctx, self.X, self.Y, self.df, self.roles, self.train_idx)

    def evaluate(self) -> None:
        ctx, r, X, Y, train_info = self.ctx, self.recipe, self.X, self.Y, self.train_info
        self.p = p = {k: _predict(self.model, X[k]) for k in X}
        self.threshold = threshold = ks_threshold(Y["val"], p["val"])
        metrics = {
            "test": binary_metrics(Y["test"], p["test"], threshold),
            "val": binary_metrics(Y["val"], p["val"], threshold),
            "train": {"auc": binary_metrics(Y["train"], p["train"], threshold)["auc"]},
            "threshold": {"value": threshold, "rule": "KS point on validation scores"},
            "psi_score_train_test": psi(p["train"], p["test"]),
            "calibration": calibration_curve(Y["test"], p["test"]),
            "roc": roc_points(Y["test"], p["test"]),
            "training": train_info,
            "baselines": {},
        }
        base_scores = {}
        for name, (est, secs) in fit_baselines(r.train.baselines, X["train"], Y["train"], r.train.seed).items():
            pv, pt = est.predict_proba(X["val"])[:, 1], est.predict_proba(X["test"])[:, 1]
            t = ks_threshold(Y["val"], pv)
            metrics["baselines"][name] = {"test": binary_metrics(Y["test"], pt, t), "val": binary_metrics(Y["val"], pv, t),
                                          "train_seconds": secs}
            base_scores[name] = pt
        if "comparison" in train_info:
            metrics["comparison"] = train_info.pop("comparison")
        if "dp" in train_info:
            metrics["dp"] = train_info.pop("dp")
        metrics["scorecard"] = _scorecard(self.pre.view(self.df.iloc[self.train_idx]), self.roles, Y, p, threshold)
        ctx.evidence["warnings"] = _baseline_warnings(r.model.name, metrics)
        ctx.evidence["metrics"] = self.metrics = metrics
        self.evaluate_params = {"threshold": threshold}
        _report_performance(ctx, metrics, Y, p, base_scores, self.df, self.roles, self.rows.test, self.privacy_report)
        _report_scorecard(ctx, metrics)
        if r.federated.enabled:
            _report_federated(ctx, train_info, metrics)
        if "dp" in metrics:
            report_dp(ctx.report, metrics["dp"], ctx.tr)

    def export(self) -> None:
        _export(self.ctx, self.model, self.pre, self.X, self.threshold, self.roles)
        _reference(self.ctx, self.pre.view(self.df.iloc[self.train_idx]), self.roles, self.p["train"])

    def explain(self) -> None:
        if self.recipe.audit.explain == "shap":
            _explain(self.ctx, self.model, self.pre, self.X, self.df.iloc[self.rows.test], self.roles)

    def fairness(self) -> None:
        if self.recipe.audit.fairness and self.roles.sensitive:
            _fairness(self.ctx, self.df, self.roles, self.train_idx, self.rows.test, self.X, self.Y, self.p, self.threshold)

    def compress(self) -> None:
        c = self.recipe.compress
        if c.int8 or c.prune or c.distill:
            _compress(self.ctx, self.model, self.X, self.Y)


def run(ctx: RunContext) -> None:
    """Run the credit application inside ``ctx`` (see :mod:`bentu.pipeline`)."""
    CreditApp(ctx).run()


def _privacy(ctx: RunContext, df: pd.DataFrame, roles) -> tuple[pd.DataFrame, dict]:
    from bentu.privacy.gate import run_privacy_gate

    pc = ctx.recipe.privacy
    protected = [c for c in [roles.institution, *roles.sensitive] if c]
    out, report = run_privacy_gate(
        df, pii=pc.pii, policy=pc.policy, key_env=pc.key_env, key_file=pc.key_file, k_anonymity=pc.k_anonymity,
        quasi_identifiers=pc.quasi_identifiers, features=roles.features, target=roles.target, protected=protected,
        lang=ctx.lang,
    )
    ctx.write_json("privacy.json", report)
    ctx.evidence["privacy"] = report
    privacy_section(ctx, report)
    ctx.audit.append("privacy_gate", params={"pii": pc.pii, "k_anonymity": pc.k_anonymity},
                     outputs={"privacy": ctx.dir / "privacy.json"})
    return out, report


def _without_withheld(roles, privacy: dict):
    """Roles without the features the privacy gate withheld (identifiers it cannot de-identify)."""
    import dataclasses

    withheld = set(privacy.get("features_withheld") or ())
    if not withheld:
        return roles
    log.warning("features withheld by the privacy gate: %s", sorted(withheld))
    return dataclasses.replace(roles, features=[c for c in roles.features if c not in withheld],
                               categorical=[c for c in roles.categorical if c not in withheld])


def _replaced_values(raw: pd.DataFrame, out: pd.DataFrame, privacy: dict, categorical: list[str]) -> dict:
    """Per categorical feature, the values the gate put in place of PII spans: never categories."""
    found = {}
    for col in categorical:
        if (privacy.get("columns", {}).get(col) or {}).get("operator", {}).get("op") != "per-span":
            continue
        before, after = raw[col].loc[out.index].astype("string"), out[col].astype("string")
        found[col] = set(after[(before != after).fillna(False)].dropna())
    return found


def _generalisation_steps(privacy: dict) -> dict:
    """What k-anonymity did to each column: part of the fitted preprocessing (train/serve parity)."""
    return dict((privacy.get("k_anonymity") or {}).get("steps") or {})


def _background(X_train: np.ndarray, seed: int) -> np.ndarray:
    """The reference rows of explanations, the same in the run and in ``bentu serve``."""
    rng = np.random.default_rng(seed)
    return X_train[rng.choice(len(X_train), size=min(100, len(X_train)), replace=False)]


def _drop_train_duplicates(df: pd.DataFrame, roles, train_idx: np.ndarray) -> np.ndarray:
    cols = roles.features + [roles.target]
    dup = df.iloc[train_idx][cols].duplicated().to_numpy()
    return train_idx[~dup]


def _trainer(ctx: RunContext, **kw) -> Trainer:
    t = ctx.recipe.train
    return Trainer(optimizer=t.optimizer, lr=t.lr, weight_decay=t.weight_decay, epochs=t.epochs,
                   batch_size=t.batch_size, patience=t.patience, seed=t.seed, pos_weight=t.pos_weight,
                   ema_decay=t.ema_decay, mixup=t.mixup, channels_last=t.channels_last, device=t.device,
                   progress=ctx.progress, **kw)


def _train(ctx: RunContext, X: dict, Y: dict, df: pd.DataFrame, roles, train_idx: np.ndarray):
    r = ctx.recipe
    n_in = X["train"].shape[1]

    def model_fn() -> torch.nn.Module:
        torch.manual_seed(r.train.seed)
        return create_model(r.model.name, in_features=n_in, **r.model.params())

    train_ds, val_ds = _dataset(X["train"], Y["train"]), _dataset(X["val"], Y["val"])
    if not r.federated.enabled:
        model = model_fn()
        trainer = _trainer(ctx, checkpoint_dir=ctx.dir / "model" / "checkpoints", description=ctx.tr("training", "训练中"),
                           dp=dp_settings(r.train.dp, len(train_ds)))
        trainer.fit(model, train_ds, val_ds)
        ctx.audit.append("train", params={"model": r.model.name, "params": r.model.params(), "train": r.train.model_dump(),
                                          "epochs_run": len(trainer.history_), "best_epoch": trainer.best_epoch_},
                         outputs={"checkpoints": ctx.dir / "model" / "checkpoints"})
        info = {"mode": "central", "history": trainer.history_, "best_epoch": trainer.best_epoch_,
                "train_seconds": trainer.train_seconds_, "stopped_early": trainer.stopped_early_,
                "device": trainer.device_}
        if trainer.dp_ is not None:
            from bentu.train.dp import pooled_summary

            info["dp"] = pooled_summary(trainer.dp_)
        return model, info
    return _train_federated(ctx, model_fn, X, Y, df, roles, train_idx, train_ds, val_ds)


def _train_federated(ctx, model_fn, X, Y, df, roles, train_idx, train_ds, val_ds):
    from bentu.data.partition import partition_rows
    from bentu.federated import compare_federation, train_federated

    fc, r = ctx.recipe.federated, ctx.recipe
    groups = df[roles.institution].iloc[train_idx].astype(str).to_numpy() if roles.institution else None
    parts = partition_rows(n_rows=len(train_idx), labels=Y["train"], groups=groups,
                           scheme=fc.clients, num_clients=fc.num_clients, alpha=fc.alpha, seed=r.train.seed,
                           column=roles.institution)
    clients = {name: _dataset(X["train"][idx], Y["train"][idx]) for name, idx in parts.items()}
    workdir = ctx.dir / "federated"
    info: dict = {"mode": "federated", "strategy": fc.strategy,
                  "clients": {n: {"rows": int(len(i)), "label_rate": float(Y["train"][i].mean())} for n, i in parts.items()}}
    model = None
    if fc.compare:
        comparison = compare_federation(model_fn=model_fn, clients=clients, pooled_train=train_ds, val=val_ds,
                                        evaluate=binary_metrics,
                                        test=_dataset(X["test"], Y["test"]), cfg=fc, train=r.train, workdir=workdir,
                                        progress=ctx.progress)
        model = comparison.pop("model", None)
        info["comparison"] = comparison
        if comparison["federated"].get("dp"):
            info["dp"] = comparison["federated"]["dp"]
    if model is None:
        result = train_federated(model_fn=model_fn, clients=clients, val=val_ds, cfg=fc, train=r.train,
                                 workdir=workdir, progress=ctx.progress)
        model = result.model
        info.update(rounds=result.rounds, dropped=result.dropped, runtime=result.runtime, privacy=result.privacy,
                    train_seconds=result.seconds)
        if result.dp is not None:
            info["dp"] = result.dp
    ctx.audit.append("train_federated", params={"federated": fc.model_dump(), "clients": info["clients"]},
                     outputs={"federated": workdir} if workdir.exists() else None)
    return model, info


def _export(ctx: RunContext, model: torch.nn.Module, pre: TabularPreprocessor, X: dict, threshold: float, roles) -> None:
    r = ctx.recipe
    model_dir = ctx.path("model/x").parent
    p_weights, p_spec = save_model_weights(ctx.dir, model.state_dict(), name=r.model.name,
                                     params={"in_features": X["train"].shape[1], **r.model.params()})
    parity = export_onnx(model, (torch.from_numpy(X["test"][:64]),), model_dir / "model.onnx")
    ctx.evidence["export"] = parity
    preprocess = {**pre.to_dict(), "threshold": threshold, "target": roles.target, "event": 1,
                  "sensitive": [c for c in roles.sensitive if c in pre.input_columns],
                  "positive": r.data.positive,
                  "decision": {"at_or_above_threshold": "decline_or_review", "below_threshold": "approve"}}
    ctx.write_json("model/preprocess.json", preprocess)
    ctx.write_json("model/export.json", parity)
    # Reference rows for per-decision explanations at serving time (preprocessed, no identifiers).
    background = _background(X["train"], r.train.seed)
    np.save(model_dir / "background.npy", background)
    ctx.audit.append("export", params={"parity": parity},
                     outputs={"model_weights": p_weights, "model_spec": p_spec, "model_onnx": model_dir / "model.onnx",
                              "preprocess": model_dir / "preprocess.json", "background": model_dir / "background.npy"})


def _report_performance(ctx, metrics, Y, p, base_scores, df, roles, test_idx, privacy) -> None:
    tr = ctx.tr
    prof = ctx.evidence["profile"]
    s = ctx.report.section("overview", tr("Overview", "概览"))
    m = metrics["test"]
    s.paragraph(tr(
        f"The model ({ctx.recipe.model.name}) ranks test applicants by probability of default with AUC {m['auc']:.3f} "
        f"and KS {m['ks']:.3f}. At the cut-off {metrics['threshold']['value']:.3f} (the KS point on validation data) "
        f"it flags {m['tp'] + m['fp']:,} of {m['n']:,} test applicants for decline or review, catching "
        f"{m['sensitivity']:.0%} of those who defaulted.",
        f"模型（{ctx.recipe.model.name}）在测试集上按违约概率对申请人排序，AUC 为 {m['auc']:.3f}，KS 为 {m['ks']:.3f}。"
        f"在截断点 {metrics['threshold']['value']:.3f}（验证集 KS 点）上，模型将 {m['n']:,} 名测试申请人中的 "
        f"{m['tp'] + m['fp']:,} 名标为拒绝或人工复核，识别出 {m['sensitivity']:.0%} 的实际违约者。"))
    name = Namer(ctx.lang, ctx.recipe.data.display_names)
    rows = [[name(ctx.recipe.model.name), metrics["val"]["auc"], m["auc"], m["ks"], m["accuracy"], m["f1"], m["brier"],
             m["ece"], metrics["training"].get("train_seconds", float("nan"))]]
    for bname, b in metrics["baselines"].items():
        bt = b["test"]
        rows.append([name(bname), b["val"]["auc"], bt["auc"], bt["ks"], bt["accuracy"], bt["f1"], bt["brier"], bt["ece"],
                     b["train_seconds"]])
    s.table([tr("model", "模型"), tr("val AUC", "验证 AUC"), tr("test AUC", "测试 AUC"), "KS", tr("accuracy", "准确率"),
             "F1", "Brier", "ECE", tr("train s", "训练秒数")], rows,
            caption=tr("Test set, same rows for every model", "测试集（所有模型使用相同的行）"))
    for w in ctx.evidence.get("warnings", []):
        s.note(w["zh"] if is_zh(ctx.lang) else w["en"])

    s = ctx.report.section("data", tr("Data", "数据"))
    s.kv({tr("rows", "行数"): prof["rows"], tr("default rate", "违约率"): prof["class_balance"]["positive_rate"],
          tr("train / val / test", "训练/验证/测试"): f"{prof['split']['train_after_dedup']:,} / {prof['split']['val']:,} / {prof['split']['test']:,}",
          tr("model inputs", "模型输入维度"): prof["preprocessing"]["n_inputs"]})
    if "institutions" in prof:
        s.table([tr("institution", "机构"), tr("rows", "行数"), tr("default rate", "违约率")],
                [[k, v["rows"], v["positive_rate"]] for k, v in prof["institutions"].items()])
    s.note(tr("Cleaning (imputation, scaling, encoding, de-duplication) was fitted on the training split only.",
              "数据清洗（缺失值填补、标准化、编码、去重）仅在训练集上拟合。"))

    s = ctx.report.section("performance", tr("Performance", "模型表现"))
    curves = {ctx.recipe.model.name: (Y["test"], p["test"]), **{n: (Y["test"], v) for n, v in base_scores.items()}}
    s.figure(plots.roc_plot(curves, lang=ctx.lang), tr("ROC curves on the test set", "测试集 ROC 曲线"))
    s.figure(plots.ks_plot(Y["test"], p["test"], lang=ctx.lang), tr("KS: score distributions of defaulters and non-defaulters",
                                                      "KS：违约与未违约客户的评分累积分布"))
    s.figure(plots.calibration_plot(metrics["calibration"], lang=ctx.lang), tr(
        f"Calibration (ECE {m['ece']:.3f}): predicted vs observed default rate",
        f"校准曲线（ECE {m['ece']:.3f}）：预测违约率与实际违约率"))
    if roles.institution:
        groups = df[roles.institution].iloc[test_idx].to_numpy()
        s.figure(plots.score_by_group_plot(p["test"], groups, "Score by institution", lang=ctx.lang),
                 tr("Score distribution by institution (test set)", "各机构评分分布（测试集）"))
    s.kv({tr("PSI of the score, train vs test", "评分 PSI（训练集对测试集）"): metrics["psi_score_train_test"]},
         caption=tr("PSI < 0.1 stable; 0.1–0.25 moderate shift; > 0.25 significant shift.",
                    "PSI < 0.1 稳定；0.1–0.25 中等偏移；> 0.25 显著偏移。"))


def _baseline_warnings(model_name: str, metrics: dict) -> list[dict]:
    """A warning for each baseline whose validation AUC beats the model's (chosen on validation, not test)."""
    own = metrics["val"]["auc"]
    out = []
    for name, b in metrics["baselines"].items():
        if b["val"]["auc"] > own:
            out.append({"key": f"baseline_beats_model.{name}", "role": "model_risk",
                        "en": f"The baseline {name} beats the model {model_name} on validation data (AUC "
                              f"{b['val']['auc']:.4f} vs {own:.4f}; test {b['test']['auc']:.4f} vs {metrics['test']['auc']:.4f}). "
                              "Consider deploying the simpler model, or record why the model is preferred.",
                        "zh": f"基线模型 {name} 在验证集上优于模型 {model_name}（AUC {b['val']['auc']:.4f} 对 {own:.4f}；"
                              f"测试集 {b['test']['auc']:.4f} 对 {metrics['test']['auc']:.4f}）。请考虑部署更简单的模型，"
                              "或记录选择当前模型的理由。"})
    return out


def _scorecard(train_view: pd.DataFrame, roles, Y: dict, p: dict, threshold: float) -> dict:
    """Gains table and cut-offs on test scores; IV/WoE of the features on the training rows, as the
    model sees them (``TabularPreprocessor.view``: generalised, rare levels as ``__other__``)."""
    cat = [c for c in roles.features if c in roles.categorical]
    return {
        "gains": gains_table(Y["test"], p["test"]),
        "cutoffs": cutoff_table(Y["test"], p["test"], chosen=threshold),
        "confusion": confusion_at(Y["test"], p["test"], threshold),
        "iv": information_value(train_view, Y["train"], [f for f in roles.features if f in train_view.columns], cat),
        "conventions": {"bands": "equal-count bands of test scores, band 1 riskiest", "iv_on": "training rows",
                        "decision": "score >= cut-off: decline or review"},
    }


def _report_scorecard(ctx: RunContext, metrics: dict) -> None:
    tr, sc = ctx.tr, metrics["scorecard"]
    name = Namer(ctx.lang, ctx.recipe.data.display_names)
    s = ctx.report.section("scorecard", tr("Score bands, cut-offs and features", "评分分段、截断策略与特征"))
    c = sc["confusion"]
    s.table([tr("actual \\ decision", "实际 \\ 决策"), tr("approve", "通过"), tr("decline / review", "拒绝/复核")],
            [[tr("good (no default)", "好客户（未违约）"), c["tn"], c["fp"]], [tr("bad (default)", "坏客户（违约）"), c["fn"], c["tp"]]],
            caption=tr(f"Confusion matrix on the test set at the cut-off {c['threshold']:.3f}",
                       f"测试集在截断点 {c['threshold']:.3f} 处的混淆矩阵"))
    s.table([tr("band", "分段"), tr("score range", "评分区间"), tr("applicants", "人数"), tr("bads", "坏客户"),
             tr("bad rate", "坏账率"), tr("cum. bads caught", "累计捕获坏客户"), tr("cum. goods", "累计好客户"), "KS",
             tr("lift", "提升度")],
            [[g["band"], f"{g['score_min']:.3f}–{g['score_max']:.3f}", g["n"], g["bads"], g["bad_rate"], g["cum_bad_capture"],
              g["cum_good_share"], g["ks"], g["lift"]] for g in sc["gains"]],
            caption=tr("Gains table: ten equal-count bands of test scores, riskiest first",
                       "收益表：测试集评分按人数等分为十段，风险最高的在前"))
    s.table([tr("cut-off", "截断点"), tr("approval rate", "通过率"), tr("bad rate of approved", "通过客户坏账率"),
             tr("bad rate of declined", "拒绝客户坏账率"), tr("bads caught", "捕获坏客户比例"), ""],
            [[r["cutoff"], r["approval_rate"], r["bad_rate_approved"], r["bad_rate_declined"], r["bads_caught"],
              tr("← this run", "← 本次运行") if r["chosen"] else ""] for r in sc["cutoffs"]],
            caption=tr("Cut-off strategy: what each cut-off would do on the test set (score ≥ cut-off: decline or review)",
                       "截断策略：各截断点在测试集上的效果（评分 ≥ 截断点：拒绝或复核）"))
    strength = {"none": tr("not predictive", "无预测力"), "weak": tr("weak", "弱"), "medium": tr("medium", "中"),
                "strong": tr("strong", "强")}
    s.table([tr("feature", "特征"), "IV", tr("strength", "预测力"), tr("bins", "分箱数"), tr("WoE range", "WoE 范围")],
            [[name(f["feature"]), f["iv"], strength[f["strength"]], len(f["bins"]),
              f"{min(b['woe'] for b in f['bins']):+.2f} … {max(b['woe'] for b in f['bins']):+.2f}"] for f in sc["iv"]],
            caption=tr("Information value of each raw feature on the training rows (IV < 0.02 not predictive, "
                       "0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong); per-bin WoE in metrics.json",
                       "各原始特征在训练集上的信息值（IV < 0.02 无预测力，0.02–0.1 弱，0.1–0.3 中，> 0.3 强）；"
                       "各分箱的 WoE 见 metrics.json"))


def _reference(ctx: RunContext, train_df: pd.DataFrame, roles, scores: np.ndarray) -> None:
    """Training-data reference for drift monitoring (``bentu monitor``)."""
    from bentu.audit.drift import reference_profile

    ref = reference_profile(train_df, features=roles.features, scores=scores)
    ctx.write_json("model/reference.json", ref)
    ctx.audit.append("drift_reference", outputs={"reference": ctx.dir / "model" / "reference.json"})


def _fairness(ctx, df, roles, train_idx, test_idx, X, Y, p, threshold) -> None:
    from bentu.audit.fairness import fairness_audit, mitigate

    tr = ctx.tr
    seed = ctx.recipe.train.seed
    attrs_audited = ctx.recipe.audit.fairness_attributes or roles.sensitive
    unknown = sorted(set(attrs_audited) - set(df.columns))
    if unknown:
        raise ConfigError(
            f"audit.fairness_attributes names column(s) {', '.join(map(repr, unknown[:5]))} that the data does not have.",
            f"audit.fairness_attributes 中的列 {', '.join(map(repr, unknown[:5]))} 在数据中不存在。")
    A_test = df[attrs_audited].iloc[test_idx].reset_index(drop=True)
    audit = fairness_audit(Y["test"], p["test"], A_test, threshold=threshold, seed=seed)
    result = {**audit, "mitigation": None}
    attrs = audit["attributes"]
    flagged = sorted({f["attribute"] for f in audit["flags"] if " × " not in f["attribute"]})
    if ctx.recipe.audit.mitigation and flagged:
        target = max(flagged, key=lambda a: attrs[a]["demographic_parity_difference"] or 0.0)
        truth = df["true_pd"].iloc[test_idx].to_numpy() if "true_pd" in df.columns else None
        result["mitigation"] = mitigate(
            X_train=X["train"], y_train=Y["train"], A_train=df[attrs_audited].iloc[train_idx].reset_index(drop=True),
            X_test=X["test"], y_test=Y["test"], A_test=A_test, score_train=p["train"], score_test=p["test"],
            threshold=threshold, attribute=target, seed=seed, p_test_true=truth)
    ctx.write_json("fairness.json", result)
    ctx.evidence["fairness"] = result
    not_audited = [a for a in roles.sensitive if a not in attrs_audited]
    result["not_audited_for_parity"] = not_audited
    ctx.audit.append("fairness", params={"attributes": attrs_audited, "flags": len(audit["flags"])},
                     outputs={"fairness": ctx.dir / "fairness.json"})
    s = ctx.report.section("fairness", tr("Fairness", "公平性"))
    name = Namer(ctx.lang, ctx.recipe.data.display_names)
    s.paragraph(tr(
        "Approval rate, true and false positive rates and AUC per group of each sensitive attribute (test set). "
        "A group is flagged when its approval rate is below four fifths of the reference group's, with the "
        "bootstrap interval of the ratio below 0.8 as well.",
        "测试集上各敏感属性分组的通过率、真阳性率、假阳性率和 AUC。当某组通过率低于参照组的五分之四，"
        "且比值的自助法置信区间上限也低于 0.8 时，该组被标记。"))
    if not_audited:
        s.note(tr(f"Recorded as sensitive but not audited for parity (see the recipe's audit.fairness_attributes): "
                  f"{', '.join(not_audited)}.",
                  f"记录为敏感属性但未做均等性审计（见配方 audit.fairness_attributes）：{'、'.join(not_audited)}。"))
    s.table([tr("attribute", "属性"), tr("DP difference", "人口均等差"), tr("DP ratio", "人口均等比"),
             tr("EO difference", "机会均等差"), tr("four-fifths flag", "五分之四规则")],
            [[name(a), r["demographic_parity_difference"], r["demographic_parity_ratio"], r["equalized_odds_difference"],
              tr("FLAGGED", "已标记") if r["four_fifths_flag"] else tr("ok", "通过")] for a, r in attrs.items()])
    inter = audit.get("intersections") or {}
    if inter:
        rows = []
        for a, r in inter.items():
            for g in r["groups"]:
                if g.get("small"):
                    continue
                rows.append([name(a), name(g["group"]), g["n"], g["selection_rate"], g.get("ratio_to_reference"),
                             tr("FLAGGED", "已标记") if g.get("four_fifths") else tr("ok", "通过")])
        s.table([tr("attributes", "属性组合"), tr("group", "分组"), tr("applicants", "人数"), tr("approval rate", "通过率"),
                 tr("ratio to reference", "与参照组之比"), tr("four-fifths flag", "五分之四规则")], rows,
                caption=tr("Intersectional groups (pairs of attributes; groups below the minimum size left out)",
                           "交叉分组（两两属性组合；低于最小样本量的分组未列出）"))
    s.figure(plots.fairness_plot(audit, ctx.lang, label=name), tr("Approval rate by group with 95% bootstrap intervals; dashed: 0.8 × reference",
                                                 "各组通过率及 95% 自助法区间；虚线为参照组的 0.8 倍"))
    mit = result["mitigation"]
    if mit:
        keys = ["method", "strength", "accuracy", "auc", "auc_of", "approval_rate", "dp_difference", "dp_ratio",
                "dp_reduction", "auc_change"]
        rows = [[row.get(k) for k in keys] for row in mit["rows"]]
        s.table([tr(k, _MITIGATION_ZH.get(k, k)) for k in keys], rows,
                caption=tr(f"Mitigation for {mit['attribute']}: before and after (test set)",
                           f"针对 {mit['attribute']} 的缓解措施：前后对比（测试集）"))
        s.note(tr("threshold_optimizer keeps the model's scores (so their AUC is unchanged) and applies group-specific "
                  "cut-offs; exponentiated_gradient retrains a constrained estimator. AUC and accuracy are measured "
                  "against the recorded labels, which carry any historical bias being removed.",
                  "threshold_optimizer 保留模型评分（因此其 AUC 不变），对各组使用不同的截断点；exponentiated_gradient "
                  "则在约束下重新训练估计器。AUC 和准确率以记录的标签计算，而这些标签可能带有正在被消除的历史偏差。"))
    elif not flagged:
        s.note(tr("No group was flagged, so no mitigation was applied.", "没有分组被标记，因此未进行缓解。"))


_MITIGATION_ZH = {"method": "方法", "strength": "强度", "accuracy": "准确率", "auc_of": "AUC 所指", "approval_rate": "通过率",
                  "dp_difference": "人口均等差", "dp_ratio": "人口均等比", "dp_reduction": "均等差降幅", "auc_change": "AUC 变化"}


def _explain(ctx, model, pre, X, test_df: pd.DataFrame, roles, n: int = 1000) -> None:
    from bentu.audit.explain import explain_tabular

    tr = ctx.tr
    n = min(n, len(X["test"]))
    start = time.perf_counter()
    exp = explain_tabular(model=model, background=_background(X["train"], ctx.recipe.train.seed), X=X["test"][:n],
                          feature_names=pre.feature_names_, groups=pre.groups_, sensitive=roles.sensitive,
                          seed=ctx.recipe.train.seed)
    # quoted values as the model sees them (generalised; rare values as __other__), as `bentu serve` quotes them
    view = pre.view(test_df.iloc[:n])
    codes = {lang: exp.reason_codes(view, lang=lang) for lang in ("zh", "en")}
    seconds = time.perf_counter() - start
    ctx.write_json("explanations/shap_global.json", {**exp.to_dict(), "seconds": seconds, "rows": n})
    ctx.write_json("explanations/reason_codes.json", {
        "space": "logit", "base_value": exp.base_value, "additivity_max_error": exp.additivity_error(),
        "rows": [{"test_row": i, "source_row": int(test_df.index[i]), "logit": float(exp.logits[i]),
                  "reasons_zh": codes["zh"][i], "reasons_en": codes["en"][i]} for i in range(n)],
    })
    ctx.evidence["explanations"] = {"method": exp.method, "rows": n, "seconds": seconds}
    ctx.audit.append("explain", params={"method": exp.method, "rows": n},
                     outputs={"explanations": ctx.dir / "explanations"})
    s = ctx.report.section("explanations", tr("Explanations", "模型解释"))
    s.figure(plots.importance_plot(exp.global_importance(), lang=ctx.lang,
                                  label=Namer(ctx.lang, ctx.recipe.data.display_names)), tr("Global importance: mean |SHAP| on the logit, per raw feature",
                                                     "全局重要性：各原始特征对 logit 的平均 |SHAP| 值"))
    worst = np.argsort(-exp.logits)[:3]
    rows = []
    for i in worst:
        for reason in codes[ctx.lang][i]:
            rows.append([int(i), reason.get("text") or reason.get("sentence"), reason.get("contribution")])
    s.table([tr("test row", "测试行"), tr("reason", "原因"), tr("logit contribution", "对 logit 的贡献")], rows,
            caption=tr("Reason codes of the three highest-risk test applicants", "风险最高的三名测试申请人的原因代码"))


def _compress(ctx, model, X, Y) -> None:
    from bentu.inference.compress import compress_model

    r = ctx.recipe
    model_dir = ctx.dir / "model"
    result = compress_model(
        onnx_path=model_dir / "model.onnx", out_dir=model_dir, calib={"input": X["train"][:512]},
        test_inputs={"input": X["test"]}, y_test=Y["test"], cfg=r.compress, torch_model=model,
        train_dataset=_dataset(X["train"], Y["train"]), val_dataset=_dataset(X["val"], Y["val"]),
        model_spec={"name": r.model.name, "params": {"in_features": X["train"].shape[1], **r.model.params()}},
        prune_structured=r.compress.prune_method == "structured",
    )
    ctx.write_json("compression.json", result)
    ctx.evidence["compression"] = result
    ctx.audit.append("compress", params={"compress": r.compress.model_dump(), "chosen": result.get("chosen")},
                     outputs={"compression": ctx.dir / "compression.json", "model_dir": model_dir})
    tr = ctx.tr
    s = ctx.report.section("compression", tr("Compression for local hardware", "面向本地硬件的压缩"))
    keys = ["size_bytes", "p50_ms_b1", "p99_ms_b1", "p50_ms_b256", "p99_ms_b256", "metric", "metric_delta"]
    rows = []
    for name, v in result.get("variants", {}).items():
        lat = v.get("latency", {})
        rows.append([name, v.get("size_bytes"), *(_lat(lat, b, q) for b, q in (("1", "p50"), ("1", "p99"), ("256", "p50"), ("256", "p99"))),
                     v.get("metric"), v.get("metric_delta")])
    zh = {"size_bytes": "文件字节", "p50_ms_b1": "p50 毫秒（批量 1）", "p99_ms_b1": "p99 毫秒（批量 1）",
          "p50_ms_b256": "p50 毫秒（批量 256）", "p99_ms_b256": "p99 毫秒（批量 256）", "metric": "AUC",
          "metric_delta": "AUC 变化"}
    s.table([tr("variant", "版本"), *(tr(k, zh[k]) for k in keys)], rows)
    s.paragraph(tr(f"Chosen for serving: {result.get('chosen')} — {result.get('reason')}",
                   f"用于部署的版本：{result.get('chosen')} —— {result.get('reason_zh') or result.get('reason')}"))


def _lat(lat: dict, batch: str, q: str):
    entry = lat.get(f"batch_{batch}") or lat.get(batch) or {}
    return entry.get(f"{q}_ms") if isinstance(entry, dict) else None


def _report_federated(ctx, info: dict, metrics: dict) -> None:
    tr = ctx.tr
    s = ctx.report.section("federated", tr("Federated training", "联邦训练"))
    s.table([tr("client", "参与方"), tr("rows", "行数"), tr("default rate", "违约率")],
            [[c, v["rows"], v["label_rate"]] for c, v in info["clients"].items()])
    comp = metrics.get("comparison")
    if comp:
        rows = [["pooled", comp["pooled"]["test"]["auc"]], ["federated", comp["federated"]["test"]["auc"]]]
        rows += [[f"local: {k}", v["test"]["auc"]] for k, v in comp["local"].items()]
        s.table([tr("training", "训练方式"), "test AUC"], rows,
                caption=tr("Same test set for every row", "所有行使用相同的测试集"))
        s.figure(plots.rounds_plot(comp, lang=ctx.lang), tr("Validation AUC per round", "每轮验证集 AUC"))
    dropped = info.get("dropped") or (comp or {}).get("federated", {}).get("dropped")
    if dropped:
        s.note(tr(f"Clients that dropped out: {dropped}", f"掉线的参与方：{dropped}"))
