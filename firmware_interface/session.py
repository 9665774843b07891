"""Per-device stateful decoders: raw packets in, samples (device clock, SI units) out.

`RawPacket` is the unit every source (BLE transport, capture replay, CSV import, phone,
simulator) produces. One `DeviceSession` per device turns its packets into pipeline input:

    feed(packet) -> list[SampleBlock | Gap | DeviceEvent | RscReading]

using the pure decoders of `firmware_interface.protocols` and `firmware_interface.openpod`.
Sessions own everything stateful about a device stream:

- **Time.** Sample times come from the device clock (PMD/openpod/Movesense timestamps, or a
  sample counter for MetaWear), converted to seconds once, here. ``time_s`` is seconds since
  the device's first sample. If the device clock restarts (a reboot: it goes backwards, or it
  jumps far ahead of the receive clock) a new *epoch* begins; it is placed after the last
  sample using the receive clock (the only clock that spans both epochs), and a `Gap` says so.
  Arrival time never times a sample.
- **Loss.** Gaps are records, never silent: sequence numbers (openpod) count lost packets;
  device timestamps count missing samples (a jump of more than 1.5 sample periods). The first
  sample after a gap carries `SampleFlag.AFTER_GAP`.
- **Bad input.** A malformed frame raises a typed error in the decoder; the session counts it
  and goes on: the bad frame costs only itself. Duplicates (same sequence number / same
  timestamp) and late packets (older than one already used: the samples they hold were
  already reported missing, and a causal pipeline cannot take them back) are counted and dropped.
- **Health.** `health()` returns a `Health` record (received, malformed, dropped, late,
  duplicates, gaps, missing samples, samples, reconnects, battery, clock estimate).
- **Alignment.** Each session keeps a `ClockModel`: a robust fit of its device clock against
  the host's receive clock (offset and drift, from the lower envelope of receive-minus-device
  time, so transport latency and late deliveries do not bias it). `SessionSet.to_common`
  maps a device time onto the common (receive) clock, so two devices line up; the receive
  clock is used for nothing else.

Channel conventions (so that capture and replay see everything):

- a notification / indication / read value from the device: ``channel`` = the
  characteristic UUID, lower-case 128-bit form (``"fb005c82-02e7-f387-1cad-8acd2d8df0c8"``);
- a value the host wrote (a command): ``channel`` = ``"write:" + uuid`` (`write_channel`);
- link events: ``channel`` = ``"link"``, payload ``b"connected"`` / ``b"disconnected"``
  (`LINK_CHANNEL`, `LINK_CONNECTED`, `LINK_DISCONNECTED`);
- battery level (0x2A19): its UUID, payload one byte, percent.
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from firmware_interface.openpod import codec as openpod
from firmware_interface.protocols import metawear, movesense, polar_pmd, rsc
from firmware_interface.protocols.errors import ProtocolError
from gait.core.records import Gap, SampleBlock, SampleFlag

LINK_CHANNEL = "link"
LINK_CONNECTED = b"connected"
LINK_DISCONNECTED = b"disconnected"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
WRITE_PREFIX = "write:"

GAP_FACTOR = 1.5  # a step of more than 1.5 sample periods between packets is a gap
CLOCK_JUMP_S = 5.0  # device clock ahead of the receive clock by more than this: a new epoch
LATE_WINDOW_S = 10.0  # a device clock this far behind its last sample without a restart is a new epoch
RECENT_GAPS = 64  # gaps remembered to recognise the late packets that belong in them
EARLY_GYRO_FRAMES = 32  # PMD gyro frames held while waiting for the first acc frame (the newest kept)


def write_channel(uuid: str) -> str:
    """The channel name of a value the host wrote to characteristic ``uuid``."""
    return WRITE_PREFIX + uuid.lower()


# ----------------------------------------------------------------------------------------------
# records
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RawPacket:
    """One notification / frame exactly as received.

    ``rx_time_ns``: receive time on the host's monotonic clock (``time.monotonic_ns()``),
    for diagnostics, latency figures and aligning device clocks; never a sample time.
    ``device``: a stable device id (BLE address or logical name).
    ``channel``: characteristic UUID (lower-case, full 128-bit form) or logical name.
    ``payload``: the bytes, untouched.
    """

    rx_time_ns: int
    device: str
    channel: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something about the device or link, not samples: ``kind`` is one of
    ``connected``, ``disconnected``, ``battery`` (``value`` = percent), ``stopped`` (the device
    stopped streaming on its own), ``restart`` (device clock restarted: new epoch),
    ``rate_changed`` (``value`` = new rate; the pipeline must be rebuilt), ``unsupported``
    (a stream this host cannot read, e.g. a newer openpod major version), ``capabilities``,
    ``control`` (a command answer)."""

    rx_time_ns: int
    device: str
    kind: str
    detail: str = ""
    value: float | None = None


@dataclass(frozen=True, slots=True)
class RscReading:
    """One Running Speed and Cadence measurement (no raw samples: RSC carries none).

    RSC has no device timestamp: ``time_s`` is the receive time in seconds on the session's
    receive clock (the only clock there is), ``rx_time_ns`` the raw receive time."""

    rx_time_ns: int
    device: str
    time_s: float
    speed_mps: float
    cadence_spm: float
    stride_length_m: float | None
    total_distance_m: float | None
    running: bool


SessionRecord = SampleBlock | Gap | DeviceEvent | RscReading


@dataclass(frozen=True, slots=True)
class Health:
    """Counters of one device session since it started.

    ``received`` every packet (all channels); ``malformed`` frames a decoder rejected;
    ``dropped`` packets lost in transit (sequence numbers; for protocols without them,
    estimated as missing samples / mean samples per packet); ``late`` packets older than one
    already used (dropped); ``duplicates`` (dropped); ``gaps`` Gap records; ``missing_samples``;
    ``samples`` delivered; ``reconnects``; ``battery_pct`` (None = unknown);
    ``clock_offset_s`` / ``clock_drift_ppm``: the device clock against the receive clock.
    """

    device: str
    kind: str
    received: int = 0
    malformed: int = 0
    dropped: int = 0
    late: int = 0
    duplicates: int = 0
    gaps: int = 0
    missing_samples: int = 0
    samples: int = 0
    reconnects: int = 0
    battery_pct: int | None = None
    skipped: int = 0  # intact packets of a type this host does not use
    sample_rate_hz: float | None = None
    clock_offset_s: float | None = None
    clock_drift_ppm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One short line for a terminal status line."""
        parts = [
            f"{self.device}",
            f"rx {self.received}",
            f"samples {self.samples}",
            f"gaps {self.gaps} ({self.missing_samples} missing)",
            f"dropped {self.dropped}",
            f"bad {self.malformed}",
            f"late {self.late}",
            f"dup {self.duplicates}",
        ]
        if self.reconnects:
            parts.append(f"reconnects {self.reconnects}")
        if self.battery_pct is not None:
            parts.append(f"battery {self.battery_pct}%")
        if self.clock_drift_ppm is not None:
            parts.append(f"drift {self.clock_drift_ppm:+.0f} ppm")
        return " | ".join(parts)


# ----------------------------------------------------------------------------------------------
# device clock vs receive clock
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """``rx_s ~= device_s + offset_s + slope * device_s`` (lower envelope: minimal latency)."""

    offset_s: float
    slope: float
    windows: int

    @property
    def drift_ppm(self) -> float:
        return self.slope * 1e6

    def to_rx_s(self, device_time_s: float) -> float:
        return device_time_s + self.offset_s + self.slope * device_time_s


class ClockModel:
    """Robust offset / drift of one device clock against the receive clock.

    Every accepted data packet gives a pair (device time of its newest sample, receive time).
    ``residual = rx - device`` is the clock offset plus a latency that is never negative and
    sometimes large (BLE connection events, retransmissions, a busy host). So per window of
    ``window_s`` device seconds only the minimum residual is kept (the packet that waited
    least), and a line is fitted through those minima with Theil-Sen (the median of pairwise
    slopes: robust to windows whose every packet was delayed); the offset is the median
    intercept. The constant part of the minimal latency ends up in the offset, which is what
    alignment wants: both devices are mapped to "when this sample would have arrived".
    At most ``max_windows`` windows are kept (the fit follows slow drift changes).
    """

    def __init__(self, window_s: float = 2.0, max_windows: int = 300):
        self.window_s = float(window_s)
        self.max_windows = int(max_windows)
        self._bins: dict[int, tuple[float, float]] = {}  # window -> (min residual, device t)
        self._cached: ClockEstimate | None = None

    def reset(self) -> None:
        self._bins.clear()
        self._cached = None

    def observe(self, device_time_s: float, rx_time_ns: int) -> None:
        residual = rx_time_ns / 1e9 - device_time_s
        key = math.floor(device_time_s / self.window_s)
        old = self._bins.get(key)
        if old is None or residual < old[0]:
            self._bins[key] = (residual, device_time_s)
            self._cached = None
            if len(self._bins) > self.max_windows:
                del self._bins[min(self._bins)]

    def estimate(self) -> ClockEstimate | None:
        if self._cached is not None or not self._bins:
            return self._cached
        pts = np.array([self._bins[k] for k in sorted(self._bins)])
        r, t = pts[:, 0], pts[:, 1]
        slope = 0.0
        if len(t) >= 3:
            i, j = np.triu_indices(len(t), 1)
            dt = t[j] - t[i]
            ok = dt > 0
            if ok.any():
                slope = float(np.median((r[j] - r[i])[ok] / dt[ok]))
        offset = float(np.median(r - slope * t)) if len(t) >= 3 else float(r.min())
        self._cached = ClockEstimate(offset, slope, len(t))
        return self._cached


# ----------------------------------------------------------------------------------------------
# the session base
# ----------------------------------------------------------------------------------------------
class _Timeline:
    """Device time (native units) -> session seconds, with epochs across clock restarts."""

    def __init__(self, units_per_s: float):
        self.units_per_s = float(units_per_s)
        self.origin: int | float | None = None  # device time (native units) at base_s
        self.base_s = 0.0
        self.last_dev: int | float | None = None  # newest device time seen (native units)
        self.last_rx_ns: int | None = None

    def start_epoch(self, first_dev: int | float, rx_ns: int, last_s: float | None, period_s: float) -> None:
        if last_s is None:
            self.base_s = 0.0
        else:
            elapsed = 0.0 if self.last_rx_ns is None else (rx_ns - self.last_rx_ns) / 1e9
            self.base_s = last_s + max(period_s, elapsed)
        self.origin = first_dev
        self.last_dev = None

    def seconds(self, dev: np.ndarray | int | float) -> np.ndarray:
        assert self.origin is not None
        if isinstance(dev, np.ndarray) and dev.dtype.kind in "iu":
            rel = (dev - np.int64(self.origin)).astype(np.float64)
        else:
            rel = np.asarray(dev, dtype=np.float64) - float(self.origin)
        return self.base_s + rel / self.units_per_s

    def needs_new_epoch(self, first_dev: int | float, rx_ns: int) -> str | None:
        """Why the device clock cannot continue the current epoch (None: it can)."""
        if self.origin is None:
            return "first"
        if self.last_dev is None or self.last_rx_ns is None:
            return None
        step_s = (first_dev - self.last_dev) / self.units_per_s
        if step_s < -LATE_WINDOW_S:
            return "device clock went back"
        elapsed = (rx_ns - self.last_rx_ns) / 1e9
        if step_s - max(elapsed, 0.0) > CLOCK_JUMP_S:
            return f"device clock jumped {step_s:.1f} s in {elapsed:.1f} s"
        return None


class DeviceSession:
    """Common part of every device session: counters, link and battery channels, emission
    of sample blocks with gap detection, the clock model. Subclasses implement `_data`."""

    kind = "device"

    def __init__(self, device: str, *, units_per_s: float = 1.0):
        self.device = device
        self.clock = ClockModel()
        self._timeline = _Timeline(units_per_s)
        self._last_s: float | None = None
        self._index = 0
        self._packets_with_samples = 0
        self.sample_rate_hz: float | None = None
        self.has_gyro = False
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "received",
                "malformed",
                "dropped",
                "late",
                "duplicates",
                "gaps",
                "missing_samples",
                "samples",
                "reconnects",
                "skipped",
            ),
            0,
        )
        self.battery_pct: int | None = None
        self.last_error: str | None = None
        self._connected_once = False
        self._disconnected = False
        self._estimated_drop = True  # dropped estimated from missing samples (no sequence numbers)
        self._recent_gaps: deque[tuple[float, float]] = deque(maxlen=RECENT_GAPS)

    # --- public -------------------------------------------------------------------------------
    def feed(self, packet: RawPacket) -> list[SessionRecord]:
        self.counts["received"] += 1
        ch = packet.channel
        if ch == LINK_CHANNEL:
            return self._link(packet)
        if ch == BATTERY_LEVEL_UUID:
            if len(packet.payload) >= 1 and packet.payload[0] <= 100:
                self.battery_pct = int(packet.payload[0])
                return [
                    DeviceEvent(
                        packet.rx_time_ns, self.device, "battery", f"{self.battery_pct}%", float(self.battery_pct)
                    )
                ]
            self._bad(f"battery level {packet.payload.hex()} is not one byte 0..100")
            return []
        try:
            return self._data(packet)
        except (ProtocolError, openpod.OpenpodError) as exc:
            self._bad(str(exc))
            return []

    def flush(self) -> list[SessionRecord]:
        """End of stream: emit whatever is held back (none by default)."""
        return []

    def health(self) -> Health:
        est = self.clock.estimate()
        c = self.counts
        dropped = c["dropped"]
        if self._estimated_drop and c["missing_samples"] and self._packets_with_samples:
            per = max(1.0, c["samples"] / self._packets_with_samples)
            dropped = int(math.ceil(c["missing_samples"] / per))
        return Health(
            device=self.device,
            kind=self.kind,
            received=c["received"],
            malformed=c["malformed"],
            dropped=dropped,
            late=c["late"],
            duplicates=c["duplicates"],
            gaps=c["gaps"],
            missing_samples=c["missing_samples"],
            samples=c["samples"],
            reconnects=c["reconnects"],
            battery_pct=self.battery_pct,
            skipped=c["skipped"],
            sample_rate_hz=self.sample_rate_hz,
            clock_offset_s=None if est is None else est.offset_s,
            clock_drift_ppm=None if est is None or est.windows < 3 else est.drift_ppm,
        )

    # --- for subclasses -----------------------------------------------------------------------
    def _data(self, packet: RawPacket) -> list[SessionRecord]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _on_reconnect(self) -> None:
        """Forget per-connection protocol state (sequence numbers restart after START)."""

    def _bad(self, message: str) -> None:
        self.counts["malformed"] += 1
        self.last_error = message

    def _link(self, packet: RawPacket) -> list[SessionRecord]:
        what = packet.payload
        if what == LINK_CONNECTED:
            if self._connected_once and self._disconnected:
                self.counts["reconnects"] += 1
                self._on_reconnect()
            self._connected_once = True
            self._disconnected = False
            return [DeviceEvent(packet.rx_time_ns, self.device, "connected")]
        if what == LINK_DISCONNECTED:
            self._disconnected = True
            return [DeviceEvent(packet.rx_time_ns, self.device, "disconnected")]
        return [DeviceEvent(packet.rx_time_ns, self.device, "link", what.decode("utf-8", "replace"))]

    def _classify_old(self, dev: int | float) -> str:
        """A packet whose device time ``dev`` is not newer than what was delivered:
        ``late`` (it falls into a gap already reported: its samples were declared missing),
        ``duplicate`` (its time was delivered already) or ``restart`` (before the epoch began:
        the device clock restarted)."""
        if self._timeline.origin is None:
            return "restart"
        t = float(self._timeline.seconds(dev))
        if any(start < t < end for start, end in self._recent_gaps):
            return "late"
        if t >= self._timeline.base_s:
            return "duplicate"
        return "restart"

    def _check_epoch(
        self, first_dev: int | float, rx_ns: int, out: list[SessionRecord], force: str | None = None
    ) -> None:
        why = force or self._timeline.needs_new_epoch(first_dev, rx_ns)
        if why is None:
            return
        period = 1.0 / self.sample_rate_hz if self.sample_rate_hz else 0.0
        self._timeline.start_epoch(first_dev, rx_ns, self._last_s, period)
        self._recent_gaps.clear()
        if why != "first":
            self._on_clock_restart()
            out.append(DeviceEvent(rx_ns, self.device, "restart", why))

    def _on_clock_restart(self) -> None:
        """The device clock restarted: protocol timestamp state is void."""

    def _note_device_time(self, last_dev: int | float, rx_ns: int) -> None:
        self._timeline.last_dev = last_dev
        self._timeline.last_rx_ns = rx_ns

    def _emit(
        self,
        out: list[SessionRecord],
        time_s: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray | None,
        rx_ns: int,
        flags: np.ndarray | None = None,
    ) -> None:
        """Append a SampleBlock (and a Gap before it if samples are missing)."""
        n = int(time_s.shape[0])
        if n == 0:
            return
        if self._last_s is not None and time_s[0] <= self._last_s:
            keep = time_s > self._last_s  # overlap with what was sent: never send time backwards
            time_s, acc = time_s[keep], acc[keep]
            gyr = None if gyr is None else gyr[keep]
            flags = None if flags is None else flags[keep]
            n = int(time_s.shape[0])
            if n == 0:
                return
        if flags is None:
            flags = np.zeros(n, np.uint8)
        else:
            flags = flags.astype(np.uint8, copy=True)
        if self._last_s is not None and self.sample_rate_hz:
            step = (float(time_s[0]) - self._last_s) * self.sample_rate_hz
            if step > GAP_FACTOR:
                missing = max(1, int(round(step)) - 1)
                out.append(Gap(start_s=self._last_s, end_s=float(time_s[0]), missing_samples=missing))
                self.counts["gaps"] += 1
                self._recent_gaps.append((self._last_s, float(time_s[0])))
                self.counts["missing_samples"] += missing
                flags[0] |= SampleFlag.AFTER_GAP
        out.append(
            SampleBlock(
                time_s=time_s,
                acc_mps2=acc,
                gyr_dps=gyr,
                index0=self._index,
                flags=flags if flags.any() else None,
            )
        )
        self._index += n
        self.counts["samples"] += n
        self._packets_with_samples += 1
        self._last_s = float(time_s[-1])
        self.clock.observe(self._last_s, rx_ns)


# ----------------------------------------------------------------------------------------------
# acc + gyro from separate streams
# ----------------------------------------------------------------------------------------------
class _Merger:
    """Joins an accelerometer stream and a gyroscope stream of one device clock.

    Accelerometer samples set the time base; the gyroscope is interpolated onto them (NaN
    where the gyro has a gap: the pipeline flags and bridges NaN). Accelerometer samples wait
    until the gyro covers them, or at most ``max_wait_s`` (then they go with NaN gyro)."""

    def __init__(self, max_wait_s: float = 0.5):
        self.max_wait_s = max_wait_s
        self.reset()

    def reset(self) -> None:
        self.acc_t = np.zeros(0)
        self.acc_v = np.zeros((0, 3))
        self.acc_f = np.zeros(0, np.uint8)
        self.gyr_t = np.zeros(0)
        self.gyr_v = np.zeros((0, 3))
        self.gyr_period = 0.0

    def add_acc(self, t: np.ndarray, v: np.ndarray, flags: np.ndarray | None = None) -> None:
        f = np.zeros(len(t), np.uint8) if flags is None else flags
        self.acc_t = np.concatenate([self.acc_t, t])
        self.acc_v = np.concatenate([self.acc_v, v])
        self.acc_f = np.concatenate([self.acc_f, f])

    def add_gyr(self, t: np.ndarray, v: np.ndarray, period_s: float) -> None:
        if len(self.gyr_t) and len(t) and t[0] <= self.gyr_t[-1]:
            keep = t > self.gyr_t[-1]
            t, v = t[keep], v[keep]
        self.gyr_t = np.concatenate([self.gyr_t, t])
        self.gyr_v = np.concatenate([self.gyr_v, v])
        self.gyr_period = period_s

    def take(self, final: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        if not len(self.acc_t):
            return None
        if final:
            n = len(self.acc_t)
        else:
            covered = self.gyr_t[-1] if len(self.gyr_t) else -np.inf
            limit = max(covered, self.acc_t[-1] - self.max_wait_s)
            n = int(np.searchsorted(self.acc_t, limit, side="right"))
        if n == 0:
            return None
        t, v, f = self.acc_t[:n], self.acc_v[:n], self.acc_f[:n]
        g = np.full((n, 3), np.nan)
        if len(self.gyr_t):
            gt = self.gyr_t
            for c in range(3):
                g[:, c] = np.interp(t, gt, self.gyr_v[:, c], left=np.nan, right=np.nan)
            if len(gt) > 1 and self.gyr_period > 0:  # no interpolation across a gyro gap
                k = np.clip(np.searchsorted(gt, t), 1, len(gt) - 1)
                span = gt[k] - gt[k - 1]
                exact = np.isin(t, gt)
                g[(span > GAP_FACTOR * self.gyr_period) & ~exact] = np.nan
            elif len(gt) == 1:
                g[:] = np.where(np.isclose(t, gt[0])[:, None], self.gyr_v[0], np.nan)
        self.acc_t, self.acc_v, self.acc_f = self.acc_t[n:], self.acc_v[n:], self.acc_f[n:]
        if len(self.gyr_t) > 1:  # keep one gyro sample before the next acc sample for interpolation
            first_needed = self.acc_t[0] if len(self.acc_t) else t[-1]
            k = max(0, int(np.searchsorted(self.gyr_t, first_needed, side="right")) - 1)
            self.gyr_t, self.gyr_v = self.gyr_t[k:], self.gyr_v[k:]
        return t, v, g, f


# ----------------------------------------------------------------------------------------------
# Polar PMD (H10, Verity Sense, OH1)
# ----------------------------------------------------------------------------------------------
class PmdSession(DeviceSession):
    """Polar PMD data (ACC, and GYRO with ``gyro=True``) with the per-sample clock of
    `polar_pmd.PmdStream` (frame timestamp = last sample, ns since 2000-01-01).

    Rates and factors come from the settings given here and, when the capture has them, from
    the START request the host wrote and the device's answer (``write:`` control point channel,
    then the control point indication)."""

    kind = "pmd"

    def __init__(
        self,
        device: str,
        *,
        sample_rate_hz: float = 200.0,
        factor: float | None = None,
        gyro: bool = False,
        gyro_rate_hz: float | None = None,
        gyro_factor: float | None = None,
        max_wait_s: float = 0.5,
    ):
        super().__init__(device, units_per_s=1e9)
        self.stream = polar_pmd.PmdStream(device=device)
        self.stream.configure(polar_pmd.MeasurementType.ACC, sample_rate_hz=sample_rate_hz, factor=factor)
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = bool(gyro)
        self.gyro_rate_hz = float(gyro_rate_hz or sample_rate_hz)
        if gyro:
            self.stream.configure(polar_pmd.MeasurementType.GYRO, sample_rate_hz=self.gyro_rate_hz, factor=gyro_factor)
        self._merger = _Merger(max_wait_s) if gyro else None
        self._last_ts: dict[tuple[int, int], int] = {}
        self._pending_start: dict[int, bytes] = {}
        self._estimated_drop = True
        # gyro frames that came before the first acc frame (no time base yet): held, not dropped
        self._early_gyro: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=EARLY_GYRO_FRAMES)

    def _on_reconnect(self) -> None:
        self.stream.reset()
        self._last_ts.clear()
        self._early_gyro.clear()

    def _on_clock_restart(self) -> None:
        self._on_reconnect()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        ch, data = packet.channel, packet.payload
        if ch == polar_pmd.PMD_DATA_UUID:
            return self._frame(packet)
        if ch == write_channel(polar_pmd.PMD_CONTROL_POINT_UUID):
            req = polar_pmd.decode_request(data)
            if req.op is polar_pmd.Opcode.REQUEST_MEASUREMENT_START:
                self._pending_start[int(req.measurement)] = data
            return []
        if ch == polar_pmd.PMD_CONTROL_POINT_UUID:
            return self._control(packet)
        self.counts["skipped"] += 1
        return []

    def _control(self, packet: RawPacket) -> list[SessionRecord]:
        msg = polar_pmd.decode_cp_message(packet.payload)
        if isinstance(msg, polar_pmd.PmdMeasurementStopped):
            names = ", ".join(polar_pmd.measurement_name(int(m)) for m in msg.measurements)
            return [DeviceEvent(packet.rx_time_ns, self.device, "stopped", f"device stopped {names}")]
        if isinstance(msg, polar_pmd.PmdControlPointResponse) and msg.op == polar_pmd.Opcode.REQUEST_MEASUREMENT_START:
            request = self._pending_start.pop(int(msg.measurement), None)
            if request is None:
                return []
            self.stream.on_start(request, packet.payload)  # raises ControlPointError on failure
            rate = polar_pmd.decode_request(request).settings.sample_rate_hz
            out: list[SessionRecord] = [DeviceEvent(packet.rx_time_ns, self.device, "control", "measurement started")]
            if msg.measurement == polar_pmd.MeasurementType.ACC and rate and float(rate[0]) != self.sample_rate_hz:
                self.sample_rate_hz = float(rate[0])
                out.append(DeviceEvent(packet.rx_time_ns, self.device, "rate_changed", "", self.sample_rate_hz))
            if msg.measurement == polar_pmd.MeasurementType.GYRO and rate:
                self.gyro_rate_hz = float(rate[0])
            self._last_ts = {k: v for k, v in self._last_ts.items() if k[0] != int(msg.measurement)}
            return out
        return []

    def _frame(self, packet: RawPacket) -> list[SessionRecord]:
        data = packet.payload
        out: list[SessionRecord] = []
        restart: str | None = None
        if len(data) >= polar_pmd.DATA_HEADER_BYTES:
            key = (data[0] & 0x3F, data[9])
            ts = int.from_bytes(data[1:9], "little")
            last = self._last_ts.get(key)
            if last is not None and ts <= last:
                kind = "duplicate" if ts == last else self._classify_old(ts)
                if kind == "late":
                    self.counts["late"] += 1
                    return []
                if kind == "duplicate":
                    self.counts["duplicates"] += 1
                    return []
                polar_pmd.decode_data_frame(data, device=self.device)  # garbage is malformed, not a restart
                restart = "device clock went back"
                self.stream.reset()
                self._last_ts.clear()
        samples = self.stream.decode(data)  # raises typed errors; state unchanged then
        self._last_ts[(int(samples.measurement), samples.frame.frame_type)] = samples.frame.timestamp_ns
        times = samples.time_ns
        is_acc = samples.measurement is polar_pmd.MeasurementType.ACC
        if is_acc:
            self._check_epoch(int(times[0]), packet.rx_time_ns, out, force=restart)
            if out and any(isinstance(r, DeviceEvent) and r.kind == "restart" for r in out):
                self._last_ts = {(int(samples.measurement), samples.frame.frame_type): samples.frame.timestamp_ns}
            self._note_device_time(int(times[-1]), packet.rx_time_ns)
        elif self._timeline.origin is None:
            # gyro before any acc (the two streams start independently): no time base yet, so
            # hold the frame until the first acc frame sets one
            if self._merger is not None:
                self._early_gyro.append((times, samples.values))
            return []
        time_s = self._timeline.seconds(times)
        if self._merger is None:
            if is_acc:
                self._emit(out, time_s, samples.values, None, packet.rx_time_ns)
            return out
        if is_acc:
            while self._early_gyro:
                g_times, g_values = self._early_gyro.popleft()
                self._merger.add_gyr(self._timeline.seconds(g_times), g_values, 1.0 / self.gyro_rate_hz)
            self._merger.add_acc(time_s, samples.values)
        else:
            self._merger.add_gyr(time_s, samples.values, 1.0 / self.gyro_rate_hz)
        self._drain(out, packet.rx_time_ns, final=False)
        return out

    def _drain(self, out: list[SessionRecord], rx_ns: int, final: bool) -> None:
        assert self._merger is not None
        got = self._merger.take(final)
        if got is not None:
            t, v, g, f = got
            self._emit(out, t, v, g, rx_ns, f)

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        if self._merger is not None:
            self._drain(out, self._timeline.last_rx_ns or 0, final=True)
        return out


class H10Session(PmdSession):
    """Polar H10 chest strap: PMD ACC (raw int16 frames), 200 Hz by default, no gyro."""

    kind = "h10"

    def __init__(self, device: str, *, sample_rate_hz: float = 200.0, factor: float | None = None):
        super().__init__(device, sample_rate_hz=sample_rate_hz, factor=factor, gyro=False)


class VeritySession(PmdSession):
    """Polar Verity Sense: PMD ACC + GYRO (delta frames), 52 Hz by default, merged by time."""

    kind = "verity"

    def __init__(
        self,
        device: str,
        *,
        sample_rate_hz: float = 52.0,
        factor: float | None = None,
        gyro: bool = True,
        gyro_rate_hz: float | None = None,
        gyro_factor: float | None = None,
        max_wait_s: float = 0.5,
    ):
        super().__init__(
            device,
            sample_rate_hz=sample_rate_hz,
            factor=factor,
            gyro=gyro,
            gyro_rate_hz=gyro_rate_hz,
            gyro_factor=gyro_factor,
            max_wait_s=max_wait_s,
        )


# ----------------------------------------------------------------------------------------------
# openpod (DIY pods, phone bridges, CSV import, simulator)
# ----------------------------------------------------------------------------------------------
class OpenpodSession(DeviceSession):
    """openpod v1 data packets (SPEC.md section 4): sequence numbers count lost packets and
    catch duplicates / late packets; timestamps (µs, first sample) count missing samples."""

    kind = "openpod"

    def __init__(self, device: str, *, sample_rate_hz: float | None = None):
        super().__init__(device, units_per_s=1e6)
        self.sample_rate_hz = sample_rate_hz
        self.acc_range_g: int | None = None
        self._seq: int | None = None
        self._last_t_us: float | None = None  # timestamp of the last sample received
        self._unsupported_reported = False
        self._estimated_drop = False

    def _on_reconnect(self) -> None:
        self._seq = None  # the host sends START again: seq restarts at 0

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        ch = packet.channel
        if ch == openpod.DATA_UUID:
            return self._packet(packet)
        if ch == openpod.CONTROL_UUID:
            resp = openpod.decode_response(packet.payload)
            if resp.unsolicited:
                name = openpod.STATUS_NAMES.get(resp.status, f"status 0x{resp.status:02X}")
                return [DeviceEvent(packet.rx_time_ns, self.device, "stopped", f"device stopped the stream: {name}")]
            return [
                DeviceEvent(packet.rx_time_ns, self.device, "control", f"op 0x{resp.opcode:02X} status {resp.status}")
            ]
        if ch == openpod.CAPABILITIES_UUID:
            caps = openpod.decode_capabilities(packet.payload)
            return [
                DeviceEvent(packet.rx_time_ns, self.device, "capabilities", f"mount {caps.mount}", float(caps.mount))
            ]
        if ch.startswith(WRITE_PREFIX):
            if ch == write_channel(openpod.CONTROL_UUID):
                cmd = openpod.decode_command(packet.payload)
                if cmd.opcode == openpod.OP_START:
                    self._seq = None  # seq restarts at 0 after START
            return []
        self.counts["skipped"] += 1
        return []

    def _packet(self, packet: RawPacket) -> list[SessionRecord]:
        try:
            pk = openpod.decode_packet(packet.payload)
        except openpod.UnknownPacketType as exc:
            self.counts["skipped"] += 1
            self._advance_seq(exc.seq)
            return []
        except openpod.UnsupportedVersion as exc:
            self._bad(str(exc))
            if not self._unsupported_reported:
                self._unsupported_reported = True
                return [DeviceEvent(packet.rx_time_ns, self.device, "unsupported", str(exc))]
            return []
        out: list[SessionRecord] = []
        period_us = 1e6 / pk.rate_hz
        t0 = float(pk.timestamp_us)
        d = None if self._seq is None else (pk.seq - self._seq) & 0xFFFF
        if d == 0:
            self.counts["duplicates"] += 1
            return []
        restart: str | None = None
        if self._last_t_us is not None and t0 <= self._last_t_us:
            kind = self._classify_old(pk.timestamp_us)
            if kind == "late":
                self.counts["late"] += 1
                return []
            if kind == "duplicate":
                self.counts["duplicates"] += 1
                return []
            restart = "device clock went back (reboot)"
            d = None
        if d is not None and d < 0x8000:
            self.counts["dropped"] += d - 1
        if self.sample_rate_hz is not None and pk.rate_hz != self.sample_rate_hz and self._index:
            self.sample_rate_hz = pk.rate_hz
            out.append(DeviceEvent(packet.rx_time_ns, self.device, "rate_changed", "", pk.rate_hz))
        self.sample_rate_hz = pk.rate_hz
        self.has_gyro = pk.has_gyro
        self.acc_range_g = pk.acc_range_g
        self._seq = pk.seq
        self._check_epoch(pk.timestamp_us, packet.rx_time_ns, out, force=restart)
        n = len(pk)
        self._last_t_us = t0 + (n - 1) * period_us
        self._note_device_time(pk.timestamp_us + (n - 1) * period_us, packet.rx_time_ns)
        time_s = self._timeline.seconds(pk.timestamp_us) + np.arange(n, dtype=np.float64) / pk.rate_hz
        flags = np.where(pk.clipped, SampleFlag.CLIPPED, 0).astype(np.uint8)
        self._emit(out, time_s, pk.acc_mps2, pk.gyr_dps, packet.rx_time_ns, flags)
        return out

    def _advance_seq(self, seq: int) -> None:
        if self._seq is None:
            return
        d = (seq - self._seq) & 0xFFFF
        if 0 < d < 0x8000:
            self.counts["dropped"] += d - 1
            self._seq = seq


# ----------------------------------------------------------------------------------------------
# RSC foot pods, MetaWear, Movesense
# ----------------------------------------------------------------------------------------------
class RscSession(DeviceSession):
    """Running Speed and Cadence (0x2A53): speed and cadence, no samples, no device clock."""

    kind = "rsc"

    def __init__(self, device: str, *, cadence_unit: str = "steps"):
        super().__init__(device)
        self.cadence_unit = cadence_unit
        self._rx0: int | None = None
        self._last_rx: int | None = None

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel != rsc.RSC_MEASUREMENT_UUID:
            self.counts["skipped"] += 1
            return []
        m = rsc.decode_measurement(packet.payload, cadence_unit=self.cadence_unit)  # type: ignore[arg-type]
        if self._last_rx is not None and packet.rx_time_ns <= self._last_rx:
            self.counts["late"] += 1
            return []
        if self._rx0 is None:
            self._rx0 = packet.rx_time_ns
        self._last_rx = packet.rx_time_ns
        self.counts["samples"] += 1
        return [
            RscReading(
                rx_time_ns=packet.rx_time_ns,
                device=self.device,
                time_s=(packet.rx_time_ns - self._rx0) / 1e9,
                speed_mps=m.speed_mps,
                cadence_spm=m.cadence_spm,
                stride_length_m=m.stride_length_m,
                total_distance_m=m.total_distance_m,
                running=m.running,
            )
        ]


class MetaWearSession(DeviceSession):
    """MetaWear acc (+ gyro) notifications. They carry no device timestamp or counter, so
    samples are timed by counting at the ODR (`metawear.MetaWearStream`) and lost packets
    cannot be seen: this session never reports gaps (health says so: dropped stays 0)."""

    kind = "metawear"

    def __init__(
        self,
        device: str,
        *,
        sample_rate_hz: float = 200.0,
        acc_range_g: int = 8,
        gyro: bool = False,
        gyro_rate_hz: float | None = None,
        gyro_range_dps: int = 2000,
    ):
        super().__init__(device, units_per_s=1.0)
        self.stream = metawear.MetaWearStream(
            acc_odr_hz=sample_rate_hz,
            acc_range_g=acc_range_g,
            gyro_odr_hz=gyro_rate_hz or sample_rate_hz,
            gyro_range_dps=gyro_range_dps,
        )
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = gyro
        self._merger = _Merger() if gyro else None
        self._timeline.origin = 0.0

    def _on_reconnect(self) -> None:
        # counting restarts: continue the timeline after the last sample (receive clock bridges)
        self.stream.reset()
        if self._last_s is not None:
            self._timeline.base_s = self._last_s + 1.0 / self.sample_rate_hz
        if self._merger is not None:
            self._merger.reset()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel != metawear.METAWEAR_NOTIFY_UUID:
            self.counts["skipped"] += 1
            return []
        s = self.stream.decode(packet.payload)
        out: list[SessionRecord] = []
        time_s = self._timeline.seconds(s.time_s)
        if self._merger is None:
            if s.acc_mps2 is not None:
                self._emit(out, time_s, s.acc_mps2, None, packet.rx_time_ns)
            return out
        if s.acc_mps2 is not None:
            self._merger.add_acc(time_s, s.acc_mps2)
        elif s.gyr_dps is not None:
            self._merger.add_gyr(time_s, s.gyr_dps, 1.0 / self.stream.gyro_odr_hz)
        got = self._merger.take()
        if got is not None:
            self._emit(out, got[0], got[1], got[2], packet.rx_time_ns, got[3])
        return out

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        if self._merger is not None:
            got = self._merger.take(final=True)
            if got is not None:
                self._emit(out, got[0], got[1], got[2], self._timeline.last_rx_ns or 0, got[3])
        return out


class MovesenseSession(DeviceSession):
    """Movesense GSP: one subscription (``kind`` acc / imu6 / imu9, ``rate_hz``, ``ref``),
    reassembled and timed by `movesense.GspStream` (u32 ms device time of the first sample)."""

    kind = "movesense"

    def __init__(
        self,
        device: str,
        *,
        resource: str = "imu6",
        sample_rate_hz: int = 104,
        ref: int = 99,
        part2: bool | None = None,
    ):
        super().__init__(device, units_per_s=1.0)
        self.stream = movesense.GspStream()
        self.stream.subscribe(ref, resource, int(sample_rate_hz), part2=part2)
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = resource in ("imu6", "imu9", "gyro")

    def _on_reconnect(self) -> None:
        self.stream.reset()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel != movesense.GSP_DATA_UUID:
            self.counts["skipped"] += 1
            return []
        out: list[SessionRecord] = []
        for item in self.stream.feed(packet.payload):
            self._samples(item, packet.rx_time_ns, out)
        return out

    def _samples(self, item: object, rx_ns: int, out: list[SessionRecord]) -> None:
        if isinstance(item, movesense.GspCommandResult):
            out.append(DeviceEvent(rx_ns, self.device, "control", f"ref {item.ref}: {item.payload!r}"))
            return
        acc = getattr(item, "acc_mps2", None)
        if acc is None:
            return
        t = np.asarray(item.time_s)  # type: ignore[attr-defined]
        self._check_epoch(float(t[0]), rx_ns, out)
        self._note_device_time(float(t[-1]), rx_ns)
        self._emit(out, self._timeline.seconds(t), acc, item.gyr_dps, rx_ns)  # type: ignore[attr-defined]

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        for item in self.stream.flush():
            self._samples(item, self._timeline.last_rx_ns or 0, out)
        return out


# ----------------------------------------------------------------------------------------------
# device specs, factory, several devices at once
# ----------------------------------------------------------------------------------------------
SESSION_KINDS: dict[str, type[DeviceSession]] = {
    "openpod": OpenpodSession,
    "h10": H10Session,
    "verity": VeritySession,
    "pmd": PmdSession,
    "rsc": RscSession,
    "metawear": MetaWearSession,
    "movesense": MovesenseSession,
}
# the names of `firmware_interface.devices.DeviceKind` (the BLE catalogue) map onto these
KIND_ALIASES = {
    "polar_h10": "h10",
    "polar_verity_sense": "verity",
    "polar_oh1": "pmd",
    "rsc_foot_pod": "rsc",
}

_KIND_OF_CHANNEL = {
    openpod.DATA_UUID: "openpod",
    polar_pmd.PMD_DATA_UUID: "pmd",
    rsc.RSC_MEASUREMENT_UUID: "rsc",
    metawear.METAWEAR_NOTIFY_UUID: "metawear",
    movesense.GSP_DATA_UUID: "movesense",
}


@dataclass(frozen=True)
class DeviceConfig:
    """One device of a session: its id, decoder kind (`SESSION_KINDS`), where it is worn
    (pipeline settings) and decoder settings (keyword arguments of the session class)."""

    id: str
    kind: str
    placement: str | None = None
    side: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "placement": self.placement,
            "side": self.side,
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceConfig:
        return cls(
            id=str(d["id"]),
            kind=str(d["kind"]),
            placement=d.get("placement"),
            side=d.get("side"),
            settings=dict(d.get("settings") or {}),
        )

    @classmethod
    def parse(cls, text: str, *, require_id: bool = True) -> DeviceConfig:
        """``id=AA:BB,kind=h10,placement=chest[,side=left][,sample_rate_hz=200]`` (CLI form).

        ``require_id=False``: ``id`` may be left out (it is then ``""``: the caller names the
        device, e.g. an emulated one)."""
        fields_: dict[str, str] = {}
        for part in text.split(","):
            if "=" not in part:
                raise ValueError(f"device spec {text!r}: expected key=value pairs separated by commas")
            k, v = part.split("=", 1)
            fields_[k.strip()] = v.strip()
        if not require_id:
            fields_.setdefault("id", "")
        if "id" not in fields_ or "kind" not in fields_:
            raise ValueError(f"device spec {text!r} needs id=... and kind=...")
        settings: dict[str, Any] = {}
        for k, v in fields_.items():
            if k in ("id", "kind", "placement", "side"):
                continue
            settings[k] = _parse_value(v)
        return cls(fields_["id"], fields_["kind"], fields_.get("placement"), fields_.get("side"), settings)


def _parse_value(v: str) -> Any:
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


# settings that tell the transport what to negotiate (`ble.StreamSettings`) and that a decoder
# does not take: `make_session` leaves them out for the session classes that do not accept them
TRANSPORT_SETTINGS = frozenset(
    {
        "acc_rate_hz",
        "acc_range_g",
        "gyr_rate_hz",
        "gyr_range_dps",
        "gyro",
        "gyro_range_dps",
        "resolution_bits",
        "sdk_mode",
        "set_time",
    }
)


def session_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without the transport-only keys the session class of ``kind`` does not take."""
    cls = SESSION_KINDS.get(KIND_ALIASES.get(kind, kind))
    if cls is None:
        return dict(settings)
    accepted = set(inspect.signature(cls.__init__).parameters)
    return {k: v for k, v in settings.items() if k in accepted or k not in TRANSPORT_SETTINGS}


def make_session(spec: DeviceConfig) -> DeviceSession:
    """The session class of ``spec.kind`` with ``spec.settings`` as keyword arguments
    (transport-only settings such as ``acc_range_g`` or ``sdk_mode`` are left out)."""
    cls = SESSION_KINDS.get(KIND_ALIASES.get(spec.kind, spec.kind))
    if cls is None:
        raise ValueError(f"unknown device kind {spec.kind!r}; one of {', '.join(SESSION_KINDS)}")
    try:
        return cls(spec.id, **session_settings(spec.kind, spec.settings))
    except TypeError as exc:
        raise ValueError(f"device {spec.id!r} ({spec.kind}): bad settings {spec.settings}: {exc}") from None


class SessionSet:
    """Routes packets to per-device sessions and aligns their clocks.

    Devices not declared get a session from the channel of their first data packet when
    ``auto`` is true (openpod, PMD as H10, RSC, MetaWear, Movesense); otherwise their packets
    are counted in ``unknown`` and dropped. ``rx_origin_ns`` is the receive time of the first
    packet: common times are seconds since then.
    """

    def __init__(self, specs: Iterable[DeviceConfig] = (), *, auto: bool = True):
        self.sessions: dict[str, DeviceSession] = {}
        self.specs: dict[str, DeviceConfig] = {}
        self.auto = auto
        self.unknown = 0
        self.rx_origin_ns: int | None = None
        for spec in specs:
            self.add(spec)

    def add(self, spec: DeviceConfig) -> DeviceSession:
        session = make_session(spec)
        self.sessions[spec.id] = session
        self.specs[spec.id] = spec
        return session

    def feed(self, packet: RawPacket) -> list[tuple[str, SessionRecord]]:
        if self.rx_origin_ns is None:
            self.rx_origin_ns = packet.rx_time_ns
        session = self.sessions.get(packet.device)
        if session is None:
            kind = _KIND_OF_CHANNEL.get(packet.channel)
            if not self.auto or kind is None:
                self.unknown += 1
                return []
            session = self.add(DeviceConfig(packet.device, "h10" if kind == "pmd" else kind))
        return [(packet.device, r) for r in session.feed(packet)]

    def flush(self) -> list[tuple[str, SessionRecord]]:
        out: list[tuple[str, SessionRecord]] = []
        for dev, session in self.sessions.items():
            out.extend((dev, r) for r in session.flush())
        return out

    def health(self) -> dict[str, Health]:
        return {dev: s.health() for dev, s in self.sessions.items()}

    def to_common(self, device: str, device_time_s: float) -> float:
        """Device time (session seconds) -> seconds on the common receive clock since the
        first packet. Before any estimate exists it returns ``device_time_s`` unchanged."""
        session = self.sessions.get(device)
        est = None if session is None else session.clock.estimate()
        if est is None or self.rx_origin_ns is None:
            return float(device_time_s)
        return est.to_rx_s(device_time_s) - self.rx_origin_ns / 1e9
