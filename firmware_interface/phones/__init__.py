"""Phones as sensors: the common layer (typed errors, conventions, one sample clock).

Two apps stream a phone's IMU to the laptop (see `phyphox` and `sensor_logger`); both also
export recordings (see `importers`). Every path ends here, in `StreamAligner`, which puts the
phone's separate sensor streams onto one uniform sample clock and emits `SampleBlock`s in
our conventions:

- ``acc_mps2`` is specific force in m/s^2, gravity included: a still phone reads +9.81 on
  the axis pointing up. Each app module converts its sensors into this convention *before*
  pushing them here (which app sensor includes gravity, and which sign, is documented there).
- ``gyr_dps`` is the angular rate in deg/s, right-handed about the same axes (the phone's
  own axes: x to the right of the screen, y to its top, z out of the screen).
- ``time_s`` comes from the phone's sensor timestamps, never from arrival time.

Why resample: a phone's accelerometer and gyroscope are separate sensors with their own
timestamps and, often, their own rates (phyphox on iOS reads the raw accelerometer and the
fused device-motion gyroscope; Android delivers each sensor's events at jittery intervals).
The pipeline wants one sample clock, so `StreamAligner` interpolates every stream linearly
onto a uniform grid ``t0 + k / rate_hz``:

- ``rate_hz`` is given, or estimated once from the mean regular interval (within 0.5..1.5x
  the median, so holes do not count) of the first ``probe_samples`` samples of the lead
  (acceleration) stream, rounded to a whole Hz at or above 10 Hz (the sensor's nominal rate:
  99.7 Hz measured -> 100 Hz).
- ``t0`` is the first instant every stream has started.
- A grid point is emitted only when every stream has a sample at or after it (linear
  interpolation needs both neighbours), so the live latency is about one phone sample period
  plus the app's transport delay. A stream that lags the lead by more than ``max_lag_s`` (a
  gyroscope that stopped) no longer holds the output back: its values become NaN, which the
  sanitize stage holds and flags, and nothing the accelerometer delivered is lost.
- Where an acceleration stream has a hole longer than ``max_gap_s`` the grid points inside
  it are not emitted (the time jump is a gap for the pipeline's sanitize stage, and the first
  sample after it carries ``SampleFlag.AFTER_GAP``); a hole in the gyroscope gives NaN.
- Samples that arrive twice (same time) are dropped; samples that arrive out of order are
  merged in time order, unless the output has already passed them (then counted and dropped).
- Units guard [U in the reference: "some exports are in g"]: the median |specific force| of
  the first grid samples must look like m/s^2 (3..40); if it looks like g (0.3..3) every
  acceleration is multiplied by 9.80665 and a warning is kept in ``warnings``.

``index0`` counts emitted samples (0, 1, 2, ... without holes); time carries the gaps.
Offline (an export, `flush`) and live use this same code; output values do not depend on
how the input was chunked (only the NaN-after-``max_lag_s`` rule depends on arrival).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.errors import GaitError
from gait.core.records import SampleBlock, SampleFlag

RAD_TO_DEG = 180.0 / np.pi

__all__ = [
    "ExperimentNotRunning",
    "MissingSensorStream",
    "PhoneConventionError",
    "PhoneError",
    "PhoneProtocolError",
    "PhoneUnreachable",
    "StreamAligner",
    "open_phone_source",
    "rad_to_deg",
]


# --------------------------------------------------------------------------------------------
# Typed errors
# --------------------------------------------------------------------------------------------


class PhoneError(GaitError):
    """Base of the phone-source errors. ``hint`` says what to do (or is None)."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class PhoneUnreachable(PhoneError):
    """The phone did not answer (timeout, refused connection, network gone) after all retries."""

    def __init__(self, url: str, attempts: int, reason: str):
        self.url = url
        self.attempts = attempts
        self.reason = reason
        super().__init__(
            f"phone at {url} unreachable after {attempts} attempt(s): {reason}",
            hint="check that the phone is on the same network, the app is in the foreground and "
            "remote access is on; the address is shown in the app",
        )


class PhoneProtocolError(PhoneError):
    """An answer or a body that does not follow the app's documented format."""


class ExperimentNotRunning(PhoneError):
    """The phyphox experiment is not measuring (stopped, or never started)."""


class PhoneConventionError(PhoneError):
    """The sign/unit convention of the data cannot be told (e.g. iOS vs Android unknown)."""


class MissingSensorStream(PhoneError):
    """A sensor the conversion needs sends nothing while the others stream."""

    def __init__(self, stream: str, waited_s: float, hint: str | None = None):
        self.stream = stream
        self.waited_s = waited_s
        super().__init__(f"no {stream!r} samples after {waited_s:.1f} s of data from the other sensors", hint=hint)


def rad_to_deg(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64) * RAD_TO_DEG


# --------------------------------------------------------------------------------------------
# One sample clock
# --------------------------------------------------------------------------------------------


@dataclass
class _Stream:
    t: np.ndarray = field(default_factory=lambda: np.empty(0))
    v: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    first_t: float | None = None
    received: int = 0
    duplicates: int = 0
    late: int = 0


def _estimate_rate(t: np.ndarray) -> float:
    dt = np.diff(t)
    dt = dt[dt > 0]
    if dt.size == 0:
        raise PhoneProtocolError("sample times never increase; cannot tell the sample rate")
    med = float(np.median(dt))
    regular = dt[(dt > 0.5 * med) & (dt < 1.5 * med)]
    # the mean of the regular intervals: jitter averages out (the median alone keeps it)
    rate = 1.0 / float(regular.mean()) if regular.size else 1.0 / med
    return float(round(rate)) if rate >= 10.0 else rate


class StreamAligner:
    """Puts separately timestamped sensor streams onto one uniform sample clock.

    ``acc_parts``: names of the streams whose (interpolated) sum is the specific force, already
    in our convention (one stream with gravity included, or linear acceleration + gravity);
    the first is the lead stream. ``gyro``: name of the gyroscope stream (deg/s), or None.
    Call `push` with new samples of any stream, then `pop` (live) or `flush` (end of data).
    """

    def __init__(
        self,
        acc_parts: Sequence[str] = ("acc",),
        gyro: str | None = "gyr",
        *,
        rate_hz: float | None = None,
        max_gap_s: float = 0.25,
        max_lag_s: float = 1.0,
        probe_samples: int = 64,
        missing_after_s: float = 3.0,
        unit_check: bool = True,
        missing_hints: dict[str, str] | None = None,
        snap_rate: Callable[[float], float] | None = None,
    ):
        if not acc_parts:
            raise ValueError("acc_parts needs at least one stream")
        if rate_hz is not None and not (1.0 <= rate_hz <= 5000.0):
            raise ValueError(f"rate_hz {rate_hz} out of range 1..5000")
        self.acc_parts = tuple(acc_parts)
        self.gyro = gyro
        self.names = self.acc_parts + ((gyro,) if gyro else ())
        self.fixed_rate_hz = rate_hz
        self.max_gap_s = float(max_gap_s)
        self.max_lag_s = float(max_lag_s)
        self.probe_samples = int(probe_samples)
        self.missing_after_s = float(missing_after_s)
        self.unit_check = unit_check
        self.missing_hints = dict(missing_hints or {})
        self.snap_rate = snap_rate
        self.warnings: list[str] = []
        self.reset()

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything (streams, clock, unit decision); the sample counter restarts at 0."""
        self._s = {name: _Stream() for name in self.names}
        self.rate_hz: float | None = self.fixed_rate_hz
        if self.rate_hz is not None and self.snap_rate is not None:
            self.rate_hz = float(self.snap_rate(self.rate_hz))
        self._t0: float | None = None
        self._next_k = 0
        self._count = 0
        self._last_emitted_t = -np.inf
        self._skipped_before_next = False
        self._acc_scale: float | None = None if self.unit_check else 1.0

    @property
    def emitted(self) -> int:
        return self._count

    @property
    def last_time_s(self) -> float | None:
        """Time of the newest emitted sample (None before the first)."""
        return None if self._count == 0 else float(self._last_emitted_t)

    def stats(self) -> dict[str, dict[str, int]]:
        return {n: {"received": s.received, "duplicates": s.duplicates, "late": s.late} for n, s in self._s.items()}

    # -- input ---------------------------------------------------------------------------------

    def push(self, name: str, t, v) -> None:
        """Add samples of stream ``name``: times (n,) in s and values (n, 3), any order."""
        if name not in self._s:
            raise KeyError(f"unknown stream {name!r}; streams are {self.names}")
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
        if t.shape[0] != v.shape[0]:
            raise ValueError(f"{name}: {t.shape[0]} times but {v.shape[0]} values")
        s = self._s[name]
        s.received += t.shape[0]
        ok = np.isfinite(t)
        t, v = t[ok], v[ok]
        late = t <= self._last_emitted_t
        if late.any():
            s.late += int(late.sum())
            t, v = t[~late], v[~late]
        if t.size == 0:
            return
        if s.first_t is None or t.min() < s.first_t:
            s.first_t = float(t.min())
        all_t = np.concatenate([s.t, t])
        all_v = np.concatenate([s.v, v])
        order = np.argsort(all_t, kind="stable")  # stable: the copy that arrived first wins
        all_t, all_v = all_t[order], all_v[order]
        keep = np.ones(all_t.shape[0], dtype=bool)
        keep[1:] = all_t[1:] != all_t[:-1]
        s.duplicates += int((~keep).sum())
        s.t, s.v = all_t[keep], all_v[keep]

    # -- output --------------------------------------------------------------------------------

    def pop(self) -> SampleBlock | None:
        """Samples that are complete now (live). None if there is nothing new."""
        return self._emit(final=False)

    def flush(self) -> SampleBlock | None:
        """Everything that can still be emitted (end of data)."""
        return self._emit(final=True)

    def _emit(self, final: bool) -> SampleBlock | None:
        lead = self._s[self.acc_parts[0]]
        if lead.t.size == 0:
            return None
        if self.rate_hz is None:
            if lead.t.size >= self.probe_samples:
                self.rate_hz = _estimate_rate(lead.t[: self.probe_samples])
            elif final and lead.t.size >= 2:
                self.rate_hz = _estimate_rate(lead.t)
            else:
                return None
            if self.snap_rate is not None:
                self.rate_hz = float(self.snap_rate(self.rate_hz))
        lead_end = float(lead.t[-1])
        self._check_missing(lead_end)
        if self._t0 is None:
            starts = [s.first_t for s in self._s.values() if s.first_t is not None]
            started_all = len(starts) == len(self._s)
            if not started_all and not final and lead_end - float(lead.first_t) <= self.max_lag_s:
                return None
            self._t0 = max(starts) if started_all else float(lead.first_t)
        ends = [float(s.t[-1]) if s.t.size else -np.inf for s in self._s.values()]
        horizon = max(min(ends), lead_end - self.max_lag_s)
        horizon = min(horizon, lead_end)
        dt = 1.0 / self.rate_hz
        k_last = int(np.floor((horizon - self._t0) / dt + 1e-9))
        if k_last < self._next_k:
            return None
        if self._acc_scale is None and not final and (k_last - self._next_k + 1) < self.probe_samples:
            return None
        ks = np.arange(self._next_k, k_last + 1)
        grid = self._t0 + ks * dt
        acc = np.zeros((grid.size, 3))
        valid = np.ones(grid.size, dtype=bool)
        for name in self.acc_parts:
            vals, in_gap = self._interp(self._s[name], grid)
            acc += vals
            valid &= ~in_gap
        gyr = None
        if self.gyro:
            gyr, _ = self._interp(self._s[self.gyro], grid)
        # the grid points are decided (emitted or skipped): advance
        self._next_k = k_last + 1
        self._trim(float(grid[-1]))
        self._last_emitted_t = max(self._last_emitted_t, float(grid[-1]))
        if not valid.any():
            self._skipped_before_next = True
            return None
        flags = np.zeros(grid.size, np.uint8)
        prev_skipped = np.empty(grid.size, dtype=bool)
        prev_skipped[0] = self._skipped_before_next
        prev_skipped[1:] = ~valid[:-1]
        flags[valid & prev_skipped] |= SampleFlag.AFTER_GAP
        self._skipped_before_next = not bool(valid[-1])
        grid, acc, flags = grid[valid], acc[valid], flags[valid]
        if gyr is not None:
            gyr = gyr[valid]
        if self._acc_scale is None:
            self._acc_scale = self._decide_scale(acc)
        if self._acc_scale != 1.0:
            acc = acc * self._acc_scale
        block = SampleBlock(
            time_s=grid,
            acc_mps2=acc,
            gyr_dps=gyr,
            index0=self._count,
            flags=flags if flags.any() else None,
        )
        self._count += grid.size
        return block

    def _interp(self, s: _Stream, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Linear interpolation of stream ``s`` at ``grid``; NaN outside it or inside a hole."""
        out = np.full((grid.size, 3), np.nan)
        in_gap = np.ones(grid.size, dtype=bool)
        if s.t.size == 0:
            return out, in_gap
        right = np.searchsorted(s.t, grid, side="left")  # first sample at or after each point
        exact = (right < s.t.size) & (s.t[np.minimum(right, s.t.size - 1)] == grid)
        inside = (right > 0) & (right < s.t.size)
        left = np.maximum(right - 1, 0)
        span = np.where(inside, s.t[np.minimum(right, s.t.size - 1)] - s.t[left], np.inf)
        ok = exact | (inside & (span <= self.max_gap_s))
        in_gap = ~ok
        if ok.any():
            for c in range(3):
                out[ok, c] = np.interp(grid[ok], s.t, s.v[:, c])
        return out, in_gap

    def _trim(self, upto: float) -> None:
        """Drop samples no later grid point can need (keep the last one at or before ``upto``)."""
        for s in self._s.values():
            if s.t.size == 0:
                continue
            i = int(np.searchsorted(s.t, upto, side="right")) - 1
            if i > 0:
                s.t, s.v = s.t[i:], s.v[i:]

    def _check_missing(self, lead_end: float) -> None:
        lead = self._s[self.acc_parts[0]]
        if lead.first_t is None or lead_end - lead.first_t < self.missing_after_s:
            return
        for name, s in self._s.items():
            if s.first_t is None:
                raise MissingSensorStream(name, lead_end - lead.first_t, self.missing_hints.get(name))

    def _decide_scale(self, acc: np.ndarray) -> float:
        norms = np.linalg.norm(acc[: self.probe_samples], axis=1)
        norms = norms[np.isfinite(norms)]
        if norms.size == 0:
            return 1.0
        med = float(np.median(norms))
        if 0.3 <= med < 3.0:
            self.warnings.append(
                f"acceleration looks like it is in g (median |a| = {med:.3f}); converted to m/s^2 (x {GRAVITY_MPS2})"
            )
            return GRAVITY_MPS2
        if not (3.0 <= med <= 40.0):
            self.warnings.append(
                f"median |specific force| of the first samples is {med:.3f}, neither ~1 g nor ~9.81 m/s^2: "
                "is gravity missing from this acceleration (a linear-acceleration sensor)?"
            )
        return 1.0


# --------------------------------------------------------------------------------------------
# The Source interface (firmware_interface.sources): phone apps as openpod pods
# --------------------------------------------------------------------------------------------


def open_phone_source(
    app: str,
    *,
    device: str | None = None,
    placement: str | None = None,
    side: str | None = None,
    poll_interval_s: float = 0.1,
    duration_s: float | None = None,
    retry_s: float | None = None,
    **options,
):
    """A `firmware_interface.sources.Source` for a phone app, like the ``csv`` source does it.

    ``app``: ``"phyphox"`` (``url=`` and `PhyphoxClient` options) or ``"sensor-logger"``
    (``host=``, ``port=``, ``token=``, ``path=``, ``platform=`` ... as `SensorLoggerReceiver`).
    The app's samples, already in our conventions and on one clock, are put through the pod
    emulator (`sources.PodEncoder`: openpod packets, int16 at +-16 g / +-2000 deg/s, device
    timestamps = the phone's sample times), so the live path decodes a phone exactly like a
    DIY pod (session kind ``openpod``). The rate is snapped to the nearest openpod rate.

    ``duration_s``: the source ends this many seconds (wall clock) after the phone's first
    samples, or after it if the phone never sends any (None: at `stop`): waiting for the app
    does not shorten the run.
    ``retry_s`` (phyphox): when the phone does not answer, ask again every ``retry_s`` seconds
    instead of raising `PhoneUnreachable`. Before its first answer (the run was started before
    phyphox's remote access) the source says once, on the link channel, that it is waiting;
    after it, the device is reported disconnected, and connected again when phyphox answers
    (phyphox stops its server and the measurement whenever it leaves the screen). None: raise.
    """
    import asyncio
    import time

    from firmware_interface.openpod import codec as openpod
    from firmware_interface.session import LINK_CHANNEL, LINK_CONNECTED, LINK_DISCONNECTED, DeviceConfig, RawPacket
    from firmware_interface.sources import PodEncoder, Source, nearest_openpod_rate

    def expired(src) -> bool:
        return src.stopped or (src.deadline is not None and time.monotonic() >= src.deadline)

    if app == "phyphox":
        from firmware_interface.phones.phyphox import PhyphoxClient

        client = PhyphoxClient(snap_rate=nearest_openpod_rate, **options)
        device = device or f"phyphox-{client.url.split('://', 1)[-1]}"

        async def blocks(src) -> AsyncIterator[SampleBlock | bytes]:
            answered: bool | None = None  # None: not yet; then whether the last request was answered
            while not expired(src):
                try:
                    block = await asyncio.to_thread(client.poll)
                except PhoneUnreachable as exc:
                    if retry_s is None:
                        raise
                    if answered is None:
                        answered = False
                        yield f"waiting for phyphox at {client.url} ({exc.reason})".encode()
                    elif answered:
                        answered = False
                        yield LINK_DISCONNECTED
                    await asyncio.sleep(retry_s)
                    continue
                if not answered:
                    answered = True
                    yield LINK_CONNECTED
                if block is not None:
                    yield block
                await asyncio.sleep(poll_interval_s)
            last = client.flush()
            if last is not None:
                yield last

        meta = {"source": "phyphox", "url": client.url}
        prepare = None
    elif app in ("sensor-logger", "sensor_logger"):
        from firmware_interface.phones.sensor_logger import SensorLoggerReceiver

        receiver = SensorLoggerReceiver(snap_rate=nearest_openpod_rate, **options)
        device = device or "sensor-logger"

        async def blocks(src) -> AsyncIterator[SampleBlock | bytes]:
            yield LINK_CONNECTED
            try:
                while not expired(src):
                    block = await asyncio.to_thread(receiver.get, poll_interval_s)
                    if block is not None:
                        yield block
            finally:
                receiver.stop()
            for block in receiver.blocks(timeout_s=0):
                yield block

        meta = {"source": "sensor-logger", "host": receiver.host, "port": receiver.requested_port}
        prepare = receiver.start
    else:
        raise ValueError(f"unknown phone app {app!r}; one of phyphox, sensor-logger")

    class PhoneAppSource(Source):
        kind = "phone-app"

        def __init__(self) -> None:
            super().__init__()
            self.metadata = dict(meta)
            self.devices = [DeviceConfig(device, "openpod", placement, side)]
            self.receiver = receiver if prepare is not None else None  # its port, once iterating
            self.deadline: float | None = None

        async def packets(self) -> AsyncIterator[RawPacket]:
            if duration_s is not None:
                self.deadline = time.monotonic() + float(duration_s)
            if prepare is not None:
                prepare()
            enc: PodEncoder | None = None
            async for block in blocks(self):
                if isinstance(block, bytes):
                    yield RawPacket(time.monotonic_ns(), device, LINK_CHANNEL, block)
                    continue
                if enc is None:
                    if duration_s is not None:  # the run's length counts from the phone's first samples
                        self.deadline = time.monotonic() + float(duration_s)
                    rate = nearest_openpod_rate(1.0 / float(np.median(np.diff(block.time_s))))
                    enc = PodEncoder(rate, gyro=block.gyr_dps is not None, clock_origin_us=0)
                    self.devices = [DeviceConfig(device, "openpod", placement, side, {"sample_rate_hz": rate})]
                    self.metadata["rate_hz"] = rate
                for _, data in enc.encode(block):
                    yield RawPacket(time.monotonic_ns(), device, openpod.DATA_UUID, data)
            if enc is not None:
                for _, data in enc.flush():
                    yield RawPacket(time.monotonic_ns(), device, openpod.DATA_UUID, data)

    return PhoneAppSource()
