"""phyphox remote access: poll a phone's experiment over HTTP and yield `SampleBlock`s.

phyphox (RWTH Aachen, Android and iOS) serves its running experiment on the phone, by default
on port 8080, once "Allow remote access" is on. The endpoints used here (reference
ble-protocols.md section 5 [V from phyphox-py, D from the phyphox wiki]; field names checked in
phyphox-android ``RemoteServer.java``):

- ``GET /config``: ``{"crc32", "title", "buffers": [{"name", "size"}], "inputs": [{"source",
  "outputs": [{"x": buffer}, {"y": ...}, {"z": ...}, {"t": ...}]}], "export": [...]}``.
  ``source`` is the phyphox sensor name: ``accelerometer`` (acceleration *with* g),
  ``linear_acceleration`` (without g), ``gravity``, ``gyroscope``, ... Buffer names are
  discovered from here, never hard-coded (the built-in experiments call them accX/acc_time,
  gyrX/gyr_time, but custom experiments name them freely).
- ``GET /get?<t>=<last>&<x>=<last>|<t>...``: the values of each buffer at the indices where the
  reference (time) buffer is above ``last``; ``=full`` for everything; an empty value for the
  last value only. Answer: ``{"buffer": {name: {"size", "updateMode", "buffer": [...]}},
  "status": {"session", "measuring", "timedRun", "countDown"}}``. Numbers carry 8 significant
  digits (Java pattern ``0.#######E0``, so ``1.2345678E2``); NaN is ``null``. The server nudges
  the threshold up by one unit of the 8th digit so the last sample is not sent twice; this
  client also drops any sample not after the last one it has (the iOS server, or a forced
  ``full`` answer after "clear").
- ``GET /control?cmd=start|stop|clear``: ``{"result": true|false}``.

Conventions [V: phyphox-ios ``ExperimentSensorInput.swift``, all versions since 2016]: on iOS
phyphox multiplies CoreMotion's accelerometer, user acceleration and gravity (in g, reading -1 g
on the up axis) by ``kG = -9.81``, which makes them m/s^2 in the Android convention: a still
phone reads +9.81 m/s^2 on its up axis [D: Android's accelerometer reads +g up, per Sensor
Logger's COORDINATES.md, "gravity +z when flat" on Android]. So ``accelerometer`` is already our
specific force on both platforms and is used as it is; ``linear_acceleration`` + ``gravity``
(both in that convention) add up to it, which is the fallback when an experiment has no
accelerometer input. The gyroscope is rad/s on both platforms (CoreMotion ``rotationRate``,
Android ``TYPE_GYROSCOPE``), right-handed about the same axes: converted to deg/s. (iOS uses
9.81, not 9.80665: a 0.035 % scale, left as it is.)

Time: phyphox time buffers are seconds of *experiment time* since the measurement started,
from the sensor event timestamps; all sensors share one experiment clock in current versions
[V: ``timeReference.getExperimentTimeFromEvent`` on iOS; U for old app versions, where each
sensor counted from its own first sample]. Experiment time leaves out pauses; when this client
sees a pause (``measuring`` false) and the resume, it adds the paused wall-clock time, so the
pipeline sees a gap instead of a seamless join (a pause shorter than one poll is not seen).
After "clear" (or a new session id) the times restart near 0: the client continues its output
clock 1 s after the last sample (a gap) instead of going backwards. With 8 significant digits
the time resolution is 0.1 ms up to 1000 s and 1 ms up to 10 000 s (2.8 h).

The accelerometer and gyroscope are separate sensors with their own timestamps and rates;
`StreamAligner` (see the package docstring) resamples both onto one uniform clock.

A built-in "Acceleration with g" experiment gives acceleration only (``gyr_dps`` None). For
acceleration and gyroscope, make an experiment with both sensors (phyphox editor, "Raw
sensors": accelerometer + gyroscope, rate 100 Hz or fastest) and run that one.
"""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from firmware_interface.phones import (
    ExperimentNotRunning,
    PhoneConventionError,
    PhoneProtocolError,
    PhoneUnreachable,
    StreamAligner,
    rad_to_deg,
)
from gait.core.records import SampleBlock

DEFAULT_PORT = 8080
RESET_GAP_S = 1.0  # output clock jump after "clear" / a new session

ACC_SOURCE = "accelerometer"
LINEAR_SOURCE = "linear_acceleration"
GRAVITY_SOURCE = "gravity"
GYRO_SOURCE = "gyroscope"


@dataclass(frozen=True)
class SensorBuffers:
    """The buffer names of one phyphox sensor input."""

    source: str
    x: str
    y: str
    z: str
    t: str

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.x, self.y, self.z)


@dataclass(frozen=True)
class PhyphoxLayout:
    """What `/config` says about the running experiment, reduced to what we need."""

    title: str
    crc32: str
    acc: SensorBuffers | None  # accelerometer, with g
    linear: SensorBuffers | None  # linear acceleration, without g
    gravity: SensorBuffers | None
    gyro: SensorBuffers | None

    def acc_streams(self) -> dict[str, SensorBuffers]:
        """Streams whose sum is the specific force: the accelerometer, else linear + gravity."""
        if self.acc is not None:
            return {"acc": self.acc}
        if self.linear is not None and self.gravity is not None:
            return {"lin": self.linear, "grav": self.gravity}
        have = [s for s, b in ((LINEAR_SOURCE, self.linear), (GRAVITY_SOURCE, self.gravity)) if b]
        raise PhoneConventionError(
            f"experiment {self.title!r} has no acceleration with gravity (inputs with buffers: {have or 'none'})",
            hint="run 'Acceleration with g', or an experiment with the accelerometer (and gyroscope) "
            "sensor; linear acceleration alone lacks gravity, which the pipeline needs",
        )


@dataclass(frozen=True)
class PhyphoxStatus:
    session: str | None
    measuring: bool
    timed_run: bool = False
    count_down: float | None = None


def parse_config(doc: object) -> PhyphoxLayout:
    """Find the acceleration / gyroscope buffers and their time buffers in a `/config` answer."""
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list):
        raise PhoneProtocolError("phyphox /config answer has no 'inputs' list; is this a phyphox phone?")
    known = {b.get("name") for b in doc.get("buffers", []) if isinstance(b, dict)}
    found: dict[str, SensorBuffers] = {}
    for inp in doc["inputs"]:
        if not isinstance(inp, dict):
            continue
        source = inp.get("source")
        if source not in (ACC_SOURCE, LINEAR_SOURCE, GRAVITY_SOURCE, GYRO_SOURCE) or source in found:
            continue
        outputs: dict[str, str] = {}
        for out in inp.get("outputs", []) or []:
            if isinstance(out, dict):
                for comp, buf in out.items():
                    if isinstance(buf, str):
                        outputs[comp] = buf
        missing = [c for c in ("x", "y", "z", "t") if c not in outputs]
        if missing:
            raise PhoneProtocolError(
                f"phyphox input {source!r} has no buffer for {missing}",
                hint="the experiment must write x, y, z and t (time) of the sensor into buffers",
            )
        absent = [outputs[c] for c in ("x", "y", "z", "t") if known and outputs[c] not in known]
        if absent:
            raise PhoneProtocolError(f"phyphox input {source!r} names buffers {absent} that /config does not list")
        found[source] = SensorBuffers(source, outputs["x"], outputs["y"], outputs["z"], outputs["t"])
    return PhyphoxLayout(
        title=str(doc.get("title", "")),
        crc32=str(doc.get("crc32", "")),
        acc=found.get(ACC_SOURCE),
        linear=found.get(LINEAR_SOURCE),
        gravity=found.get(GRAVITY_SOURCE),
        gyro=found.get(GYRO_SOURCE),
    )


def _number(v: object) -> float:
    if v is None:
        return math.nan
    if isinstance(v, bool):
        raise PhoneProtocolError(f"phyphox buffer holds a boolean ({v!r}), not a number")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
    raise PhoneProtocolError(f"phyphox buffer holds {v!r}, not a number")


def parse_get(doc: object) -> tuple[dict[str, np.ndarray], dict[str, str], PhyphoxStatus]:
    """A `/get` answer -> ({buffer: values}, {buffer: updateMode}, status)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("buffer"), dict):
        raise PhoneProtocolError("phyphox /get answer has no 'buffer' object")
    values: dict[str, np.ndarray] = {}
    modes: dict[str, str] = {}
    for name, entry in doc["buffer"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("buffer"), list):
            raise PhoneProtocolError(f"phyphox /get: buffer {name!r} is not {{'buffer': [...]}}")
        values[name] = np.array([_number(v) for v in entry["buffer"]], dtype=np.float64)
        modes[name] = str(entry.get("updateMode", ""))
    st = doc.get("status") if isinstance(doc.get("status"), dict) else {}
    cd = st.get("countDown")
    status = PhyphoxStatus(
        session=None if st.get("session") is None else str(st.get("session")),
        measuring=bool(st.get("measuring", False)),
        timed_run=bool(st.get("timedRun", False)),
        count_down=float(cd) if isinstance(cd, int | float) and not isinstance(cd, bool) else None,
    )
    return values, modes, status


class PhyphoxClient:
    """Polls a phyphox phone and yields `SampleBlock`s (our conventions, one uniform clock).

    ``url``: ``http://<phone-ip>:8080`` as the app shows it. ``backlog``: start with what the
    experiment already holds (True) or from now on (False, the live default). ``auto_start``:
    send ``/control?cmd=start`` when the experiment is not measuring. Network: each request
    gets ``timeout_s`` and is retried ``retries`` times (``backoff_s``, doubling) before
    `PhoneUnreachable`; a 4xx answer or a body that is not phyphox's JSON is a
    `PhoneProtocolError` (not retried).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        backoff_s: float = 0.25,
        rate_hz: float | None = None,
        use_gyro: bool = True,
        backlog: bool = False,
        auto_start: bool = False,
        max_gap_s: float = 0.25,
        max_lag_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        snap_rate: Callable[[float], float] | None = None,
    ):
        if "://" not in url:
            url = f"http://{url}"
        parsed = urllib.parse.urlsplit(url)
        if parsed.port is None and parsed.scheme == "http":
            url = f"{parsed.scheme}://{parsed.hostname}:{DEFAULT_PORT}{parsed.path}"
        self.url = url.rstrip("/")
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.rate_hz = rate_hz
        self.use_gyro = use_gyro
        self.backlog = backlog
        self.auto_start = auto_start
        self.max_gap_s = max_gap_s
        self.max_lag_s = max_lag_s
        self._sleep = sleep
        self._clock = clock
        self.snap_rate = snap_rate
        self.layout: PhyphoxLayout | None = None
        self.aligner: StreamAligner | None = None
        self.status: PhyphoxStatus | None = None
        self.requests = 0
        self._groups: dict[str, SensorBuffers] = {}
        self._conv: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        self._thr: dict[str, float | None] = {}
        self._offset = 0.0
        self._paused_at: float | None = None
        self._not_measuring_since: float | None = None
        self._start_sent = False

    # -- HTTP ----------------------------------------------------------------------------------

    def request_json(self, path: str, query: list[tuple[str, str]] | None = None) -> object:
        """GET ``path`` with ``query``; JSON answer. Retries network failures (see class doc)."""
        url = f"{self.url}{path}"
        if query:
            url = f"{url}?{urllib.parse.urlencode(query)}"
        attempts = 0
        delay = self.backoff_s
        while True:
            attempts += 1
            self.requests += 1
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                    body = resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise PhoneProtocolError(f"phyphox answered HTTP {exc.code} to {path}") from None
                reason = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = _reason(exc)
            else:
                try:
                    return json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise PhoneProtocolError(f"phyphox answer to {path} is not JSON ({exc})") from None
            if attempts > self.retries:
                raise PhoneUnreachable(self.url, attempts, reason)
            self._sleep(delay)
            delay *= 2.0

    def fetch_layout(self) -> PhyphoxLayout:
        """Read `/config` and set up the streams (called by the first `poll`)."""
        layout = parse_config(self.request_json("/config"))
        groups = layout.acc_streams()
        if self.use_gyro and layout.gyro is not None:
            groups["gyr"] = layout.gyro
        self.layout = layout
        self._groups = groups
        self._conv = {name: (rad_to_deg if name == "gyr" else _identity) for name in groups}
        self._thr = {name: None for name in groups}
        self.aligner = StreamAligner(
            acc_parts=tuple(n for n in groups if n != "gyr"),
            gyro="gyr" if "gyr" in groups else None,
            rate_hz=self.rate_hz,
            max_gap_s=self.max_gap_s,
            max_lag_s=self.max_lag_s,
            snap_rate=self.snap_rate,
            missing_hints={
                "gyr": "the experiment declares a gyroscope but it sends nothing; use_gyro=False "
                "or an experiment without it if this phone has no gyroscope"
            },
        )
        return layout

    def control(self, cmd: str) -> bool:
        """``start``, ``stop`` or ``clear``; True if phyphox accepted it."""
        if cmd not in ("start", "stop", "clear"):
            raise ValueError(f"unknown phyphox command {cmd!r}")
        doc = self.request_json("/control", [("cmd", cmd)])
        return bool(isinstance(doc, dict) and doc.get("result"))

    # -- polling -------------------------------------------------------------------------------

    def _query(self) -> list[tuple[str, str]]:
        q: list[tuple[str, str]] = []
        for name, b in self._groups.items():
            thr = self._thr[name]
            if thr is None:
                if self.backlog:
                    q += [(b.t, "full")] + [(v, "full") for v in b.values]
                else:
                    q.append((b.t, ""))  # last value only: where "now" is
            elif thr == -math.inf:
                q += [(b.t, "full")] + [(v, "full") for v in b.values]
            else:
                s = repr(float(thr))
                q += [(b.t, s)] + [(v, f"{s}|{b.t}") for v in b.values]
        return q

    def poll(self) -> SampleBlock | None:
        """One `/get`: new samples since the last poll, resampled. None if nothing new yet."""
        if self.layout is None:
            self.fetch_layout()
        assert self.aligner is not None
        values, modes, status = parse_get(self.request_json("/get", self._query()))
        self._track_status(status)
        reset = False
        fresh: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, b in self._groups.items():
            thr = self._thr[name]
            t = values.get(b.t)
            if t is None:
                raise PhoneProtocolError(f"phyphox /get did not return the time buffer {b.t!r}")
            if thr is None and not self.backlog:
                last = t[-1] if t.size else math.nan
                self._thr[name] = float(last) if np.isfinite(last) else -math.inf
                continue
            cols = [values.get(v) for v in b.values]
            if any(c is None for c in cols):
                raise PhoneProtocolError(f"phyphox /get did not return the buffers {b.values}")
            n = min([t.size] + [c.size for c in cols])  # type: ignore[union-attr]
            t = t[:n]
            v = np.column_stack([c[:n] for c in cols])  # type: ignore[index]
            ok = np.isfinite(t)
            t, v = t[ok], v[ok]
            if thr is not None and thr != -math.inf and t.size and modes.get(b.t) == "full" and t.max() <= thr:
                reset = True  # a forced full answer that went back in time: the data were cleared
            if thr is not None and thr != -math.inf:
                newer = t > thr
                t, v = t[newer], v[newer]
            fresh[name] = (t, v)
        if reset:
            self._restart_clock()
            return self.aligner.pop()
        for name, (t, v) in fresh.items():
            if t.size == 0:
                continue
            self._thr[name] = float(t.max())
            self.aligner.push(name, t + self._offset, self._conv[name](v))
        return self.aligner.pop()

    def _track_status(self, status: PhyphoxStatus) -> None:
        prev = self.status
        self.status = status
        now = self._clock()
        if prev is not None and prev.session is not None and status.session != prev.session:
            self._restart_clock()
        if status.measuring:
            self._not_measuring_since = None
            if self._paused_at is not None:
                self._offset += now - self._paused_at  # experiment time skips the pause; we do not
                self._paused_at = None
            return
        if self._not_measuring_since is None:
            self._not_measuring_since = now
        if prev is not None and prev.measuring and self._paused_at is None:
            self._paused_at = now
        if self.auto_start and not self._start_sent:
            self._start_sent = True
            self.control("start")

    def _restart_clock(self) -> None:
        """The phone's times restarted (clear, new session): keep our clock going forward."""
        assert self.aligner is not None
        last = self.aligner.last_time_s
        pending = max((t for t in self._thr.values() if t is not None and t != -math.inf), default=0.0)
        base = max(last if last is not None else -math.inf, pending + self._offset)
        self._offset = base + RESET_GAP_S
        self._thr = {name: -math.inf for name in self._groups}

    def flush(self) -> SampleBlock | None:
        """What is left at the end (the last samples the live path was still waiting on)."""
        return None if self.aligner is None else self.aligner.flush()

    def blocks(
        self,
        poll_interval_s: float = 0.1,
        *,
        duration_s: float | None = None,
        idle_timeout_s: float | None = None,
    ) -> Iterator[SampleBlock]:
        """Poll forever (or ``duration_s``), yielding blocks as they complete.

        ``idle_timeout_s``: raise `ExperimentNotRunning` if the experiment is not measuring for
        that long (None: wait, a paused run is normal).
        """
        t_end = None if duration_s is None else self._clock() + duration_s
        while t_end is None or self._clock() < t_end:
            block = self.poll()
            if block is not None:
                yield block
            if (
                idle_timeout_s is not None
                and self._not_measuring_since is not None
                and self._clock() - self._not_measuring_since >= idle_timeout_s
            ):
                raise ExperimentNotRunning(
                    f"phyphox experiment {self.layout.title if self.layout else ''!r} not measuring "
                    f"for {idle_timeout_s:.1f} s",
                    hint="press play in phyphox, or pass auto_start=True",
                )
            self._sleep(poll_interval_s)
        block = self.flush()
        if block is not None:
            yield block


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        inner = exc.reason
        return f"{type(inner).__name__}: {inner}" if isinstance(inner, BaseException) else str(inner)
    return f"{type(exc).__name__}: {exc}"
