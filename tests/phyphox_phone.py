"""A phone running phyphox, for tests: a real local HTTP server that speaks phyphox's remote
access (/config, /get, /control) the way phyphox-android's RemoteServer does.

- `FakePhyphox`: the synthetic scene of tests/test_phones.py (phone flat, turning at 0.5 rad/s
  about z, a 2 Hz shake along x); each /get advances the phone's clock by ``step_s``.
- `RecordingPhyphox`: a real phone recording (a phyphox CSV export: the app's own numbers, see
  `read_phyphox_csv`) held as the experiment's buffers and released as the phone's experiment
  time passes: ``speed`` x the wall clock, paused while not measuring (experiment time leaves
  pauses out), the recording played ``loops`` times end to end on one clock (a longer run).

``with serve(phone) as phone: phone.url`` runs either on 127.0.0.1 (any free port).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

G = 9.80665
FIX = Path(__file__).resolve().parent / "fixtures" / "phones"


def a_x(t):
    return 0.5 * np.sin(2 * np.pi * 2.0 * np.asarray(t))


def _fmt(v: float) -> str:
    """Java DecimalFormat '0.#######E0', as RemoteServer formats numbers (8 significant digits)."""
    if not math.isfinite(v):
        return "null"
    if v == 0:
        return "0E0"
    m, e = f"{v:.7e}".split("e")
    return f"{m.rstrip('0').rstrip('.')}E{int(e)}"


def _nudged(value: str) -> float:
    """A /get threshold as RemoteServer applies it: moved up by one unit of the 8th digit."""
    thr_text = value.partition("|")[0]
    thr = float(thr_text)
    return thr + 10 ** math.floor(math.log10(abs(thr) / 1e7)) if thr != 0 else thr


class FakePhyphox:
    """A phone running a phyphox experiment with accelerometer (100 Hz) and gyroscope (95 Hz).

    Each /get advances the phone's clock by ``step_s`` (deterministic, not wall time). Buffers
    hold experiment time rounded like phyphox answers; thresholds are applied like
    RemoteServer.java (nudged by one unit of the 8th digit, reference buffer after '|').
    """

    def __init__(self, step_s: float = 0.05, measuring: bool = True, linear: bool = False):
        self.step_s = step_s
        self.measuring = measuring
        self.session = "a1b2c3"
        self.phone_t = 0.0
        self.t_origin = 0.0
        self.requests: list[str] = []
        self.delay_s = 0.0
        self.lock = threading.Lock()
        self.config = json.loads((FIX / "phyphox_config.json").read_text())
        self.buffers: dict[str, list[float]] = {b["name"]: [] for b in self.config["buffers"]}
        self._ka = 0
        self._kg = 0
        self.force_full = False

    def advance(self) -> None:
        if not self.measuring:
            return
        self.phone_t += self.step_s
        b = self.buffers
        while True:
            t = self._ka / 100.0 + 0.0021 + 0.0004 * math.sin(self._ka)
            if t > self.phone_t:
                break
            b["acc_time"].append(t)
            b["accX"].append(float(a_x(t + self.t_origin)))
            b["accY"].append(0.0)
            b["accZ"].append(G)
            self._ka += 1
        while True:
            t = self._kg / 95.0 + 0.0057
            if t > self.phone_t:
                break
            b["gyr_time"].append(t)
            b["gyrX"].append(0.0)
            b["gyrY"].append(0.0)
            b["gyrZ"].append(0.5)
            self._kg += 1

    def clear(self) -> None:
        """phyphox 'clear': buffers emptied, experiment time restarts, next /get is full."""
        self.t_origin += self.phone_t
        self.phone_t = 0.0
        self._ka = self._kg = 0
        for v in self.buffers.values():
            v.clear()
        self.force_full = True

    def control(self, cmd: str | None) -> dict:
        if cmd == "start":
            self.measuring = True
        elif cmd == "stop":
            self.measuring = False
        elif cmd == "clear":
            self.clear()
        return {"result": cmd in ("start", "stop", "clear")}

    def get(self, query: list[tuple[str, str]]) -> dict:
        self.advance()
        out = {}
        force = self.force_full
        self.force_full = False
        for name, value in query:
            if name not in self.buffers or name in out:
                continue
            data = [float(_fmt(v)) for v in self.buffers[name]]  # 8-digit rounding of the answer
            if value == "":
                out[name] = {"size": 0, "updateMode": "single", "buffer": data[-1:] if data else [None]}
                continue
            if value == "full" or force:
                out[name] = {"size": 0, "updateMode": "full", "buffer": data}
                continue
            thr = _nudged(value)
            ref_data = self.buffers[value.partition("|")[2] or name]
            n = min(len(data), len(ref_data))
            out[name] = {
                "size": 0,
                "updateMode": "partial",
                "buffer": [data[i] for i in range(n) if ref_data[i] > thr],
            }
        return {
            "buffer": out,
            "status": {"session": self.session, "measuring": self.measuring, "timedRun": False, "countDown": 0},
        }


# --- a real recording as the phone's experiment ----------------------------------------------------

# phyphox sensor input -> its buffer names, as the built-in experiments call them
BUFFERS = {
    "accelerometer": ("accX", "accY", "accZ", "acc_time"),
    "linear_acceleration": ("linX", "linY", "linZ", "lin_time"),
    "gravity": ("gravX", "gravY", "gravZ", "grav_time"),
    "gyroscope": ("gyrX", "gyrY", "gyrZ", "gyr_time"),
}


def read_phyphox_csv(path: str | Path) -> tuple[str, np.ndarray, np.ndarray]:
    """One phyphox export CSV (``"Time (s)"`` then x, y, z, maybe an absolute value) as the app
    held it: (phyphox sensor input, times (n,), values (n, 3) in the app's units). The input is
    told from the labels: rad/s is the gyroscope, "Linear" linear acceleration, "Gravity" gravity,
    any other m/s^2 the accelerometer (acceleration with g)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    head = [c.lower() for c in rows[0]]
    if not head[0].startswith("time"):
        raise ValueError(f"{path}: not a phyphox export (first column {rows[0][0]!r})")
    source = "accelerometer"
    if "rad/s" in head[1]:
        source = "gyroscope"
    elif "linear" in head[1]:
        source = "linear_acceleration"
    elif "gravity" in head[1]:
        source = "gravity"
    table = np.array([[float(c) for c in r[:4]] for r in rows[1:] if r], dtype=np.float64)
    return source, table[:, 0], table[:, 1:4]


class RecordingPhyphox:
    """A phone running phyphox whose sensors deliver a real recording.

    ``streams``: phyphox sensor input (``accelerometer``, ``gyroscope``, ...) -> (times, values)
    as `read_phyphox_csv` gives them. The recording becomes the experiment's buffers (times and
    values rounded to phyphox's 8 significant digits, played ``loops`` times, each loop one
    sample period after the last); a sample is in the buffers once the experiment time (``speed``
    x the wall clock while measuring) has reached it. /get answers like RemoteServer.java.
    """

    def __init__(
        self,
        streams: dict[str, tuple[np.ndarray, np.ndarray]],
        *,
        title: str = "Acceleration with g",
        speed: float = 1.0,
        loops: int = 1,
        measuring: bool = True,
    ):
        self.speed = float(speed)
        self.session = "5e55i0"
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.delay_s = 0.0
        self.buffers: dict[str, np.ndarray] = {}
        self.ref: dict[str, str] = {}  # buffer -> its time buffer
        inputs = []
        for source, (t, v) in streams.items():
            x, y, z, tb = BUFFERS[source]
            period = float(t[-1] - t[0]) + float(np.median(np.diff(t)))
            tt = np.concatenate([t + k * period for k in range(loops)])
            vv = np.concatenate([v] * loops)
            self.buffers[tb] = np.array([float(_fmt(a)) for a in tt])
            for i, name in enumerate((x, y, z)):
                self.buffers[name] = np.array([float(_fmt(a)) for a in vv[:, i]])
            for name in (x, y, z, tb):
                self.ref[name] = tb
            inputs.append({"source": source, "outputs": [{"x": x}, {"y": y}, {"z": z}, {"t": tb}]})
        self.end_s = max(float(self.buffers[tb][-1]) for tb in set(self.ref.values()))
        self.config = {
            "crc32": "0badf00d",
            "title": title,
            "buffers": [{"name": n, "size": 0} for n in self.buffers],
            "inputs": inputs,
            "export": [],
        }
        self.measuring = False
        self._phone_t = 0.0
        self._since: float | None = None
        if measuring:
            self.control("start")

    @classmethod
    def from_export(cls, *files: str | Path, **kw) -> RecordingPhyphox:
        streams = {}
        for f in files:
            source, t, v = read_phyphox_csv(f)
            streams[source] = (t, v)
        return cls(streams, **kw)

    def phone_t(self) -> float:
        """Experiment time now: measured time only, ``speed`` x the wall clock."""
        if self._since is None:
            return self._phone_t
        return self._phone_t + (time.monotonic() - self._since) * self.speed

    @property
    def finished(self) -> bool:
        return self.phone_t() > self.end_s

    def control(self, cmd: str | None) -> dict:
        if cmd == "start" and not self.measuring:
            self.measuring, self._since = True, time.monotonic()
        elif cmd == "stop" and self.measuring:
            self._phone_t, self._since, self.measuring = self.phone_t(), None, False
        return {"result": cmd in ("start", "stop", "clear")}

    def get(self, query: list[tuple[str, str]]) -> dict:
        now = self.phone_t()
        out = {}
        for name, value in query:
            if name not in self.buffers or name in out:
                continue
            ref = self.buffers[self.ref[name]]
            n = int(np.searchsorted(ref, now, side="right"))  # what the sensor has delivered so far
            data = self.buffers[name][:n]
            if value == "":
                out[name] = {"size": 0, "updateMode": "single", "buffer": data[-1:] if n else [None]}
            elif value == "full":
                out[name] = {"size": 0, "updateMode": "full", "buffer": data}
            else:
                ref_name = value.partition("|")[2] or name
                start = int(np.searchsorted(self.buffers[ref_name][:n], _nudged(value), side="right"))
                out[name] = {"size": 0, "updateMode": "partial", "buffer": data[start:]}
        return {
            "buffer": out,
            "status": {"session": self.session, "measuring": self.measuring, "timedRun": False, "countDown": 0},
        }


# --- the HTTP side ----------------------------------------------------------------------------------


class _PhoneHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        phone = self.server.phone  # type: ignore[attr-defined]
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        with phone.lock:
            phone.requests.append(self.path)
            delay = phone.delay_s
        if delay:
            time.sleep(delay)
        with phone.lock:
            if split.path == "/config":
                doc = phone.config
            elif split.path == "/get":
                doc = phone.get(query)
            elif split.path == "/control":
                doc = phone.control(dict(query).get("cmd"))
            else:
                self.send_error(404)
                return
        text = _java_numbers(doc) if split.path == "/get" else json.dumps(doc)  # numbers the way Java writes them
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _java_numbers(doc: dict) -> str:
    parts = []
    for name, entry in doc["buffer"].items():
        arr = ",".join("null" if v is None else _fmt(v) for v in entry["buffer"])
        parts.append(f'"{name}":{{"size":{entry["size"]},"updateMode":"{entry["updateMode"]}", "buffer":[{arr}]}}')
    st = doc["status"]
    return (
        '{"buffer":{\n' + ",\n".join(parts) + '\n},\n"status":{\n'
        f'"session":"{st["session"]}", "measuring":{str(st["measuring"]).lower()}, "timedRun":false, "countDown":0\n}}\n}}\n'
    )


@contextlib.contextmanager
def serve(phone, host: str = "127.0.0.1", port: int = 0) -> Iterator:
    """``phone`` (a `FakePhyphox` or `RecordingPhyphox`) served over HTTP; ``phone.url`` is set."""
    server = ThreadingHTTPServer((host, port), _PhoneHandler)
    server.daemon_threads = True
    server.phone = phone  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    phone.url = f"http://{host}:{server.server_address[1]}"
    phone.server = server
    try:
        yield phone
    finally:
        server.shutdown()
        server.server_close()
