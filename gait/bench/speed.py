"""Speed, latency and memory benchmark: ``gait bench [--minutes N] [--placement ...] [--json]``.

It prints figures; it asserts nothing. What it measures, per placement (sacrum and foot):

* offline: `gait.pipeline.analyze` over a whole run as one block, on one core (seconds and
  x real time; target < 2 s for one hour, i.e. >= 1800x), and, once, the CSV reader
  (`read_recording`) on the same run written to a temporary CSV file;
* live: the same samples fed as 10-sample packets through `Pipeline.process`, each call timed
  with ``perf_counter_ns``: p50 / p99 / max per packet (target p99 < 1 ms);
* step latency: for every `StepMetrics` of the live run, ``emitted_s - to_s`` (stream time when
  the record came out minus toe-off): median and max;
* memory: peak RSS (``ru_maxrss``) of fresh subprocesses streaming a run of N/6 and of N minutes,
  with the input generated on the fly one minute at a time, so a flat figure means the pipeline
  keeps no per-run state that grows.

The input is a **synthetic runner** (`SyntheticRunner`), not a tiled recording: no recording in
``data/`` has a gyroscope at 200 Hz next to the sacrum or on the foot, and tiling a short trial
repeats a few seconds thousands of times. The model is physical rather than a lookup:

* sacrum: spring-mass running. During contact the vertical ground reaction is a half-sine whose
  mean over the step equals body weight (so the centre of mass neither climbs nor sinks), in
  flight the body falls at -g; braking then propulsion along the direction of travel; a sway
  that alternates left / right per step; a small heel-strike transient; pelvic yaw, obliquity and
  tilt (gyroscope = their rates, accelerometer rotated with them); a fixed mounting rotation;
* foot: the shoe's pitch follows a heel-strike -> foot-flat -> heel-off -> toe-off -> swing
  profile (monotone spline through typical angles), the shoe is still during stance and moves one
  stride forward and about 12 cm up in swing (minimum-jerk), a damped 8 g impact at contact;
  accelerometer = specific force in the shoe frame, gyroscope = pitch rate (plus small off-axis);
* both: cadence wandering slowly (+/- 4 spm over 10 minutes) with 1.5 % step-to-step jitter,
  contact time jitter, white noise (0.08 m/s^2, 0.8 deg/s). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator

from gait.core.config import GRAVITY_MPS2, PipelineConfig
from gait.core.records import SampleBlock, StepMetrics

REPO_ROOT = Path(__file__).resolve().parents[2]
FS_HZ = 200.0
PACKET_SAMPLES = 10
CHUNK_S = 60.0
PLACEMENTS = ("sacrum", "foot")

TARGET_OFFLINE_X = 1800.0  # one hour in under 2 s
TARGET_P99_MS = 1.0

G = GRAVITY_MPS2


# ----------------------------------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------------------------------
def percentiles(values: Sequence[float] | np.ndarray, qs: Sequence[float] = (50.0, 99.0)) -> dict[str, float]:
    """``{"p50": ..., "p99": ..., "max": ..., "n": ...}`` of ``values`` (linear interpolation between
    closest ranks, numpy's default). NaN-free input expected; empty input gives NaNs."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    out: dict[str, float] = {}
    if arr.size == 0:
        for q in qs:
            out[_qname(q)] = float("nan")
        out["max"] = float("nan")
        out["n"] = 0
        return out
    for q, v in zip(qs, np.percentile(arr, list(qs))):
        out[_qname(q)] = float(v)
    out["max"] = float(arr.max())
    out["n"] = int(arr.size)
    return out


def _qname(q: float) -> str:
    return f"p{q:g}".replace(".", "_")


# ----------------------------------------------------------------------------------------------
# synthetic runner
# ----------------------------------------------------------------------------------------------
def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _minjerk(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk 0 -> 1 profile on v in [0, 1]: (position, d2/dv2)."""
    v = np.clip(v, 0.0, 1.0)
    return 10 * v**3 - 15 * v**4 + 6 * v**5, 60 * v - 180 * v**2 + 120 * v**3


# Foot pitch over one stride (toes up positive), stance = first FOOT_STANCE_NOM of the phase.
FOOT_STANCE_NOM = 0.36
_FOOT_KNOTS = np.array(
    [
        (0.00, 14.0),  # initial contact, heel first
        (0.05, 0.0),  # foot flat
        (0.20, 0.0),
        (0.28, -12.0),  # heel off
        (0.36, -55.0),  # toe-off: fastest toes-down rotation just before
        (0.42, -68.0),  # most plantar flexed, early swing
        (0.55, -45.0),
        (0.68, 0.0),  # mid-swing: fastest toes-up rotation
        (0.85, 22.0),  # toes up before landing
        (0.93, 20.0),
        (1.00, 14.0),
    ]
)


def _periodic_pchip(knots: np.ndarray) -> PchipInterpolator:
    u, y = knots[:, 0], knots[:, 1]
    uu = np.concatenate([u[:-1] - 1.0, u, u[1:] + 1.0])
    yy = np.concatenate([y[:-1], y, y[1:]])
    return PchipInterpolator(uu, yy)


_FOOT_PITCH = _periodic_pchip(_FOOT_KNOTS)
_FOOT_PITCH_D = _FOOT_PITCH.derivative()


@dataclass
class _Steps:
    ic_s: np.ndarray
    period_s: np.ndarray
    contact_s: np.ndarray


class SyntheticRunner:
    """An endless synthetic run, read sample block by sample block (see the module docstring).

    ``next_block(n)`` returns the next ``n`` samples as a `SampleBlock` (sensor frame, gravity
    included, gyroscope in deg/s). Memory does not grow with the length of the run.
    """

    def __init__(self, placement: str = "sacrum", fs: float = FS_HZ, seed: int = 1, cadence_spm: float = 170.0):
        if placement not in ("sacrum", "waist", "chest", "foot"):
            raise ValueError(f"unknown placement {placement!r}")
        self.placement = placement
        self.fs = float(fs)
        self.cadence_spm = cadence_spm
        self._rng_steps = np.random.default_rng(seed)
        self._rng_noise = np.random.default_rng(seed + 1000)
        self._index = 0
        # step list (for the foot: strides of the instrumented foot)
        self._ic: list[float] = [0.3]
        self._period: list[float] = []
        self._contact: list[float] = []
        self._count0 = 0  # number of steps dropped from the front (for continuous phase)
        self._append_step()
        # fixed mounting: the sensor sits tilted and turned on the body / shoe
        if placement == "foot":
            self._mount = _rot_z(np.array(np.deg2rad(8.0))) @ _rot_x(np.array(np.deg2rad(-6.0)))
        else:
            # sensor x up, y to the runner's left, z backwards (a clip on the back of the waistband), tilted 10 deg
            perm = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # columns: sensor axes in body
            self._mount = perm @ _rot_y(np.array(np.deg2rad(10.0)))

    # -- step sequence ---------------------------------------------------------------------------
    def _append_step(self) -> None:
        rng = self._rng_steps
        t = self._ic[-1]
        cad = self.cadence_spm + 4.0 * np.sin(2 * np.pi * t / 600.0)
        period = 60.0 / cad * (1.0 + 0.015 * rng.standard_normal())
        gct = 0.250 * (1.0 + 0.03 * rng.standard_normal()) * (170.0 / cad)
        if self.placement == "foot":  # a stride of one foot is two steps
            period += 60.0 / cad * (1.0 + 0.015 * rng.standard_normal())
        self._period.append(float(period))
        self._contact.append(float(gct))
        self._ic.append(float(t + period))

    def _steps_until(self, t_end: float) -> None:
        while self._ic[-1] <= t_end + 1.0:
            self._append_step()

    def _trim(self, t_start: float) -> None:
        k = 0
        while k + 1 < len(self._period) and self._ic[k + 1] < t_start - 1.0:
            k += 1
        if k:
            del self._ic[:k], self._period[:k], self._contact[:k]
            self._count0 += k

    # -- samples ---------------------------------------------------------------------------------
    def next_block(self, n: int) -> SampleBlock:
        idx = np.arange(self._index, self._index + n)
        t = idx / self.fs
        self._steps_until(float(t[-1]))
        ic = np.asarray(self._ic[:-1])
        k = np.searchsorted(ic, t, side="right") - 1
        k = np.clip(k, 0, None)
        steps = _Steps(ic[k], np.asarray(self._period)[k], np.asarray(self._contact)[k])
        u = t - steps.ic_s  # time since this step's initial contact
        before = t < ic[0]
        if self.placement == "foot":
            acc, gyr = self._foot(t, u, steps, before)
        else:
            acc, gyr = self._trunk(t, u, steps, k + self._count0, before)
        acc = acc + 0.08 * self._rng_noise.standard_normal(acc.shape)
        gyr = gyr + 0.8 * self._rng_noise.standard_normal(gyr.shape)
        block = SampleBlock(time_s=t, acc_mps2=acc, gyr_dps=gyr, index0=self._index)
        self._index += n
        self._trim(float(t[-1]))
        return block

    def _trunk(self, t, u, st: _Steps, step_no, before):
        T, Tc = st.period_s, st.contact_s
        in_c = (u < Tc) & ~before
        fmax = np.pi * G * T / (2.0 * Tc)  # mean vertical force over the step = body weight
        a_v = np.where(in_c, fmax * np.sin(np.pi * np.clip(u / Tc, 0, 1)), 0.0) - G
        a_v = np.where(before, 0.0, a_v)
        imp = np.where(in_c & (u < 0.08), 0.6 * G * np.exp(-u / 0.012) * np.sin(2 * np.pi * 22.0 * u), 0.0)
        a_v = a_v + imp
        a_ap = np.where(in_c, -0.45 * G * np.sin(2 * np.pi * np.clip(u / Tc, 0, 1)), 0.0)
        side = np.where(step_no % 2 == 0, 1.0, -1.0)
        a_ml = np.where(before, 0.0, side * 0.15 * G * np.sin(np.pi * np.clip(u / T, 0, 1)))
        # pelvis angles from the continuous step phase
        phi = step_no + np.clip(u / T, 0, 1)
        dphi = 1.0 / T
        yaw = np.deg2rad(6.0) * np.sin(np.pi * phi)
        roll = np.deg2rad(4.0) * np.cos(np.pi * phi)
        pitch = np.deg2rad(8.0) + np.deg2rad(2.0) * np.sin(2 * np.pi * phi)  # forward lean + wobble
        w_yaw = np.deg2rad(6.0) * np.pi * np.cos(np.pi * phi) * dphi
        w_roll = -np.deg2rad(4.0) * np.pi * np.sin(np.pi * phi) * dphi
        w_pitch = np.deg2rad(2.0) * 2 * np.pi * np.cos(2 * np.pi * phi) * dphi
        # world: x forward, y left, z up. Body = Rz(yaw) Ry(pitch) Rx(roll) applied to the upright body.
        R = _rot_z(yaw) @ _rot_y(pitch) @ _rot_x(roll)
        f_w = np.stack([a_ap, a_ml, a_v + G], -1)
        f_b = np.einsum("nji,nj->ni", R, f_w)  # R^T f
        w_b = np.rad2deg(np.stack([w_roll, w_pitch, w_yaw], -1))
        acc = f_b @ self._mount  # body -> sensor: M^T v, as row vectors v @ M
        gyr = w_b @ self._mount
        return acc, gyr

    def _foot(self, t, u, st: _Steps, before):
        T, Tc = st.period_s, st.contact_s
        Tsw = T - Tc
        stance = u < Tc
        # map real time to the template phase (stance and swing scaled separately)
        ph = np.where(stance, FOOT_STANCE_NOM * u / Tc, FOOT_STANCE_NOM + (1 - FOOT_STANCE_NOM) * (u - Tc) / Tsw)
        dph = np.where(stance, FOOT_STANCE_NOM / Tc, (1 - FOOT_STANCE_NOM) / Tsw)
        ph = np.where(before, 0.2, ph)  # standing before the first contact: foot flat
        dph = np.where(before, 0.0, dph)
        theta = np.deg2rad(_FOOT_PITCH(ph))
        theta_dot = np.deg2rad(_FOOT_PITCH_D(ph)) * dph
        # translation: still in stance, one stride forward (3 m/s) and up 12 cm in swing
        v = np.where(stance | before, 0.0, (u - Tc) / Tsw)
        _, xdd = _minjerk(v)
        stride_m = 3.0 * T
        a_x = np.where(stance | before, 0.0, stride_m * xdd / Tsw**2)
        h = 0.12
        a_z = np.where(stance | before, 0.0, h * 2 * np.pi**2 * np.cos(2 * np.pi * v) / Tsw**2)
        imp_on = (u < 0.06) & ~before
        imp = np.where(imp_on, 8.0 * G * np.exp(-u / 0.008) * np.sin(2 * np.pi * 45.0 * u + 0.3), 0.0)
        fx, fz = a_x + 0.3 * imp, a_z + G + imp
        c, s = np.cos(theta), np.sin(theta)
        # shoe frame: x toward the toes, y to the left, z up out of the laces
        f_s = np.stack([fx * c + fz * s, 0.05 * G * np.sin(2 * np.pi * u / T), -fx * s + fz * c], -1)
        w_s = np.stack(
            [15.0 * np.sin(2 * np.pi * u / T), -np.rad2deg(theta_dot), 25.0 * np.sin(2 * np.pi * u / T + 1.0)],
            -1,
        )
        w_s = np.where(before[:, None], 0.0, w_s)
        return f_s @ self._mount, w_s @ self._mount


def model_truth(cadence_spm: float = 170.0, gct_ms: float = 250.0) -> dict:
    """The synthetic runner's nominal values: cadence, contact time and the vertical oscillation
    of its centre of mass (the sacrum model's vertical acceleration integrated twice over one
    step, impact transient left out)."""
    period = 60.0 / cadence_spm
    tc = gct_ms * 1e-3
    n = 20000
    u = np.arange(n) * period / n
    a = np.where(u < tc, np.pi * G * period / (2 * tc) * np.sin(np.pi * u / tc), 0.0) - G
    v = np.cumsum(a) * period / n
    v -= v.mean()
    x = np.cumsum(v) * period / n
    return {"cadence_spm": cadence_spm, "gct_ms": gct_ms, "vo_cm": float(x.max() - x.min()) * 100.0}


def synthetic_blocks(
    placement: str, minutes: float, fs: float = FS_HZ, chunk_s: float = CHUNK_S, seed: int = 1
) -> Iterator[SampleBlock]:
    """The synthetic run of ``minutes`` length, one chunk (``chunk_s``) at a time."""
    runner = SyntheticRunner(placement, fs, seed)
    total = int(round(minutes * 60.0 * fs))
    per = max(1, int(round(chunk_s * fs)))
    done = 0
    while done < total:
        n = min(per, total - done)
        yield runner.next_block(n)
        done += n


def synthetic_recording(placement: str, minutes: float, fs: float = FS_HZ, seed: int = 1) -> SampleBlock:
    return SampleBlock.concat(list(synthetic_blocks(placement, minutes, fs, seed=seed)))


def _config(placement: str) -> PipelineConfig:
    if placement == "foot":
        return PipelineConfig(placement="foot", side="left")
    return PipelineConfig(placement=placement)


# ----------------------------------------------------------------------------------------------
# measurements
# ----------------------------------------------------------------------------------------------
def time_offline(block: SampleBlock, placement: str, fs: float = FS_HZ, repeat: int = 2) -> dict:
    """Time `analyze` on one block: the best of ``repeat`` runs (the machine may be shared)."""
    from gait.pipeline import analyze

    config = _config(placement)
    times = []
    for _ in range(max(1, repeat)):
        gc.collect()
        t0 = time.perf_counter()
        result = analyze(block, config, fs)
        times.append(time.perf_counter() - t0)
    seconds = min(times)
    duration = float(block.time_s[-1] - block.time_s[0]) + 1.0 / fs
    return {
        "seconds": seconds,
        "x_real_time": duration / seconds if seconds > 0 else float("inf"),
        "all_seconds": times,
        "steps": len(result.steps),
        "gaps": len(result.gaps),
        "duration_s": duration,
        **_step_summary(result.steps),
    }


def _step_summary(steps: list[StepMetrics]) -> dict:
    def med(name: str) -> float | None:
        vals = [getattr(s, name) for s in steps if getattr(s, name) is not None]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.median(vals)) if vals else None

    return {
        "cadence_spm": med("cadence_spm"),
        "gct_ms": med("gct_ms"),
        "vo_cm": med("vo_cm"),
        "fsa_deg": med("fsa_deg"),
    }


def time_csv(block: SampleBlock) -> dict:
    from firmware_interface.files.recording import read_recording, write_recording

    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        write_recording(path, block.time_s, block.acc_mps2, block.gyr_dps, {"source": "gait bench synthetic runner"})
        write_s = time.perf_counter() - t0
        size = path.stat().st_size
        gc.collect()
        t0 = time.perf_counter()
        rec = read_recording(path)
        read_s = time.perf_counter() - t0
        n = len(rec)
    duration = float(block.time_s[-1] - block.time_s[0]) + 1.0 / FS_HZ
    return {
        "read_seconds": read_s,
        "read_x_real_time": duration / read_s,
        "write_seconds": write_s,
        "bytes": size,
        "rows": n,
        "duration_s": duration,
    }


def stream_run(placement: str, minutes: float, packet: int = PACKET_SAMPLES, fs: float = FS_HZ, seed: int = 1) -> dict:
    """Stream a synthetic run through `Pipeline.process` in packets; time each call.

    Meant to run in a fresh process (the RSS figures are those of the whole process)."""
    from gait.pipeline import Pipeline

    config = _config(placement)
    pipe = Pipeline(config, fs)
    gc.collect()
    rss_before = _maxrss_mb()
    per_packet_ns: list[np.ndarray] = []
    latencies_ms: list[float] = []
    steps = 0
    perf = time.perf_counter_ns
    t_total = 0
    for chunk in synthetic_blocks(placement, minutes, fs, seed=seed):
        n = len(chunk)
        times = np.empty((n + packet - 1) // packet, np.int64)
        packets = [chunk.slice(i, min(n, i + packet)) for i in range(0, n, packet)]
        for j, pk in enumerate(packets):
            t0 = perf()
            out = pipe.process(pk)
            times[j] = perf() - t0
            for r in out:
                if isinstance(r, StepMetrics):
                    steps += 1
                    latencies_ms.append((r.emitted_s - r.to_s) * 1e3)
        t_total += int(times.sum())
        per_packet_ns.append(times)
    for r in pipe.flush():
        if isinstance(r, StepMetrics):
            steps += 1  # flushed at end of stream: no live latency
    ns = np.concatenate(per_packet_ns) if per_packet_ns else np.zeros(0)
    stats = percentiles(ns / 1e6, (50, 99))
    lat = np.asarray([v for v in latencies_ms if np.isfinite(v)])
    return {
        "placement": placement,
        "minutes": minutes,
        "packets": int(ns.size),
        "packet_ms": stats,
        "busy_seconds": t_total / 1e9,
        "steps": steps,
        "step_latency_ms": {
            "median": float(np.median(lat)) if lat.size else float("nan"),
            "p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
            "max": float(lat.max()) if lat.size else float("nan"),
            "n": int(lat.size),
        },
        "rss_start_mb": rss_before,
        "rss_peak_mb": _maxrss_mb(),
        "ru_maxrss_mb": _ru_maxrss_mb(),
    }


def _maxrss_mb() -> float:
    """Peak resident memory of this process, MB.

    ``ru_maxrss`` is what the brief asks for, but on Linux a child inherits its parent's peak at
    fork/exec (the kernel folds the old address space's high-water mark into it), so a worker
    started by a parent that held an hour of samples would report the parent's peak. ``VmHWM`` in
    /proc/self/status is the high-water mark of this address space only (reset at exec); it is
    used when present, ``ru_maxrss`` otherwise. Workers are also started before the parent
    builds any large array (see `bench`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def _ru_maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def stream_in_subprocess(placement: str, minutes: float, packet: int = PACKET_SAMPLES) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    code = "import sys; from gait.bench.speed import _worker; sys.exit(_worker(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, placement, str(minutes), str(packet)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO_ROOT), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed ({placement}, {minutes:g} min):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pin_one_core() -> str:
    """Pin this process to one CPU so 'one core' is literal (numpy's BLAS threads are not used by
    the pipeline's element-wise work, but be explicit). Returns a description."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
        return f"pinned to CPU {cpus[0]}"
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return "not pinned"


# ----------------------------------------------------------------------------------------------
# the command
# ----------------------------------------------------------------------------------------------
def bench(minutes: float = 60.0, placements: Sequence[str] = PLACEMENTS, progress=None) -> dict:
    def say(msg: str) -> None:
        if progress:
            progress(msg)

    report: dict = {
        "input": (
            f"synthetic runner (gait.bench.speed.SyntheticRunner), {minutes:g} min at {FS_HZ:g} Hz, "
            "acc + gyro (6 channels)"
        ),
        "minutes": minutes,
        "fs_hz": FS_HZ,
        "cpu": _pin_one_core(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "placements": {},
    }
    short = max(minutes / 6.0, 0.5)
    # Streaming workers first, while this process is still small (see `_maxrss_mb`).
    for placement in placements:
        entry = report["placements"].setdefault(placement, {})
        say(f"{placement}: live, {PACKET_SAMPLES}-sample packets, {minutes:g} min (fresh subprocess)")
        entry["live"] = stream_in_subprocess(placement, minutes)
        say(f"{placement}: live, {short:.3g} min (fresh subprocess, for memory)")
        entry["live_short"] = stream_in_subprocess(placement, short)
    for placement in placements:
        entry = report["placements"][placement]
        say(f"{placement}: synthesising {minutes:g} min")
        block = synthetic_recording(placement, minutes)
        if "csv" not in report:
            say("CSV: write_recording + read_recording")
            report["csv"] = time_csv(block)
        say(f"{placement}: offline analyze")
        entry["offline"] = time_offline(block, placement)
        del block
        gc.collect()
    return report


def _fmt_x(x: float) -> str:
    return f"{x:,.0f}x"


def format_report(rep: dict) -> str:
    placements = list(rep["placements"])
    minutes = rep["minutes"]
    rows: list[tuple[str, ...]] = []

    def row(label: str, fn, target: str = "") -> None:
        cells = []
        for p in placements:
            try:
                cells.append(fn(rep["placements"][p]))
            except (KeyError, TypeError, ValueError):
                cells.append("-")
        rows.append((label, *cells, target))

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    row(
        f"offline analyze, {minutes:g} min (best of 2)",
        lambda e: f"{e['offline']['seconds']:.2f} s  {_fmt_x(e['offline']['x_real_time'])}",
        "< 2 s per hour (>= 1,800x)",
    )
    row("  steps / cadence", lambda e: f"{e['offline']['steps']} / {_num(e['offline']['cadence_spm'], '.0f')} spm")
    row(
        "  steps when streamed",
        lambda e: f"{e['live']['steps']}" + ("" if e["live"]["steps"] == e["offline"]["steps"] else " (differs!)"),
        "= offline (chunk-invariant)",
    )
    row(
        "  GCT / VO",
        lambda e: f"{_num(e['offline']['gct_ms'], '.0f')} ms / {_num(e['offline']['vo_cm'], '.1f')} cm",
    )
    truth = model_truth()
    row(
        "  (synthetic truth)",
        lambda e: (
            f"{truth['gct_ms']:.0f} ms / {truth['vo_cm']:.1f} cm"
            if "foot" not in e["live"]["placement"]
            else f"{truth['gct_ms']:.0f} ms"
        ),
        f"model: {truth['cadence_spm']:.0f} spm nominal, +/-4 drift",
    )
    row(
        f"live per {PACKET_SAMPLES}-sample packet p50",
        lambda e: f"{e['live']['packet_ms']['p50'] * 1e3:.0f} us",
    )
    row("  p99", lambda e: f"{e['live']['packet_ms']['p99'] * 1e3:.0f} us", "p99 < 1 ms")
    row("  max", lambda e: f"{e['live']['packet_ms']['max']:.2f} ms")
    row("  packets", lambda e: f"{e['live']['packets']:,}")
    row(
        "step latency (emitted - TO) med",
        lambda e: f"{e['live']['step_latency_ms']['median']:.0f} ms",
        "<= ~1 step (300-400 ms)",
    )
    row(
        "  p99 / max",
        lambda e: (
            f"{e['live']['step_latency_ms'].get('p99', float('nan')):.0f} / {e['live']['step_latency_ms']['max']:.0f} ms"
        ),
    )
    row(
        "peak RSS after imports + setup",
        lambda e: f"{e['live']['rss_start_mb']:.0f} MB",
    )
    row(
        f"peak RSS {e_short(rep):.3g} min / {minutes:g} min",
        lambda e: f"{e['live_short']['rss_peak_mb']:.0f} / {e['live']['rss_peak_mb']:.0f} MB",
        "flat in run length",
    )
    row(
        "  growth",
        lambda e: f"{e['live']['rss_peak_mb'] - e['live_short']['rss_peak_mb']:+.1f} MB",
    )
    header = ("", *placements, "target")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        f"gait bench: {rep['input']}",
        f"one core ({rep['cpu']}), Python {rep['python']}, numpy {rep['numpy']}",
        "",
        "  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
        "  ".join("-" * w for w in widths),
    ]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    csv = rep.get("csv")
    if csv:
        lines.append("")
        lines.append(
            f"CSV parsing (read_recording): {csv['rows']:,} rows, {csv['bytes'] / 1e6:.0f} MB in "
            f"{csv['read_seconds']:.2f} s ({_fmt_x(csv['read_x_real_time'])}); writing it took {csv['write_seconds']:.2f} s"
        )
    verdict = []
    for p in placements:
        e = rep["placements"][p]
        try:
            off = e["offline"]["x_real_time"] * 3600.0 / (minutes * 60.0)  # noqa: F841 (kept simple)
            verdict.append(
                f"{p}: offline {mark(e['offline']['x_real_time'] >= TARGET_OFFLINE_X)}, "
                f"live p99 {mark(e['live']['packet_ms']['p99'] < TARGET_P99_MS)}"
            )
        except (KeyError, TypeError):
            verdict.append(f"{p}: incomplete")
    lines.append("targets: " + "; ".join(verdict))
    return "\n".join(lines)


def e_short(rep: dict) -> float:
    for e in rep["placements"].values():
        return float(e["live_short"]["minutes"])
    return float("nan")


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None or not np.isfinite(v) else format(v, fmt)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long run (default 60)")
    parser.add_argument(
        "--placement",
        action="append",
        choices=("sacrum", "waist", "chest", "foot"),
        help="placement(s) to measure (repeatable; default sacrum and foot)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run_bench(args: argparse.Namespace) -> int:
    """Entry point of ``gait bench``. ``args`` has ``minutes``, ``placement`` (list or None), ``json``."""
    minutes = float(getattr(args, "minutes", 60.0) or 60.0)
    placements = getattr(args, "placement", None) or list(PLACEMENTS)
    if isinstance(placements, str):
        placements = [placements]
    as_json = bool(getattr(args, "json", False))

    def progress(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    rep = bench(minutes, placements, progress)
    rep["bench_seconds"] = time.perf_counter() - t0
    if as_json:
        print(json.dumps(rep, indent=2, default=_json_default))
    else:
        print(format_report(rep))
        print(f"(benchmark took {rep['bench_seconds']:.0f} s)")
    return 0


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


def _worker(argv: list[str]) -> int:
    placement, minutes, packet = argv[0], float(argv[1]), int(argv[2])
    _pin_one_core()
    out = stream_run(placement, minutes, packet)
    print(json.dumps(out, default=_json_default))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(prog="gait bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
