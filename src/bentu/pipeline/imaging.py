"""The imaging application (``application: imaging``): medical image diagnosis with transfer
learning, a clinical evaluation at a chosen operating point, and Grad-CAM explanations.

Steps: load and check the images → (pretrain on a source dataset or load pretrained weights) →
fine-tune on the local training split (and train from scratch for comparison) → pick the
operating point on validation data only → evaluate on the held-out test split → data-volume
curve → ONNX export with parity check → Grad-CAM overlays → report sections.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bentu.audit.gradcam import gradcam, pick_cases
from bentu.audit.metrics import choose_threshold, clinical_metrics
from bentu.datasets.images import ImageDataset, ImageSplits, load_dicom_folder, load_image_folder
from bentu.datasets.medmnist import load_medmnist, medmnist_path
from bentu.errors import ConfigError, DataError
from bentu.models.ensemble import LogitEnsemble, member_seeds
from bentu.models.vision import TTA
from bentu.pipeline._app import Application
from bentu.recipe import ImagingCfg
from bentu.report import plots
from bentu.rundir.weights import save_model_weights
from bentu.train.augment import Augment
from bentu.train.parallel import FitJob, Handle, TrainPool
from bentu.train.transfer import (
    WEIGHT_SUFFIXES, FineTuneTrainer, SourceModelCache, read_weights, save_weights, select_layers,
)

__all__ = ["run", "ImagingApp", "subsample", "cam_target"]

log = logging.getLogger(__name__)

HEAD_PREFIX = "head."  # the classifier head is re-initialised when transferring between tasks


@dataclass(frozen=True)
class _Prep:
    """What turns a raw image into a model input (written to preprocess.json)."""

    size: int
    channels: int
    mean: float
    std: float
    positive_label: int


# -- evaluation helpers (pure functions, tested on their own) ---------------------------------


def subsample(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Stratified subsample of indices: ``fraction`` of each class (at least 2 per class)."""
    rng = np.random.default_rng(seed)
    keep = []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        n = min(len(idx), max(2, int(round(fraction * len(idx)))))
        keep.append(rng.choice(idx, size=n, replace=False))
    return np.sort(np.concatenate(keep))


# -- data ---------------------------------------------------------------------------------------


def _resolve(ctx, rel: str) -> Path:
    p = Path(rel)
    if p.is_absolute() or p.exists() or ctx.data_root is None:
        return p
    return Path(ctx.data_root) / p


def _load(ctx, cfg: ImagingCfg) -> ImageSplits:
    rc = ctx.recipe
    if cfg.source == "medmnist":
        flag = (rc.data.dataset or "").lower()
        if not flag:
            raise DataError("data.dataset must name the MedMNIST subset (e.g. breastmnist).",
                            "data.dataset 必须给出 MedMNIST 子集名称（例如 breastmnist）。")
        path = ctx.data_path if ctx.data_path is not None else (_resolve(ctx, rc.data.path) if rc.data.path else None)
        return load_medmnist(medmnist_path(flag, ctx.data_root, path))
    root = ctx.data_path or (_resolve(ctx, cfg.path) if cfg.path else None)
    if root is None:
        raise DataError(f"imaging.source is {cfg.source!r}: give the folder with imaging.path or --data.",
                        f"imaging.source 为 {cfg.source!r}：请用 imaging.path 或 --data 指定文件夹。")
    loader = load_image_folder if cfg.source == "folder" else load_dicom_folder
    return loader(root, channels=cfg.channels, size=cfg.image_size, classes=cfg.classes, seed=rc.train.seed)


def _targets(data: ImageSplits, split: str, positive_label: int) -> np.ndarray:
    return (data.labels[split] == positive_label).astype(np.float32)


def _datasets(data: ImageSplits, prep: _Prep, augment: Augment | None) -> dict[str, ImageDataset]:
    out = {}
    for s in data.images:
        images = data.images[s]
        if images.shape[-1] != prep.channels:
            images = np.repeat(images, 3, axis=-1) if prep.channels == 3 else images.mean(-1, keepdims=True).astype(np.uint8)
        out[s] = ImageDataset(images, _targets(data, s, prep.positive_label), mean=prep.mean, std=prep.std,
                              size=prep.size, augment=augment if s == "train" else None)
    return out


def _subset(ds: ImageDataset, idx: np.ndarray) -> ImageDataset:
    sub = ImageDataset.__new__(ImageDataset)
    sub.x, sub.y, sub.augment = ds.x[idx], ds.y[idx], ds.augment
    return sub


# -- training -----------------------------------------------------------------------------------


class _Run:
    """The state of one imaging run (kept small: data, settings, helpers to train and predict)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.rc = ctx.recipe
        self.cfg = self.rc.imaging or ImagingCfg()
        a = self.cfg.augment
        self.augment = (
            Augment(hflip=a.hflip, vflip=a.vflip, rotate=a.rotate, shift=a.shift, scale=a.scale,
                    brightness=a.brightness, contrast=a.contrast) if a.enabled else None
        )
        self.timings: dict[str, float] = {}

    def model_params(self, prep: _Prep) -> dict:
        params = {"in_channels": prep.channels, "image_size": prep.size}
        params.update(self.rc.model.params())
        return params

    def job(self, prep: _Prep, train_ds: ImageDataset, val_ds: ImageDataset, *, seed: int, init: dict | None,
            name: str, priority: int, epochs: int | None = None, lr: float | None = None, local: bool = True) -> FitJob:
        """One model to train on ``train_ds`` (from ``init`` when given). ``local=False`` is pretraining
        on a source dataset: without ``train.ema_decay`` / ``train.mixup`` and ``transfer.freeze``, so
        the cached source model does not depend on them."""
        t = self.rc.train
        if lr is None:
            lr = self.cfg.finetune_lr if (init is not None and self.cfg.finetune_lr) else t.lr
        trainer = dict(optimizer=t.optimizer, lr=lr, weight_decay=t.weight_decay, epochs=epochs or t.epochs,
                       batch_size=t.batch_size, patience=t.patience, monitor="auc", pos_weight=self.pos_weight(train_ds.y),
                       ema_decay=t.ema_decay if local else None, mixup=t.mixup if local else 0.0,
                       channels_last=t.channels_last, warmup_epochs=self.cfg.warmup_epochs, device=t.device)
        return FitJob(name=name, model=self.rc.model.name, params=self.model_params(prep), seed=seed, train=train_ds,
                      val=val_ds, trainer=trainer, trainer_cls=FineTuneTrainer, init=init,
                      freeze=list(self.rc.transfer.freeze) if init is not None and local else [], priority=priority)

    def pos_weight(self, y: torch.Tensor) -> float | None:
        if self.cfg.balance == "none":
            return None
        pos = float(y.sum())
        return (len(y) - pos) / pos if pos else None

    def wrap(self, models: list[nn.Module]) -> nn.Module:
        m = models[0] if len(models) == 1 else LogitEnsemble(models)
        if not (self.cfg.tta or self.cfg.tta_shift):
            return m.eval()
        return TTA(m, flip=self.cfg.tta, shift=self.cfg.tta_shift).eval()

    @staticmethod
    @torch.no_grad()
    def predict(model: nn.Module, ds: ImageDataset) -> np.ndarray:
        model.eval()
        # About 256 images a forward pass, test-time views included: on 2 CPU cores this scored
        # 18 views of 156 images in 5.6 s, where 1,152 images a pass took 13.0 s (cache misses).
        n = max(1, 256 // getattr(model, "views", 1))
        out = [torch.sigmoid(model(ds.x[i:i + n])) for i in range(0, len(ds), n)]
        return torch.cat(out).numpy() if out else np.zeros(0)


# Queued jobs of the training pool start highest priority first: pretraining (the transfer models
# wait for it), then the local models, then the data-volume curve's (priority: percent of the
# training set). Long jobs first keeps every worker busy to the end.
PRIORITY_PRETRAIN, PRIORITY_MODEL = 1000, 500


def _pretrain(run: _Run, prep: _Prep, pool: TrainPool, stack: contextlib.ExitStack) -> Callable[[], tuple[dict | None, dict]]:
    """Start getting the weights to begin from: from a source dataset (pretrained in ``pool`` or
    taken from the cache) or from a file. Returns a function that waits for them and gives them
    (head removed) with a description."""
    ctx, src = run.ctx, run.rc.transfer.from_
    if not src:
        return lambda: (None, {"enabled": False})
    if Path(src).suffix in WEIGHT_SUFFIXES:
        path = _resolve(ctx, src)
        weights = read_weights(path)
        ctx.audit.append("load_pretrained", params={"freeze": run.rc.transfer.freeze}, inputs={"weights": path})
        ready = lambda: (weights, {"enabled": True, "from": str(path), "kind": "weights_file"})  # noqa: E731
    else:
        local = ctx.data_path.parent if ctx.data_path is not None and ctx.data_path.is_file() else None
        path = local / f"{src.lower()}.npz" if local is not None and (local / f"{src.lower()}.npz").is_file() else \
            medmnist_path(src.lower(), ctx.data_root)
        source = load_medmnist(path)
        ready = _pretrain_source(run, prep, src, source, path, pool, stack)

    def finish() -> tuple[dict, dict]:
        state, info = ready()
        state = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIX)}
        if run.rc.transfer.layers is not None:
            state = select_layers(state, run.rc.transfer.layers)
        info["freeze"] = list(run.rc.transfer.freeze)
        info["layers"] = run.rc.transfer.layers
        info["tensors_transferred"] = len(state)
        return state, info

    return finish


def _pretrain_source(run: _Run, prep: _Prep, src: str, source: ImageSplits, path: Path, pool: TrainPool,
                     stack: contextlib.ExitStack) -> Callable[[], tuple[dict, dict]]:
    """Train (or reuse from the cache) a model on the source dataset; save it into the run."""
    ctx, cfg = run.ctx, run.cfg
    settings = {"source_sha256": source.sha256, "model": run.rc.model.name, "params": run.model_params(prep),
                "epochs": cfg.pretrain_epochs, "lr": cfg.pretrain_lr, "seed": cfg.pretrain_seed,
                "train": run.rc.train.model_dump(include={"optimizer", "weight_decay", "batch_size", "patience"}),
                "augment": cfg.augment.model_dump(), "warmup": cfg.warmup_epochs, "balance": cfg.balance, "v": 1}
    # Another layout or thread count, other rounding: another source model (old keys unchanged).
    if run.rc.train.channels_last:
        settings["channels_last"] = True
    if run.rc.train.processes:
        settings["threads"] = 1
    cache = SourceModelCache(src, settings)
    target = ctx.path(f"model/pretrained-{src.lower()}.safetensors")
    info = {"enabled": True, "from": src, "kind": "source_dataset", "source_sha256": source.sha256,
            "source_counts": source.counts(), "weights": str(target.relative_to(ctx.dir)), "cache_key": cache.key}
    use_cache = cfg.pretrain_cache and cache.open(stack)
    return _train_source(run, prep, src, source, path, settings, info, target, pool, cache if use_cache else None)


def _train_source(run: _Run, prep: _Prep, src: str, source: ImageSplits, path: Path, settings: dict, info: dict,
                  target: Path, pool: TrainPool, cache: SourceModelCache | None) -> Callable[[], tuple[dict, dict]]:
    ctx, cfg = run.ctx, run.cfg
    mean, std = _mean_std(source)
    sprep = _Prep(prep.size, prep.channels, mean, std, positive_label=1)
    found = cache.load() if cache is not None else None
    if found is not None:
        state, result = found
        cache.release()
        cache.copy_to(target)
        info.update(result, reused_from_cache=str(cache.path))
        ctx.audit.append("pretrain", params={**settings, "reused_from_cache": True},
                         inputs={"source_data": path, "cached_weights": cache.path}, outputs={"weights": target})
        return lambda: (state, info)
    sets = _datasets(source, sprep, run.augment)
    handle = pool.submit(run.job(prep, sets["train"], sets["val"], seed=cfg.pretrain_seed, init=None,
                                 name=f"pretrain {src}", priority=PRIORITY_PRETRAIN, epochs=cfg.pretrain_epochs,
                                 lr=cfg.pretrain_lr, local=False))

    def finish() -> tuple[dict, dict]:
        fitted = handle.result()
        run.timings["pretrain_s"] = fitted.seconds
        save_weights(fitted.model, target)
        result = {"source_val_auc": fitted.best_score, "source_best_epoch": fitted.best_epoch,
                  "pretrain_seconds": fitted.seconds}
        info.update(result, reused_from_cache=None)
        if cache is not None:
            cache.store(target, result)
        ctx.audit.append("pretrain", params={**settings, **result}, inputs={"source_data": path}, outputs={"weights": target})
        return fitted.model.state_dict(), info

    if not pool.processes:  # trained already: cache it and release the lock now, not after the scratch models
        done = finish()
        return lambda: done
    return finish


def _mean_std(data: ImageSplits) -> tuple[float, float]:
    x = data.images["train"].astype(np.float32) / 255.0
    return float(x.mean()), float(max(x.std(), 1e-3))


# -- the run ------------------------------------------------------------------------------------


def _privacy_record(ctx, data) -> None:
    """privacy.json for image data: what personal information the model's inputs can carry.

    The loaders keep pixel arrays and labels only: DICOM headers (patient name, ID, dates,
    institution) are never read into the dataset, and MedMNIST files hold no metadata. Text burnt
    into the pixels is not scanned, which the record says.
    """
    report = {
        "version": 1, "pii": ctx.recipe.privacy.pii, "deidentified": ctx.recipe.privacy.pii == "auto",
        "key_source": None, "policy": "images: pixel arrays and labels only",
        "columns": {
            "image": {"class": "sensitive", "pii_types": {}, "operator": {"op": "none"},
                      "note": "health data (PIPL Art. 28); metadata discarded at load, pixels kept"},
            "label": {"class": "sensitive", "pii_types": {}, "operator": {"op": "none"}, "note": "diagnosis"},
        },
        "metadata": "DICOM headers and file names are not kept; MedMNIST .npz files carry none",
        "limitations": ["Text burnt into image pixels (e.g. names on scans) is not detected."],
        "k_anonymity": None,
    }
    ctx.write_json("privacy.json", report)
    ctx.audit.append("privacy_gate", params={"pii": report["pii"], "kind": "image"},
                     outputs={"privacy": ctx.dir / "privacy.json"})


class ImagingApp(Application):
    """The imaging application's stages (see :mod:`bentu.pipeline._app` for the order).

    Writes ``data_profile.json``, ``metrics.json``, ``model/model.safetensors`` (+ ``model.json``),
    ``model/model.onnx``, ``model/export.json``, ``model/preprocess.json``,
    ``explanations/gradcam/`` and report sections; every step is appended to the audit log.
    """

    families = ("vision",)
    names = ("imaging", "影像")
    family_names = ("vision", "视觉")
    example_model = "resnet_small"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.started = time.perf_counter()
        self.r = r = _Run(ctx)
        cfg, rc = self.cfg, self.rc = r.cfg, r.rc
        self.has_transfer = has_transfer = bool(rc.transfer.from_)
        arms = (["transfer"] if has_transfer else []) + (["scratch"] if (cfg.compare_scratch or not has_transfer) else [])
        if cfg.primary not in (None, "auto", "both", *arms) or (cfg.primary == "both" and len(arms) < 2):
            fix = "transfer.from" if cfg.primary == "transfer" or not has_transfer else "imaging.compare_scratch: true"
            if cfg.primary == "both":
                fix += f", or imaging.primary: {arms[0]}"
            raise ConfigError(f"imaging.primary is {cfg.primary!r} but this run trains only {', '.join(arms)} (set {fix}).",
                              f"imaging.primary 为 {cfg.primary!r}，但本次运行只训练 {', '.join(arms)}（请设置 {fix.replace(', or ', '，或 ')}）。")
        if cfg.primary == "both" and cfg.ensemble < 2:
            raise ConfigError(f"imaging.primary 'both' deploys models of both arms: imaging.ensemble must be at least 2. "
                              f"Got {cfg.ensemble}.",
                              f"imaging.primary 为 'both' 时部署两种模型：imaging.ensemble 至少为 2，实际为 {cfg.ensemble}。")
        self.arms = arms

    def load(self) -> None:
        ctx, cfg, rc = self.ctx, self.cfg, self.rc
        self.data = data = _load(ctx, cfg)
        if cfg.positive_label >= len(data.label_names):
            raise ConfigError(
                f"imaging.positive_label is {cfg.positive_label} but {data.source} has classes 0..{len(data.label_names) - 1}.",
                f"imaging.positive_label 为 {cfg.positive_label}，但 {data.source} 的类别为 0..{len(data.label_names) - 1}。",
            )
        self.record("load_data", params={"source": cfg.source, "dataset": rc.data.dataset, "sha256": data.sha256},
                    inputs={"data": data.source})

    def privacy(self) -> None:
        _privacy_record(self.ctx, self.data)

    def split(self) -> None:
        """The dataset's own train / val / test splits, normalised with the training images' mean and std."""
        cfg, data = self.cfg, self.data
        mean, std = _mean_std(data)
        self.prep = _Prep(cfg.image_size or data.image_size, cfg.channels, mean, std, cfg.positive_label)
        self.pos_name = data.label_names[cfg.positive_label]
        self.neg_name = " / ".join(n for k, n in enumerate(data.label_names) if k != cfg.positive_label)
        self.sets = _datasets(data, self.prep, self.r.augment)

    def profile(self) -> None:
        ctx, prep = self.ctx, self.prep
        self.profile_doc = {**self.data.profile(), "positive_class": {"label": self.cfg.positive_label, "name": self.pos_name}}
        p_prof = ctx.write_json("data_profile.json", self.profile_doc)
        self.record("prepare_data", params={"split": {k: len(v) for k, v in self.sets.items()},
                                            "image": {"size": prep.size, "channels": prep.channels,
                                                      "mean": prep.mean, "std": prep.std}},
                    outputs={"data_profile": p_prof})

    def train(self) -> None:
        ctx, r, cfg, rc, prep, sets, arms = self.ctx, self.r, self.cfg, self.rc, self.prep, self.sets, self.arms
        seeds = member_seeds(rc.train.seed, cfg.ensemble)
        # The deployed (primary) arm: fixed, the one whose model scores higher on validation data, or both.
        # The deployed ensemble: member k is (arm, seed), the deployed arms taking turns (with "both":
        # transfer, scratch, transfer, ...) and each arm's seeds running seed, seed + 1000, ...
        # Members k < len(deployed_arms) are each arm's first model (seed = train.seed), which is also
        # the like-for-like comparison of the arms.
        def plan_for(primary: str) -> list[tuple[str, int]]:
            deployed_arms = arms if primary == "both" else [primary]
            return [(deployed_arms[k % len(deployed_arms)], seeds[k // len(deployed_arms)]) for k in range(cfg.ensemble)]

        fixed = {None: arms[0], "auto": None}.get(cfg.primary, cfg.primary)
        handles: dict[tuple[str, int], Handle] = {}
        with TrainPool(rc.train.processes, progress=bool(ctx.progress), executor=rc.train.executor,
                       ray_address=rc.train.ray_address, job_timeout=rc.train.job_timeout) as pool, \
                contextlib.ExitStack() as stack:
            # after the checks: pretraining can take minutes (in the pool, beside the scratch models)
            source = _pretrain(r, prep, pool, stack)
            init: dict | None = None

            def submit(arm: str, seed: int) -> None:
                if (arm, seed) not in handles:
                    handles[arm, seed] = pool.submit(r.job(prep, sets["train"], sets["val"], seed=seed,
                                                           init=init if arm == "transfer" else None,
                                                           name=f"{arm} seed {seed}", priority=PRIORITY_MODEL))

            curve_jobs: dict = {}
            for arm in sorted(arms, key=lambda a: a == "transfer"):  # scratch models need no source model
                if arm == "transfer":
                    init, transfer_info = source()
                submit(arm, seeds[0])
                for a, seed in plan_for(fixed) if fixed else []:
                    if a == arm:
                        submit(a, seed)
                curve_jobs.update(_curve_jobs(r, prep, sets, init if arm == "transfer" else None, arm, pool))
            if not self.has_transfer:
                transfer_info = source()[1]
            primary = fixed or max(arms, key=lambda a: handles[a, seeds[0]].result().best_score)
            for arm, seed in plan_for(primary):
                submit(arm, seed)
            trained = {key: h.result() for key, h in handles.items()}
            self.curve = _curve_rows(r, sets, arms, curve_jobs, trained)
        arm_seeds = {arm: sorted(seed for a, seed in trained if a == arm) for arm in arms}
        self.models = {arm: [trained[arm, seed].model for seed in arm_seeds[arm]] for arm in arms}
        self.histories = histories = {
            arm: [{"seed": seed, "best_epoch": trained[arm, seed].best_epoch, "val_auc": trained[arm, seed].best_score,
                   "epochs_run": trained[arm, seed].epochs_run} for seed in arm_seeds[arm]] for arm in arms}
        for arm in arms:
            r.timings[f"train_{arm}_s"] = sum(f.seconds for (a, _), f in trained.items() if a == arm)
        self.primary, self.transfer_info = primary, transfer_info
        for arm in arms:
            self.record(f"train_{arm}", params={"model": rc.model.name, **r.model_params(prep),
                                                "train": rc.train.model_dump(), "runs": histories[arm]})
        self.choice = {"rule": cfg.primary or "first arm", "chosen": primary, "chosen_on": "val",
                       "val_auc": {a: histories[a][0]["val_auc"] for a in arms}}
        self.record("choose_primary", params=self.choice)

    def evaluate(self) -> None:
        """Operating point on validation only, then the test split."""
        ctx, r, cfg, rc, sets, arms, primary = self.ctx, self.r, self.cfg, self.rc, self.sets, self.arms, self.primary
        y_val, y_test = sets["val"].y.numpy(), sets["test"].y.numpy()

        def evaluate(members: list[nn.Module]) -> dict:
            final = r.wrap(members)
            pv, pt = r.predict(final, sets["val"]), r.predict(final, sets["test"])
            thr = choose_threshold(y_val, pv, cfg.operating_point, cfg.target_sensitivity)
            return {"model": final, "p_val": pv, "p_test": pt,
                    "val": clinical_metrics(y_val, pv, thr), "test": clinical_metrics(y_test, pt, thr)}

        # Transfer vs scratch compares single models (same seed); the deployed model is the primary arm,
        # an ensemble of `imaging.ensemble` models when that is > 1.
        deployed = [m for arm in (arms if primary == "both" else [primary]) for m in self.models[arm]]
        self.evals = evals = {arm: evaluate(self.models[arm][:1]) for arm in arms}
        self.main = main = evaluate(deployed) if len(deployed) > 1 else evals[primary]
        self.record("data_volume", params={"rows": self.curve})
        curve = self.curve
        self.metrics = {
            "test": main["test"], "val": main["val"], "primary": primary, "primary_choice": self.choice,
            "positive_class": self.pos_name,
            "operating_point": {"rule": cfg.operating_point, "target_sensitivity": cfg.target_sensitivity,
                                "chosen_on": "val", "threshold": main["val"]["threshold"]},
            "arms": {a: {"test": evals[a]["test"], "val": evals[a]["val"], "runs": self.histories[a]} for a in arms},
            "transfer": {**self.transfer_info, **{f"{a}_test_auc": evals[a]["test"]["auc"] for a in arms}},
            "data_volume": curve, "model": {"name": rc.model.name, **r.model_params(self.prep)},
            "tta": cfg.tta, "tta_shift": cfg.tta_shift, "ensemble": cfg.ensemble, "seed": rc.train.seed,
        }
        self.evaluate_params = {"operating_point": self.metrics["operating_point"], "test": main["test"]}
        ctx.evidence["metrics"] = {k: main["test"][k] for k in ("auc", "accuracy", "sensitivity", "specificity")}
        ctx.evidence["metrics"].update(test=main["test"], val=main["val"], data_volume=curve)
        ctx.evidence["data_profile"] = self.profile_doc

    def export(self) -> None:
        ctx, r, cfg, rc, prep, main = self.ctx, self.r, self.cfg, self.rc, self.prep, self.main
        final = main["model"]
        example = (self.sets["test"].x[:4].clone(),)
        p_weights, p_spec = save_model_weights(ctx.dir, final.state_dict(), name=rc.model.name, params=r.model_params(prep),
                                               ensemble=cfg.ensemble, tta=cfg.tta, tta_shift=cfg.tta_shift)
        export = {"passed": None}
        outputs = {"model_weights": p_weights, "model_spec": p_spec}
        if cfg.onnx:
            from bentu.inference.export import export_onnx

            p_onnx = ctx.path("model/model.onnx")
            export = export_onnx(final, example, p_onnx, input_names=("image",))
            outputs["model_onnx"] = p_onnx
            if not export["passed"]:
                log.warning("ONNX parity failed: max |diff| %.2e", export["max_abs_diff"])
        outputs["export"] = ctx.write_json("model/export.json", export)
        preprocess = {
            "kind": "image", "size": prep.size, "channels": prep.channels, "scale": 1 / 255.0,
            "mean": [prep.mean] * prep.channels, "std": [prep.std] * prep.channels, "layout": "NCHW",
            "resize": "bilinear", "input_name": "image", "output": "logit",
            "label_names": [self.neg_name, self.pos_name], "positive_class": self.pos_name,
            "positive_label": cfg.positive_label, "threshold": main["val"]["threshold"], "tta": cfg.tta,
            "tta_shift": cfg.tta_shift, "ensemble": cfg.ensemble,
        }
        outputs["preprocess"] = ctx.write_json("model/preprocess.json", preprocess)
        self.record("export", params={"parity": export}, outputs=outputs)
        self.export_result = self.metrics["export"] = export
        self.metrics["timings"] = {**r.timings, "total_s": time.perf_counter() - self.started}

    def explain(self) -> None:
        self.cam_index = _explain(self.r, self.data, self.sets, self.main, self.prep, self.pos_name)

    def report(self) -> None:
        _report(self.r, self.data, self.prep, self.profile_doc, self.main, self.evals, self.arms, self.primary,
                self.curve, self.transfer_info, self.cam_index, self.export_result, self.pos_name, self.neg_name)


def run(ctx) -> None:
    """Run the imaging application for ``ctx.recipe`` and write its outputs into ``ctx.dir``."""
    ImagingApp(ctx).run()


def _curve_jobs(r: _Run, prep: _Prep, sets, init: dict | None, arm: str, pool: TrainPool) -> dict:
    """Submit the data-volume curve's models of one arm (fractions below 1 of the local training set)."""
    rc, cfg = r.rc, r.cfg
    y_train = sets["train"].y.numpy()
    jobs = {}
    for frac in cfg.data_volume:
        if frac == 1.0:  # the arm's models already trained are used (none is trained for the curve alone)
            continue
        # independent seeds (as for ensemble members): runs of seeds 0, 1, 2 share no subset.
        for seed in member_seeds(rc.train.seed, cfg.data_volume_seeds):
            idx = subsample(y_train, frac, seed)
            # Same epochs (so fewer steps) as the full run, the same for both arms: the curve costs
            # less than one more full training per arm.
            jobs[frac, arm, seed] = pool.submit(r.job(prep, _subset(sets["train"], idx), sets["val"], seed=seed, init=init,
                                                      name=f"{arm} {frac:.0%} seed {seed}", priority=round(100 * frac)))
    return jobs


def _curve_rows(r: _Run, sets, arms: list[str], jobs: dict, trained: dict) -> list[dict]:
    """Test AUC at fractions of the local training set, per arm (single models, same val split)."""
    rc, cfg = r.rc, r.cfg
    y_train = sets["train"].y.numpy()
    y_test = sets["test"].y.numpy()
    rows = []
    for frac in cfg.data_volume:
        for arm in arms:
            aucs = []
            for seed in member_seeds(rc.train.seed, cfg.data_volume_seeds):
                fitted = trained.get((arm, seed)) if frac == 1.0 else jobs[frac, arm, seed].result()
                if fitted is None:  # at 100 %: as many as the arm has models
                    break
                p = r.predict(r.wrap([fitted.model]), sets["test"])
                aucs.append(clinical_metrics(y_test, p, 0.5)["auc"])
            n = len(subsample(y_train, frac, rc.train.seed)) if frac < 1 else len(y_train)
            rows.append({"fraction": frac, "n_train": n, "arm": arm, "test_auc": float(np.mean(aucs)),
                         "test_auc_std": float(np.std(aucs)), "seeds": len(aucs), "test_aucs": [float(a) for a in aucs]})
    r.timings["data_volume_s"] = sum(h.result().seconds for h in jobs.values())
    return rows


def cam_target(model: nn.Module) -> tuple[nn.Module, nn.Module | None]:
    """What Grad-CAM explains for a deployed model: the model without test-time augmentation (each
    view would move or mirror the map) and the last residual stage of its first ensemble member."""
    base = model.model if isinstance(model, TTA) else model
    first = base.members[0] if isinstance(base, LogitEnsemble) else base
    return base, getattr(first, "stages", None)


def _explain(r: _Run, data: ImageSplits, sets, main: dict, prep: _Prep, pos_name: str) -> list[dict]:
    ctx, cfg = r.ctx, r.cfg
    if r.rc.audit.explain != "gradcam" or cfg.gradcam_cases == 0:
        return []
    y = sets["test"].y.numpy().astype(int)
    pred = (main["p_test"] >= main["val"]["threshold"]).astype(int)
    cases = pick_cases(y, pred, cfg.gradcam_cases, seed=r.rc.train.seed)
    order = [(kind, i) for kind in ("TP", "TN", "FP", "FN") for i in cases[kind]]
    if not order:
        return []
    idx = [i for _, i in order]
    base, layer = cam_target(main["model"])  # for the class decided at the operating point
    cams = gradcam(base, sets["test"].x[idx].clone(), layer=layer, sign=torch.from_numpy(pred[idx] * 2.0 - 1))
    raw = data.images["test"][idx]
    if raw.shape[1] != prep.size:
        raw = np.stack([np.asarray(torch.nn.functional.interpolate(
            torch.from_numpy(a).permute(2, 0, 1)[None].float(), size=(prep.size, prep.size), mode="bilinear")[0]
            .permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8)) for a in raw])
    names = data.label_names
    titles = [f"{kind} #{i}: true={names[data.labels['test'][i]]}, p({pos_name})={main['p_test'][i]:.2f}"
              for kind, i in order]
    out = ctx.path("explanations/gradcam/index.json").parent
    paths = plots.save_gradcam_overlays(raw, cams, titles, out)
    index = [{"file": p.name, "kind": kind, "test_index": int(i), "true": names[data.labels["test"][i]],
              "p_positive": float(main["p_test"][i]), "correct": kind in ("TP", "TN")}
             for p, (kind, i) in zip(paths, order)]
    p_index = ctx.write_json("explanations/gradcam/index.json", {"method": "Grad-CAM (Captum LayerGradCam)",
                                                                 "layer": "stages (last residual stage)",
                                                                 "cases": index})
    ctx.audit.append("explain_gradcam", params={"n": len(index)}, outputs={"gradcam": out, "index": p_index})
    r.cam = (raw, cams, titles)
    return index


# -- report ---------------------------------------------------------------------------------------


def _report(r: _Run, data, prep, profile, main, evals, arms, primary, curve, transfer_info, cam_index, export, pos_name, neg_name):
    ctx, cfg = r.ctx, r.cfg
    tr = ctx.tr
    sec = ctx.report.section("data", tr("Data", "数据"))
    rows = [[s, *[c for c in profile["counts"][s].values()]] for s in profile["counts"]]
    sec.table([tr("split", "划分"), *data.label_names], rows,
              tr(f"Images per split and class ({prep.size}×{prep.size}, {prep.channels} channel(s)); "
                 f"positive class: {pos_name}.",
                 f"各划分与类别的图像数（{prep.size}×{prep.size}，{prep.channels} 通道）；阳性类别：{pos_name}。"))
    sec.kv({"source": str(data.source), "sha256": data.sha256})

    sec = ctx.report.section("imaging_evaluation", tr("Clinical evaluation (held-out test set)", "临床评估（独立测试集）"))
    m = main["test"]
    sec.paragraph(tr(
        f"Operating point chosen on the validation set only ({cfg.operating_point}), threshold "
        f"{m['threshold']:.3f} on the probability of {pos_name}. On the test set: AUC {m['auc']:.3f}, accuracy "
        f"{m['accuracy']:.3f}, sensitivity {m['sensitivity']:.3f}, specificity {m['specificity']:.3f}. "
        f"False negatives (missed {pos_name}): {m['fn']}; false positives: {m['fp']}.",
        f"工作点仅在验证集上选定（{cfg.operating_point}），{pos_name} 概率阈值为 {m['threshold']:.3f}。测试集上："
        f"AUC {m['auc']:.3f}，准确率 {m['accuracy']:.3f}，灵敏度 {m['sensitivity']:.3f}，特异度 {m['specificity']:.3f}。"
        f"假阴性（漏诊的 {pos_name}）：{m['fn']} 例；假阳性：{m['fp']} 例。",
    ))
    sec.table(["", tr(f"predicted {pos_name}", f"预测为 {pos_name}"), tr(f"predicted {neg_name}", f"预测为 {neg_name}")],
              [[tr(f"true {pos_name}", f"实际为 {pos_name}"), f"TP {m['tp']}", f"FN {m['fn']}"],
               [tr(f"true {neg_name}", f"实际为 {neg_name}"), f"FP {m['fp']}", f"TN {m['tn']}"]],
              tr("Confusion matrix on the test set.", "测试集混淆矩阵。"))
    keys = ["auc", "accuracy", "sensitivity", "specificity", "fn", "fp"]
    sec.table([tr("model", "模型"), tr("split", "划分"), *keys],
              [[a, s, *[(f"{evals[a][s][k]:.3f}" if isinstance(evals[a][s][k], float) else evals[a][s][k]) for k in keys]]
               for a in arms for s in ("val", "test")],
              tr("Transfer learning vs training from scratch: single models, same seed, same threshold rule.",
                 "迁移学习与从零训练对比：单个模型、相同随机种子、相同阈值规则。"))
    y_true = data.labels["test"] == prep.positive_label
    deployed = tr(f"deployed ({primary}, {cfg.ensemble} model(s))", f"部署模型（{primary}，{cfg.ensemble} 个）")
    curves = [(deployed, main)] if main is not evals.get(primary) else []
    fig = plots.clinical_roc_plot([(label, y_true, e["p_test"], e["test"]["auc"]) for label, e in curves + [(a, evals[a]) for a in arms]],
                                  (1 - m["specificity"], m["sensitivity"]), lang=ctx.lang)
    sec.figure(fig, tr("ROC curve on the test set.", "测试集 ROC 曲线。"))
    if export.get("passed") is not None:
        sec.note(tr(f"ONNX export parity: max |diff| {export['max_abs_diff']:.1e} (tolerance {export['tolerance']:.0e}).",
                    f"ONNX 导出一致性：最大差值 {export['max_abs_diff']:.1e}（容差 {export['tolerance']:.0e}）。"))

    sec = ctx.report.section("data_volume", tr("Data volume vs performance", "数据量与性能"))
    fig = plots.data_volume_plot(curve, arms, lang=ctx.lang)
    sec.figure(fig, tr("Test AUC at fractions of the local training set.", "在本地训练集的不同比例下的测试 AUC。"))
    sec.table([tr("fraction", "比例"), "n", tr("model", "模型"), "test AUC"],
              [[f"{c['fraction']:.0%}", c["n_train"], c["arm"], f"{c['test_auc']:.3f}"] for c in curve])
    if transfer_info.get("enabled"):
        sec.paragraph(tr(f"Transfer source: {transfer_info['from']}; frozen layers: {transfer_info['freeze'] or 'none'}.",
                         f"迁移来源：{transfer_info['from']}；冻结层：{transfer_info['freeze'] or '无'}。"))

    if cam_index:
        sec = ctx.report.section("explanations", tr("Grad-CAM explanations", "Grad-CAM 解释"))
        raw, cams, titles = r.cam
        fig = plots.gradcam_grid(raw, cams, titles)
        sec.figure(fig, tr("Grad-CAM of test cases: TP/TN are correct, FP/FN are wrong. Red: evidence for the "
                           "predicted class. An aid for review, not a diagnosis.",
                           "测试病例的 Grad-CAM：TP/TN 为正确，FP/FN 为错误。红色：支持预测类别的区域。仅供复核参考，不是诊断。"))

