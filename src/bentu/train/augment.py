"""Image augmentation with torch ops only (no torchvision): flips, small rotations and shifts,
intensity jitter. Applied per image inside a training Dataset, so it draws from torch's global
RNG and a seeded run repeats exactly."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from bentu.errors import ConfigError

__all__ = ["Augment"]


@dataclass(frozen=True)
class Augment:
    """Random augmentation of one image tensor ``(c, h, w)`` with values already normalised.

    Parameters
    ----------
    hflip, vflip : float
        Probability of a horizontal / vertical flip.
    rotate : float
        Maximum rotation in degrees (uniform in ``[-rotate, rotate]``).
    shift : float
        Maximum translation as a fraction of the image side.
    scale : float
        Maximum relative zoom (uniform in ``[1 - scale, 1 + scale]``).
    brightness, contrast : float
        Maximum additive brightness shift (in normalised units) and relative contrast change.
    """

    hflip: float = 0.5
    vflip: float = 0.0
    rotate: float = 10.0
    shift: float = 0.1
    scale: float = 0.1
    brightness: float = 0.1
    contrast: float = 0.1

    def __post_init__(self) -> None:
        for name in ("hflip", "vflip"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(
                    f"The {name!r} parameter of Augment must be a probability in [0, 1]. Got {v!r} instead.",
                    f"Augment 的参数 {name!r} 必须是 [0, 1] 之间的概率，实际为 {v!r}。",
                )
        for name in ("rotate", "shift", "scale", "brightness", "contrast"):
            v = getattr(self, name)
            if v < 0:
                raise ConfigError(
                    f"The {name!r} parameter of Augment must be >= 0. Got {v!r} instead.",
                    f"Augment 的参数 {name!r} 必须 >= 0，实际为 {v!r}。",
                )

    def to_dict(self) -> dict:
        """The parameters as a plain mapping (for the audit log)."""
        return asdict(self)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return an augmented copy of one image ``x`` (``(c, h, w)``, float)."""
        return self.batch(x.unsqueeze(0)).squeeze(0)

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        """Augment a batch ``(b, c, h, w)``: independent random parameters per image."""
        b = x.shape[0]
        u = lambda: torch.rand(b) * 2 - 1  # noqa: E731 - uniform in [-1, 1] per image
        if self.hflip:
            flip = torch.rand(b) < self.hflip
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if self.vflip:
            flip = torch.rand(b) < self.vflip
            x = torch.where(flip[:, None, None, None], x.flip(-2), x)
        if self.rotate or self.shift or self.scale:
            angle = u() * math.radians(self.rotate)
            zoom = 1.0 + u() * self.scale
            shift = torch.stack([u(), u()], dim=1) * self.shift * 2  # grid units span 2 per side
            cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
            theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
            grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)  # (b, h, w, 2)
            # Border padding: ultrasound / X-ray borders extend more naturally than a black frame.
            x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
        if self.contrast or self.brightness:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            c = (1.0 + u() * self.contrast).view(b, 1, 1, 1)
            bright = (u() * self.brightness).view(b, 1, 1, 1)
            x = (x - mean) * c + mean + bright
        return x
