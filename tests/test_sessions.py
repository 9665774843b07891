"""Device sessions: gaps from sequence numbers and device timestamps, garbage frames, duplicates,
late packets, clock restarts, acc+gyro merging, and two devices aligned through their clocks."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_interface.openpod import codec as op
from firmware_interface.protocols import polar_pmd as pmd
from firmware_interface.protocols import rsc
from firmware_interface.session import (
    BATTERY_LEVEL_UUID,
    LINK_CHANNEL,
    LINK_CONNECTED,
    LINK_DISCONNECTED,
    DeviceConfig,
    DeviceEvent,
    H10Session,
    OpenpodSession,
    RawPacket,
    RscReading,
    RscSession,
    SessionSet,
    VeritySession,
    make_session,
    write_channel,
)
from gait.core.records import Gap, SampleBlock, SampleFlag

RATE = 200.0
N = 10  # samples per openpod packet in these tests


def pod_packet(seq: int, ts_us: int, n: int = N, *, flags: int = 0, value: float = 0.0, gyro: bool = True) -> bytes:
    acc = np.tile([0, 0, 2048], (n, 1)) + int(value)
    return op.encode_packet(
        seq=seq & 0xFFFF,
        timestamp_us=ts_us,
        rate_hz=RATE,
        acc_range_g=16,
        acc_raw=acc,
        gyr_range_dps=2000 if gyro else None,
        gyr_raw=np.zeros((n, 3), int) if gyro else None,
        flags=flags,
    )


def feed_all(session, packets) -> list:
    out = []
    for p in packets:
        out.extend(session.feed(p))
    return out


def blocks(records) -> list[SampleBlock]:
    return [r for r in records if isinstance(r, SampleBlock)]


def gaps(records) -> list[Gap]:
    return [r for r in records if isinstance(r, Gap)]


def check_stream(records) -> np.ndarray:
    """Sample times over all blocks: strictly increasing, index0 contiguous."""
    bs = blocks(records)
    t = np.concatenate([b.time_s for b in bs])
    assert np.all(np.diff(t) > 0)
    idx = 0
    for b in bs:
        assert b.index0 == idx
        idx += len(b)
    return t


def rx(i: int) -> int:
    return 1_000_000_000 + i * 50_000_000


PERIOD_US = 1e6 / RATE


def ts_of(k: int) -> int:
    """Device time of packet k (N samples per packet, no loss)."""
    return 5_000_000 + int(round(k * N * PERIOD_US))


# ----------------------------------------------------------------------------------------------
# openpod: sequence numbers and timestamps
# ----------------------------------------------------------------------------------------------
def test_openpod_lost_packets_make_a_gap_with_the_missing_count():
    s = OpenpodSession("pod")
    packets = [RawPacket(rx(k), "pod", op.DATA_UUID, pod_packet(k, ts_of(k))) for k in range(10) if k not in (3, 4)]
    out = feed_all(s, packets)
    g = gaps(out)
    assert len(g) == 1
    assert g[0].missing_samples == 2 * N
    t = check_stream(out)
    assert len(t) == 8 * N
    assert g[0].start_s == pytest.approx(3 * N / RATE - 1 / RATE)
    assert g[0].end_s == pytest.approx(5 * N / RATE)
    after = next(b for b in blocks(out) if b.time_s[0] == pytest.approx(g[0].end_s))
    assert after.flags is not None and after.flags[0] & SampleFlag.AFTER_GAP
    h = s.health()
    assert (h.dropped, h.gaps, h.missing_samples, h.samples, h.malformed) == (2, 1, 2 * N, 8 * N, 0)
    assert h.received == 8


def test_openpod_sequence_wraps_without_a_gap():
    s = OpenpodSession("pod")
    seqs = [65533, 65534, 65535, 0, 1, 2]
    out = feed_all(s, [RawPacket(rx(k), "pod", op.DATA_UUID, pod_packet(q, ts_of(k))) for k, q in enumerate(seqs)])
    assert gaps(out) == []
    assert len(check_stream(out)) == 6 * N
    assert s.health().dropped == 0


def test_openpod_samples_lost_on_the_device_come_from_the_timestamp():
    # no packet lost (seq contiguous), but the pod dropped 7 samples: OVERRUN + timestamp jump
    s = OpenpodSession("pod")
    p = [
        RawPacket(rx(0), "pod", op.DATA_UUID, pod_packet(0, ts_of(0))),
        RawPacket(rx(1), "pod", op.DATA_UUID, pod_packet(1, ts_of(1))),
        RawPacket(rx(2), "pod", op.DATA_UUID, pod_packet(2, ts_of(2) + int(7 * PERIOD_US), flags=op.FLAG_OVERRUN)),
    ]
    out = feed_all(s, p)
    assert [g.missing_samples for g in gaps(out)] == [7]
    assert s.health().dropped == 0


def test_garbage_frames_are_counted_and_cost_only_themselves():
    s = OpenpodSession("pod")
    good = [pod_packet(k, ts_of(k)) for k in range(6)]
    crc_flipped = bytearray(good[2])
    crc_flipped[25] ^= 0xFF
    stream = [
        good[0],
        b"",  # empty
        b"\x00\x01\x02",  # not openpod
        good[1][:15],  # truncated
        good[1],
        bytes(crc_flipped),  # corrupted in transit: lost
        good[3],
        bytes([0xA2]) + good[4][1:],  # a major version this host cannot read
        good[4],
        good[5],
    ]
    out = feed_all(s, [RawPacket(rx(i), "pod", op.DATA_UUID, d) for i, d in enumerate(stream)])
    h = s.health()
    assert h.malformed == 5
    assert h.samples == 5 * N
    assert [g.missing_samples for g in gaps(out)] == [N]  # exactly the corrupted packet's samples
    assert h.dropped == 1
    assert any(isinstance(r, DeviceEvent) and r.kind == "unsupported" for r in out)
    check_stream(out)


def test_duplicate_and_late_packets_are_counted_and_dropped():
    s = OpenpodSession("pod")
    d = [pod_packet(k, ts_of(k)) for k in range(8)]
    order = [0, 1, 1, 2, 4, 3, 5, 5, 6, 7]  # 1 and 5 twice; 3 arrives after 4
    out = feed_all(s, [RawPacket(rx(i), "pod", op.DATA_UUID, d[k]) for i, k in enumerate(order)])
    h = s.health()
    assert h.duplicates == 2
    assert h.late == 1
    assert [g.missing_samples for g in gaps(out)] == [N]  # packet 3 was missing when 4 came
    assert h.samples == 7 * N
    check_stream(out)


def test_unknown_packet_types_are_skipped_and_keep_the_sequence():
    s = OpenpodSession("pod")
    body = bytes([op.MAGIC_VERSION, 0x07]) + (1).to_bytes(2, "little") + b"battery!"
    other = body + op.crc16(body).to_bytes(2, "little")
    p = [pod_packet(0, ts_of(0)), other, pod_packet(2, ts_of(1))]
    out = feed_all(s, [RawPacket(rx(i), "pod", op.DATA_UUID, d) for i, d in enumerate(p)])
    h = s.health()
    assert (h.skipped, h.dropped, h.malformed, h.gaps) == (1, 0, 0, 0)
    assert len(check_stream(out)) == 2 * N


def test_device_reboot_starts_a_new_epoch_after_the_last_sample():
    s = OpenpodSession("pod")
    p = [RawPacket(rx(k), "pod", op.DATA_UUID, pod_packet(k, ts_of(k))) for k in range(5)]
    # rebooted: seq and clock start again from zero, 1 s (receive clock) after the last packet
    p += [
        RawPacket(rx(4) + 1_000_000_000 + k * 50_000_000, "pod", op.DATA_UUID, pod_packet(k, 100 + ts_of(k) - ts_of(0)))
        for k in range(3)
    ]
    out = feed_all(s, p)
    assert any(isinstance(r, DeviceEvent) and r.kind == "restart" for r in out)
    t = check_stream(out)
    assert len(t) == 8 * N
    g = gaps(out)
    assert len(g) == 1 and g[0].end_s - g[0].start_s == pytest.approx(1.0, abs=1e-6)


def test_reconnect_counts_and_resets_the_sequence():
    s = OpenpodSession("pod")
    p = [RawPacket(rx(0), "pod", LINK_CHANNEL, LINK_CONNECTED)]
    p += [RawPacket(rx(k), "pod", op.DATA_UUID, pod_packet(k, ts_of(k))) for k in range(1, 4)]
    p += [
        RawPacket(rx(4), "pod", LINK_CHANNEL, LINK_DISCONNECTED),
        RawPacket(rx(9), "pod", LINK_CHANNEL, LINK_CONNECTED),
    ]
    # after START the pod counts from 0 again; its clock ran on: 5 packets' worth of samples missed
    p += [RawPacket(rx(10 + k), "pod", op.DATA_UUID, pod_packet(k, ts_of(9 + k))) for k in range(2)]
    p += [RawPacket(rx(12), "pod", BATTERY_LEVEL_UUID, bytes([77]))]
    out = feed_all(s, p)
    h = s.health()
    assert h.reconnects == 1
    assert h.battery_pct == 77
    assert h.late == 0 and h.duplicates == 0
    assert [g.missing_samples for g in gaps(out)] == [5 * N]
    assert [r.kind for r in out if isinstance(r, DeviceEvent)] == ["connected", "disconnected", "connected", "battery"]


# ----------------------------------------------------------------------------------------------
# Polar PMD
# ----------------------------------------------------------------------------------------------
H10_T0 = 599_618_164_814_402_794  # ns since 2000 (the doc example)
PMD_N = 36


def h10_frame(k: int, n: int = PMD_N, rate: float = 200.0) -> bytes:
    """Frame k of a gapless 200 Hz stream: timestamp = last sample."""
    last = H10_T0 + int(round(((k + 1) * n - 1) * 1e9 / rate))
    samples = np.tile([-187, -28, 949], (n, 1)) + k
    return pmd.encode_data_frame(pmd.MeasurementType.ACC, 0x01, last, samples)


def test_h10_frames_give_si_samples_on_the_device_clock():
    s = H10Session("h10")
    out = feed_all(s, [RawPacket(rx(k), "h10", pmd.PMD_DATA_UUID, h10_frame(k)) for k in range(4)])
    t = check_stream(out)
    assert len(t) == 4 * PMD_N
    assert t[0] == 0.0
    np.testing.assert_allclose(np.diff(t), 1 / 200.0, atol=1e-9)
    acc = blocks(out)[0].acc_mps2[0]
    np.testing.assert_allclose(acc, np.array([-187, -28, 949]) * 9.80665e-3)
    assert gaps(out) == []


def test_h10_lost_frame_duplicate_late_and_garbage():
    s = H10Session("h10")
    f = [h10_frame(k) for k in range(8)]
    unsupported = bytearray(f[0])
    unsupported[9] = 0x83
    stream = [f[0], f[1], f[1], b"\x02\x01", bytes(unsupported), f[2], f[4], f[3], f[5], f[6], f[7]]
    out = feed_all(s, [RawPacket(rx(i), "h10", pmd.PMD_DATA_UUID, d) for i, d in enumerate(stream)])
    h = s.health()
    assert h.duplicates == 1
    assert h.malformed == 2
    assert h.late == 1
    assert [g.missing_samples for g in gaps(out)] == [PMD_N]
    assert h.samples == 7 * PMD_N
    assert h.dropped == 1  # estimated: missing samples / samples per packet
    check_stream(out)


def test_pmd_start_response_sets_rate_and_factor_from_the_capture():
    s = make_session(DeviceConfig("v", "verity", settings={"gyro": False}))
    request = bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03".replace(" ", ""))
    response = bytes.fromhex("F0 02 02 00 00 05 01 40 DA 7F 39".replace(" ", ""))
    s.feed(RawPacket(rx(0), "v", write_channel(pmd.PMD_CONTROL_POINT_UUID), request))
    out = s.feed(RawPacket(rx(1), "v", pmd.PMD_CONTROL_POINT_UUID, response))
    assert any(isinstance(r, DeviceEvent) and r.kind == "control" for r in out)
    assert s.stream.factor(pmd.MeasurementType.ACC) == pytest.approx(0.000244, rel=1e-4)
    assert s.sample_rate_hz == 52.0
    stopped = s.feed(RawPacket(rx(2), "v", pmd.PMD_CONTROL_POINT_UUID, bytes([0x01, 0x02])))
    assert [r.kind for r in stopped] == ["stopped"]


def test_verity_acc_and_gyro_frames_are_merged_by_time():
    rate = 52.0
    s = VeritySession("v", sample_rate_hz=rate)
    per = 13
    out = []
    for k in range(6):
        last = H10_T0 + int(round(((k + 1) * per - 1) * 1e9 / rate))
        acc = np.tile([0, 0, 1000], (per, 1))
        gyr = np.arange(k * per, (k + 1) * per)[:, None] * np.array([1, 2, 3])
        a = pmd.encode_data_frame(pmd.MeasurementType.ACC, 0x01, last, acc)
        g = pmd.encode_data_frame(pmd.MeasurementType.GYRO, 0x00, last + 1000, gyr)  # gyro 1 us later
        out += s.feed(RawPacket(rx(2 * k), "v", pmd.PMD_DATA_UUID, a))
        out += s.feed(RawPacket(rx(2 * k + 1), "v", pmd.PMD_DATA_UUID, g))
    out += s.flush()
    t = check_stream(out)
    assert len(t) == 6 * per
    gyr = np.concatenate([b.gyr_dps for b in blocks(out)])
    # gyro sample i is at acc time i + 1 us: interpolated onto acc times, x ~= i (minus a tiny bit)
    finite = np.isfinite(gyr[:, 0])
    assert finite[1:].all()
    np.testing.assert_allclose(gyr[1:, 0], np.arange(1, 6 * per), atol=1e-3)


# ----------------------------------------------------------------------------------------------
# RSC, factory, specs
# ----------------------------------------------------------------------------------------------
def test_rsc_gives_readings_and_counts_bad_ones():
    s = RscSession("pod")
    out = feed_all(
        s,
        [
            RawPacket(
                rx(0), "pod", rsc.RSC_MEASUREMENT_UUID, bytes.fromhex("0780 03AA 7C00 3930 0000".replace(" ", ""))
            ),
            RawPacket(rx(1), "pod", rsc.RSC_MEASUREMENT_UUID, b"\x07\x80"),
            RawPacket(rx(2), "pod", rsc.RSC_MEASUREMENT_UUID, bytes.fromhex("040004B4")),
        ],
    )
    readings = [r for r in out if isinstance(r, RscReading)]
    assert readings[0].speed_mps == pytest.approx(3.5) and readings[0].cadence_spm == 170
    assert readings[1].speed_mps == pytest.approx(4.0) and readings[1].time_s == pytest.approx(0.1)
    assert s.health().malformed == 1


def test_device_config_parse_and_factory():
    spec = DeviceConfig.parse("id=AA:BB:CC:DD:EE:FF,kind=h10,placement=chest,sample_rate_hz=100")
    assert spec.id == "AA:BB:CC:DD:EE:FF" and spec.settings == {"sample_rate_hz": 100}
    assert DeviceConfig.from_dict(spec.to_dict()) == spec
    session = make_session(spec)
    assert isinstance(session, H10Session) and session.sample_rate_hz == 100
    with pytest.raises(ValueError, match="one of h10, verity"):
        make_session(DeviceConfig("x", "toaster"))
    with pytest.raises(ValueError):  # one name per kind: the old catalogue names are only read from captures
        make_session(DeviceConfig("x", "polar_h10"))
    with pytest.raises(ValueError):
        DeviceConfig.parse("kind=h10")


# ----------------------------------------------------------------------------------------------
# two devices, one common clock
# ----------------------------------------------------------------------------------------------
def test_two_devices_with_clock_offset_and_drift_are_aligned():
    rng = np.random.default_rng(7)
    duration_s = 600.0
    rx0 = 3_000_000_000_000  # host monotonic clock at the start
    clocks = {
        "A": (5.0, 0.0),  # device clock = offset + true time * (1 + drift)
        "B": (1234.5, 80e-6),
    }
    packets = []
    for dev, (offset, drift) in clocks.items():
        k = 0
        last_rx = 0
        t_first = 0.013 if dev == "A" else 0.0  # the devices do not start together
        while True:
            t0 = t_first + k * N / RATE
            if t0 > duration_s:
                break
            t_last = t0 + (N - 1) / RATE
            ts_us = int(round((offset + t0 * (1 + drift)) * 1e6))
            latency = 0.010 + rng.exponential(0.008) + (0.4 if rng.random() < 0.02 else 0.0)
            r = max(last_rx, rx0 + int(round((t_last + latency) * 1e9)))
            last_rx = r
            packets.append(RawPacket(r, dev, op.DATA_UUID, pod_packet(k, ts_us)))
            k += 1
    packets.sort(key=lambda p: p.rx_time_ns)
    sessions = SessionSet([DeviceConfig("A", "openpod"), DeviceConfig("B", "openpod")])
    for p in packets:
        sessions.feed(p)

    def session_time(dev: str, t_true: float) -> float:
        """The time the session gives a sample taken at true time t (its own device clock)."""
        offset, drift = clocks[dev]
        first = 0.013 if dev == "A" else 0.0
        return (offset + t_true * (1 + drift)) - (offset + first * (1 + drift))

    est_b = sessions.sessions["B"].clock.estimate()
    assert est_b is not None
    assert est_b.drift_ppm == pytest.approx(-80.0 / (1 + 80e-6), abs=3.0)  # rx runs 80 ppm slower than B
    errors = []
    for t in np.linspace(1.0, duration_s - 1.0, 50):
        a = sessions.to_common("A", session_time("A", t))
        b = sessions.to_common("B", session_time("B", t))
        errors.append(a - b)
    assert np.max(np.abs(errors)) < 0.002  # the same instant lines up within 2 ms
    # without drift estimation device B would be off by ~48 ms at the end of 10 minutes
    naive = session_time("B", duration_s) - session_time("B", 0.0) - duration_s
    assert naive > 0.04
    assert sessions.health()["B"].clock_drift_ppm == pytest.approx(-80.0, abs=3.0)


# ----------------------------------------------------------------------------------------------
# the registry of device kinds
# ----------------------------------------------------------------------------------------------
def test_one_registry_one_name_per_kind():
    from firmware_interface.devices import registry
    from firmware_interface.devices.spec import Capability

    assert registry.kinds() == ("h10", "verity", "oh1", "movesense", "metawear", "rsc", "openpod")
    for kind in registry.kinds():
        spec = registry.get(kind)
        assert spec.kind == kind and spec.session is not None and spec.session.kind == kind
        assert spec.placements and spec.data_uuids
    assert registry.classify("Polar H10 0A1B2C3D").kind == "h10"
    assert registry.classify("Polar Sense 5E6F7A8B").kind == "verity"
    assert registry.classify("whatever", [rsc.RSC_SERVICE_UUID.upper()]).kind == "rsc"
    assert registry.classify("openpod-1A2B-L", []).kind == "openpod"
    assert registry.classify("a kettle", []) is None
    assert registry.for_channel(pmd.PMD_DATA_UUID).kind == "h10"  # an undeclared PMD stream
    assert registry.for_channel("link") is None
    assert Capability.SPEED_CADENCE in registry.get("rsc").capabilities
    with pytest.raises(KeyError, match="one of h10"):
        registry.get("polar_h10")
