"""Capture files (round trip, torn tails, corruption, SIGKILL mid-write, append) and the live
path: a run recorded while live prints exactly what its replay prints."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_interface.capture import (
    MAGIC,
    CaptureError,
    CaptureReader,
    CaptureWriter,
    read_capture,
)
from firmware_interface.session import RawPacket
from gait.cli import cmd_live as run_live
from gait.cli import cmd_replay as run_replay
from gait.cli import parse

REPO = Path(__file__).resolve().parents[1]


def packets(n: int, devices=("A", "B")) -> list[RawPacket]:
    out = []
    for i in range(n):
        dev = devices[i % len(devices)]
        out.append(RawPacket(1_000_000 + i * 1000, dev, f"chan-{dev}", bytes([i % 256]) * (1 + i % 40)))
    return out


def write(path: Path, pkts: list[RawPacket], close: bool = True, **kw) -> CaptureWriter:
    w = CaptureWriter(path, {"devices": [], "note": "test"}, **kw)
    for p in pkts:
        w.write(p)
    if close:
        w.close({"packets": len(pkts)})
    return w


# ----------------------------------------------------------------------------------------------
# format
# ----------------------------------------------------------------------------------------------
def test_round_trip(tmp_path):
    path = tmp_path / "a.gcap"
    pkts = packets(100)
    w = CaptureWriter(path, {"devices": [{"id": "A"}]})
    for i, p in enumerate(pkts):
        w.write(p)
        if i == 50:
            w.note({"event": "mark"}, p.rx_time_ns)
    w.close({"packets": 100})
    meta, got, reader = read_capture(path)
    assert got == pkts
    assert reader.problem is None and reader.ended and reader.end_summary == {"packets": 100}
    assert meta["format"] == "gait-capture" and meta["version"] == [1, 0] and meta["devices"] == [{"id": "A"}]
    assert meta["software"]["name"] == "gait-form"
    notes = [r for r in CaptureReader(path).records() if not isinstance(r, RawPacket)]
    assert notes[0].data == {"event": "mark"}
    assert path.read_bytes()[:8] == MAGIC


def test_torn_last_record_at_every_cut(tmp_path):
    path = tmp_path / "a.gcap"
    pkts = packets(20)
    write(path, pkts, close=False)
    full = path.read_bytes()
    reader = CaptureReader(path)
    assert list(reader.packets()) == pkts and reader.problem is None and not reader.ended
    last_len = 4 + 11 + len(pkts[-1].payload) + 4  # length, type/stream/time, payload, crc
    for cut in range(1, last_len):
        torn = tmp_path / "torn.gcap"
        torn.write_bytes(full[: len(full) - cut])
        r = CaptureReader(torn)
        assert list(r.packets()) == pkts[:-1], cut
        assert r.problem is not None and r.problem.kind == "torn"
        assert r.good_end == len(full) - last_len


def test_corrupt_middle_record_stops_there_and_says_so(tmp_path):
    path = tmp_path / "a.gcap"
    pkts = packets(30)
    write(path, pkts)
    data = bytearray(path.read_bytes())
    # find the 10th packet's payload byte and flip it
    reader = CaptureReader(path)
    offsets = []
    off = reader._start
    while off < len(data):
        length = int.from_bytes(data[off : off + 4], "little")
        offsets.append(off)
        off += 8 + length
    victim = offsets[12]
    data[victim + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    r = CaptureReader(path)
    got = list(r.packets())
    assert 0 < len(got) < 30 and got == pkts[: len(got)]
    assert r.problem is not None and r.problem.kind == "corrupt" and r.problem.offset == victim


def test_not_a_capture_and_newer_major_version(tmp_path):
    bad = tmp_path / "x.gcap"
    bad.write_bytes(b"time_s,acc_x_mps2\n")
    with pytest.raises(CaptureError, match="not a gait capture"):
        CaptureReader(bad)
    path = tmp_path / "a.gcap"
    write(path, packets(3))
    data = bytearray(path.read_bytes())
    data[8] = 2  # major version 2
    path.write_bytes(bytes(data))
    with pytest.raises(CaptureError, match="version 2"):
        CaptureReader(path)


def test_append_cuts_a_torn_tail_and_continues(tmp_path):
    path = tmp_path / "a.gcap"
    pkts = packets(10)
    write(path, pkts[:6], close=False)
    with open(path, "ab") as fh:
        fh.write(b"\x30\x00\x00\x00\x02\x00")  # a record the writer did not finish
    w = CaptureWriter(path, append=True)
    for p in pkts[6:]:
        w.write(p)
    w.close()
    meta, got, reader = read_capture(path)
    assert got == pkts and reader.problem is None and reader.ended
    assert meta["note"] == "test"


WRITER = textwrap.dedent(
    """
    import sys, time
    from firmware_interface.capture import CaptureWriter
    from firmware_interface.session import RawPacket

    class SlowWriter(CaptureWriter):
        # every record goes out in two write() calls with a pause between: a kill can tear it
        def _write_bytes(self, data):
            half = len(data) // 2
            super()._write_bytes(data[:half])
            time.sleep(0.002)
            super()._write_bytes(data[half:])

    w = SlowWriter(sys.argv[1], {"devices": []}, fsync_every_s=1.0)
    i = 0
    while True:
        w.write(RawPacket(i, "pod", "data", i.to_bytes(4, "little") * 8))
        print(i, flush=True)
        i += 1
    """
)


@pytest.mark.parametrize("after", [5, 40, 200])
def test_sigkill_mid_write_loses_at_most_the_last_packet(tmp_path, after):
    path = tmp_path / "killed.gcap"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=str(REPO)
    )
    last = -1
    assert proc.stdout is not None
    for line in proc.stdout:
        last = int(line)
        if last >= after:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader = CaptureReader(path)
    got = list(reader.packets())
    seqs = [int.from_bytes(p.payload[:4], "little") for p in got]
    assert seqs == list(range(len(seqs)))  # nothing garbled, nothing out of order
    assert last + 1 <= len(seqs) <= last + 2  # every packet whose write returned, maybe the next one
    assert not reader.ended
    assert reader.problem is None or reader.problem.kind == "torn"


# ----------------------------------------------------------------------------------------------
# live == replay
# ----------------------------------------------------------------------------------------------
def csv_recording(path: Path, block) -> Path:
    lines = ["# placement: waist", "time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2"]
    for t, a in zip(block.time_s, block.acc_mps2):
        lines.append(f"{t:.4f},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def live_args(*argv: str) -> argparse.Namespace:
    return parse("live", *argv)


def replay_args(*argv: str) -> argparse.Namespace:
    return parse("replay", *argv)


@pytest.mark.parametrize("impair", [[], ["--loss", "0.03", "--duplicate", "0.03", "--garble", "0.02", "--seed", "3"]])
def test_live_metrics_equal_the_replay_byte_for_byte(tmp_path, hip_block, impair):
    csv = csv_recording(tmp_path / "run.csv", hip_block)
    cap = tmp_path / "run.gcap"
    live_out = io.StringIO()
    rc = run_live(
        live_args("--source", "csv", "--csv", str(csv), "--speed", "max", "--record", str(cap), *impair),
        out=live_out,
    )
    assert rc == 0
    replay_out = io.StringIO()
    assert run_replay(replay_args(str(cap)), out=replay_out) == 0
    live_text, replay_text = live_out.getvalue(), replay_out.getvalue()
    assert live_text == replay_text
    steps = [line for line in live_text.splitlines() if not line.startswith("#")]
    assert len(steps) > 60  # 30 s of running at ~170 spm
    assert "waist" in live_text  # placement taken from the CSV metadata
    meta, pkts, reader = read_capture(cap)
    assert reader.ended and reader.problem is None
    assert meta["devices"][0]["kind"] == "openpod" and meta["devices"][0]["placement"] == "waist"
    if impair:
        assert "gap" in live_text
        assert "| bad 0 |" not in live_text.splitlines()[-1]
    # JSON lines too: the same steps, the same numbers
    j_live, j_replay = io.StringIO(), io.StringIO()
    run_replay(replay_args(str(cap), "--jsonl"), out=j_live)
    run_replay(replay_args(str(cap), "--jsonl"), out=j_replay)
    rows = [json.loads(x) for x in j_live.getvalue().splitlines() if not x.startswith("#")]
    assert len(rows) == len(steps) and j_live.getvalue() == j_replay.getvalue()
    cad = np.median([r["cadence_spm"] for r in rows if r["cadence_spm"]])
    assert 150 < cad < 200


def test_replay_of_a_torn_capture_warns_and_keeps_what_it_has(tmp_path, hip_block, capsys):
    csv = csv_recording(tmp_path / "run.csv", hip_block)
    cap = tmp_path / "run.gcap"
    run_live(live_args("--source", "csv", "--csv", str(csv), "--speed", "max", "--record", str(cap)), out=io.StringIO())
    data = cap.read_bytes()
    cap.write_bytes(data[: len(data) // 2 + 3])
    out = io.StringIO()
    assert run_replay(replay_args(str(cap)), out=out) == 0
    assert "torn record" in capsys.readouterr().err
    assert sum(1 for line in out.getvalue().splitlines() if not line.startswith("#")) > 20


def test_two_simulated_pods_recorded_and_replayed(tmp_path):
    cap = tmp_path / "two.gcap"
    args = live_args(
        "--source", "simulator", "--speed", "max", "--duration", "15", "--record", str(cap),
        "--device", "id=left,kind=openpod,placement=foot,side=left,clock_offset_s=50,clock_drift_ppm=60",
        "--device", "id=right,kind=openpod,placement=foot,side=right,clock_offset_s=7000",
    )  # fmt: skip
    live_out = io.StringIO()
    run_live(args, out=live_out)
    replay_out = io.StringIO()
    run_replay(replay_args(str(cap)), out=replay_out)
    assert live_out.getvalue() == replay_out.getvalue()
    text = live_out.getvalue()
    assert " left " in text and " right " in text
    # step lines are on the common clock: both feet's contacts interleave in time, not 7000 s apart
    times = {"left": [], "right": []}
    for line in text.splitlines():
        if not line.startswith("#"):
            parts = line.split()
            times[parts[1]].append(float(parts[0]))
    assert times["left"] and times["right"]
    assert abs(np.median(times["left"]) - np.median(times["right"])) < 2.0


SIGINT_RUN = textwrap.dedent(
    """
    import sys
    from gait.cli import cmd_live, parse
    sys.exit(cmd_live(parse("live", *sys.argv[1:])))
    """
)


def test_ctrl_c_shuts_down_cleanly_and_closes_the_capture(tmp_path):
    cap = tmp_path / "int.gcap"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_RUN, "--source", "simulator", "--speed", "1", "--duration", "120",
         "--record", str(cap), "--status-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    header = None  # the capture's header (devices, the run's whole configuration) comes first
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if cap.exists():
            header = header or cap.stat().st_size
            if cap.stat().st_size > header + 2000:
                break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "# end (interrupted)" in out
    reader = CaptureReader(cap)
    assert len(list(reader.packets())) > 10
    assert reader.ended and reader.problem is None
    assert reader.end_summary["reason"] == "interrupted"


# ----------------------------------------------------------------------------------------------
# the BLE path: an emulated Polar H10 on a virtual radio (the transport's Bumble emulation)
# ----------------------------------------------------------------------------------------------
def test_emulated_h10_over_ble_recorded_and_replayed(tmp_path, hip_block):
    pytest.importorskip("bumble")
    import asyncio

    from firmware_interface.emulation.backend import BumbleClient, BumbleScanner, EmulatedAir
    from firmware_interface.emulation.peripherals import H10Emulator, motion_from_block
    from firmware_interface.session import DeviceConfig
    from firmware_interface.sources import BleSource
    from gait.engine.driver import run_source
    from gait.engine.engine import RunEngine
    from gait.engine.terminal import TerminalSink

    cap = tmp_path / "h10.gcap"

    async def live() -> str:
        async with EmulatedAir() as air:
            # real running (waist accelerometer) streamed by the H10 emulator, 8x faster than real time
            await H10Emulator(motion=motion_from_block(hip_block), time_scale=8.0).attach(air)
            source = BleSource(
                [DeviceConfig("Polar H10 0A1B2C3D", "auto", "waist")],
                duration_s=3.0,
                scanner_backend=BumbleScanner,
                client_backend=BumbleClient,
            )
            await source.prepare()
            assert [d.kind for d in source.devices] == ["h10"]
            out = io.StringIO()
            recorder = CaptureWriter(cap, {"devices": [d.to_dict() for d in source.devices]})
            engine = RunEngine(source.devices, recorder=recorder, sinks=[TerminalSink(out, status_every_s=1.0)])
            await run_source(source, engine, handle_sigint=False)
            return out.getvalue()

    live_text = asyncio.run(live())
    replay_out = io.StringIO()
    run_replay(replay_args(str(cap), "--status-every", "1"), out=replay_out)
    assert live_text == replay_out.getvalue()
    assert "control: measurement started" in live_text  # the START request/answer are in the capture
    assert "h10 200 Hz, waist" in live_text
    steps = [line for line in live_text.splitlines() if not line.startswith("#")]
    assert len(steps) > 10


# ----------------------------------------------------------------------------------------------
# captures written before one name per device kind
# ----------------------------------------------------------------------------------------------
LEGACY = REPO / "tests" / "fixtures"


def _decoded_digest(path: Path) -> dict:
    """What the sessions make of a capture: sample count, a hash of every sample block (times,
    acc, gyro, flags), the other records and the health counters."""
    import hashlib

    from firmware_interface.session import SessionSet
    from firmware_interface.sources import ReplaySource
    from gait.core.records import SampleBlock

    source = ReplaySource(path)
    sessions = SessionSet(source.devices, auto=False)
    h = hashlib.sha256()
    n, events = 0, []
    for packet in source.reader.packets():
        for _dev, r in sessions.feed(packet):
            if isinstance(r, SampleBlock):
                n += len(r.time_s)
                for a in (r.time_s, r.acc_mps2, r.gyr_dps, r.flags):
                    if a is not None:
                        h.update(np.ascontiguousarray(a).tobytes())
            else:
                events.append(type(r).__name__ + ":" + getattr(r, "kind", ""))
    health = {d: {k: v for k, v in x.to_dict().items() if k != "kind"} for d, x in sessions.health().items()}
    return {"samples": n, "sha256": h.hexdigest(), "events": events, "health": health}


def test_a_capture_with_the_old_kind_names_replays_byte_for_byte(tmp_path):
    """legacy-h10.gcap was written (emulated H10 over BLE, 100 Hz) before a kind had one name:
    its devices say ``polar_h10``. It is read as ``h10`` and decodes to exactly the samples it
    decoded to then (legacy-h10.digest.json, made by that version)."""
    from firmware_interface.capture import LEGACY_KIND_NAMES
    from firmware_interface.devices import registry
    from firmware_interface.sources import ReplaySource

    path = LEGACY / "legacy-h10.gcap"
    header = path.read_bytes()[:2000]
    assert b'"kind":"polar_h10"' in header  # the file itself is untouched
    source = ReplaySource(path)
    assert [d.kind for d in source.devices] == ["h10"]
    assert source.capture_metadata["source"]["devices"][0]["kind"] == "h10"
    assert _decoded_digest(path) == json.loads((LEGACY / "legacy-h10.digest.json").read_text())
    assert set(LEGACY_KIND_NAMES.values()) <= set(registry.kinds())
    assert not set(LEGACY_KIND_NAMES) & set(registry.kinds())
    # and through `gait replay`: the same output as the capture with today's names
    renamed = tmp_path / "renamed.gcap"
    reader = CaptureReader(path)
    writer = CaptureWriter(renamed, {k: v for k, v in reader.metadata.items() if k not in ("format", "version")})
    for p in reader.packets():
        writer.write(p)
    writer.close(reader.end_summary)
    old_out, new_out = io.StringIO(), io.StringIO()
    assert run_replay(replay_args(str(path)), out=old_out) == 0
    assert run_replay(replay_args(str(renamed)), out=new_out) == 0
    assert old_out.getvalue() == new_out.getvalue()
    assert "h10 100 Hz, chest" in old_out.getvalue()
