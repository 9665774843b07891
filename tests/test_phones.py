"""Phones as sensors: phyphox remote access, Sensor Logger HTTP push, both apps' exports.

The network tests run real HTTP over loopback: a fake phyphox phone (tests/phyphox_phone.py, a
real local HTTP server that implements /config, /get and /control the way phyphox-android's
RemoteServer does) and a real POST to our Sensor Logger receiver. Fixture files are in the
apps' formats (see tests/fixtures/phones/make_fixtures.py). The scene everywhere: phone flat,
screen up, turning at 0.5 rad/s about z, a 2 Hz shake of 0.5 m/s^2 along x; in our convention
specific force (a_x, 0, +9.80665) m/s^2 and rate (0, 0, 28.648) deg/s.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from firmware_interface.files.recording import read_recording
from firmware_interface.phones import (
    ExperimentNotRunning,
    MissingSensorStream,
    PhoneConventionError,
    PhoneProtocolError,
    PhoneUnreachable,
    StreamAligner,
)
from firmware_interface.phones.importers import (
    import_phone_export,
    read_phyphox_export,
    read_sensor_logger_export,
)
from firmware_interface.phones.phyphox import PhyphoxClient, parse_config, parse_get
from firmware_interface.phones.sensor_logger import SensorLoggerDecoder, SensorLoggerReceiver
from gait.core.errors import RecordingFormatError
from gait.core.records import SampleBlock, SampleFlag
from tests.phyphox_phone import FIX, FakePhyphox, G, a_x, serve

GYRO_Z_DPS = math.degrees(0.5)


def check_scene(block: SampleBlock, *, t_shift: float = 0.0, tol_acc: float = 0.02, gyro: bool = True) -> None:
    """Specific force (a_x, 0, +g) and gyro (0, 0, 28.65 deg/s) at the block's times."""
    t = block.time_s - t_shift
    assert np.all(np.diff(block.time_s) > 0)
    np.testing.assert_allclose(block.acc_mps2[:, 0], a_x(t), atol=tol_acc)
    np.testing.assert_allclose(block.acc_mps2[:, 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(block.acc_mps2[:, 2], G, atol=1e-3)
    if gyro:
        assert block.gyr_dps is not None
        np.testing.assert_allclose(block.gyr_dps[:, 2], GYRO_Z_DPS, atol=1e-3)
        np.testing.assert_allclose(block.gyr_dps[:, :2], 0.0, atol=1e-6)


def join(blocks: list[SampleBlock]) -> SampleBlock:
    assert blocks, "no blocks"
    whole = SampleBlock.concat(blocks)
    assert whole.index0 == 0
    assert [b.index0 for b in blocks] == list(np.cumsum([0] + [len(b) for b in blocks[:-1]]))
    return whole


# =============================================================================================
# StreamAligner
# =============================================================================================


def _streams(seed: int = 1, duration: float = 3.0):
    rng = np.random.default_rng(seed)
    # sensor clocks tick on a grid; event timestamps jitter around it (as phones deliver them)
    ta = 0.01 + np.arange(int(duration * 100)) / 100.0 + rng.uniform(-0.002, 0.002, int(duration * 100))
    tg = 0.013 + np.arange(int(duration * 95)) / 95.0 + rng.uniform(-0.002, 0.002, int(duration * 95))
    va = np.column_stack([a_x(ta), np.zeros_like(ta), np.full_like(ta, G)])
    vg = np.tile([0.0, 0.0, GYRO_Z_DPS], (tg.size, 1))
    return ta, va, tg, vg


def test_aligner_uniform_clock_and_values():
    ta, va, tg, vg = _streams()
    al = StreamAligner(("acc",), "gyr")
    al.push("acc", ta, va)
    al.push("gyr", tg, vg)
    block = al.flush()
    assert al.rate_hz == 100.0
    assert np.allclose(np.diff(block.time_s), 0.01)
    assert block.time_s[0] == pytest.approx(max(ta[0], tg[0]))
    assert block.time_s[-1] <= min(ta[-1], tg[-1]) + 1e-12
    check_scene(block, tol_acc=0.01)
    assert block.flags is None


@pytest.mark.parametrize("chunk", [1, 7, 50])
def test_aligner_chunk_invariant(chunk):
    ta, va, tg, vg = _streams(seed=2)
    one = StreamAligner(("acc",), "gyr")
    one.push("acc", ta, va)
    one.push("gyr", tg, vg)
    whole = one.flush()
    al = StreamAligner(("acc",), "gyr")
    out = []
    for i in range(0, max(ta.size, tg.size), chunk):
        al.push("acc", ta[i : i + chunk], va[i : i + chunk])
        al.push("gyr", tg[i : i + chunk], vg[i : i + chunk])
        b = al.pop()
        if b is not None:
            out.append(b)
    last = al.flush()
    if last is not None:
        out.append(last)
    assert join(out) == whole


def test_aligner_duplicates_out_of_order_and_late():
    ta, va, tg, vg = _streams(seed=3)
    ref = StreamAligner(("acc",), "gyr")
    ref.push("acc", ta, va)
    ref.push("gyr", tg, vg)
    want = ref.flush()
    al = StreamAligner(("acc",), "gyr")
    perm = np.random.default_rng(0).permutation(ta.size)
    al.push("acc", ta[perm], va[perm])
    al.push("acc", ta[:40], va[:40])  # sent twice
    al.push("gyr", tg[::-1], vg[::-1])
    got = al.flush()
    assert got == want
    assert al.stats()["acc"]["duplicates"] == 40
    al.push("acc", ta[:5], va[:5])  # older than what was emitted: dropped, counted
    assert al.stats()["acc"]["late"] == 5
    assert al.flush() is None


def test_aligner_gap_is_skipped_and_flagged():
    ta, va, tg, vg = _streams(seed=4)
    hole = (ta > 1.0) & (ta < 1.5)
    al = StreamAligner(("acc",), "gyr", max_gap_s=0.1)
    al.push("acc", ta[~hole], va[~hole])
    al.push("gyr", tg, vg)
    b = al.flush()
    dt = np.diff(b.time_s)
    assert dt.max() > 0.4  # the hole is a time jump, not invented samples
    k = int(np.argmax(dt)) + 1
    assert b.flags is not None and b.flags[k] & SampleFlag.AFTER_GAP
    assert int(np.count_nonzero(b.flags)) == 1
    assert np.array_equal(np.arange(len(b)), np.arange(b.index0, b.index0 + len(b)))  # index has no holes


def test_aligner_gyro_that_stops_does_not_hold_back_acc():
    ta, va, tg, vg = _streams(seed=5)
    keep = tg < 1.0
    al = StreamAligner(("acc",), "gyr", max_lag_s=0.5)
    al.push("gyr", tg[keep], vg[keep])
    blocks = []
    for i in range(0, ta.size, 10):
        al.push("acc", ta[i : i + 10], va[i : i + 10])
        b = al.pop()
        if b is not None:
            blocks.append(b)
    b = join(blocks)
    assert b.time_s[-1] > ta[-1] - 0.6  # acceleration kept flowing
    assert np.isnan(b.gyr_dps[b.time_s > 1.01]).all()
    assert np.isfinite(b.gyr_dps[b.time_s < 0.99]).all()


def test_aligner_units_guard_converts_g():
    ta, va, _, _ = _streams(seed=6)
    al = StreamAligner(("acc",), None)
    al.push("acc", ta, va / G)
    b = al.flush()
    check_scene(b, gyro=False, tol_acc=0.01)
    assert any("in g" in w for w in al.warnings)


def test_aligner_missing_stream_is_a_typed_error():
    ta, va, _, _ = _streams(seed=7, duration=5.0)
    al = StreamAligner(("lin", "grav"), None, missing_hints={"grav": "turn on Gravity"})
    al.push("lin", ta, va)
    with pytest.raises(MissingSensorStream, match="turn on Gravity"):
        al.pop()


# =============================================================================================
# phyphox: formats
# =============================================================================================


def test_parse_config_fixture():
    layout = parse_config(json.loads((FIX / "phyphox_config.json").read_text()))
    assert layout.title == "Running IMU"
    assert (layout.acc.x, layout.acc.y, layout.acc.z, layout.acc.t) == ("accX", "accY", "accZ", "acc_time")
    assert layout.gyro.t == "gyr_time" and layout.gyro.values == ("gyrX", "gyrY", "gyrZ")
    assert layout.linear is None and layout.acc_streams() == {"acc": layout.acc}


def test_parse_config_linear_only_is_a_convention_error():
    doc = json.loads((FIX / "phyphox_config.json").read_text())
    doc["inputs"][0]["source"] = "linear_acceleration"
    with pytest.raises(PhoneConventionError, match="Acceleration with g"):
        parse_config(doc).acc_streams()
    doc["inputs"].append({"source": "gravity", "outputs": [{"x": "gx"}, {"y": "gy"}, {"z": "gz"}, {"t": "gt"}]})
    doc["buffers"] += [{"name": n, "size": 0} for n in ("gx", "gy", "gz", "gt")]
    assert set(parse_config(doc).acc_streams()) == {"lin", "grav"}


def test_parse_get_fixture_java_number_format():
    values, modes, status = parse_get(json.loads((FIX / "phyphox_get_partial.json").read_text()))
    assert status.measuring and status.session == "a1b2c3"
    assert modes["acc_time"] == "partial"
    assert values["acc_time"].size == values["accX"].size == 5
    np.testing.assert_allclose(values["accX"], a_x(values["acc_time"]), atol=1e-6)
    np.testing.assert_allclose(values["accZ"], G, atol=1e-6)
    with pytest.raises(PhoneProtocolError):
        parse_get({"status": {}})


# =============================================================================================
# phyphox: a fake phone over loopback
# =============================================================================================


@pytest.fixture
def phone():
    with serve(FakePhyphox()) as fake:
        yield fake


def _poll(client: PhyphoxClient, n: int) -> list[SampleBlock]:
    out = []
    for _ in range(n):
        b = client.poll()
        if b is not None:
            out.append(b)
    return out


def test_phyphox_client_polls_incrementally(phone):
    client = PhyphoxClient(phone.url, backlog=True, timeout_s=2.0)
    blocks = _poll(client, 40)  # 2 s of phone time
    b = join(blocks)
    assert client.layout.title == "Running IMU"
    assert client.aligner.rate_hz == 100.0
    assert np.allclose(np.diff(b.time_s), 0.01)
    check_scene(b, tol_acc=0.01)
    assert b.time_s[-1] > 1.8
    # first /get asks for everything, later ones only after the last time received
    gets = [urllib.parse.parse_qs(urllib.parse.urlsplit(p).query) for p in phone.requests if p.startswith("/get")]
    assert gets[0]["acc_time"] == ["full"]
    assert gets[-1]["acc_time"][0] != "full"
    thr = float(gets[-1]["acc_time"][0])
    assert gets[-1]["accX"] == [f"{gets[-1]['acc_time'][0]}|acc_time"]
    assert 1.8 < thr < 2.0
    # every sample the phone made was used once: nothing repeated, nothing lost
    st = client.aligner.stats()
    assert st["acc"]["duplicates"] == 0 and st["acc"]["late"] == 0
    assert st["acc"]["received"] == len(phone.buffers["acc_time"])
    assert st["gyr"]["received"] == len(phone.buffers["gyr_time"])


def test_phyphox_client_live_starts_from_now(phone):
    for _ in range(20):
        phone.advance()  # 1 s of data the client should not replay
    client = PhyphoxClient(phone.url)
    b = join(_poll(client, 30))
    assert b.time_s[0] >= 1.0
    check_scene(b, tol_acc=0.01)
    first = urllib.parse.parse_qs(urllib.parse.urlsplit(phone.requests[1]).query, keep_blank_values=True)
    assert first == {"acc_time": [""], "gyr_time": [""]}


def test_phyphox_not_running_and_auto_start(phone):
    phone.measuring = False
    t = [0.0]
    client = PhyphoxClient(phone.url, backlog=True, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    assert _poll(client, 5) == []
    assert client.status is not None and not client.status.measuring
    with pytest.raises(ExperimentNotRunning, match="auto_start"):
        list(client.blocks(poll_interval_s=0.5, idle_timeout_s=2.0))
    starter = PhyphoxClient(phone.url, backlog=True, auto_start=True)
    _poll(starter, 1)
    assert any(p == "/control?cmd=start" for p in phone.requests)
    assert phone.measuring
    assert join(_poll(starter, 20)).time_s[-1] > 0.8


def test_phyphox_pause_becomes_a_gap(phone):
    t = [100.0]
    client = PhyphoxClient(phone.url, backlog=True, clock=lambda: t[0])
    blocks = _poll(client, 20)
    phone.measuring = False
    blocks += _poll(client, 3)
    t[0] += 5.0  # paused 5 s on the wall clock
    phone.measuring = True
    blocks += _poll(client, 20)
    blocks.append(client.flush())
    b = join([x for x in blocks if x is not None])
    dt = np.diff(b.time_s)
    assert dt.max() == pytest.approx(5.0, abs=0.1)
    k = int(np.argmax(dt)) + 1
    assert b.flags[k] & SampleFlag.AFTER_GAP


def test_phyphox_clear_keeps_the_clock_going(phone):
    client = PhyphoxClient(phone.url, backlog=True)
    first = join(_poll(client, 20))
    with phone.lock:
        phone.clear()
    rest = _poll(client, 20)
    b = join([first, *rest]) if rest else first
    assert np.all(np.diff(b.time_s) > 0)
    assert b.time_s[-1] > first.time_s[-1] + 1.0  # continued after a 1 s gap
    after = b.time_s > first.time_s[-1]
    assert after.sum() > 50


def test_phyphox_phone_gone_is_a_typed_error(phone):
    client = PhyphoxClient(phone.url, backlog=True, timeout_s=0.5, retries=2, backoff_s=0.01)
    assert _poll(client, 20)
    phone.server.shutdown()
    phone.server.server_close()
    t0 = time.monotonic()
    with pytest.raises(PhoneUnreachable) as err:
        client.poll()
    assert err.value.attempts == 3
    assert time.monotonic() - t0 < 3.0


def test_phyphox_timeout_is_retried_then_typed(phone):
    client = PhyphoxClient(phone.url, backlog=True, timeout_s=0.2, retries=1, backoff_s=0.01)
    assert _poll(client, 20)
    phone.delay_s = 0.6
    n_before = len(phone.requests)
    with pytest.raises(PhoneUnreachable, match="timed out|TimeoutError|timeout"):
        client.poll()
    assert len(phone.requests) - n_before == 2  # one try + one retry
    phone.delay_s = 0.0
    time.sleep(0.7)  # let the slow handlers finish
    assert _poll(client, 5)  # the phone is back: polling resumes


def test_phyphox_not_phyphox_is_protocol_error():
    class NotPhyphox(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            data = b"<html>router login</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotPhyphox)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        client = PhyphoxClient(f"http://127.0.0.1:{server.server_address[1]}", retries=0)
        with pytest.raises(PhoneProtocolError, match="not JSON"):
            client.poll()
    finally:
        server.shutdown()
        server.server_close()


# =============================================================================================
# Sensor Logger: decoder and receiver over loopback
# =============================================================================================


def _sl_rows(folder: str) -> list[dict]:
    """All readings of a Sensor Logger export folder, as push readings."""
    rows = []
    for name in ("TotalAcceleration", "Accelerometer", "Gravity", "Gyroscope"):
        p = FIX / folder / f"{name}.csv"
        if not p.exists():
            continue
        lines = p.read_text().splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:
            cells = dict(zip(header, line.split(",")))
            rows.append(
                {
                    "name": name.lower(),
                    "time": int(cells["time"]),
                    "values": {"z": float(cells["z"]), "y": float(cells["y"]), "x": float(cells["x"])},
                }
            )
    rows.sort(key=lambda r: r["time"])
    return rows


def _messages(folder: str, period_s: float = 0.2, session: str = "s-1") -> list[dict]:
    rows = _sl_rows(folder)
    t0 = rows[0]["time"]
    batches: dict[int, list] = {}
    for r in rows:
        batches.setdefault(int((r["time"] - t0) / (period_s * 1e9)), []).append(r)
    return [
        {"messageId": i, "sessionId": session, "deviceId": "0f3c2a", "payload": batches[k]}
        for i, k in enumerate(sorted(batches))
    ]


def _post(url: str, body: bytes | dict, headers: dict | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_sensor_logger_push_fixtures_decode_both_platforms():
    android = SensorLoggerDecoder()
    out = android.feed((FIX / "sensor_logger_push_android.json").read_bytes()) + android.flush()
    assert android.mode == "total"
    check_scene(join(out), tol_acc=0.02)
    ios = SensorLoggerDecoder(platform="ios")
    out = ios.feed((FIX / "sensor_logger_push_ios.json").read_text()) + ios.flush()
    assert ios.mode == "lin+grav" and ios.sign == -1.0
    check_scene(join(out), tol_acc=0.02)


def test_sensor_logger_auto_cannot_tell_ios_from_android():
    dec = SensorLoggerDecoder()
    with pytest.raises(PhoneConventionError, match="platform='ios'"):
        for m in _messages("sensor_logger_ios"):
            dec.feed(m)


def test_sensor_logger_ios_sign_matters():
    """The same iOS data read as Android would put gravity on -z: the sign rule is load-bearing."""
    dec = SensorLoggerDecoder(platform="android")
    out = []
    for m in _messages("sensor_logger_ios"):
        out += dec.feed(m)
    out += dec.flush()
    assert np.median(join(out).acc_mps2[:, 2]) == pytest.approx(-G, abs=1e-3)


def test_sensor_logger_reorders_and_drops_duplicates():
    msgs = _messages("sensor_logger_android", period_s=0.1)
    ref = SensorLoggerDecoder()
    want = [b for m in msgs for b in ref.feed(m)] + ref.flush()
    shuffled = list(msgs)
    for i in range(0, len(shuffled) - 1, 3):  # swap neighbours
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    shuffled.insert(5, msgs[2])  # a retry of an earlier message
    dec = SensorLoggerDecoder()
    got = [b for m in shuffled for b in dec.feed(m)] + dec.flush()
    assert join(got) == join(want)
    assert dec.duplicate_messages == 1 and dec.reordered_messages > 0
    check_scene(join(got), tol_acc=0.02)


def test_sensor_logger_receiver_over_loopback():
    msgs = _messages("sensor_logger_android")
    with SensorLoggerReceiver(port=0, token="s3cret") as rx:
        assert rx.host == "127.0.0.1"
        url = f"http://127.0.0.1:{rx.port}/data?token=s3cret"
        status, doc = _post(url, msgs[0])
        assert status == 200 and doc == {"status": "ok"}
        # malformed bodies: 400, and the receiver keeps running
        assert _post(url, b'{"messageId": 1, "payload": [')[0] == 400
        assert _post(url, {"hello": "world"})[0] == 400
        assert _post(url, b"\xff\xfe")[0] == 400
        # wrong or missing token: 401
        assert _post(f"http://127.0.0.1:{rx.port}/data", msgs[1])[0] == 401
        assert _post(f"http://127.0.0.1:{rx.port}/data?token=nope", msgs[1])[0] == 401
        for m in msgs[1:]:
            assert _post(url, m)[0] == 200
        # header token works too
        assert _post(f"http://127.0.0.1:{rx.port}/", msgs[-1], {"Authorization": "Bearer s3cret"})[0] == 200
        first = rx.get(timeout_s=5)
        assert first is not None
    blocks = [first, *rx.blocks(timeout_s=1)]
    b = join(blocks)
    check_scene(b, tol_acc=0.02)
    assert b.time_s[-1] > 1.8
    assert rx.accepted == len(msgs) + 1 and rx.rejected == 3
    assert rx.decoder.duplicate_messages == 1


def test_sensor_logger_receiver_reports_unknown_platform_to_consumer():
    with SensorLoggerReceiver(port=0) as rx:
        url = f"http://127.0.0.1:{rx.port}/"
        codes = [_post(url, m)[0] for m in _messages("sensor_logger_ios")[:6]]
        assert 422 in codes
        with pytest.raises(PhoneConventionError):
            rx.get(timeout_s=2)


# =============================================================================================
# Exports
# =============================================================================================


def test_phyphox_export_directory_and_zip(tmp_path):
    rec = read_phyphox_export(FIX / "phyphox_export")
    assert rec.metadata["source"] == "phyphox"
    assert rec.metadata["phone_devicemodel"] == "Pixel 7"
    assert rec.sampling_rate_hz == pytest.approx(100.0)
    check_scene(rec.block(), tol_acc=0.01)
    zipped = shutil.make_archive(str(tmp_path / "phyphox 2024-04-24"), "zip", FIX / "phyphox_export")
    rec2 = read_phyphox_export(zipped)
    assert rec2.block() == rec.block()


def test_phyphox_export_semicolon_decimal_comma_acc_only():
    rec = read_phyphox_export(FIX / "phyphox_export_ios_semicolon" / "Raw Data.csv")
    assert rec.gyr_dps is None
    check_scene(rec.block(), gyro=False, tol_acc=0.01)


@pytest.mark.parametrize("folder", ["sensor_logger_android", "sensor_logger_ios"])
def test_sensor_logger_export(folder):
    rec = read_sensor_logger_export(FIX / folder)
    assert rec.metadata["platform"] == ("android" if "android" in folder else "ios")
    check_scene(rec.block(), tol_acc=0.02)
    assert int(rec.metadata["time_origin_unix_ns"]) == 1_714_000_000_125_456_789


def test_sensor_logger_export_without_platform_is_a_convention_error(tmp_path):
    d = tmp_path / "export"
    shutil.copytree(FIX / "sensor_logger_ios", d)
    (d / "Metadata.csv").unlink()
    with pytest.raises(PhoneConventionError, match="platform"):
        read_sensor_logger_export(d)
    check_scene(read_sensor_logger_export(d, platform="ios").block(), tol_acc=0.02)


@pytest.mark.parametrize("folder", ["phyphox_export", "sensor_logger_android", "sensor_logger_ios"])
def test_import_phone_export_writes_a_recording(tmp_path, folder):
    archive = shutil.make_archive(str(tmp_path / folder), "zip", FIX / folder)
    out = tmp_path / "run.csv"
    rec = import_phone_export(archive, out)
    back = read_recording(out)
    assert back.metadata["source"] in ("phyphox", "sensor-logger")
    assert back.metadata["imported_from"] == Path(archive).name
    np.testing.assert_allclose(back.time_s, rec.time_s, atol=1e-6)
    np.testing.assert_allclose(back.acc_mps2, rec.acc_mps2, atol=1e-6)
    np.testing.assert_allclose(back.gyr_dps, rec.gyr_dps, atol=1e-6)
    check_scene(back.block(), tol_acc=0.02)


def test_import_phone_export_rejects_other_files(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(RecordingFormatError, match="neither"):
        import_phone_export(p, tmp_path / "out.csv")
    with pytest.raises(RecordingFormatError, match="no such"):
        import_phone_export(tmp_path / "missing.zip")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)"\n0,1,2,oops\n'
    )
    with pytest.raises(RecordingFormatError, match="oops"):
        import_phone_export(bad)


# =============================================================================================
# The Source interface: phone apps as openpod pods, decoded by the openpod session
# =============================================================================================


def _decode_pod_packets(packets) -> SampleBlock:
    from firmware_interface.session import DeviceConfig, make_session

    session = make_session(DeviceConfig(packets[0].device, "openpod"))
    blocks = [r for p in packets for r in session.feed(p) if isinstance(r, SampleBlock)]
    return SampleBlock.concat(blocks)


def test_phyphox_as_a_source_through_the_openpod_session(phone):
    import asyncio

    from firmware_interface.phones import open_phone_source

    async def collect():
        src = open_phone_source("phyphox", url=phone.url, backlog=True, placement="waist", poll_interval_s=0.0)
        out = []
        async for p in src:
            out.append(p)
            if sum(1 for q in out if q.channel != "link") >= 15:
                src.stop()
        return src, out

    src, packets = asyncio.run(collect())
    assert src.devices[0].kind == "openpod" and src.devices[0].placement == "waist"
    assert src.metadata["rate_hz"] == 100.0
    b = _decode_pod_packets(packets)
    # int16 at +-16 g / +-2000 deg/s: 0.5 mg and 0.06 deg/s steps; the session counts from 0
    assert np.allclose(np.diff(b.time_s), 0.01, atol=2e-6)
    np.testing.assert_allclose(b.acc_mps2[:, 2], G, atol=0.01)
    np.testing.assert_allclose(b.gyr_dps[:, 2], GYRO_Z_DPS, atol=0.07)
    assert np.ptp(b.acc_mps2[:, 0]) > 0.8  # the 2 Hz shake came through


def test_sensor_logger_as_a_source_through_the_openpod_session():
    import asyncio

    from firmware_interface.phones import open_phone_source

    msgs = _messages("sensor_logger_android")

    async def collect():
        src = open_phone_source("sensor-logger", port=0, poll_interval_s=0.05)
        out = []
        it = src.__aiter__()
        out.append(await it.__anext__())  # the link packet; the receiver is listening now
        task = asyncio.create_task(it.__anext__())
        url = f"http://127.0.0.1:{src.receiver.port}/"
        for m in msgs:
            assert (await asyncio.to_thread(_post, url, m))[0] == 200
        out.append(await task)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            p = await asyncio.wait_for(it.__anext__(), 2)
            out.append(p)
            if sum(1 for q in out if q.channel != "link") >= 15:
                break
        src.stop()
        return out

    packets = asyncio.run(collect())
    b = _decode_pod_packets(packets)
    assert np.allclose(np.diff(b.time_s), 0.01, atol=2e-6)
    np.testing.assert_allclose(b.acc_mps2[:, 2], G, atol=0.01)
    np.testing.assert_allclose(b.gyr_dps[:, 2], GYRO_Z_DPS, atol=0.07)


def test_phyphox_source_waits_for_the_phone_and_follows_it_away_and_back():
    """The run started before phyphox's remote access, and phyphox leaving the screen mid-run (it
    stops its server): the source says once that it waits, then the phone is connected,
    disconnected, connected again; the data go on after it; ``duration_s`` ends the source, counted
    from the phone's first samples."""
    import asyncio
    import socket

    from firmware_interface.phones import open_phone_source
    from firmware_interface.session import LINK_CHANNEL, LINK_CONNECTED, LINK_DISCONNECTED

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    phone = FakePhyphox()

    def phone_life():
        time.sleep(0.3)
        with serve(phone, port=port):
            time.sleep(0.6)
        time.sleep(0.5)
        with serve(phone, port=port):
            time.sleep(1.5)

    life = threading.Thread(target=phone_life, daemon=True)
    life.start()

    async def collect():
        src = open_phone_source("phyphox", url=f"http://127.0.0.1:{port}", placement="waist", poll_interval_s=0.02,
                                retry_s=0.05, duration_s=2.0, retries=0, timeout_s=0.5)  # fmt: skip
        return [p async for p in src]

    t0 = time.monotonic()
    packets = asyncio.run(collect())
    elapsed = time.monotonic() - t0
    assert 2.3 <= elapsed < 4.0  # the 2 s count from the phone's first samples (0.3 s of waiting first)
    life.join(timeout=5)
    links = [p.payload for p in packets if p.channel == LINK_CHANNEL]
    assert links[0].startswith(b"waiting for phyphox at http://127.0.0.1:") and b"ConnectionRefusedError" in links[0]
    assert links[1:] == [LINK_CONNECTED, LINK_DISCONNECTED, LINK_CONNECTED]
    data = [i for i, p in enumerate(packets) if p.channel != LINK_CHANNEL]
    back = max(i for i, p in enumerate(packets) if p.payload == LINK_CONNECTED)
    assert data and data[0] > 1 and data[-1] > back  # samples before the phone left and after it came back


def test_phyphox_is_a_phone_source_option():
    from gait.core.errors import GaitError
    from gait.engine.sources import SourceOptions, build_source

    src = build_source(SourceOptions(kind="phone", phyphox="127.0.0.1", placement="waist", duration_s=1.0))
    assert src.kind == "phone-app" and src.metadata == {"source": "phyphox", "url": "http://127.0.0.1:8080"}
    assert src.devices[0].id == "phyphox-127.0.0.1:8080" and src.devices[0].placement == "waist"
    with pytest.raises(GaitError, match="--phyphox URL is for --source phone"):
        build_source(SourceOptions(kind="csv", csv="x.csv", phyphox="http://127.0.0.1:8080"))
