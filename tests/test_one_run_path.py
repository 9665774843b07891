"""One run path: a live run, its replay, `gait analyze` with the run's exported configuration,
and the demo's stored run all give the same steps (issue 8).

The recording is real (the adept outdoor run's hip accelerometer, tests/conftest.py), written as
a CSV recording whose values already sit on the openpod ±16 g grid, so the pod that plays it
sends exactly those numbers and the offline analysis of the file sees what the live run saw.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from firmware_interface.capture import CaptureReader
from gait.cli import cmd_live, cmd_replay, parse
from gait.core.config import GRAVITY_MPS2
from gait.storage import Store

REPO = Path(__file__).resolve().parents[1]
FULL_SCALE = 32768
RANGE_G = 16
SECONDS = 40.0
METRICS = ("gct_ms", "flight_ms", "cadence_spm", "vo_cm", "vertical_ratio_pct", "lean_deg", "impact_g", "duty_factor")


def on_grid(x: np.ndarray) -> np.ndarray:
    """Values an openpod at ±16 g can send: whole counts times the count's size (as it decodes)."""
    raw = np.clip(np.round(x * (FULL_SCALE / (RANGE_G * GRAVITY_MPS2))), -FULL_SCALE, FULL_SCALE - 1)
    return raw.astype(np.int16).astype(np.float64) * (RANGE_G * GRAVITY_MPS2 / FULL_SCALE)


@pytest.fixture(scope="module")
def recording(hip_block, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("one-path")
    n = int(SECONDS * 100)
    acc = on_grid(hip_block.acc_mps2[:n])
    lines = ["# placement: waist", "time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2"]
    lines += [",".join(repr(float(v)) for v in (k / 100.0, *a)) for k, a in enumerate(acc)]
    path = folder / "hip.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def stored_steps(data_dir: Path, run_id: int) -> list[dict]:
    with Store(data_dir) as store:
        return [s.to_dict() for s in store.steps(run_id).to_records()]


def gait(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gait.cli", *argv], capture_output=True, text=True, cwd=str(REPO),
                          timeout=120)  # fmt: skip


def same_metrics(a: dict, b: dict, keys: tuple[str, ...] = METRICS, abs_tol: float = 1e-9) -> bool:
    for k in keys:
        x, y = a.get(k), b.get(k)
        if (x is None) != (y is None):
            return False
        if x is not None and not math.isclose(x, y, rel_tol=0.0, abs_tol=abs_tol):
            return False
    return a.get("side") == b.get("side") and list(a.get("quality") or []) == list(b.get("quality") or [])


def test_live_replay_with_the_exported_config_and_analyze_give_the_same_steps(recording, tmp_path):
    data = tmp_path / "store"
    cap = tmp_path / "hip.gcap"
    # a parameter that is not the default, so the exported config is what reproduces the run
    cfg = tmp_path / "mine.toml"
    cfg.write_text("[pipeline]\n[pipeline.params.orientation]\ngravity_lp_hz = 0.3\n[coach]\n[coach.feedback]\nstart_s = 0.0\n")
    live_out = io.StringIO()
    argv = ("--source", "csv", "--csv", str(recording), "--speed", "max", "--record", str(cap), "--data-dir", str(data),
            "--config", str(cfg), "--cues", "silent", "--no-keys")  # fmt: skip
    assert cmd_live(parse("live", *argv), out=live_out) == 0
    live = stored_steps(data, 1)
    assert len(live) > 60  # 30 s of running

    # the run's whole configuration, as the TOML --config reads
    res = gait("export", "1", "--format", "config", "--out", str(tmp_path / "cfg"), "--data-dir", str(data))
    assert res.returncode == 0, res.stderr
    exported = Path(res.stdout.strip())
    doc = tomllib.loads(exported.read_text())
    assert doc["pipeline"]["params"]["orientation"]["gravity_lp_hz"] == 0.3
    assert doc["coach"]["feedback"]["start_s"] == 0.0 and doc["pipeline"]["placement"] == "waist"

    # replay with the exported config: a new stored run equal to the first, step for step
    assert cmd_replay(parse("replay", str(cap), "--config", str(exported), "--data-dir", str(data), "--cues", "silent",
                            "--no-keys"), out=io.StringIO()) == 0  # fmt: skip
    assert stored_steps(data, 2) == live
    with Store(data) as store:
        assert [(a.rule, a.kind, a.time_s) for a in store.alerts(1)] == [(a.rule, a.kind, a.time_s) for a in store.alerts(2)]
        assert store.run(2).run_config() == store.run(1).run_config()

    # replay without --config: the configuration the capture was recorded with
    assert cmd_replay(parse("replay", str(cap), "--data-dir", str(data), "--no-keys"), out=io.StringIO()) == 0
    assert stored_steps(data, 3) == live
    # and the defaults instead of it: another run (the parameter matters)
    default_cfg = tmp_path / "default.toml"
    default_cfg.write_text("[pipeline]\n")
    assert cmd_replay(parse("replay", str(cap), "--config", str(default_cfg), "--data-dir", str(data), "--no-keys"),
                      out=io.StringIO()) == 0  # fmt: skip
    assert stored_steps(data, 4) != live

    # gait analyze of the same recording with the exported config: the same steps on the device clock
    res = gait("analyze", str(recording), "--placement", "waist", "--config", str(exported), "--jsonl")
    assert res.returncode == 0, res.stderr
    offline = [json.loads(x) for x in res.stdout.splitlines()]
    device = [json.loads(x) for x in _replay_jsonl(cap, exported)]
    assert len(offline) == len(device) == len(live)
    # the file's rate is estimated from its times, the pod's is its declared 100 Hz: the same contacts,
    # and metrics equal within 0.01 of their unit (VO differs by up to 0.08 mm on a step)
    contract = tuple(k for k in METRICS if k in offline[0])
    differ = [(a, b) for a, b in zip(offline, device, strict=True) if not same_metrics(a, b, contract, abs_tol=0.01)]
    assert not differ, [{k: (a.get(k), b.get(k)) for k in contract if a.get(k) != b.get(k)} for a, b in differ[:3]]
    shift = np.array([b["ic_s"] for b in device]) - np.array([a["ic_s"] for a in offline])
    assert np.ptp(shift) < 1e-6  # one clock offset between the pod's clock and the file's times
    assert all(same_metrics(a, b) for a, b in zip(device, live, strict=True))


def _replay_jsonl(cap: Path, config: Path) -> list[str]:
    out = io.StringIO()
    assert cmd_replay(parse("replay", str(cap), "--config", str(config), "--no-store", "--jsonl", "--coach", "off",
                            "--no-keys"), out=out) == 0  # fmt: skip
    keep = ("ic_s", *METRICS, "side", "quality")
    return [json.dumps({k: v for k, v in json.loads(x).items() if k in keep})
            for x in out.getvalue().splitlines() if not x.startswith("#")]  # fmt: skip


def test_the_demos_stored_run_equals_a_replay_of_its_recording(tmp_path):
    from dashboards.bus import LiveBus
    from gait.dashboard_demo import replay_adept

    data = tmp_path / "demo-store"
    with Store(data) as store:
        bus = LiveBus()
        run_id = replay_adept(store, bus, speed=None, minutes=1.5, start_s=60.0, say=lambda s: None)
        captures = store.raw_files(run_id)
    assert bus.stats.steps > 100
    assert len(captures) == 1
    cap = Path(captures[0].path)
    reader = CaptureReader(cap)
    assert len(list(reader.packets())) > 900 and reader.ended  # 1.5 min of 10-sample packets, closed
    assert cmd_replay(parse("replay", str(cap), "--data-dir", str(data), "--no-keys"), out=io.StringIO()) == 0
    demo, replayed = stored_steps(data, run_id), stored_steps(data, run_id + 1)
    assert len(demo) > 100 and replayed == demo
    with Store(data) as store:
        assert [(a.rule, a.kind, a.time_s) for a in store.alerts(run_id)] == [
            (a.rule, a.kind, a.time_s) for a in store.alerts(run_id + 1)
        ]
        assert store.run(run_id + 1).run_config()["coach"] == store.run(run_id).run_config()["coach"]

