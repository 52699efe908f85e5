"""Energy and CO₂ of a run (``energy.json``), measured with CodeCarbon offline.

CodeCarbon's offline tracker uses the country's grid carbon intensity (China: its bundled
``global_energy_mix`` figure) and reads CPU power from Intel RAPL when the machine exposes it.
Without RAPL (most VMs and containers) it *estimates* CPU power from CPU load and a TDP, and RAM
power from memory size; ``energy.json`` then says ``power_is_estimate: true`` and why.

If CodeCarbon cannot run at all, :class:`EnergyMeter` falls back to a stated estimate: the
process's CPU seconds × :data:`FALLBACK_WATTS_PER_CORE`, again flagged as an estimate. It never
reports a silent zero.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["EnergyMeter", "FALLBACK_WATTS_PER_CORE", "CHN_GRID_G_PER_KWH", "ENERGY_FILE"]

logger = logging.getLogger(__name__)

ENERGY_FILE = "energy.json"
#: Watts per fully busy CPU core used by the fallback estimate: CodeCarbon's generic CPU TDP
#: (85 W) spread over 8 cores, rounded up. A stated assumption, not a measurement.
FALLBACK_WATTS_PER_CORE = 10.0
#: China's grid carbon intensity in g CO₂e/kWh as bundled with CodeCarbon 3.x
#: (``global_energy_mix.json``, year 2023). Used only when CodeCarbon's own data cannot be read.
CHN_GRID_G_PER_KWH = 582.317

#: CodeCarbon CPU modes that read measured power (everything else is a model of power).
_MEASURED_CPU_MODES = {"intel_rapl", "intel_power_gadget", "apple_powermetrics", "windows_emi"}

_NOTES = {
    "cpu_load": {
        "en": "No hardware power counter (Intel RAPL) is readable on this machine, so CodeCarbon "
        "estimated CPU power from this process's CPU load and a {generic}TDP of {tdp} W "
        "for '{model}', and RAM power from memory in use. Energy and CO₂ are estimates.",
        "zh": "本机无法读取硬件功耗计数器（Intel RAPL），CodeCarbon 按本进程的 CPU 负载和"
        "'{model}' 的 {tdp} W {generic_zh}TDP 估算 CPU 功耗，按占用内存估算内存功耗。"
        "能耗和 CO₂ 均为估算值。",
    },
    "ram": {
        "en": "CPU power was measured ({mode}); RAM power is CodeCarbon's estimate from memory "
        "in use.",
        "zh": "CPU 功耗为实测（{mode}）；内存功耗是 CodeCarbon 按占用内存估算的。",
    },
    "fallback": {
        "en": "CodeCarbon could not measure this run ({error}); energy is estimated as the "
        "process's CPU time × {w} W per busy core (a stated assumption), RAM is not counted, "
        "and CO₂ uses {grid} g/kWh for {country}.",
        "zh": "CodeCarbon 无法测量本次运行（{error}）；能耗按本进程的 CPU 时间 × 每个满载核心 "
        "{w} W（设定的假设）估算，未计内存，CO₂ 按 {country} 电网 {grid} g/kWh 计算。",
    },
}


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _codecarbon_version() -> str | None:
    try:
        return metadata.version("codecarbon")
    except metadata.PackageNotFoundError:
        return None


class EnergyMeter:
    """Measure a block's energy and CO₂ with CodeCarbon (offline), as a context manager.

    Parameters
    ----------
    country_iso_code : str, default "CHN"
        3-letter ISO code of the grid the machine draws from.
    output_dir : Path, optional
        When given, ``energy.json`` is written there on exit. CodeCarbon's own files (none are
        expected with ``save_to_file=False``) go to a temporary directory, never the CWD.

    Examples
    --------
    >>> with EnergyMeter(output_dir=run_dir) as meter:          # doctest: +SKIP
    ...     train()
    >>> meter.result()["energy_kwh"]                            # doctest: +SKIP
    """

    def __init__(self, *, country_iso_code: str = "CHN", output_dir: Path | None = None):
        self.country_iso_code = country_iso_code
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self._result: dict[str, Any] | None = None

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> EnergyMeter:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.output_dir is not None:
            self.write(self.output_dir / ENERGY_FILE)

    def start(self) -> None:
        """Start measuring."""
        self._result = None
        self._tmp = tempfile.TemporaryDirectory(prefix="bentu-codecarbon-")
        self._t0, self._cpu0 = time.perf_counter(), _cpu_seconds()
        self._tracker, self._error = None, None
        try:
            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code,
                save_to_file=False,
                log_level="error",
                output_dir=self._tmp.name,
                tracking_mode="process",
                allow_multiple_runs=True,  # no global lock file; other runs may measure too
                measure_power_secs=1,
            )
            self._tracker.start()
        except Exception as err:  # noqa: BLE001 - any tracker failure → documented fallback
            self._tracker, self._error = None, f"{type(err).__name__}: {err}"

    def stop(self) -> dict[str, Any]:
        """Stop measuring and return :meth:`result`."""
        duration = time.perf_counter() - self._t0
        cpu_s = _cpu_seconds() - self._cpu0
        data = None
        if self._tracker is not None:
            try:
                self._tracker.stop()
                data = getattr(self._tracker, "final_emissions_data", None)
            except Exception as err:  # noqa: BLE001
                self._error = f"{type(err).__name__}: {err}"
        if data is None or not data.energy_consumed or data.energy_consumed <= 0:
            self._error = self._error or "no emissions data returned"
            self._result = self._fallback(duration, cpu_s)
        else:
            self._result = self._from_codecarbon(data, duration, cpu_s)
        self._tmp.cleanup()
        return self._result

    def result(self) -> dict[str, Any]:
        """Return the ``energy.json`` record of the last measurement.

        Keys: ``duration_s``, ``cpu_time_s``, ``energy_kwh``, ``cpu_energy_kwh``,
        ``ram_energy_kwh``, ``gpu_energy_kwh``, ``co2_kg``, ``grid_intensity_g_per_kwh``,
        ``country_iso_code``, ``country``, ``method`` (``"codecarbon"`` or
        ``"cpu_time_estimate"``), ``cpu_power_mode``, ``power_is_estimate``,
        ``estimate_note`` (``{"zh", "en"}`` or None), ``codecarbon_version``.
        """
        if self._result is None:
            raise RuntimeError("EnergyMeter.result() called before the meter was stopped")
        return dict(self._result)

    def write(self, path: Path) -> Path:
        """Write :meth:`result` as JSON to ``path`` and return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.result(), ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    # ----------------------------------------------------------------------- records
    def _from_codecarbon(self, data, duration: float, cpu_s: float) -> dict[str, Any]:
        cpu = next((h for h in self._tracker._hardware if type(h).__name__ == "CPU"), None)
        mode = getattr(cpu, "_mode", None) or "unknown"
        energy = float(data.energy_consumed)
        record = {
            "duration_s": duration,
            "cpu_time_s": cpu_s,
            "energy_kwh": energy,
            "cpu_energy_kwh": float(data.cpu_energy),
            "ram_energy_kwh": float(data.ram_energy),
            "gpu_energy_kwh": float(data.gpu_energy),
            "co2_kg": float(data.emissions),
            "grid_intensity_g_per_kwh": 1000.0 * float(data.emissions) / energy,
            "country_iso_code": data.country_iso_code,
            "country": data.country_name,
            "method": "codecarbon",
            "tracking_mode": data.tracking_mode,
            "cpu_model": data.cpu_model,
            "cpu_power_mode": mode,
            "cpu_tdp_w": getattr(cpu, "_tdp", None),
            "power_is_estimate": True,
            "estimate_note": None,
            "codecarbon_version": data.codecarbon_version,
        }
        if mode in _MEASURED_CPU_MODES:
            note = {k: v.format(mode=mode) for k, v in _NOTES["ram"].items()}
        else:
            generic = bool(getattr(cpu, "_is_generic_tdp", False))
            kw = {
                "tdp": getattr(cpu, "_tdp", "?"), "model": data.cpu_model,
                "generic": "generic " if generic else "", "generic_zh": "通用" if generic else "",
            }
            note = {k: v.format(**kw) for k, v in _NOTES["cpu_load"].items()}
        record["estimate_note"] = note  # RAM power is modelled in every CodeCarbon mode
        return record

    def _fallback(self, duration: float, cpu_s: float) -> dict[str, Any]:
        grid, country = self._grid_intensity()
        # at least one core-second per wall second is not assumed; CPU time is what we know
        energy = max(cpu_s, 1e-3) * FALLBACK_WATTS_PER_CORE / 3.6e6
        logger.warning("CodeCarbon unavailable (%s); energy estimated from CPU time", self._error)
        kw = {"error": self._error, "w": FALLBACK_WATTS_PER_CORE, "grid": grid, "country": country}
        return {
            "duration_s": duration,
            "cpu_time_s": cpu_s,
            "energy_kwh": energy,
            "cpu_energy_kwh": energy,
            "ram_energy_kwh": None,
            "gpu_energy_kwh": None,
            "co2_kg": None if grid is None else energy * grid / 1000.0,
            "grid_intensity_g_per_kwh": grid,
            "country_iso_code": self.country_iso_code,
            "country": country,
            "method": "cpu_time_estimate",
            "watts_per_core": FALLBACK_WATTS_PER_CORE,
            "cpu_power_mode": None,
            "power_is_estimate": True,
            "estimate_note": {k: v.format(**kw) for k, v in _NOTES["fallback"].items()},
            "codecarbon_version": _codecarbon_version(),
            "error": self._error,
        }

    def _grid_intensity(self) -> tuple[float | None, str]:
        """Grid intensity (g/kWh) and country name from CodeCarbon's data, else the CHN constant."""
        try:
            from codecarbon.input import DataSource

            row = DataSource().get_global_energy_mix_data()[self.country_iso_code]
            return float(row["carbon_intensity"]), str(row["country_name"])
        except Exception:  # noqa: BLE001 - CodeCarbon absent or broken: use the stated constant
            if self.country_iso_code == "CHN":
                return CHN_GRID_G_PER_KWH, "China"
            return None, self.country_iso_code
