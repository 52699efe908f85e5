"""The report's differential-privacy section: the ε spent, and what it protects and what not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["report_dp"]


def report_dp(report: Any, dp: dict[str, Any], tr: Callable[[str, str], str]) -> None:
    """Add a "Differential privacy" section for the ``dp`` section of ``metrics.json``."""
    s = report.section("dp", tr("Differential privacy (record level)", "差分隐私（记录级）"))
    s.paragraph(tr(
        f"Trained with DP-SGD (Opacus): every record's gradient clipped to L2 norm {dp['max_grad_norm']:g}, Gaussian "
        f"noise added to every step, batches drawn by Poisson sampling. The {dp['accountant'].upper()} accountant "
        f"gives (ε = {dp['epsilon']:.3f}, δ = {dp['delta']:.2g}) for the whole training "
        f"(target ε = {dp['epsilon_target']:g}).",
        f"使用 DP-SGD（Opacus）训练：每条记录的梯度裁剪到 L2 范数 {dp['max_grad_norm']:g}，每一步加入高斯噪声，批次按泊松采样抽取。"
        f"{dp['accountant'].upper()} 会计给出整个训练的 (ε = {dp['epsilon']:.3f}, δ = {dp['delta']:.2g})"
        f"（目标 ε = {dp['epsilon_target']:g}）。"))
    rows = [[name, c["rows"], c["noise_multiplier"], c["steps"], c["epsilon"]] for name, c in dp["per_client"].items()]
    s.table([tr("data holder", "数据持有方"), tr("rows", "行数"), tr("noise multiplier", "噪声乘数"),
             tr("steps", "步数"), "ε"], rows)
    if "composition" in dp:
        s.note(tr(f"Federation ε: {dp['composition']['en']}.", f"联邦的 ε：{dp['composition']['zh']}。"))
    s.paragraph(tr(f"Protected: {dp['protects']['en']}", f"受保护：{dp['protects']['zh']}"))
    s.paragraph(tr(f"Not protected: {dp['does_not_protect']['en']}", f"不受保护：{dp['does_not_protect']['zh']}"))
