"""Decoder throughput and a long fuzz run: ``gait bench-protocols``.

Throughput: frames/s (and samples/s) per protocol decoder on realistic frames.
Fuzz: random and mutated inputs (truncations, bit flips, byte edits, splices, random headers)
fed to every decoder, stateless and stateful; each outcome is counted as accepted, rejected
with a typed `ProtocolError`, or ESCAPED (any other exception, or an accepted result that
breaks an invariant). Escapes must be 0: the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import metawear, movesense, polar_pmd, rsc
from .common import parse_hex, to_hex
from .errors import ProtocolError
from .registry import decode_hex

# A few golden frames (the full set is in tests/test_protocol_*.py).
_H10_FRAME = parse_hex(
    "02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF"
    "E6 03 FA FF FE FF E6 03 F9 FF FF FF E5 03 F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03"
    "FA FF FF FF E7 03 FA FF FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF"
    "FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF FF FF E5 03 F9 FF FF FF"
    "E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03 F9 FF FF FF E6 03"
    "F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 F9 FF"
    "FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 F7 FF FE FF"
    "E6 03"
)
_CP_SEEDS = [
    parse_hex(h)
    for h in (
        "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00",
        "F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03",
        "F0 02 02 00 00 01",
        "F0 02 02 00 00 05 01 40 DA 7F 39",
        "F0 03 02 00 00",
        "F0 01 06 07 00",
        "0F 6E 00",
        "01 02 05",
    )
]
_REQUEST_SEEDS = [
    parse_hex(h)
    for h in (
        "02 02 02 01 08 00 00 01 C8 00 01 01 10 00",
        "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03",
        "01 02",
        "03 02",
        "04 02",
    )
]


def _walk(n: int, rng: np.random.Generator, scale: float, start: tuple[float, float, float]) -> np.ndarray:
    """A smooth random walk around ``start`` (looks like body motion, compresses like it)."""
    steps = rng.normal(0.0, scale, size=(n, 3))
    return np.asarray(start) + np.cumsum(steps, axis=0)


def _pmd_frame(measurement: int, frame_type: int, ts: int, payload: bytes) -> bytes:
    return bytes((measurement,)) + ts.to_bytes(8, "little") + bytes((frame_type,)) + payload


def _make_frames(rng: np.random.Generator) -> dict[str, list[bytes]]:
    acc = np.round(_walk(4000, rng, 12.0, (-20.0, 30.0, 1000.0))).astype(np.int64)
    gyro = _walk(4000, rng, 3.0, (1.0, -2.0, 0.5)).astype(np.float32)
    frames: dict[str, list[bytes]] = {}
    period = 1_000_000_000 // 200
    h10 = []
    for k in range(0, 36 * 60, 36):
        h10.append(polar_pmd.encode_data_frame(2, 0x01, 10**15 + (k + 35) * period, acc[k : k + 36]))
    frames["pmd acc raw 0x01 (H10, 36 samples)"] = h10
    frames["pmd acc delta 0x81 (Verity, ~70 samples)"] = [
        _pmd_frame(2, 0x81, 10**15 + k, polar_pmd.encode_delta_payload(acc[k : k + 70], block_size=69))
        for k in range(0, 3500, 70)
    ]
    frames["pmd gyro delta 0x81 float bits (~40 samples)"] = [
        _pmd_frame(5, 0x81, 10**15 + k, polar_pmd.encode_delta_payload(gyro[k : k + 40], float_bits=True))
        for k in range(0, 3500, 40)
    ]
    frames["rsc measurement"] = [
        rsc.encode_measurement(
            speed_mps=3.0 + k / 100, cadence_per_min=170, stride_length_m=1.2, total_distance_m=k * 1.5, running=True
        )
        for k in range(100)
    ]
    frames["metawear packed acc (3 samples)"] = [
        metawear.encode_notification("acc", np.clip(acc[k : k + 3] * 4, -32768, 32767), packed=True)
        for k in range(0, 300, 3)
    ]
    imu = acc[:800].astype(np.float64) * 9.80665e-3
    frames["movesense imu6 (8 samples)"] = [
        movesense.encode_data(7, 1000 + k * 10, "imu6", acc=imu[k : k + 8], gyro=gyro[k : k + 8])[0]
        for k in range(0, 800, 8)
    ]
    return frames


def _throughput(frames: dict[str, list[bytes]], seconds: float) -> list[dict]:
    results = []
    stream_h10 = polar_pmd.PmdStream()
    stream_h10.configure(2, sample_rate_hz=200)
    gsp = movesense.GspStream()
    gsp.subscribe(7, "imu6", 104, part2=False)
    mw = metawear.MetaWearStream()
    workloads: list[tuple[str, list[bytes], Callable[[bytes], object], Callable[[object], int]]] = [
        (
            "pmd acc raw 0x01 (H10, 36 samples)",
            frames["pmd acc raw 0x01 (H10, 36 samples)"],
            polar_pmd.decode_data_frame,
            lambda r: r.n_samples,
        ),
        (
            "pmd acc delta 0x81 (Verity, ~70 samples)",
            frames["pmd acc delta 0x81 (Verity, ~70 samples)"],
            polar_pmd.decode_data_frame,
            lambda r: r.n_samples,
        ),
        ("pmd acc delta 0x80 (G13, 10-bit, 57 samples)", [_G13], polar_pmd.decode_data_frame, lambda r: r.n_samples),
        (
            "pmd gyro delta 0x81 float bits (~40 samples)",
            frames["pmd gyro delta 0x81 float bits (~40 samples)"],
            polar_pmd.decode_data_frame,
            lambda r: r.n_samples,
        ),
        ("pmd stream H10: decode + clock + SI", frames["pmd acc raw 0x01 (H10, 36 samples)"], stream_h10.decode, len),
        ("rsc measurement", frames["rsc measurement"], rsc.decode_measurement, lambda r: 1),
        (
            "metawear packed acc (3 samples)",
            frames["metawear packed acc (3 samples)"],
            metawear.decode_notification,
            len,
        ),
        ("metawear stream: decode + clock + SI", frames["metawear packed acc (3 samples)"], mw.decode, len),
        ("movesense imu6 stream (8 samples)", frames["movesense imu6 (8 samples)"], lambda d: gsp.feed(d)[0], len),
    ]
    for name, batch, fn, count in workloads:
        done = samples = 0
        t0 = time.perf_counter()
        while True:
            if name.startswith("pmd stream"):
                stream_h10.reset()
            for data in batch:
                samples += count(fn(data))
            done += len(batch)
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        results.append(
            {
                "decoder": name,
                "frames_per_s": round(done / elapsed),
                "samples_per_s": round(samples / elapsed),
                "frames": done,
            }
        )
    return results


_G13 = parse_hex(
    "02 00 94 35 77 00 00 00 00 80 71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9"
    "EB BE 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD"
    "30 7E 7B 2F 8B E3 CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE"
    "3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7 F1 B9 FC 7D BC 2E"
    "7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B"
    "7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B"
    "DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3"
    "C7 A2 76 F9"
)


# ---------------------------------------------------------------------------------------------
# Fuzzing
# ---------------------------------------------------------------------------------------------


class InvariantViolation(AssertionError):
    """An input was accepted but the result breaks a documented invariant."""


def _check_pmd_frame(f: polar_pmd.PmdDataFrame) -> None:
    if f.samples_raw.ndim != 2 or f.samples_raw.shape[1] != 3 or f.n_samples < 1:
        raise InvariantViolation(f"bad samples shape {f.samples_raw.shape}")


def _check_pmd_samples(s: polar_pmd.PmdSamples) -> None:
    _check_pmd_frame(s.frame)
    t = s.time_ns
    if t.shape != (s.frame.n_samples,) or int(t[-1]) != s.frame.timestamp_ns:
        raise InvariantViolation("last sample time is not the frame timestamp")
    if t.shape[0] > 1 and not bool(np.all(np.diff(t) > 0)):
        raise InvariantViolation("sample times not strictly increasing")
    if s.values.shape != (s.frame.n_samples, 3):
        raise InvariantViolation("values shape")


def _check_imu(s: object) -> None:
    if isinstance(s, list):
        for item in s:
            _check_imu(item)
        return
    if not hasattr(s, "time_s"):
        return
    t = s.time_s  # type: ignore[attr-defined]
    if t.shape[0] > 1 and not bool(np.all(np.diff(t) > 0)):
        raise InvariantViolation("sample times not strictly increasing")


@dataclass
class TargetStats:
    accepted: int = 0
    rejected: int = 0
    escaped: int = 0


@dataclass
class FuzzReport:
    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    escaped: int = 0
    seconds: float = 0.0
    per_target: dict[str, TargetStats] = field(default_factory=dict)
    rejections_by_error: dict[str, int] = field(default_factory=dict)
    escapes: list[dict] = field(default_factory=list)  # the first few, with the input as hex

    def to_dict(self) -> dict:
        return {
            "inputs": self.inputs,
            "accepted": self.accepted,
            "typed_rejected": self.rejected,
            "escaped": self.escaped,
            "seconds": round(self.seconds, 2),
            "per_target": {k: vars(v) for k, v in self.per_target.items()},
            "rejections_by_error": dict(sorted(self.rejections_by_error.items())),
            "escapes": self.escapes,
        }


def _targets(rng: np.random.Generator) -> list[tuple[str, Callable[[bytes], object], list[bytes]]]:
    frames = _make_frames(rng)
    pmd_seeds = (
        frames["pmd acc raw 0x01 (H10, 36 samples)"][:3]
        + frames["pmd acc delta 0x81 (Verity, ~70 samples)"][:3]
        + frames["pmd gyro delta 0x81 float bits (~40 samples)"][:3]
        + [_H10_FRAME, _G13]
        + [
            parse_hex(h)
            for h in (
                "02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 02 FC 07 FF 0C 13 F2",
                "02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08",
                "05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00",
                "05 00 94 35 77 00 00 00 00 81 00 00 80 3F 00 00 20 41 00 00 A0 41 1C 01 00 00 A0 01 00 00 08 CD CC EC 0D",
            )
        ]
        + [polar_pmd.encode_data_frame(2, t, 10**12, [[1, -2, 3], [4, 5, -6]]) for t in (0, 1, 2)]
        + [polar_pmd.encode_data_frame(5, t, 10**12, [[1, -2, 3], [4, 5, -6]]) for t in (0, 1)]
    )
    stream = polar_pmd.PmdStream(device="fuzz")
    stream.configure(polar_pmd.MeasurementType.ACC, sample_rate_hz=52, factor=0.000244)
    stream.configure(polar_pmd.MeasurementType.GYRO, sample_rate_hz=52)

    def pmd_stream(data: bytes) -> object:
        out = stream.decode(data)
        _check_pmd_samples(out)
        return out

    def pmd_frame(data: bytes) -> object:
        out = polar_pmd.decode_data_frame(data)
        _check_pmd_frame(out)
        polar_pmd.si_values(out, 0.000244)
        return out

    rsc_seeds = frames["rsc measurement"][:5] + [parse_hex("00 40 01 6E"), parse_hex("04 00 04 B4")]
    mw_seeds = frames["metawear packed acc (3 samples)"][:3] + [
        parse_hex("03 04 16 C4 94 A2 2A D0"),
        parse_hex("13 05 3E 43 FF 7F 00 80"),
        parse_hex("13 07 09 15 AD 26 08 DE 8A 1A 0D 26 65 E4 8D 20 AC 27 73 EC"),
    ]
    mw_stream = metawear.MetaWearStream()

    def mw_decode(data: bytes) -> object:
        out = mw_stream.decode(data)
        _check_imu(out)
        return out

    imu = rng.normal(0, 5, size=(16, 3))
    gsp_seeds = [
        *movesense.encode_data(1, 1000, "acc", acc=imu[:4]),
        *movesense.encode_data(2, 2000, "imu6", acc=imu[:8], gyro=imu[8:]),
        *movesense.encode_data(3, 3000, "imu9", acc=imu[:8], gyro=imu[8:], magn=imu[:8], max_packet=161),
        parse_hex("01 05 48 65 6C 6C 6F"),
    ]
    gsp = movesense.GspStream()
    gsp.subscribe(1, "acc", 52, part2=False)
    gsp.subscribe(2, "imu6", 104)
    gsp.subscribe(3, "imu9", 104, part2=True)

    def gsp_feed(data: bytes) -> object:
        out = gsp.feed(data)
        _check_imu(out)
        return out

    def gsp_payloads(data: bytes) -> object:
        msg = movesense.decode_notification(data)
        return [movesense.decode_data_payload(msg.payload, k) for k in ("acc", "imu6")][0]

    registry_names = [
        "pmd",
        "pmd-cp",
        "pmd-request",
        "pmd-settings",
        "rsc",
        "rsc-feature",
        "metawear",
        "movesense",
        "movesense-imu9",
    ]

    def registry(data: bytes) -> object:
        name = registry_names[data[0] % len(registry_names)] if data else "pmd"
        out = decode_hex(name, to_hex(data[1:]) if data else "")
        json.dumps(out, allow_nan=False)
        return out

    return [
        ("pmd data frame", pmd_frame, pmd_seeds),
        ("pmd stream (stateful)", pmd_stream, pmd_seeds),
        ("pmd control point", polar_pmd.decode_cp_message, _CP_SEEDS),
        ("pmd cp response settings", lambda d: polar_pmd.decode_response(d).settings, _CP_SEEDS),
        ("pmd request", lambda d: polar_pmd.decode_request(d).settings, _REQUEST_SEEDS),
        (
            "pmd settings",
            polar_pmd.decode_settings,
            [s[5:] for s in _CP_SEEDS[:4]]
            + [parse_hex("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03")],
        ),
        ("rsc measurement", rsc.decode_measurement, rsc_seeds),
        ("rsc feature", rsc.decode_feature, [parse_hex("07 00"), parse_hex("1F 00")]),
        ("metawear notification", metawear.decode_notification, mw_seeds),
        ("metawear stream (stateful)", mw_decode, mw_seeds),
        ("movesense notification", movesense.decode_notification, gsp_seeds),
        ("movesense data payload", gsp_payloads, gsp_seeds),
        ("movesense stream (stateful)", gsp_feed, gsp_seeds),
        ("registry decode_hex", registry, [bytes((i,)) + s for i, s in enumerate(pmd_seeds[:6] + _CP_SEEDS[:3])]),
    ]


def _mutate(rnd: random.Random, seeds: list[bytes]) -> bytes:
    op = rnd.randrange(10)
    if op == 0:  # random bytes
        return rnd.randbytes(rnd.randrange(0, 48 if rnd.random() < 0.8 else 300))
    seed = bytearray(rnd.choice(seeds))
    if op == 1 and seed:  # truncate
        return bytes(seed[: rnd.randrange(len(seed))])
    if op in (2, 3) and seed:  # flip 1..4 bits
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(seed) * 8)
            seed[i >> 3] ^= 1 << (i & 7)
        return bytes(seed)
    if op == 4 and seed:  # replace bytes with random or boundary values
        for _ in range(rnd.randint(1, 3)):
            seed[rnd.randrange(len(seed))] = rnd.choice((0, 1, 0x7F, 0x80, 0xFF, rnd.randrange(256)))
        return bytes(seed)
    if op == 5:  # insert
        i = rnd.randrange(len(seed) + 1)
        return bytes(seed[:i] + rnd.randbytes(rnd.randint(1, 8)) + seed[i:])
    if op == 6 and len(seed) > 1:  # delete a slice
        i = rnd.randrange(len(seed))
        return bytes(seed[:i] + seed[i + rnd.randint(1, 8) :])
    if op == 7:  # splice two seeds
        other = rnd.choice(seeds)
        return bytes(seed[: rnd.randrange(len(seed) + 1)] + other[rnd.randrange(len(other) + 1) :])
    if op == 8 and seed:  # random header (type bytes, PMD frame type at 9)
        for i in (0, 1, 9):
            if i < len(seed) and rnd.random() < 0.5:
                seed[i] = rnd.randrange(256)
        return bytes(seed)
    if op == 9:  # extend with the tail of itself / random
        return bytes(
            seed + (seed[-rnd.randint(1, 12) :] if seed and rnd.random() < 0.5 else rnd.randbytes(rnd.randint(1, 12)))
        )
    return bytes(seed)


def run_fuzz(n_inputs: int, *, seed: int = 0, max_escapes: int = 10) -> FuzzReport:
    """Feed ``n_inputs`` random/mutated inputs round-robin across every decoder."""
    rnd = random.Random(seed)
    targets = _targets(np.random.default_rng(seed))
    report = FuzzReport(per_target={name: TargetStats() for name, _, _ in targets})
    t0 = time.perf_counter()
    k = 0
    while k < n_inputs:
        for name, fn, seeds in targets:
            if k >= n_inputs:
                break
            data = _mutate(rnd, seeds) if rnd.random() < 0.97 else rnd.choice(seeds)
            stats = report.per_target[name]
            try:
                fn(data)
            except ProtocolError as exc:
                stats.rejected += 1
                key = type(exc).__name__
                report.rejections_by_error[key] = report.rejections_by_error.get(key, 0) + 1
            except Exception as exc:  # counting escapes is the point
                stats.escaped += 1
                if len(report.escapes) < max_escapes:
                    report.escapes.append({"target": name, "input_hex": to_hex(data), "error": repr(exc)})
            else:
                stats.accepted += 1
            k += 1
    report.inputs = k
    report.accepted = sum(s.accepted for s in report.per_target.values())
    report.rejected = sum(s.rejected for s in report.per_target.values())
    report.escaped = sum(s.escaped for s in report.per_target.values())
    report.seconds = time.perf_counter() - t0
    return report


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``gait bench-protocols`` (for the CLI to reuse)."""
    parser.add_argument(
        "--fuzz-inputs", type=int, default=1_000_000, help="fuzz inputs across all decoders (default 1,000,000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=0.5, help="throughput measuring time per decoder (default 0.5 s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return parser


def run_protocol_bench(args: argparse.Namespace | None = None) -> int:
    """Throughput per decoder and the fuzz run; exit status 0 only if no exception escaped."""
    if args is None:
        args = add_arguments(argparse.ArgumentParser()).parse_args([])
    fuzz_inputs = int(getattr(args, "fuzz_inputs", 1_000_000))
    seconds = float(getattr(args, "seconds", 0.5))
    seed = int(getattr(args, "seed", 0))
    as_json = bool(getattr(args, "json", False))
    out = sys.stdout

    frames = _make_frames(np.random.default_rng(seed))
    throughput = _throughput(frames, seconds)
    if not as_json:
        print("Decoder throughput (single thread)", file=out)
        width = max(len(r["decoder"]) for r in throughput)
        print(f"  {'decoder':<{width}}  {'frames/s':>10}  {'samples/s':>11}", file=out)
        for r in throughput:
            print(f"  {r['decoder']:<{width}}  {r['frames_per_s']:>10,}  {r['samples_per_s']:>11,}", file=out)
        print(
            f"\nFuzzing {fuzz_inputs:,} random/mutated inputs across all decoders (seed {seed}) ...",
            file=out,
            flush=True,
        )
    report = run_fuzz(fuzz_inputs, seed=seed)
    if as_json:
        print(json.dumps({"throughput": throughput, "fuzz": report.to_dict()}), file=out)
    else:
        width = max(len(k) for k in report.per_target)
        print(f"  {'decoder':<{width}}  {'accepted':>9}  {'rejected':>9}  {'escaped':>7}", file=out)
        for name, s in report.per_target.items():
            print(f"  {name:<{width}}  {s.accepted:>9,}  {s.rejected:>9,}  {s.escaped:>7,}", file=out)
        print(
            f"  total: {report.inputs:,} inputs in {report.seconds:.1f} s: {report.accepted:,} accepted, "
            f"{report.rejected:,} rejected with a typed error, {report.escaped:,} escaped",
            file=out,
        )
        print(
            "  typed rejections: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.rejections_by_error.items())),
            file=out,
        )
        for e in report.escapes:
            print(f"  ESCAPED in {e['target']}: {e['error']} on input {e['input_hex']}", file=out)
    return 0 if report.escaped == 0 else 1


if __name__ == "__main__":
    raise SystemExit(run_protocol_bench(add_arguments(argparse.ArgumentParser(prog="bench-protocols")).parse_args()))
