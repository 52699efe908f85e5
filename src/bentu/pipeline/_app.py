"""The application skeleton: the stages every application runs, in one order.

An application (credit, imaging, learning) is a subclass of :class:`Application` that fills in
the hooks it needs; :meth:`Application.run` calls them in the order of :data:`STAGES`::

    load → privacy → split → profile → train → evaluate → export
         → (metrics.json, audit step "evaluate") → explain → fairness → compress → report

What the skeleton owns, so that no application does it its own way:

- **the order.** ``split`` comes before ``profile`` because the data profile records the split
  sizes and the preprocessing fitted on the training split.
- **metrics.json.** ``evaluate`` (and ``export``, for the parity of the exported model) fill
  :attr:`Application.metrics`; after ``export`` the skeleton writes ``metrics.json`` once,
  validated against its typed model (:class:`bentu.rundir.Metrics`), and records the audit step
  ``evaluate`` with :attr:`Application.evaluate_params`.
- **audit step names.** :meth:`Application.record` refuses a step that is not in
  :data:`bentu.rundir.AUDIT_STEPS`, the one list that the JR/T 0221 rules, the docs and
  ``bentu audit verify`` read.
- **the model family check.** An application names the family of model it trains
  (:attr:`Application.families`); any other model is refused before data is read.

After the application, :func:`bentu.pipeline._finish` (common to every application) writes
energy, compliance, model cards and the report.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bentu.errors import ConfigError
from bentu.models import get_entry
from bentu.pipeline._context import RunContext
from bentu.rundir import AUDIT_STEPS, step_matches

__all__ = ["Application", "STAGES"]

#: The stages, in the order :meth:`Application.run` calls them.
STAGES: tuple[str, ...] = ("load", "privacy", "split", "profile", "train", "evaluate", "export",
                           "explain", "fairness", "compress", "report")


class Application:
    """Base of the applications: hooks for each stage of :data:`STAGES`, run in that order.

    Subclasses set :attr:`families` (and :attr:`names`, :attr:`family_names`, :attr:`example_model`) and override
    the hooks they need; a hook they leave alone does nothing. They do not override :meth:`run`.

    Parameters
    ----------
    ctx : RunContext
        The run being built.

    Attributes
    ----------
    metrics : dict
        What ``metrics.json`` will hold; filled by ``evaluate`` and ``export``.
    evaluate_params : dict
        Parameters of the ``evaluate`` audit step (e.g. the decision threshold).
    """

    #: The model families this application trains (``family`` of :func:`bentu.models.register_model`).
    families: ClassVar[tuple[str, ...]] = ()
    #: (en, zh) names of the application and of its model family, for messages.
    names: ClassVar[tuple[str, str]] = ("", "")
    family_names: ClassVar[tuple[str, str]] = ("", "")
    example_model: ClassVar[str] = ""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.recipe = ctx.recipe
        self.metrics: dict[str, Any] = {}
        self.evaluate_params: dict[str, Any] = {}
        self._check_model()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "run" in cls.__dict__:
            raise TypeError(f"{cls.__name__} overrides Application.run; override the stage hooks instead")

    # -- the skeleton ---------------------------------------------------------------------

    def run(self) -> None:
        """Run every stage in :data:`STAGES` order; ``metrics.json`` is written after ``export``."""
        for stage in STAGES:
            getattr(self, stage)()
            if stage == "export":
                self._write_metrics()

    def record(self, step: str, **kw: Any) -> dict:
        """Append audit step ``step`` (a name from :data:`bentu.rundir.AUDIT_STEPS`)."""
        if not any(step_matches(step, known) for known in AUDIT_STEPS):
            raise ValueError(f"audit step {step!r} is not one of bentu.rundir.AUDIT_STEPS: {sorted(AUDIT_STEPS)}")
        return self.ctx.audit.append(step, **kw)

    def _write_metrics(self) -> None:
        if not self.metrics:
            raise RuntimeError(f"{type(self).__name__}.evaluate left no metrics")
        path = self.ctx.write_json("metrics.json", self.metrics)
        self.record("evaluate", params=self.evaluate_params or None, outputs={"metrics": path})

    def _check_model(self) -> None:
        name = self.recipe.model.name
        if self.families and get_entry(name).family not in self.families:
            (app_en, app_zh), (fam_en, fam_zh) = self.names, self.family_names
            raise ConfigError(
                f"model.name {name!r} is not a {fam_en} model; the {app_en} application needs one "
                f"(e.g. {self.example_model!r}).",
                f"model.name {name!r} 不是{fam_zh}模型；{app_zh}应用需要{fam_zh}模型（例如 {self.example_model!r}）。",
            )

    # -- the hooks (each does nothing unless an application fills it in) ------------------

    def load(self) -> None:
        """Read the data; record ``load_data``."""

    def privacy(self) -> None:
        """The privacy gate: PII scan, de-identification, k-anonymity; write privacy.json."""

    def split(self) -> None:
        """Split into train / validation / test; fit preprocessing on train only."""

    def profile(self) -> None:
        """Write data_profile.json."""

    def train(self) -> None:
        """Train the model(s)."""

    def evaluate(self) -> None:
        """Score held-out data; fill :attr:`metrics` (and the report's results sections)."""

    def export(self) -> None:
        """Save weights (safetensors), the ONNX model and the preprocessing for serving."""

    def explain(self) -> None:
        """Explanations (reason codes, SHAP, Grad-CAM, mastery)."""

    def fairness(self) -> None:
        """Metrics by group; write fairness.json."""

    def compress(self) -> None:
        """int8 / pruned / distilled variants, measured."""

    def report(self) -> None:
        """The application's own report sections (the common ones follow in ``_finish``)."""
