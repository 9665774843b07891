"""Live runs write as they go (issue 4): a replayed real run is stored, coached and sent on.

A real recording (the adept outdoor run's hip accelerometer, data/adept-outdoor-run) is played
through ``gait live --source csv --record`` into a capture; the capture is replayed through the
same engine with a temporary local store, a coach config that makes a cue fire within seconds,
and silent cues. The store must hold the run exactly as printed; InfluxDB (a real
VictoriaMetrics on loopback, tests/vm_server.py) must receive the same steps; a wrong URL must
cost one line on the screen and nothing else; a pain score mid-run must stop the coach.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_interface.capture import CaptureReader
from firmware_interface.files.adept import read_adept
from gait.cli import cmd_live as run_live
from gait.cli import cmd_replay as run_replay
from gait.cli import parse
from gait.coach import RunContext, coach_run, load_config
from gait.core.records import ALERT_CUE, ALERT_SILENT, ALERT_STOP, Alert, PainNote
from gait.engine.driver import PainKeys, run_source
from gait.engine.engine import RunEngine
from gait.engine.setup import RunOptions, open_engine
from gait.storage import Store
from gait.storage.influx import RunTags
from tests.conftest import adept_run_path

pytest_plugins = ["tests.vm_server"]  # fixtures vm_server, vm_factory (as in tests/test_influx.py)

REPO = Path(__file__).resolve().parents[1]
START_S, SECONDS = 120.0, 40.0  # 40 s of steady running, 20 min into the recording

# A coach that speaks early on this run: no quiet start, the focus fixed on bounce, and a band the
# hip's ~9 cm of vertical oscillation is always above.
COACH_TOML = """
[coach.feedback]
start_s = 0.0
cooldown_s = 5.0
[coach.focus]
rules = ["bounce"]
[coach.rules.bounce]
above = 1.0
above_exit = 0.5
window_steps = 10
min_steps = 5
min_duration_s = 2.0
repeat_s = 10.0
"""
STEP_RE = re.compile(r"^\s*(?P<t>\d+\.\d{3}) (?P<dev>\S+) +\S+ +cad (?P<cad>\S+)  gct (?P<gct>\S+?)(ms)?  ")


# ----------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> dict[str, Path]:
    """A CSV of the real hip recording, its live-recorded capture, and the coach config."""
    folder = tmp_path_factory.mktemp("live-outputs")
    hip = read_adept(adept_run_path())["left_hip"]
    m = (hip.time_s >= START_S) & (hip.time_s < START_S + SECONDS)
    lines = ["# placement: waist", "time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2"]
    for t, a in zip(hip.time_s[m] - START_S, hip.acc_mps2[m], strict=True):
        lines.append(f"{t:.4f},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}")
    csv = folder / "hip.csv"
    csv.write_text("\n".join(lines) + "\n")
    coach = folder / "coach.toml"
    coach.write_text(COACH_TOML)
    cap = folder / "hip.gcap"
    args = live_args("--source", "csv", "--csv", str(csv), "--speed", "max", "--record", str(cap), "--no-store")
    assert run_live(args, out=io.StringIO()) == 0
    return {"csv": csv, "capture": cap, "coach": coach}


@pytest.fixture(autouse=True)
def no_influx_from_the_environment(monkeypatch):
    for var in [v for v in os.environ if v.startswith("INFLUXDB_V2_")]:
        monkeypatch.delenv(var)


def live_args(*argv: str) -> argparse.Namespace:
    return parse("live", *argv)


def replay_args(*argv: str) -> argparse.Namespace:
    return parse("replay", *argv)


def printed_steps(text: str) -> list[re.Match]:
    rows = [STEP_RE.match(line) for line in text.splitlines() if not line.startswith("#")]
    assert all(rows)
    return rows  # type: ignore[return-value]


def coached(rec: dict[str, Path], data_dir: Path, *extra: str) -> list[str]:
    return ["--data-dir", str(data_dir), "--coach-config", str(rec["coach"]), "--cues", "silent", *extra]


# ----------------------------------------------------------------------------------------------
# the local store and the coach
# ----------------------------------------------------------------------------------------------
def test_live_and_replay_are_stored_as_printed_with_the_coach_alerts(recording, tmp_path, capsys):
    data = tmp_path / "store"
    cap = tmp_path / "live.gcap"
    live_out, replay_out = io.StringIO(), io.StringIO()
    argv = coached(recording, data, "--pain-before", "2", "--pain-after", "3", "--runner", "ana")
    assert run_live(live_args("--source", "csv", "--csv", str(recording["csv"]), "--speed", "max",
                              "--record", str(cap), *argv), out=live_out) == 0  # fmt: skip
    assert run_replay(replay_args(str(cap), *argv), out=replay_out) == 0
    assert "stored in" in capsys.readouterr().err
    text = live_out.getvalue()
    assert text == replay_out.getvalue()  # live == replay, byte for byte, banners included
    rows = printed_steps(text)
    assert len(rows) > 90  # 40 s of running at ~170 spm
    banners = [line for line in text.splitlines() if line.startswith("#>> ")]
    assert banners and all("BOUNCE" in b for b in banners)

    config = load_config("default", recording["coach"])
    with Store(data) as store:
        assert sorted(store.run_ids()) == [1, 2]
        for run_id in (1, 2):
            info = store.run(run_id)
            assert info.status == "closed" and info.end_time is not None
            assert info.placement == "waist" and info.runner == "ana"
            assert [d["id"] for d in info.devices] == ["csv-pod"] and info.devices[0]["kind"] == "openpod"
            assert info.config().placement == "waist"
            cols = store.steps(run_id)
            # exactly the steps printed: same count, same times (common clock), same numbers
            assert len(cols) == len(rows)
            assert [f"{t:.3f}" for t in cols.ic_s] == [r["t"] for r in rows]
            assert [f"{c:.0f}" for c in cols.cadence_spm] == [r["cad"] for r in rows]
            assert [f"{g:.0f}" for g in cols.gct_ms] == [r["gct"] for r in rows]
            assert set(cols.device) == {"csv-pod"}
            # the coach's alerts, stored at the time the coach raised them: the stored steps
            # coached offline give the very same alerts at the very same times
            stored = store.alerts(run_id)
            offline, _ = coach_run(cols.to_records(), config, RunContext(placement="waist"), pain=[(0.0, 2, "before")])
            assert [(a.time_s, a.rule, a.kind, a.message) for a in stored] == [
                (a.time_s, a.rule, a.kind, a.message) for a in offline
            ]
            cues = [a for a in stored if a.kind == ALERT_CUE]
            assert len(cues) == len(banners)
            first = cues[0]
            # after min_steps usable steps and min_duration_s off target, within one step of it
            assert cols.ic_s[0] + 2.0 < first.time_s < cols.ic_s[0] + 15.0
            assert np.isclose(cols.emitted_s, first.time_s, rtol=0, atol=1e-9).any()  # a step's emission time
            assert banners[0].startswith(f"#>> [0:{int(first.time_s):02d}] BOUNCE")
            pains = store.pain_notes(run_id)
            assert [(p.phase, p.score) for p in pains] == [("before", 2), ("after", 3)]
            assert pains[0].time_s == 0.0 and pains[1].time_s >= cols.to_s[-1]
            summary = store.summary(run_id)
            assert summary.steps == len(rows) and summary.pain_before == 2 and summary.pain_after == 3
        # the live run references the capture it wrote (final size and checksum), the replay the one it read
        for run_id in (1, 2):
            (ref,) = store.raw_files(run_id)
            assert ref.path == cap.resolve() and ref.size_bytes == cap.stat().st_size and ref.sha256
        assert store.run(1).start_time == store.run(2).start_time  # the capture's wall-clock start


def test_pain_mid_run_stops_the_coach_and_is_stored(recording, tmp_path):
    reader = CaptureReader(recording["capture"])
    from firmware_interface.session import DeviceConfig

    devices = [DeviceConfig.from_dict(d) for d in reader.metadata["devices"]]
    options = RunOptions(data_dir=str(tmp_path), coach_config=str(recording["coach"]), cues="silent",
                         placement="waist", status_every_s=None)  # fmt: skip
    out = io.StringIO()
    engine = open_engine(options, devices=devices, out=out)
    said: list = []
    for packet in reader.packets():
        engine.feed(packet)
        if engine.summary.steps >= 60 and not said:
            said = engine.pain(7)  # the runner presses 7
    summary = engine.finish()
    run_id = summary.run_id
    assert summary.status == "closed" and run_id is not None
    note, stop = said
    assert isinstance(note, PainNote) and note.score == 7 and note.phase == "during"
    assert isinstance(stop, Alert) and stop.kind == ALERT_STOP and stop.time_s == note.time_s > 0
    text = out.getvalue()
    assert "!! PAIN  Stop and walk: pain 7/10" in text
    with Store(tmp_path) as store:
        alerts = store.alerts(run_id)
        stops = [a for a in alerts if a.kind == ALERT_STOP]
        assert stops and stops[0].time_s == stop.time_s and stops[0].message == stop.message
        # the stop overrides every other cue: after it the coach only records, silently
        assert all(a.kind in (ALERT_SILENT, ALERT_STOP) for a in alerts if a.time_s > stop.time_s)
        assert any(a.kind == ALERT_CUE for a in alerts if a.time_s < stop.time_s)
        assert [(p.score, p.phase, p.time_s) for p in store.pain_notes(run_id)] == [(7, "during", note.time_s)]
        assert store.summary(run_id).pain_during_max == 7


def test_no_store_and_coach_off_leave_the_display_as_before(recording, tmp_path):
    plain, stored = io.StringIO(), io.StringIO()
    assert run_replay(replay_args(str(recording["capture"]), "--no-store", "--coach", "off"), out=plain) == 0
    assert run_replay(replay_args(str(recording["capture"]), "--data-dir", str(tmp_path)), out=stored) == 0
    assert plain.getvalue() == stored.getvalue()  # the default coach is quiet for 3 minutes
    assert "#>>" not in plain.getvalue()
    with Store(tmp_path) as store:
        assert len(store.run_ids()) == 1


def test_bus_gets_steps_alerts_health_and_pain_from_another_thread(recording, tmp_path):
    bus_mod = pytest.importorskip("dashboards.bus")
    bus = bus_mod.LiveBus()
    out = io.StringIO()
    args = replay_args(str(recording["capture"]), *coached(recording, tmp_path))
    assert run_replay(args, out=out, bus=bus) == 0
    steps = printed_steps(out.getvalue())
    assert bus.stats.steps == len(steps) and bus.stats.alerts >= 1
    snap = bus.snapshot()
    assert snap["active"] is False and snap["ended_reason"] == "end of source" and snap["run_id"] == 1
    assert snap["health"]["csv-pod"]["received"] > 0

    # the dashboard's pain button: the server thread calls the bus, the coach runs on the loop
    reader = CaptureReader(recording["capture"])
    from firmware_interface.session import DeviceConfig

    devices = [DeviceConfig.from_dict(d) for d in reader.metadata["devices"]]
    live_bus = bus_mod.LiveBus()
    engine = open_engine(RunOptions(data_dir=str(tmp_path), cues="silent"), devices=devices, out=io.StringIO(),
                         bus=live_bus)  # fmt: skip
    packets = list(reader.packets())

    class Source:
        kind = "test"

        def __init__(self):
            self.stopped = False

        def __aiter__(self):
            return self.gen()

        async def gen(self):
            for i, p in enumerate(packets):
                if i == 200:
                    result: dict = {}
                    caller = threading.Thread(target=lambda r=result: r.update(r=live_bus.pain(6)))
                    caller.start()
                    while caller.is_alive():
                        await asyncio.sleep(0.01)  # the loop runs the check-in meanwhile
                    self.pain = result["r"]
                yield p

        def stop(self):
            self.stopped = True

        async def aclose(self):
            pass

    source = Source()
    asyncio.run(run_source(source, engine, handle_sigint=False))
    kinds = [type(r).__name__ for r in source.pain]
    assert kinds == ["PainNote", "Alert"] and source.pain[1].kind == ALERT_STOP
    assert engine.summary.status == "closed"


def test_digit_keys_on_a_terminal_are_pain_scores_and_the_terminal_is_restored(recording, tmp_path):
    termios = pytest.importorskip("termios")
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        engine = RunEngine([])

        async def main() -> list[int]:
            keys = PainKeys(asyncio.get_running_loop(), engine, stream=open(slave, closefd=False))  # noqa: SIM115
            assert keys.start()
            assert not termios.tcgetattr(slave)[3] & termios.ICANON  # cbreak: one key at a time
            os.write(master, b"3x8")
            for _ in range(100):
                await asyncio.sleep(0.01)
                if len(keys.scores) == 2:
                    break
            keys.stop()
            return keys.scores

        assert asyncio.run(main()) == [3, 8]
        assert [(p.score, p.phase) for p in engine.summary.pain_notes] == [(3, "during"), (8, "during")]
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


# ----------------------------------------------------------------------------------------------
# InfluxDB
# ----------------------------------------------------------------------------------------------
def test_steps_arrive_in_influxdb(recording, tmp_path, monkeypatch, vm_server):
    monkeypatch.setenv("INFLUXDB_V2_URL", vm_server.url)
    monkeypatch.setenv("INFLUXDB_V2_ORG", "club")
    monkeypatch.setenv("INFLUXDB_V2_TOKEN", "t0ken")
    monkeypatch.setenv("INFLUXDB_V2_BUCKET", "gait")
    out = io.StringIO()
    args = replay_args(str(recording["capture"]), *coached(recording, tmp_path), "--status-every", "10")
    assert run_replay(args, out=out) == 0
    text = out.getvalue()
    assert "status InfluxDB" in text and "not reachable" not in text
    with Store(tmp_path) as store:
        (run_id,) = store.run_ids()
        n_steps = len(store.steps(run_id))
        n_alerts = len(store.alerts(run_id))
        label = RunTags.from_run_info(store.run(run_id)).run
    assert (tmp_path / "influx-outbox.sqlite").exists()  # the outbox lives next to the store
    # a replay at full speed stamps the steps up to 40 s after the capture's start: in the future
    assert count_samples(vm_server, f'{{__name__="gait_step_quality",run="{label}"}}', n_steps) == n_steps
    assert n_steps == len(printed_steps(text))
    assert count_samples(vm_server, f'{{__name__="gait_alert_kind_code",run="{label}"}}', n_alerts) == n_alerts


def count_samples(vm, match: str, expected: int, timeout_s: float = 15.0) -> int:
    """Samples matching ``match``, future timestamps included (the export stops at 'now' by default)."""
    deadline = time.monotonic() + timeout_s
    n = 0
    while time.monotonic() < deadline:
        vm.force_flush()
        body = vm._get("/api/v1/export", {"match[]": match, "end": str(int(time.time()) + 86_400)}).decode()
        n = sum(len(json.loads(line)["timestamps"]) for line in body.splitlines() if line.strip())
        if n >= expected:
            break
        time.sleep(0.2)
    return n


@pytest.mark.parametrize("problem", ["url", "token"])
def test_wrong_influxdb_costs_one_line_and_the_run_is_stored(recording, tmp_path, monkeypatch, vm_factory, problem):
    from tests.vm_server import free_port

    if problem == "url":
        monkeypatch.setenv("INFLUXDB_V2_URL", f"http://127.0.0.1:{free_port()}")
    else:
        vm = vm_factory(basic_auth=("gait", "s3cret"))
        monkeypatch.setenv("INFLUXDB_V2_URL", vm.url)
        monkeypatch.setenv("INFLUXDB_V2_AUTH_BASIC", "true")
        monkeypatch.setenv("INFLUXDB_V2_TOKEN", "gait:wrong")
    monkeypatch.setenv("INFLUXDB_V2_ORG", "club")
    out = io.StringIO()
    speed = "max" if problem == "url" else "8"  # 8x: the message comes mid-run, from the status poll
    args = replay_args(str(recording["capture"]), *coached(recording, tmp_path), "--speed", speed)
    assert run_replay(args, out=out) == 0
    text = out.getvalue()
    messages = [line for line in text.splitlines() if "InfluxDB" in line and " status " not in line]
    assert len(messages) == 1, messages
    assert ("not reachable" in messages[0]) if problem == "url" else ("token" in messages[0].lower())
    assert "stored locally" in messages[0]
    with Store(tmp_path) as store:
        (run_id,) = store.run_ids()
        assert store.run(run_id).status == "closed"
        assert len(store.steps(run_id)) == len(printed_steps(text)) > 90
        assert store.alerts(run_id)
