"""Sensor Logger (Kelvin Choi, Android and iOS) HTTP push: a receiver on the laptop.

The app POSTs JSON once per batch period to the URL set under "HTTP Push" (reference
ble-protocols.md section 5 [V from awesome-sensor-logger PUSHING.md and two receiver codes]):

    {"messageId": 0, "sessionId": "...", "deviceId": "...",
     "payload": [{"name": "accelerometer", "time": 1698501144401773000,
                  "values": {"x": ..., "y": ..., "z": ...}}, ...]}

``time`` is UTC epoch nanoseconds from the sensor event; ``messageId`` increments per message;
``sessionId`` is one recording. Sensor names are lower case. The ones used here:

==================== ========================================================================
``totalacceleration`` with gravity: the raw accelerometer. **Android only** [D: UNITS.md].
``accelerometer``     *without* gravity (user acceleration) on both platforms [D: UNITS.md].
``gravity``           the gravity vector [D: UNITS.md].
``gyroscope``         rad/s, the same definition on iOS and Android [D: COORDINATES.md].
==================== ========================================================================

Conventions [D: awesome-sensor-logger CROSSPLATFORM.md and COORDINATES.md]: all in m/s^2
(g = 9.80665), the same axes on both platforms (x right, y top, z out of the screen), but iOS
and Android differ by a **negative sign on all three axes** of acceleration and of gravity
(flat on a table, gravity is -z on iOS and +z on Android), unless "Standardise Units & Frames"
(app 1.29+, off by default) is on, which makes iOS report the Android convention. The Android
convention is ours: its raw accelerometer (TotalAcceleration) reads +9.81 up when still, and
its linear acceleration is raw minus gravity. So our specific force is:

- ``totalacceleration`` as it is, when the phone sends it (Android); else
- ``accelerometer + gravity`` on Android, or with "Standardise Units & Frames" on;
- ``-(accelerometer + gravity)`` on iOS without standardisation.

The push body does not say which platform sent it. ``platform="auto"`` uses
``totalacceleration`` when it appears (platform-independent); if the first half second of
acceleration data has none, the platform must be given (``"ios"``, ``"android"`` or
``"standardised"``), and `PhoneConventionError` says so. Units guard: the app's docs note some
exports in g [U]; `StreamAligner` checks the magnitude (see the package docstring).

Order and duplicates: HTTP posts can overlap and arrive out of order. Messages are put back in
``messageId`` order, holding at most ``max_hold_messages`` later messages while one is missing
(then the gap is accepted); a repeated ``messageId`` of the same session is dropped, and a
sample time that was already received is dropped by the aligner. Within a message, readings
are sorted by time. Output times are seconds since the first sample received
(``time_origin_ns`` keeps the epoch origin).

The receiver binds 127.0.0.1 by default: to receive from a phone, bind the laptop's LAN
address (``host="0.0.0.0"``) and set a ``token``. The app sends no credentials of its own that
we rely on [U]: put the token in the push URL (``http://laptop:8000/?token=...``) or, where a
client can, in an ``Authorization: Bearer ...`` header.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import urllib.parse
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from firmware_interface.phones import (
    PhoneConventionError,
    PhoneError,
    PhoneProtocolError,
    StreamAligner,
    rad_to_deg,
)
from gait.core.records import SampleBlock

TOTAL = "totalacceleration"
LINEAR = "accelerometer"
GRAVITY = "gravity"
GYRO = "gyroscope"
PLATFORMS = ("auto", "android", "ios", "standardised")
DECIDE_AFTER_S = 0.5  # acceleration data without totalacceleration before the mode is fixed

_STREAM = {TOTAL: "total", LINEAR: "lin", GRAVITY: "grav", GYRO: "gyr"}


def _time_ns(v: object) -> int:
    if isinstance(v, bool):
        raise ValueError("boolean time")
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return int(v.strip())
    if isinstance(v, float) and math.isfinite(v):
        return int(v)
    raise ValueError(f"time {v!r} is not epoch nanoseconds")


def _xyz(values: object) -> tuple[float, float, float]:
    if not isinstance(values, dict):
        raise ValueError("values is not an object")
    out = []
    for k in ("x", "y", "z"):
        v = values.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float | str | None):
            raise ValueError(f"values.{k} = {v!r}")
        out.append(math.nan if v is None else float(v))
    return out[0], out[1], out[2]


class SensorLoggerDecoder:
    """Push bodies in, `SampleBlock`s out (pure: no network). See the module docstring."""

    def __init__(
        self,
        platform: str = "auto",
        *,
        rate_hz: float | None = None,
        use_gyro: bool = True,
        max_gap_s: float = 0.25,
        max_lag_s: float = 1.0,
        max_hold_messages: int = 3,
        snap_rate=None,
    ):
        if platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {PLATFORMS}, not {platform!r}")
        self.platform = platform
        self.rate_hz = rate_hz
        self.use_gyro = use_gyro
        self.max_gap_s = max_gap_s
        self.max_lag_s = max_lag_s
        self.max_hold_messages = int(max_hold_messages)
        self.snap_rate = snap_rate  # e.g. sources.nearest_openpod_rate
        self.aligner: StreamAligner | None = None
        self.mode: str | None = None  # "total" or "lin+grav"
        self.sign = 1.0
        self.time_origin_ns: int | None = None
        self.messages = 0
        self.duplicate_messages = 0
        self.reordered_messages = 0
        self.skipped_message_ids = 0
        self.bad_readings = 0
        self._session: str | None = None
        self._seen_ids: set[int] = set()
        self._next_id: int | None = None
        self._held: dict[int, list] = {}
        self._undecided: list[tuple[str, int, tuple[float, float, float]]] = []

    # -- messages ------------------------------------------------------------------------------

    @staticmethod
    def parse_body(body: bytes | str | dict) -> dict:
        """Validate one push body; `PhoneProtocolError` if it is not Sensor Logger's schema."""
        if isinstance(body, bytes | bytearray):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PhoneProtocolError(f"body is not UTF-8 ({exc.reason})") from None
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError as exc:
                raise PhoneProtocolError(f"body is not JSON: {exc.msg} at char {exc.pos}") from None
        if not isinstance(body, dict):
            raise PhoneProtocolError("body is not a JSON object with a 'payload' list")
        if not isinstance(body.get("payload"), list):
            raise PhoneProtocolError("body has no 'payload' list (is this Sensor Logger's HTTP push?)")
        mid = body.get("messageId")
        if mid is not None and (isinstance(mid, bool) or not isinstance(mid, int)):
            raise PhoneProtocolError(f"messageId {mid!r} is not an integer")
        return body

    def feed(self, body: bytes | str | dict) -> list[SampleBlock]:
        """One push body; the blocks it completes (possibly none)."""
        msg = self.parse_body(body)
        self.messages += 1
        session = msg.get("sessionId")
        session = None if session is None else str(session)
        if session != self._session:
            self._session = session  # a new recording: message ids restart
            self._seen_ids.clear()
            self._next_id = None
            ready = [p for _, p in sorted(self._held.items())]
            self._held.clear()
            for payload in ready:
                self._take(payload)
        mid = msg.get("messageId")
        if mid is None:
            self._take(msg["payload"])
            return self._pop()
        if mid in self._seen_ids:
            self.duplicate_messages += 1
            return []
        self._seen_ids.add(mid)
        if self._next_id is None:
            # the app counts from 0 per recording: a first id just above 0 means 0.. are still on
            # their way (overlapping posts); a large one means we joined a running recording
            self._next_id = 0 if 0 <= mid <= self.max_hold_messages else mid
        if mid < self._next_id:  # late, after we gave up waiting: the aligner keeps what it can
            self.reordered_messages += 1
            self._take(msg["payload"])
        elif mid == self._next_id:
            self._take(msg["payload"])
            self._next_id += 1
            self._drain()
        else:
            self.reordered_messages += 1
            self._held[mid] = msg["payload"]
            if len(self._held) > self.max_hold_messages:
                first = min(self._held)
                self.skipped_message_ids += first - self._next_id
                self._next_id = first
                self._drain()
        return self._pop()

    def _drain(self) -> None:
        while self._next_id in self._held:
            self._take(self._held.pop(self._next_id))
            self._next_id += 1

    def flush(self) -> list[SampleBlock]:
        """End of data: everything held and buffered."""
        for mid in sorted(self._held):
            self._take(self._held[mid])
        self._held.clear()
        if self.mode is None and self._undecided:
            self._decide(final=True)
        if self.aligner is None:
            return []
        out = self._pop()
        last = self.aligner.flush()
        return out + ([last] if last is not None else [])

    # -- readings ------------------------------------------------------------------------------

    def _take(self, payload: list) -> None:
        rows: list[tuple[str, int, tuple[float, float, float]]] = []
        for r in payload:
            if not isinstance(r, dict):
                self.bad_readings += 1
                continue
            name = r.get("name")
            if name not in _STREAM or (name == GYRO and not self.use_gyro):
                continue
            try:
                rows.append((name, _time_ns(r.get("time")), _xyz(r.get("values"))))
            except (ValueError, TypeError):
                self.bad_readings += 1
        if not rows:
            return
        if self.time_origin_ns is None:
            self.time_origin_ns = min(t for _, t, _ in rows)
        if self.mode is None:
            self._undecided.extend(rows)
            self._decide(final=False)
            return
        self._push(rows)

    def _decide(self, final: bool) -> None:
        names = {n for n, _, _ in self._undecided}
        if TOTAL in names:
            self.mode = "total"
        else:
            acc_t = [t for n, t, _ in self._undecided if n in (LINEAR, GRAVITY)]
            if not acc_t:
                if final:
                    raise PhoneConventionError("no acceleration readings in the push data")
                return
            if not final and (max(acc_t) - min(acc_t)) * 1e-9 < DECIDE_AFTER_S:
                return
            if self.platform == "auto":
                raise PhoneConventionError(
                    "the phone sends 'accelerometer' (without gravity) and no 'totalacceleration', "
                    "so iOS and Android cannot be told apart (their signs differ)",
                    hint="pass platform='ios' or 'android' ('standardised' if 'Standardise Units & "
                    "Frames' is on in Sensor Logger); the phone needs the Gravity sensor on too",
                )
            self.mode = "lin+grav"
            self.sign = -1.0 if self.platform == "ios" else 1.0
        acc_parts = ("total",) if self.mode == "total" else ("lin", "grav")
        self.aligner = StreamAligner(
            acc_parts=acc_parts,
            gyro="gyr" if self.use_gyro else None,
            rate_hz=self.rate_hz,
            max_gap_s=self.max_gap_s,
            max_lag_s=self.max_lag_s,
            snap_rate=self.snap_rate,
            missing_hints={
                "grav": "turn on the Gravity sensor in Sensor Logger (iOS sends acceleration without gravity)",
                "gyr": "turn on the Gyroscope in Sensor Logger, or use_gyro=False",
            },
        )
        rows, self._undecided = self._undecided, []
        self._push(rows)

    def _push(self, rows: list[tuple[str, int, tuple[float, float, float]]]) -> None:
        assert self.aligner is not None and self.time_origin_ns is not None
        wanted = set(self.aligner.names)
        by: dict[str, tuple[list[float], list[tuple[float, float, float]]]] = {}
        for name, t_ns, xyz in rows:
            stream = _STREAM[name]
            if stream not in wanted:
                continue  # e.g. accelerometer/gravity while totalacceleration is used
            ts, vs = by.setdefault(stream, ([], []))
            ts.append((t_ns - self.time_origin_ns) * 1e-9)
            vs.append(xyz)
        for stream, (ts, vs) in by.items():
            v = np.asarray(vs, dtype=np.float64)
            if stream == "gyr":
                v = rad_to_deg(v)
            elif stream in ("lin", "grav"):
                v = self.sign * v
            self.aligner.push(stream, np.asarray(ts), v)

    def _pop(self) -> list[SampleBlock]:
        if self.aligner is None:
            return []
        block = self.aligner.pop()
        return [] if block is None else [block]


# --------------------------------------------------------------------------------------------
# HTTP receiver
# --------------------------------------------------------------------------------------------

_END = object()


class SensorLoggerReceiver:
    """A small HTTP server that takes Sensor Logger's pushes and queues `SampleBlock`s.

    ``port=0`` picks a free port (see `port` / `url` after `start`). ``path``: accept POSTs
    only there (None: any path). ``token``: required as ``?token=`` in the URL or as
    ``Authorization: Bearer <token>``. A body that is not Sensor Logger's JSON gets 400 and
    the server keeps running; a wrong token 401; a body over ``max_body_bytes`` 413.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        path: str | None = None,
        token: str | None = None,
        decoder: SensorLoggerDecoder | None = None,
        max_body_bytes: int = 16 * 1024 * 1024,
        **decoder_kwargs,
    ):
        self.host = host
        self.requested_port = port
        self.path = path
        self.token = token
        self.decoder = decoder if decoder is not None else SensorLoggerDecoder(**decoder_kwargs)
        self.max_body_bytes = max_body_bytes
        self.accepted = 0
        self.rejected = 0
        self.last_error: str | None = None
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._failed = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SensorLoggerReceiver:
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer((self.host, self.requested_port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="sensor-logger-rx", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, flush the decoder, end `blocks`."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._server = None
        with self._lock:
            try:
                for block in self.decoder.flush():
                    self._queue.put(block)
            except PhoneError as exc:
                self._queue.put(exc)
        self._queue.put(_END)

    def __enter__(self) -> SensorLoggerReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path or '/'}"

    # -- consumer side -------------------------------------------------------------------------

    def get(self, timeout_s: float | None = None) -> SampleBlock | None:
        """The next block (None on timeout or after `stop`). Re-raises a decoder `PhoneError`."""
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _END:
            self._queue.put(_END)
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def blocks(self, timeout_s: float | None = None) -> Iterator[SampleBlock]:
        """Blocks in time order until `stop` (or until ``timeout_s`` passes with nothing new)."""
        while True:
            try:
                item = self._queue.get(timeout=timeout_s)
            except queue.Empty:
                return
            if item is _END:
                self._queue.put(_END)
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    # -- request side (called from the server threads) -----------------------------------------

    def _authorised(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> bool:
        if self.token is None:
            return True
        if self.token in query.get("token", []):
            return True
        auth = handler.headers.get("Authorization", "")
        return auth == f"Bearer {self.token}"

    def _handle_post(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict]:
        split = urllib.parse.urlsplit(handler.path)
        if self.path is not None and split.path != self.path:
            return HTTPStatus.NOT_FOUND, {"error": f"POST to {self.path}"}
        if not self._authorised(handler, urllib.parse.parse_qs(split.query)):
            return HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong token"}
        length_text = handler.headers.get("Content-Length")
        if length_text is None:
            return HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"}
        try:
            length = int(length_text)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"error": "bad Content-Length"}
        if length < 0 or length > self.max_body_bytes:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {self.max_body_bytes} bytes"}
        body = handler.rfile.read(length)
        with self._lock:
            if self._failed:
                return HTTPStatus.UNPROCESSABLE_ENTITY, {"error": self.last_error}
            try:
                blocks = self.decoder.feed(body)
            except PhoneProtocolError as exc:
                self.rejected += 1
                self.last_error = str(exc)
                return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
            except PhoneError as exc:  # convention unknown, a sensor missing: the consumer must know
                self._failed = True
                self.last_error = str(exc)
                self._queue.put(exc)
                return HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)}
            self.accepted += 1
            for block in blocks:
                self._queue.put(block)
        return HTTPStatus.OK, {"status": "ok"}


def _handler_for(receiver: SensorLoggerReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "gait-sensor-logger/1"
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, doc: dict) -> None:
            data = json.dumps(doc).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            try:
                status, doc = receiver._handle_post(self)
            except Exception as exc:  # never let one request take the server down
                receiver.rejected += 1
                receiver.last_error = f"{type(exc).__name__}: {exc}"
                status, doc = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": receiver.last_error}
            if status != HTTPStatus.OK and status != HTTPStatus.BAD_REQUEST:
                self.close_connection = True
            self._reply(status, doc)

        def do_GET(self) -> None:  # noqa: N802
            self._reply(
                HTTPStatus.OK, {"status": "ok", "receiver": "gait sensor-logger", "accepted": receiver.accepted}
            )

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
            return

    return Handler
