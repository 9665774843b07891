"""MetaWear (SDK unit-test vectors) and Movesense GSP (layout from the sample firmware; the
data vector is synthetic: no real frame has been published)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_interface.protocols import decode_hex, metawear, movesense
from firmware_interface.protocols.common import ImuSamples, parse_hex
from firmware_interface.protocols.errors import (
    EncodeError,
    MalformedFrame,
    ProtocolError,
    TruncatedFrame,
    UnsupportedFrame,
)

# --- MetaWear ---------------------------------------------------------------------------------


def test_metawear_commands_match_the_sdk_tests():
    assert metawear.acc_config(200, 8) == parse_hex("03 03 29 08")
    assert metawear.ACC_ENABLE == parse_hex("03 02 01 00")
    assert metawear.subscribe("acc") == parse_hex("03 04 01")
    assert metawear.subscribe("acc", packed=True) == parse_hex("03 1C 01")
    assert metawear.gyro_config(200, 2000) == parse_hex("13 03 29 00")
    assert metawear.GYRO_ENABLE == parse_hex("13 02 01 00")
    assert metawear.GYRO_START == parse_hex("13 01 01")
    assert metawear.GYRO_STOP == parse_hex("13 01 00")
    assert metawear.subscribe("gyro") == parse_hex("13 05 01")
    assert metawear.subscribe("gyro", packed=True) == parse_hex("13 07 01")
    assert metawear.ACC_START == parse_hex("03 01 01")  # [U] by analogy with the gyro
    with pytest.raises(EncodeError):
        metawear.acc_config(210, 8)
    cmds = metawear.start_streaming_commands(gyro_odr_hz=200)
    assert cmds[0] == parse_hex("03 03 29 08") and parse_hex("13 01 01") in cmds


def test_metawear_acc_single_4g():
    msg = metawear.decode_notification(parse_hex("03 04 16 C4 94 A2 2A D0"))
    assert (msg.kind, msg.packed, len(msg)) == ("acc", False, 1)
    assert np.round(msg.scaled(4), 3).tolist() == [[-1.872, -2.919, -1.495]]
    assert np.allclose(msg.si(4), msg.scaled(4) * 9.80665)


def test_metawear_acc_packed_8g():
    msg = metawear.decode_notification(parse_hex("03 1C 62 B7 53 0D E9 FD 16 D0 4D 0E 57 02 8A FF A1 05 0A 01"))
    assert msg.packed and len(msg) == 3
    assert np.round(msg.scaled(8), 3).tolist() == [
        [-4.539, 0.833, -0.131],
        [-2.995, 0.894, 0.146],
        [-0.029, 0.352, 0.065],
    ]


def test_metawear_gyro_single_500dps():
    msg = metawear.decode_notification(parse_hex("13 05 3E 43 FF 7F 00 80"))
    assert msg.kind == "gyro"
    assert np.round(msg.scaled(500), 3).tolist() == [[262.409, 499.497, -499.512]]


def test_metawear_gyro_packed_1000dps():
    msg = metawear.decode_notification(parse_hex("13 07 09 15 AD 26 08 DE 8A 1A 0D 26 65 E4 8D 20 AC 27 73 EC"))
    assert np.round(msg.scaled(1000), 3).tolist() == [
        [164.177, 301.860, -265.122],
        [207.134, 296.982, -215.457],
        [254.055, 309.634, -152.591],
    ]


def test_metawear_bad_packets():
    with pytest.raises(TruncatedFrame):
        metawear.decode_notification(parse_hex("03 04 16 C4 94 A2 2A"))
    with pytest.raises(MalformedFrame):
        metawear.decode_notification(parse_hex("03 04 16 C4 94 A2 2A D0 00"))
    with pytest.raises(UnsupportedFrame):
        metawear.decode_notification(parse_hex("04 01 00"))
    with pytest.raises(TruncatedFrame):
        metawear.decode_notification(b"\x03")
    with pytest.raises(ProtocolError):
        metawear.decode_notification(parse_hex("03 04 16 C4 94 A2 2A D0")).scaled(3)


def test_metawear_stream_counts_samples_per_kind():
    stream = metawear.MetaWearStream(acc_odr_hz=100, acc_range_g=8, gyro_odr_hz=50, gyro_range_dps=1000)
    acc = metawear.encode_notification("acc", [[4096, 0, 0], [0, 4096, 0], [0, 0, 4096]], packed=True)
    a1 = stream.decode(acc)
    with pytest.raises(ProtocolError):
        stream.decode(acc[:-1])  # a bad packet costs only itself
    g1 = stream.decode(metawear.encode_notification("gyro", [[328, 0, 0]]))
    a2 = stream.decode(acc)
    assert a1.time_s.tolist() == [0.0, 0.01, 0.02]
    assert a2.time_s.tolist() == pytest.approx([0.03, 0.04, 0.05])
    assert g1.time_s.tolist() == [0.0]
    assert np.allclose(a1.acc_mps2, np.eye(3) * 9.80665)
    assert g1.gyr_dps is not None and g1.gyr_dps[0, 0] == pytest.approx(10.0)
    assert isinstance(a1.to_sample_block(), object)


def test_metawear_registry():
    out = decode_hex("metawear", "03 04 16 C4 94 A2 2A D0", factor=1 / 8192)
    assert out["samples_raw"] == [[-15338, -23916, -12246]]
    assert np.round(out["samples"][0], 3).tolist() == [-1.872, -2.919, -1.495]


# --- Movesense GSP ----------------------------------------------------------------------------

SYNTHETIC_ACC = parse_hex(
    "02 63 40 E2 01 00 8F C2 F5 3D 7B 14 AE BE C3 F5 1C 41 9A 99 19 3E 9A 99 99 BE D7 A3 1C 41 CD CC CC 3D"
    "EC 51 B8 BE AE 47 1D 41 AE 47 E1 3D C3 F5 A8 BE CD CC 1C 41"
)
SYNTHETIC_VALUES = [[0.12, -0.34, 9.81], [0.15, -0.30, 9.79], [0.10, -0.36, 9.83], [0.11, -0.33, 9.80]]


def test_movesense_commands():
    assert movesense.encode_subscribe(99, "/Meas/Acc/52") == parse_hex("01 63 2F 4D 65 61 73 2F 41 63 63 2F 35 32")
    assert movesense.encode_unsubscribe(99) == parse_hex("02 63")
    assert movesense.encode_subscribe(99, movesense.resource_path("imu6", 104)) == parse_hex(
        "01 63 2F 4D 65 61 73 2F 49 4D 55 36 2F 31 30 34"
    )
    assert movesense.encode_hello(5) == parse_hex("00 05")
    cmd = movesense.decode_command(parse_hex("01 63 2F 4D 65 61 73 2F 41 63 63 2F 35 32"))
    assert (cmd.command, cmd.ref, cmd.path) == (movesense.GspCommand.SUBSCRIBE, 99, "/Meas/Acc/52")
    assert movesense.parse_resource_path("/Meas/IMU9/104") == ("imu9", 104)
    with pytest.raises(EncodeError):
        movesense.encode_unsubscribe(0)  # the reference must be non-zero
    with pytest.raises(EncodeError):
        movesense.resource_path("acc", 100)
    with pytest.raises(MalformedFrame):
        movesense.parse_resource_path("/Meas/ECG/250")


def test_movesense_command_results():
    msg = movesense.decode_notification(parse_hex("01 05 48 65 6C 6C 6F"))
    assert msg.type is movesense.GspPacket.COMMAND_RESULT
    stream = movesense.GspStream()
    (result,) = stream.feed(parse_hex("01 05 48 65 6C 6C 6F"))
    assert isinstance(result, movesense.GspCommandResult) and result.is_hello
    (full,) = stream.feed(parse_hex("01 05 01 FB"))
    assert full.status == 507  # [U] big-endian "no free subscription slot"


def test_movesense_synthetic_acc_vector():
    msg = movesense.decode_notification(SYNTHETIC_ACC)
    assert (msg.type, msg.ref) == (movesense.GspPacket.DATA, 99)
    data = movesense.decode_data_payload(msg.payload, "acc")
    assert data.timestamp_ms == 123456 and len(data) == 4
    assert data.acc_mps2 is not None
    assert data.acc_mps2.tolist() == np.float32(SYNTHETIC_VALUES).astype(np.float64).tolist()
    assert movesense.encode_data(99, 123456, "acc", acc=SYNTHETIC_VALUES) == [SYNTHETIC_ACC]
    with pytest.raises(MalformedFrame):
        movesense.decode_data_payload(msg.payload[:40], "imu6")  # 36 bytes: not whole 24-byte samples
    assert len(movesense.decode_data_payload(msg.payload[:28], "imu6")) == 1


def test_movesense_stream_times_and_units():
    stream = movesense.GspStream()
    stream.subscribe(99, "acc", 52, part2=False)
    (imu,) = stream.feed(SYNTHETIC_ACC)
    assert isinstance(imu, ImuSamples)
    assert imu.time_s.tolist() == pytest.approx([123.456 + i / 52 for i in range(4)])
    assert imu.acc_mps2 is not None and imu.gyr_dps is None
    block = imu.to_sample_block()
    assert len(block) == 4


def _imu9(ts: int, n: int = 8, ref: int = 3) -> list[bytes]:
    rng = np.random.default_rng(ts)
    a, g, m = (rng.normal(size=(n, 3)) for _ in range(3))
    return movesense.encode_data(ref, ts, "imu9", acc=a, gyro=g, magn=m, max_packet=161)


def test_movesense_part2_reassembly_modes():
    packets = _imu9(1000) + _imu9(1000 + round(8 * 1000 / 104))
    assert [p[0] for p in packets] == [2, 3, 2, 3]  # 2 + 4 + 8*36 bytes do not fit 161
    known = movesense.GspStream()
    known.subscribe(3, "imu9", 104, part2=True)
    out = [r for p in packets for r in known.feed(p)]
    assert [len(r) for r in out] == [8, 8]
    assert all(r.magn_ut is not None for r in out)
    unknown = movesense.GspStream()
    unknown.subscribe(3, "imu9", 104)  # part2 unknown: each DATA waits for a continuation
    emitted = [len(unknown.feed(p)) for p in packets]
    assert emitted == [0, 1, 0, 1]
    unknown_acc = movesense.GspStream()
    unknown_acc.subscribe(1, "acc", 52)
    first = movesense.encode_data(1, 10, "acc", acc=np.ones((4, 3)))[0]
    assert unknown_acc.feed(first) == []
    assert len(unknown_acc.feed(movesense.encode_data(1, 87, "acc", acc=np.ones((4, 3)))[0])) == 1
    assert len(unknown_acc.flush()) == 1


def test_movesense_stream_bad_packets_cost_only_themselves():
    stream = movesense.GspStream()
    stream.subscribe(3, "imu9", 104, part2=True)
    stream.subscribe(1, "acc", 52, part2=False)
    a, b = _imu9(1000)
    with pytest.raises(MalformedFrame):
        stream.feed(b)  # a continuation with nothing before it
    assert stream.feed(a) == []
    with pytest.raises(ProtocolError):
        stream.feed(movesense.encode_data(1, 5, "acc", acc=np.ones((2, 3)))[0][:-3])  # other ref, broken
    with pytest.raises(UnsupportedFrame):
        stream.feed(movesense.encode_data(9, 5, "acc", acc=np.ones((2, 3)))[0])  # never subscribed
    with pytest.raises(UnsupportedFrame):
        stream.feed(parse_hex("07 03 00"))
    (imu,) = stream.feed(b)
    assert len(imu) == 8


def test_movesense_timestamp_wrap_and_gap():
    stream = movesense.GspStream()
    stream.subscribe(1, "acc", 52, part2=False)
    period = 1000 / 52
    ts0 = (1 << 32) - 40
    (a,) = stream.feed(movesense.encode_data(1, ts0, "acc", acc=np.ones((4, 3)))[0])
    ts1 = (ts0 + round(4 * period)) % (1 << 32)  # wraps past 2**32 ms
    (b,) = stream.feed(movesense.encode_data(1, ts1, "acc", acc=np.ones((4, 3)))[0])
    assert b.time_s[0] > a.time_s[-1] and not b.gap_before
    ts2 = (ts1 + round(12 * period)) % (1 << 32)  # one packet of 4 (plus 4 more samples) lost
    (c,) = stream.feed(movesense.encode_data(1, ts2, "acc", acc=np.ones((4, 3)))[0])
    assert c.gap_before and c.missing_samples == 8


def test_movesense_registry():
    out = decode_hex("movesense-acc", SYNTHETIC_ACC.hex())
    assert out["timestamp_ms"] == 123456 and out["n_samples"] == 4
    assert np.allclose(out["acc_mps2"], SYNTHETIC_VALUES, atol=1e-6)
    assert decode_hex("movesense", SYNTHETIC_ACC.hex())["ref"] == 99
    with pytest.raises(UnsupportedFrame):
        decode_hex("movesense-imu6", "03 01 00 00")
