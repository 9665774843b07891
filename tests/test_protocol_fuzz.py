"""Robustness of every decoder: random bytes, truncations and bit flips of valid frames raise
only typed `ProtocolError`s; a rejected frame leaves stateful decoders exactly as they were;
the vectorised delta decoder agrees with a plain bit-by-bit reading of the algorithm."""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_interface.protocols import decode_hex, metawear, movesense, polar_pmd, rsc
from firmware_interface.protocols.bench import run_fuzz, run_protocol_bench
from firmware_interface.protocols.common import parse_hex
from firmware_interface.protocols.errors import ProtocolError

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = {
    "pmd": [
        parse_hex("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03"),
        parse_hex("02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 02 FC 07 FF 0C 13 F2"),
        parse_hex("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08"),
        parse_hex("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00"),
        parse_hex(
            "05 00 94 35 77 00 00 00 00 81 00 00 80 3F 00 00 20 41 00 00 A0 41 1C 01 00 00 A0 01 00 00 08 CD CC EC 0D"
        ),
        polar_pmd.encode_data_frame(2, 0x02, 10**15, [[1, -2, 3], [-8388608, 8388607, 0]]),
    ],
    "pmd-cp": [
        parse_hex("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"),
        parse_hex("F0 02 02 00 00 05 01 40 DA 7F 39"),
        parse_hex("F0 01 06 07 00"),
        parse_hex("0F 6E 00"),
        parse_hex("01 02 05"),
    ],
    "pmd-request": [parse_hex("02 02 02 01 08 00 00 01 C8 00 01 01 10 00"), parse_hex("03 02")],
    "rsc": [parse_hex("07 80 03 AA 7C 00 39 30 00 00"), parse_hex("00 40 01 6E"), parse_hex("04 00 04 B4")],
    "rsc-feature": [parse_hex("07 00")],
    "metawear": [
        parse_hex("03 04 16 C4 94 A2 2A D0"),
        parse_hex("03 1C 62 B7 53 0D E9 FD 16 D0 4D 0E 57 02 8A FF A1 05 0A 01"),
        parse_hex("13 05 3E 43 FF 7F 00 80"),
        parse_hex("13 07 09 15 AD 26 08 DE 8A 1A 0D 26 65 E4 8D 20 AC 27 73 EC"),
    ],
    "metawear-bmi270": [
        parse_hex("03 04 16 C4 94 A2 2A D0"),
        parse_hex("03 05 62 B7 53 0D E9 FD 16 D0 4D 0E 57 02 8A FF A1 05 0A 01"),
        parse_hex("13 04 3E 43 FF 7F 00 80"),
        parse_hex("13 05 09 15 AD 26 08 DE 8A 1A 0D 26 65 E4 8D 20 AC 27 73 EC"),
    ],
    "metawear-info": [parse_hex("03 80 04 00"), parse_hex("13 80 01 00"), parse_hex("03 80 01 01"), parse_hex("13 80")],
    "movesense": [
        movesense.encode_data(1, 123456, "acc", acc=np.ones((4, 3)))[0],
        movesense.encode_data(2, 99, "imu6", acc=np.ones((2, 3)), gyro=np.zeros((2, 3)))[0],
        parse_hex("01 05 48 65 6C 6C 6F"),
    ],
}

DECODERS = {
    "pmd": [polar_pmd.decode_data_frame, lambda d: polar_pmd.si_values(polar_pmd.decode_data_frame(d), 0.5)],
    "pmd-cp": [polar_pmd.decode_cp_message, lambda d: polar_pmd.decode_response(d).settings, polar_pmd.decode_settings],
    "pmd-request": [lambda d: polar_pmd.decode_request(d).settings],
    "rsc": [rsc.decode_measurement, lambda d: rsc.decode_measurement(d, cadence_unit="strides")],
    "rsc-feature": [rsc.decode_feature],
    "metawear": [metawear.decode_notification],
    "metawear-bmi270": [lambda d: metawear.decode_notification(d, chip="bmi270")],
    "metawear-info": [metawear.decode_module_info, lambda d: metawear.detect_board(d[:4], d[4:] or None)],
    "movesense": [
        movesense.decode_notification,
        movesense.decode_command,
        lambda d: movesense.decode_data_payload(d, "imu9"),
        lambda d: movesense.decode_data_payload(d[2:], "acc"),
    ],
}
ALL = [(group, i, fn) for group, fns in DECODERS.items() for i, fn in enumerate(fns)]
IDS = [f"{g}-{i}" for g, i, _ in ALL]


def only_typed_errors(fn, data: bytes) -> None:
    try:
        fn(data)
    except ProtocolError:
        pass


@pytest.mark.parametrize(("group", "index", "fn"), ALL, ids=IDS)
@FAST
@given(data=st.binary(max_size=300))
def test_random_bytes_raise_only_typed_errors(group, index, fn, data):
    only_typed_errors(fn, data)


@pytest.mark.parametrize(("group", "index", "fn"), ALL, ids=IDS)
def test_every_truncation_of_valid_frames(group, index, fn):
    for frame in VALID[group]:
        for end in range(len(frame)):
            only_typed_errors(fn, frame[:end])


@pytest.mark.parametrize(("group", "index", "fn"), ALL, ids=IDS)
@FAST
@given(
    pick=st.integers(0, 100), flips=st.lists(st.integers(0, 10_000), min_size=1, max_size=6), tail=st.binary(max_size=8)
)
def test_bit_flips_of_valid_frames(group, index, fn, pick, flips, tail):
    frame = bytearray(VALID[group][pick % len(VALID[group])])
    for bit in flips:
        bit %= len(frame) * 8
        frame[bit >> 3] ^= 1 << (bit & 7)
    only_typed_errors(fn, bytes(frame))
    only_typed_errors(fn, bytes(frame) + tail)


@FAST
@given(text=st.text(max_size=80), name=st.sampled_from(["pmd", "pmd-cp", "rsc", "metawear", "metawear-bmi270", "movesense-imu6", "x"]))
def test_registry_takes_any_text(text, name):
    try:
        out = decode_hex(name, text)
    except ProtocolError:
        return
    json.dumps(out, allow_nan=False)


# --- stateful decoders: a rejected frame costs only itself ------------------------------------


def _pmd_state(stream: polar_pmd.PmdStream):
    return (copy.deepcopy(stream._config), dict(stream._previous))


def _gsp_state(stream: movesense.GspStream):
    return copy.deepcopy(stream._subs)


def _mutations():
    return st.one_of(
        st.binary(max_size=64),
        st.tuples(st.integers(0, 50), st.integers(0, 300)).map(lambda t: ("truncate", t)),
        st.tuples(st.integers(0, 50), st.lists(st.integers(0, 4000), min_size=1, max_size=4)).map(
            lambda t: ("flip", t)
        ),
    )


def _apply(pool: list[bytes], m) -> bytes:
    if isinstance(m, bytes):
        return m
    kind, (pick, arg) = m
    frame = bytearray(pool[pick % len(pool)])
    if kind == "truncate":
        return bytes(frame[: arg % max(1, len(frame))])
    for bit in arg:
        bit %= len(frame) * 8
        frame[bit >> 3] ^= 1 << (bit & 7)
    return bytes(frame)


def _h10_frames(n: int) -> list[bytes]:
    period = 5_000_000
    return [polar_pmd.encode_data_frame(2, 0x01, 10**15 + (k + 1) * 36 * period, np.full((36, 3), k)) for k in range(n)]


@FAST
@given(garbage=st.lists(_mutations(), max_size=12))
def test_pmd_stream_rejected_frames_leave_no_trace(garbage):
    valid = _h10_frames(3)
    pool = valid + VALID["pmd"]
    clean = polar_pmd.PmdStream()
    clean.configure(2, sample_rate_hz=200)
    clean.configure(5, sample_rate_hz=52)
    dirty = copy.deepcopy(clean)
    expect = [clean.decode(f) for f in valid]
    got = [dirty.decode(valid[0])]
    accepted_garbage = False
    for m in garbage:
        data = _apply(pool, m)
        before = _pmd_state(dirty)
        try:
            out = dirty.decode(data)
        except ProtocolError:
            assert _pmd_state(dirty) == before
        else:
            accepted_garbage = True
            assert int(out.time_ns[-1]) == out.frame.timestamp_ns
            assert out.time_ns.shape[0] < 2 or bool(np.all(np.diff(out.time_ns) > 0))
    got += [dirty.decode(f) for f in valid[1:]]
    for a, b in zip(expect, got, strict=True):
        assert np.array_equal(a.values, b.values)
        if not accepted_garbage:
            assert np.array_equal(a.time_ns, b.time_ns)
        else:  # an accepted (mutated) frame may move the clock reference; spacing stays sane
            assert np.all(np.diff(b.time_ns) > 0) and b.time_ns[-1] == a.time_ns[-1]


@FAST
@given(garbage=st.lists(_mutations(), max_size=12))
def test_gsp_stream_rejected_packets_leave_no_trace(garbage):
    rng = np.random.default_rng(0)
    stream = movesense.GspStream()
    stream.subscribe(3, "imu9", 104, part2=True)
    stream.subscribe(1, "acc", 52, part2=False)
    pool = movesense.encode_data(
        3,
        5000,
        "imu9",
        acc=rng.normal(size=(8, 3)),
        gyro=rng.normal(size=(8, 3)),
        magn=rng.normal(size=(8, 3)),
        max_packet=161,
    ) + [movesense.encode_data(1, 7000, "acc", acc=rng.normal(size=(4, 3)))[0]]
    for m in garbage:
        data = _apply(pool, m)
        before = _gsp_state(stream)
        try:
            stream.feed(data)
        except ProtocolError:
            after = _gsp_state(stream)
            # the one allowed change: a broken DATA_PART2 consumes the DATA it belonged to
            for ref, sub in before.items():
                if after[ref] != sub:
                    assert data[:1] == b"\x03" and after[ref].pending is None
                    sub.pending = None
                    assert after[ref] == sub


@FAST
@given(garbage=st.lists(_mutations(), max_size=10))
def test_metawear_stream_rejected_packets_leave_no_trace(garbage):
    stream = metawear.MetaWearStream()
    for m in garbage:
        data = _apply(VALID["metawear"], m)
        before = dict(stream._count)
        try:
            stream.decode(data)
        except ProtocolError:
            assert stream._count == before


@FAST
@given(garbage=st.lists(_mutations(), max_size=10), group=st.sampled_from(["metawear-bmi270", "metawear-info"]))
def test_metawear_module_info_and_bmi270_rejections_leave_no_trace(garbage, group):
    stream = metawear.MetaWearStream(chip="bmi270")
    for m in garbage:
        data = _apply(VALID[group], m)
        before = (stream.chip, dict(stream._count), dict(stream._base_s), stream.acc_odr_hz, stream.acc_range_g)
        try:
            if metawear.is_module_info(data):
                stream.on_module_info(data)
            elif data[:1] in (b"\x03", b"\x13") and data[1:2] == b"\x03":
                stream.on_command(data)
            else:
                stream.decode(data)
        except ProtocolError:
            after = (stream.chip, dict(stream._count), dict(stream._base_s), stream.acc_odr_hz, stream.acc_range_g)
            assert after == before


# --- the vectorised delta decoder against a plain reading of the algorithm --------------------


def reference_delta_decode(payload: bytes, channels: int, resolution: int) -> list[list[int]]:
    nbytes = (resolution + 7) // 8
    if len(payload) < channels * nbytes:
        raise ProtocolError("short")
    prev = [int.from_bytes(payload[c * nbytes : (c + 1) * nbytes], "little", signed=True) for c in range(channels)]
    samples = [list(prev)]
    off = channels * nbytes
    while off < len(payload):
        if off + 2 > len(payload):
            raise ProtocolError("short header")
        width, count = payload[off], payload[off + 1]
        off += 2
        if not 1 <= width <= 32:
            raise ProtocolError("width")
        nb = (width * count * channels + 7) // 8
        if off + nb > len(payload):
            raise ProtocolError("short block")
        bits = int.from_bytes(payload[off : off + nb], "little")
        off += nb
        pos = 0
        for _ in range(count):
            cur = []
            for c in range(channels):
                d = (bits >> pos) & ((1 << width) - 1)
                pos += width
                if d & (1 << (width - 1)):
                    d -= 1 << width
                cur.append(prev[c] + d)
            samples.append(cur)
            prev = cur
    return samples


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(min_size=6, max_size=120), resolution=st.sampled_from([16, 32]))
def test_delta_decoder_matches_plain_reading(payload, resolution):
    try:
        expect = reference_delta_decode(payload, 3, resolution)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            polar_pmd.decode_delta_payload(payload, 3, resolution)
        return
    assert polar_pmd.decode_delta_payload(payload, 3, resolution).tolist() == expect


@FAST
@given(
    rows=st.lists(st.tuples(*[st.integers(-30000, 30000)] * 3), min_size=1, max_size=80),
    block=st.integers(1, 255),
)
def test_delta_round_trip(rows, block):
    x = np.array(rows, dtype=np.int64)
    assert polar_pmd.decode_delta_payload(polar_pmd.encode_delta_payload(x, block_size=block)).tolist() == x.tolist()


@FAST
@given(rows=st.lists(st.tuples(*[st.floats(width=32, allow_nan=False)] * 3), min_size=1, max_size=40))
def test_float_delta_round_trip(rows):
    x = np.array(rows, dtype=np.float32)
    frame = bytes([5]) + (1).to_bytes(8, "little") + b"\x81" + polar_pmd.encode_delta_payload(x, float_bits=True)
    assert polar_pmd.decode_data_frame(frame).samples_raw.view(np.uint32).tolist() == x.view(np.uint32).tolist()


# --- the bench's fuzz driver, briefly ------------------------------------------------------------


def test_bench_fuzz_driver_small_run():
    report = run_fuzz(4000, seed=7)
    assert report.inputs == 4000
    assert report.escaped == 0, report.escapes
    assert report.accepted > 0 and report.rejected > 0


def test_run_protocol_bench_smoke(capsys):
    args = argparse.Namespace(fuzz_inputs=500, seconds=0.01, seed=1, json=True)
    assert run_protocol_bench(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fuzz"]["escaped"] == 0 and out["fuzz"]["inputs"] == 500
    assert {r["decoder"] for r in out["throughput"]} >= {"rsc measurement", "pmd acc raw 0x01 (H10, 36 samples)"}
