"""Energy and CO₂ of a run."""

from bentu.green.energy import EnergyMeter

__all__ = ["EnergyMeter"]
