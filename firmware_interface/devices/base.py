"""What every device session shares: raw packets in, samples (device clock, SI units) out.

`RawPacket` is the unit every source (BLE transport, capture replay, CSV import, phone,
simulator) produces. One `DeviceSession` per device turns its packets into pipeline input:

    feed(packet) -> list[SampleBlock | Gap | DeviceEvent | RscReading]

using the pure decoders of `firmware_interface.protocols` and `firmware_interface.openpod`.
The session of each device kind lives in that kind's module (`firmware_interface.devices.h10`,
...); this module is their common base. Sessions own everything stateful about a device stream:

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

import functools
import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firmware_interface.openpod import codec as openpod
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


@functools.lru_cache(maxsize=64)
def sample_offsets_s(n: int, rate_hz: float) -> np.ndarray:
    """``arange(n) / rate_hz``: the times of a packet's n samples after its first one. Cached
    (a stream has few packet sizes) and therefore read-only: add it to a time, never in place."""
    offsets = np.arange(n, dtype=np.float64) / rate_hz
    offsets.setflags(write=False)
    return offsets


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

    def seconds(self, dev: np.ndarray) -> np.ndarray:
        """Session seconds of device times (native units)."""
        assert self.origin is not None
        if isinstance(dev, np.ndarray) and dev.dtype.kind in "iu":
            rel = (dev - np.int64(self.origin)).astype(np.float64)
        else:
            rel = np.asarray(dev, dtype=np.float64) - float(self.origin)
        rel /= self.units_per_s
        rel += self.base_s
        return rel

    def second(self, dev: int | float) -> float:
        """Session seconds of one device time (native units): the same arithmetic as `seconds`."""
        assert self.origin is not None
        return self.base_s + (float(dev) - float(self.origin)) / self.units_per_s

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
        t = self._timeline.second(dev)
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
        n = len(time_s)
        if n == 0:
            return
        last_s = self._last_s
        first_s = float(time_s[0])
        if last_s is not None and first_s <= last_s:
            keep = time_s > last_s  # overlap with what was sent: never send time backwards
            time_s, acc = time_s[keep], acc[keep]
            gyr = None if gyr is None else gyr[keep]
            flags = None if flags is None else flags[keep]
            n = len(time_s)
            if n == 0:
                return
            first_s = float(time_s[0])
        # the block's own copy of the flags, or None when no sample is flagged
        if flags is not None:
            flags = flags.astype(np.uint8, copy=True) if flags.any() else None
        if last_s is not None and self.sample_rate_hz:
            step = (first_s - last_s) * self.sample_rate_hz
            if step > GAP_FACTOR:
                missing = max(1, int(round(step)) - 1)
                out.append(Gap(start_s=last_s, end_s=first_s, missing_samples=missing))
                self.counts["gaps"] += 1
                self._recent_gaps.append((last_s, first_s))
                self.counts["missing_samples"] += missing
                if flags is None:
                    flags = np.zeros(n, np.uint8)
                flags[0] |= SampleFlag.AFTER_GAP
        out.append(SampleBlock(time_s, acc, gyr, self._index, flags))
        self._index += n
        self.counts["samples"] += n
        self._packets_with_samples += 1
        self._last_s = float(time_s[-1])
        self.clock.observe(self._last_s, rx_ns)


# ----------------------------------------------------------------------------------------------
# acc + gyro from separate streams
# ----------------------------------------------------------------------------------------------
class Merger:
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
