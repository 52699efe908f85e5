"""EnergyMeter measures a workload with CodeCarbon (offline, China grid) and says it estimates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bentu.green import EnergyMeter
from bentu.green.energy import CHN_GRID_G_PER_KWH, FALLBACK_WATTS_PER_CORE


def _work(seconds: float = 1.2) -> int:
    import time

    end, x = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        x += sum(i * i for i in range(2000))
    return x


def test_energy_json_is_written_with_positive_fields(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    with EnergyMeter(country_iso_code="CHN", output_dir=run) as meter:
        _work()
    assert sorted(os.listdir(tmp_path)) == ["run"]  # nothing written into the CWD
    record = json.loads((run / "energy.json").read_text(encoding="utf-8"))
    assert record == meter.result()
    assert record["method"] == "codecarbon"
    for key in ("duration_s", "cpu_time_s", "energy_kwh", "cpu_energy_kwh", "ram_energy_kwh",
                "co2_kg", "grid_intensity_g_per_kwh"):
        assert record[key] > 0, key
    assert record["energy_kwh"] == pytest.approx(
        record["cpu_energy_kwh"] + record["ram_energy_kwh"] + record["gpu_energy_kwh"]
    )
    assert record["duration_s"] >= 1.2
    assert record["country_iso_code"] == "CHN"
    assert record["grid_intensity_g_per_kwh"] == pytest.approx(CHN_GRID_G_PER_KWH, rel=1e-6)
    # this VM exposes no RAPL counter: the power figure is an estimate and says why, in zh and en
    assert record["cpu_power_mode"] != "intel_rapl"
    assert record["power_is_estimate"] is True
    assert "RAPL" in record["estimate_note"]["en"] and "估算" in record["estimate_note"]["zh"]
    assert record["codecarbon_version"]


def test_fallback_when_codecarbon_fails(tmp_path: Path, monkeypatch) -> None:
    import codecarbon

    class Broken:
        def __init__(self, *a, **kw):
            raise OSError("no /proc access")

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", Broken)
    with EnergyMeter() as meter:
        _work(0.5)
    record = meter.result()
    assert record["method"] == "cpu_time_estimate"
    assert record["power_is_estimate"] is True
    assert record["error"] == "OSError: no /proc access"
    assert record["cpu_time_s"] > 0  # shared CPU: wall time is not CPU time
    assert record["energy_kwh"] == pytest.approx(
        record["cpu_time_s"] * FALLBACK_WATTS_PER_CORE / 3.6e6
    )
    assert record["co2_kg"] == pytest.approx(record["energy_kwh"] * CHN_GRID_G_PER_KWH / 1000)
    assert record["ram_energy_kwh"] is None
    assert "10.0 W per busy core" in record["estimate_note"]["en"]
