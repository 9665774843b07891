"""``gait live --source emulated`` and ``gait scan``: the hardware path without hardware.

Emulated sensors (firmware_interface.emulation) advertise on an in-process Bumble radio and are
found, connected, negotiated and streamed through the real transport (bleak's API with the
Bumble backend, `ble.LinkGroup` / `ble.DeviceLink`) into the same sessions and pipeline as real
devices. The command-line tests run ``python -m gait.cli`` as a subprocess.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_interface.files.recording import write_recording
from firmware_interface.protocols import polar_pmd as pmd
from firmware_interface.session import (
    DeviceConfig,
    RawPacket,
    VeritySession,
    make_session,
)
from firmware_interface.sources import explain_radio_error, stream_settings
from gait.core.records import SampleBlock

pytest.importorskip("bumble")

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO))


def gait(*argv: str, timeout: float = 40.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gait.cli", *argv],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=str(REPO),
        timeout=timeout,
    )


def step_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def status_lines(text: str, device: str | None = None) -> list[str]:
    return [
        line for line in text.splitlines() if " status " in line and line.startswith("#") and (device or "") in line
    ]


@pytest.fixture(scope="module")
def csvs(tmp_path_factory, hip_block: SampleBlock, ankle_block: SampleBlock) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("emulated")
    hip = write_recording(
        out / "hip.csv", hip_block.time_s - hip_block.time_s[0], hip_block.acc_mps2, None, {"placement": "waist"}
    )
    ankle = write_recording(
        out / "ankle.csv",
        ankle_block.time_s - ankle_block.time_s[0],
        ankle_block.acc_mps2,
        None,
        {"placement": "foot", "side": "left"},
    )
    return {"hip": hip, "ankle": ankle}


# ----------------------------------------------------------------------------------------------
# gait live --source emulated
# ----------------------------------------------------------------------------------------------
def test_gait_live_emulated_h10_and_foot_pod_end_to_end(csvs):
    # 4 s of wall time, device time 4x faster: 16 s of real running from each recording
    res = gait(
        "live", "--source", "emulated", "--csv", str(csvs["hip"]),
        "--device", "kind=h10,placement=waist",
        "--device", f"kind=openpod,placement=foot,side=left,csv={csvs['ankle']}",
        "--duration", "4", "--speed", "4", "--status-every", "2",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    out = res.stdout
    # both devices were found by scanning, connected and negotiated through the BLE transport
    assert "h10 200 Hz, waist" in out
    assert "openpod 200 Hz, foot left" in out
    assert "control: measurement started" in out  # the PMD START answer went through the session
    assert "# end (end of source)" in out
    lines = step_lines(out)
    assert len(lines) > 30
    devices = {line.split()[1] for line in lines}
    assert len(devices) == 2  # steps from the chest strap and from the foot pod
    final = out.split("# end (")[1]
    finals = status_lines(final)
    assert len(finals) == 2
    for line in finals:
        assert "| bad 0 |" in line and "| gaps 0 (0 missing) |" in line and "| dropped 0 |" in line
    cadences = [float(line.split("cad ")[1].split()[0]) for line in lines if "cad -" not in line]
    assert 140 < np.median(cadences) < 200


SIGINT_RUN = textwrap.dedent(
    """
    import sys
    from gait.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_ctrl_c_on_an_emulated_run_stops_cleanly_and_the_capture_replays_identically(csvs, tmp_path):
    from gait.cli import cmd_replay, parse

    cap = tmp_path / "emulated.gcap"
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_RUN, "live", "--source", "emulated", "--csv", str(csvs["hip"]),
         "--device", "kind=h10,placement=waist", "--speed", "4", "--status-every", "1", "--record", str(cap)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=str(REPO),
    )  # fmt: skip
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if cap.exists() and cap.stat().st_size > 20_000:  # ~4 s of frames at 4x
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "# end (interrupted)" in out
    assert len(step_lines(out)) > 10
    replay = io.StringIO()
    assert cmd_replay(parse("replay", str(cap), "--status-every", "1"), out=replay) == 0
    # the capture holds every packet the live run decoded: the replay prints the same lines
    live_lines = [x for x in out.splitlines() if not x.startswith("# end (")]
    replay_lines = [x for x in replay.getvalue().splitlines() if not x.startswith("# end (")]
    assert live_lines == replay_lines


def test_emulated_source_negotiates_the_settings_asked_for():
    """``--device ...,sample_rate_hz=100,acc_range_g=4`` reaches the link: START asks for 100 Hz / 4 g."""
    from firmware_interface.sources import EmulatedDevice, EmulatedSource

    async def main():
        source = EmulatedSource(
            [EmulatedDevice.parse("kind=h10,placement=chest,sample_rate_hz=100,acc_range_g=4")],
            time_scale=4.0,
            duration_s=0.6,
        )
        await source.prepare()
        emulator = source.emulators[0]
        run = emulator.running[int(pmd.MeasurementType.ACC)]
        link = source.inner.group.links[0]
        got = [p async for p in source.packets()]
        return source, emulator, run, link, got

    source, emulator, run, link, got = asyncio.run(asyncio.wait_for(main(), 20))
    assert (run.rate_hz, run.range) == (100, 4)
    assert link.settings.acc_rate_hz == 100 and link.settings.acc_range_g == 4
    assert source.devices[0].kind == "h10" and source.devices[0].settings["sample_rate_hz"] == 100
    session = make_session(source.devices[0])  # acc_range_g is the link's, not the decoder's
    assert session.sample_rate_hz == 100
    assert any(p.channel == pmd.PMD_DATA_UUID for p in got)
    assert not emulator.running  # STOP was sent on the way out


def test_stream_settings_and_transport_only_keys():
    s = stream_settings({"sample_rate_hz": 52.0, "gyro": True, "gyro_rate_hz": 52, "sdk_mode": True, "factor": 1.0})
    assert (s.acc_rate_hz, s.gyro, s.gyr_rate_hz, s.sdk_mode) == (52, True, 52, True)
    assert stream_settings({}).acc_rate_hz is None and stream_settings({}).set_time is True
    # a decoder gets only what it takes; a typo is still an error
    assert make_session(DeviceConfig("o", "openpod", settings={"gyro": False, "acc_range_g": 8}))
    with pytest.raises(ValueError, match="bad settings"):
        make_session(DeviceConfig("o", "openpod", settings={"sample_rate": 200}))


def test_verity_gyro_frame_before_the_first_acc_frame_is_kept():
    rate = 52.0
    per = 13
    t0 = 600_000_000_000_000_000

    def last_ns(k: int) -> int:
        return t0 + int(round(((k + 1) * per - 1) * 1e9 / rate))

    def gyro(k: int) -> RawPacket:
        gyr = np.arange(k * per, (k + 1) * per)[:, None] * np.array([1, 2, 3])
        frame = pmd.encode_data_frame(pmd.MeasurementType.GYRO, 0x00, last_ns(k), gyr)
        return RawPacket(1_000_000_000 + k * 300_000_000, "v", pmd.PMD_DATA_UUID, frame)

    def acc(k: int) -> RawPacket:
        frame = pmd.encode_data_frame(pmd.MeasurementType.ACC, 0x01, last_ns(k), np.tile([0, 0, 1000], (per, 1)))
        return RawPacket(1_000_000_000 + k * 300_000_000 + 1, "v", pmd.PMD_DATA_UUID, frame)

    s = VeritySession("v", sample_rate_hz=rate)
    out = []
    out += s.feed(gyro(0))  # the gyro stream started first
    out += s.feed(gyro(1))
    for k in range(4):
        out += s.feed(acc(k))
        if k >= 2:
            out += s.feed(gyro(k))
    out += s.flush()
    blocks = [r for r in out if isinstance(r, SampleBlock)]
    gyr = np.concatenate([b.gyr_dps for b in blocks])
    assert len(gyr) == 4 * per
    assert np.isfinite(gyr).all()  # the first acc samples have their gyro (it used to be NaN: dropped)
    np.testing.assert_allclose(gyr[:, 0], np.arange(4 * per), atol=1e-6)


# ----------------------------------------------------------------------------------------------
# gait scan
# ----------------------------------------------------------------------------------------------
def scan(*argv: str) -> subprocess.CompletedProcess:
    """``gait scan ...`` through the command line."""
    return gait("scan", *argv)


def test_gait_scan_emulated_lists_the_five_devices():
    res = scan("--emulated")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len([x for x in lines[1:] if not x.startswith("#")]) == 5
    assert lines[0].split() == ["NAME", "ADDRESS", "KIND", "MEASURES", "WEAR", "ON", "RSSI"]
    body = "\n".join(lines[1:])
    for name, kind, wear in (
        ("Polar H10 0A1B2C3D", " h10 ", "chest"),
        ("Polar Sense 5E6F7A8B", " verity ", "waist, sacrum, foot, wrist"),
        ("RunPod 4C5D", " rsc ", "foot"),
        ("openpod-7E21-L", "openpod", "foot (left)"),
        ("MetaWear 3C1A", " metawear ", "foot, sacrum"),
    ):
        line = next(x for x in lines if x.startswith(name))
        assert kind in line and wear in line, line
    assert "speed+cadence" in body and "acc, gyro" in body
    assert "# 5 supported devices found (emulated" in body


def _bluetooth_present() -> bool:
    if not sys.platform.startswith("linux"):
        return True  # another platform's stack: cannot tell, do not assert
    return any(Path("/sys/class/bluetooth").glob("hci*"))


def test_without_a_radio_scan_and_live_say_what_is_missing_in_one_line():
    if _bluetooth_present():
        pytest.skip("a Bluetooth adapter is present")
    for res in (scan(), gait("live", "--duration", "1")):
        assert res.returncode == 2, res.stderr
        err = res.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("gait: error: "), res.stderr
        assert "Traceback" not in res.stderr
        assert any(w in err[0] for w in ("D-Bus", "BlueZ", "adapter", "Bluetooth")), err[0]


def test_radio_errors_are_explained():
    from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakError

    no_adapter = BleakBluetoothNotAvailableError(
        "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
    )
    assert "no Bluetooth adapter" in explain_radio_error(no_adapter)
    off = BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF)
    assert "powered off" in explain_radio_error(off, hint="")
    if sys.platform.startswith("linux"):
        assert "D-Bus" in explain_radio_error(FileNotFoundError(2, "No such file or directory"))
    assert explain_radio_error(BleakError("Device disconnected")) is None
    assert explain_radio_error(ValueError("x")) is None


# ----------------------------------------------------------------------------------------------
# the latency benchmark (a short smoke run; the figures come from `gait bench-ble`)
# ----------------------------------------------------------------------------------------------
def test_ble_latency_bench_measures_every_stage():
    from gait.bench.ble_latency import format_report, measure

    rep = measure(4.0)
    assert rep["packets"] >= 15 and rep["steps"] >= 1 and rep["malformed"] == 0
    for key in ("notify_to_queue", "queue_wait", "decode_pipeline_per_packet"):
        assert rep[key]["n"] == rep["packets"] or key == "notify_to_queue"
        assert 0 <= rep[key]["p50_ms"] <= rep[key]["p99_ms"] < 1000
    assert rep["notify_to_queue"]["n"] >= rep["packets"] - 1
    assert rep["notify_to_step"]["n"] >= 1 and 0 < rep["notify_to_step"]["p50_ms"] < 1000
    assert "notify -> StepMetrics out" in format_report(rep)
