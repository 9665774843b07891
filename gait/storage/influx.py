"""The InfluxDB sink: per-step metrics, alerts, pain notes and data-health events as points.

    cfg = InfluxConfig.load("gait.toml")            # [influxdb] section and/or INFLUXDB_V2_* env vars
    sink = InfluxSink(cfg)                           # one background thread, one on-disk outbox
    run = sink.for_run(store.run(run_id))            # per-run handle, same shape as the store's sink
    run.put(step)                                    # never blocks (appends to a deque)
    sink.health()                                    # InfluxHealth: connected?, queued, written, last error
    sink.close()

    sync_runs(store, sink)                           # `gait sync`: send earlier local runs (idempotent)

The schema (measurements, tags, fields, numeric codes, timestamps) is documented in
``gait/storage/influx_schema.md``; this module is its one implementation (`record_point`).

How points travel. ``put`` only appends ``(record, run, device)`` to an in-memory deque. A
background thread, every ``flush_interval_ms``, turns what arrived into line protocol, commits it
to the outbox (`gait.storage.outbox.Outbox`, SQLite on disk) and sends the oldest waiting points
in batches through influxdb-client's synchronous write API. A point leaves the outbox's queue only
after the server's 2xx. While the server is away the points wait on disk (across restarts of the
program too) and go out, oldest first, once it answers again.

No doubles. A point's identity is measurement + tag set + timestamp, and the timestamp is the
run's wall-clock start plus the record's stream time, computed the same way live and in
`sync_runs`. InfluxDB keeps one point per identity (a re-send overwrites it with the same values);
VictoriaMetrics does the same when started with ``-dedup.minScrapeInterval=1ms``. So the sink may
re-send freely, and it does: after an outage it re-sends what the server acknowledged during the
last ``resend_window_s`` (30 s) before it, because a server may acknowledge before the data is
on disk (VictoriaMetrics 1.79 loses up to ~10 s of acknowledged data on a hard kill).

Errors are health, not exceptions: a wrong URL, a refused token, a missing bucket become one line
in `InfluxHealth.last_error` (also logged once, as a warning) that says what to check, while the
run goes on locally and the points stay in the outbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import numbers
import os
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gait.core.errors import ConfigError
from gait.core.records import Alert, Gap, PainNote, QualityEvent, StepMetrics
from gait.core.step_fields import CLASS, FIELD_BY_NAME, FLAGS, FLOAT, StepField
from gait.core.step_fields import STEP_FIELDS as REGISTRY
from gait.storage.outbox import Outbox
from gait.storage.schema import QUALITY_BITS

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# schema (see influx_schema.md; codes are append-only: a stored number never changes meaning)
# ----------------------------------------------------------------------------------------------
M_STEP = "gait_step"
M_ALERT = "gait_alert"
M_PAIN = "gait_pain"
M_HEALTH = "gait_health"

# A CLASS step field's code: 1, 2, ... in the order of its classes; 0 a class this version does not know.
STRIKE_CODES = {name: i + 1 for i, name in enumerate(FIELD_BY_NAME["strike"].classes)}
RULE_CODES = {
    "bounce": 1,
    "vertical_ratio": 2,
    "heel_strike": 3,
    "cadence": 4,
    "contact_time": 5,
    "lean": 6,
    "asymmetry": 7,
    "pain": 8,
    "arm_cross": 9,
}
KIND_CODES = {"cue": 1, "silent": 2, "clear": 3, "stop": 4}
SEVERITY_CODES = {"info": 1, "warn": 2, "stop": 3}
PHASE_CODES = {"before": 1, "during": 2, "after": 3}
HEALTH_EVENT_CODES = {"gap": 1, "low_sample_rate": 2, "placement_mismatch": 3}
QUALITY_OTHER_BIT = 1 << 15  # a quality flag outside gait.storage.schema.QUALITY_BITS

# The fields of a gait_step point, from the step field registry: the numbers, then the class codes
# and the quality mask. STEP_FIELDS names the numeric ones (each is its own series in VictoriaMetrics).
_POINT_FIELDS = tuple(
    sorted((f for f in REGISTRY if f.influx is not None), key=lambda f: f.kind in (CLASS, FLAGS))
)
STEP_FIELDS = tuple(f.influx for f in _POINT_FIELDS if f.kind == FLOAT)


def _influx_value(f: StepField, value: Any) -> Any:
    if f.kind == CLASS:
        return None if value is None else f.code(value) + 1
    if f.kind == FLAGS:
        return quality_mask(value)
    return value


MAPPED_RECORDS = (StepMetrics, Alert, PainNote, Gap, QualityEvent)


def quality_mask(flags: Iterable[str]) -> int:
    """Bit mask of quality flags (bits of `gait.storage.schema.QUALITY_BITS`; unknown flags set bit 15)."""
    mask = 0
    for flag in flags:
        mask |= QUALITY_BITS.get(flag, QUALITY_OTHER_BIT)
    return mask


def run_label(start_time: float, uuid: str) -> str:
    """The ``run`` tag: ``20261126T081316Z-1a2b3c4d`` (UTC start, then the first 8 hex of the run's uuid).

    Sorts by start time, reads well in a Grafana drop-down, and is the same on every machine that
    holds the run (the local integer id is not)."""
    start = dt.datetime.fromtimestamp(float(start_time), tz=dt.UTC)
    return f"{start:%Y%m%dT%H%M%SZ}-{uuid.replace('-', '')[:8]}"


def _device_name(device: Any) -> str | None:
    if device is None:
        return None
    if isinstance(device, str):
        return device or None
    if isinstance(device, Mapping):
        for key in ("name", "model", "address", "id"):
            if device.get(key):
                return str(device[key])
        return None
    return str(device)


@dataclass(frozen=True)
class RunTags:
    """What every point of one run carries: its tags and its time base.

    ``start_ns`` is the wall clock (unix ns, UTC) of stream time ``stream_t0_s``; a record at
    stream time ``t`` is stamped ``start_ns + round((t - stream_t0_s) * 1e9)``. ``device`` is the
    default ``device`` tag when a record is put without one.
    """

    run: str
    start_ns: int
    runner: str | None = None
    placement: str | None = None
    device: str | None = None
    stream_t0_s: float = 0.0

    @classmethod
    def new(
        cls,
        *,
        runner: str | None = None,
        placement: str | None = None,
        device: str | None = None,
        start_time: float | None = None,
        uuid: str | None = None,
        stream_t0_s: float = 0.0,
    ) -> RunTags:
        """Tags for a run that has no local store record (start_time: unix s, default now)."""
        import uuid as uuidlib

        start = time.time() if start_time is None else float(start_time)
        return cls(
            run=run_label(start, uuid or uuidlib.uuid4().hex),
            start_ns=round(start * 1e9),
            runner=runner,
            placement=placement,
            device=device,
            stream_t0_s=float(stream_t0_s),
        )

    @classmethod
    def from_run_info(cls, info: Any) -> RunTags:
        """Tags of a local-store run (`gait.storage.local.RunInfo`): the same live and in `sync_runs`."""
        devices = list(getattr(info, "devices", None) or [])
        return cls(
            run=run_label(info.start_time, info.uuid),
            start_ns=round(float(info.start_time) * 1e9),
            runner=info.runner,
            placement=info.placement,
            device=_device_name(devices[0]) if len(devices) == 1 else None,
            stream_t0_s=float(info.stream_t0_s or 0.0),
        )

    def timestamp_ns(self, time_s: float) -> int:
        return self.start_ns + round((float(time_s) - self.stream_t0_s) * 1e9)


# --- line protocol -------------------------------------------------------------------------------
_MEAS_ESC = str.maketrans({",": "\\,", " ": "\\ ", "\n": " ", "\r": " "})
_TAG_ESC = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": " ", "\r": " "})
_STR_ESC = str.maketrans({'"': '\\"', "\\": "\\\\", "\n": " ", "\r": " "})


def _tag_value(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).translate(_TAG_ESC).rstrip("\\")
    return text or None


def encode_point(
    measurement: str,
    tags: Mapping[str, Any],
    fields: Iterable[tuple[str, Any]],
    timestamp_ns: int,
    string_fields: bool = True,
) -> tuple[str, str] | None:
    """``(key, line)`` in InfluxDB line protocol, or None if no field is left.

    Tags are sorted, empty tags omitted; None and non-finite floats are omitted; Python ints are
    integers (``12i``), floats are floats (shortest round-trip repr), strings only when
    ``string_fields``. ``key`` (measurement + tags + timestamp) is the point's identity."""
    series = measurement.translate(_MEAS_ESC)
    for name in sorted(tags):
        value = _tag_value(tags[name])
        if value is not None:
            series += f",{name}={value}"
    parts = []
    for name, value in fields:
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, numbers.Integral):
            parts.append(f"{name}={int(value)}i")
        elif isinstance(value, numbers.Real):
            v = float(value)
            if math.isfinite(v):
                parts.append(f"{name}={v!r}")
        elif isinstance(value, str):
            if string_fields:
                parts.append(f'{name}="{value.translate(_STR_ESC)}"')
    if not parts:
        return None
    ts = int(timestamp_ns)
    return f"{series} {ts}", f"{series} {','.join(parts)} {ts}"


def _base_tags(run: RunTags, device: str | None) -> dict[str, Any]:
    return {"runner": run.runner, "run": run.run, "placement": run.placement, "device": device or run.device}


def record_point(
    record: Any, run: RunTags, device: str | None = None, string_fields: bool = True
) -> tuple[str, str] | None:
    """The point of one record (see influx_schema.md), or None for records that are not sent."""
    tags = _base_tags(run, device)
    if isinstance(record, StepMetrics):
        tags["side"] = record.side
        fields: list[tuple[str, Any]] = [
            (str(f.influx), _influx_value(f, getattr(record, f.name))) for f in _POINT_FIELDS
        ]
        return encode_point(M_STEP, tags, fields, run.timestamp_ns(record.ic_s), string_fields)
    if isinstance(record, Alert):
        tags["rule"] = record.rule
        tags["kind"] = record.kind
        fields = [
            ("rule_code", RULE_CODES.get(record.rule, 0)),
            ("kind_code", KIND_CODES.get(record.kind, 0)),
            ("severity_code", SEVERITY_CODES.get(record.severity, 0)),
            ("value", record.value),
            ("message", record.message or None),
            ("target", record.target or None),
        ]
        return encode_point(M_ALERT, tags, fields, run.timestamp_ns(record.time_s), string_fields)
    if isinstance(record, PainNote):
        tags["phase"] = record.phase
        fields = [
            ("score", int(record.score)),
            ("phase_code", PHASE_CODES.get(record.phase, 0)),
            ("note", record.note or None),
        ]
        return encode_point(M_PAIN, tags, fields, run.timestamp_ns(record.time_s), string_fields)
    if isinstance(record, Gap):
        tags["event"] = "gap"
        fields = [
            ("code", HEALTH_EVENT_CODES["gap"]),
            ("missing_samples", int(record.missing_samples)),
            ("gap_ms", (float(record.end_s) - float(record.start_s)) * 1000.0),
        ]
        return encode_point(M_HEALTH, tags, fields, run.timestamp_ns(record.start_s), string_fields)
    if isinstance(record, QualityEvent):
        tags["event"] = record.code
        fields = [("code", HEALTH_EVENT_CODES.get(record.code, 0)), ("message", record.message or None)]
        return encode_point(M_HEALTH, tags, fields, run.timestamp_ns(record.time_s), string_fields)
    return None


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------
TOML_SECTION = "influxdb"
DEFAULT_BUCKET = "gait"
OUTBOX_NAME = "influx-outbox.sqlite"

# The variables InfluxDBClient.from_env_properties reads (same names, same meaning), plus the bucket.
ENV_KEYS = {
    "INFLUXDB_V2_URL": "url",
    "INFLUXDB_V2_ORG": "org",
    "INFLUXDB_V2_TOKEN": "token",
    "INFLUXDB_V2_TIMEOUT": "timeout",
    "INFLUXDB_V2_VERIFY_SSL": "verify_ssl",
    "INFLUXDB_V2_SSL_CA_CERT": "ssl_ca_cert",
    "INFLUXDB_V2_CERT_FILE": "cert_file",
    "INFLUXDB_V2_CERT_KEY_FILE": "cert_key_file",
    "INFLUXDB_V2_CERT_KEY_PASSWORD": "cert_key_password",
    "INFLUXDB_V2_CONNECTION_POOL_MAXSIZE": "connection_pool_maxsize",
    "INFLUXDB_V2_AUTH_BASIC": "auth_basic",
    "INFLUXDB_V2_BUCKET": "bucket",
}
_ENV_OF = {v: k for k, v in ENV_KEYS.items()}
_CLIENT_PASSTHROUGH = (
    "ssl_ca_cert",
    "cert_file",
    "cert_key_file",
    "cert_key_password",
    "connection_pool_maxsize",
    "auth_basic",
    "proxy",
)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class InfluxConfig:
    """Where and how to write. Keys follow influxdb-client's config file (``timeout`` in ms).

    TOML (``gait.toml``)::

        [influxdb]
        url = "http://localhost:8086"     # InfluxDB 2 root URL; VictoriaMetrics: http://host:8428
        org = "my-club"
        token = "..."                     # better: leave it out and set INFLUXDB_V2_TOKEN
        bucket = "gait"
        # timeout = 10000                 # ms, per HTTP request
        # string_fields = false           # for VictoriaMetrics (it cannot store strings)
        # outbox = "influx-outbox.sqlite" # relative to the local store's data folder

    Environment (the variables of ``InfluxDBClient.from_env_properties``, same meaning):
    INFLUXDB_V2_URL, _ORG, _TOKEN, _TIMEOUT, _VERIFY_SSL, _SSL_CA_CERT, _CERT_FILE,
    _CERT_KEY_FILE, _CERT_KEY_PASSWORD, _CONNECTION_POOL_MAXSIZE, _AUTH_BASIC; plus
    INFLUXDB_V2_BUCKET. A variable that is set overrides the TOML key.
    """

    url: str
    org: str = ""
    token: str = ""
    bucket: str = DEFAULT_BUCKET
    timeout_ms: int = 10_000
    verify_ssl: bool = True
    enable_gzip: bool = False
    string_fields: bool = True
    batch_size: int = 5000
    flush_interval_ms: int = 500
    retry_min_ms: int = 250
    max_backoff_ms: int = 10_000
    resend_window_s: float = 30.0
    max_queue: int = 1_000_000
    outbox: str | None = None  # path; None: <local data dir>/influx-outbox.sqlite
    durable_outbox: bool = False
    # pain notes are health data: they stay on this machine unless the user turns this on
    health_data: bool = False
    client_options: tuple[tuple[str, Any], ...] = ()
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # key -> where it came from

    # --- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        toml: str | Path | Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        section: str = TOML_SECTION,
    ) -> InfluxConfig | None:
        """The ``[influxdb]`` section of ``toml`` overridden by INFLUXDB_V2_* variables; None when
        neither gives a URL (InfluxDB not configured: the run is stored locally only)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        if toml is not None:
            if isinstance(toml, Mapping):
                doc, where = toml, "the TOML config"
            else:
                path = Path(toml)
                try:
                    doc = tomllib.loads(path.read_text(encoding="utf-8"))
                except FileNotFoundError:
                    doc = {}
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
                where = str(path)
            sec = doc.get(section) or {}
            if not isinstance(sec, Mapping):
                raise ConfigError(f"{where}: [{section}] must be a table")
            for key, value in sec.items():
                values[key] = value
                sources[key] = f"{key} in [{section}] of {where}"
        for var, key in ENV_KEYS.items():
            if env.get(var):
                values[key] = env[var]
                sources[key] = var
        if not values.get("url"):
            return None
        return cls.from_mapping(values, sources)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InfluxConfig | None:
        """From the INFLUXDB_V2_* variables only (None without INFLUXDB_V2_URL)."""
        return cls.load(None, environ)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> InfluxConfig:
        known = {
            "url", "org", "token", "bucket", "timeout", "verify_ssl", "enable_gzip", "string_fields", "batch_size",
            "flush_interval_ms", "retry_min_ms", "max_backoff_ms", "resend_window_s", "max_queue", "outbox",
            "durable_outbox", "health_data", *_CLIENT_PASSTHROUGH,
        }  # fmt: skip
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown InfluxDB setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")

        def num(key: str, default: float, kind: type = int) -> Any:
            if key not in values:
                return default
            try:
                return kind(values[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{(sources or {}).get(key, key)} must be a number, got {values[key]!r}") from None

        passthrough = tuple((k, values[k]) for k in _CLIENT_PASSTHROUGH if k in values)
        return cls(
            url=str(values["url"]).strip(),
            org=str(values.get("org", "") or ""),
            token=str(values.get("token", "") or ""),
            bucket=str(values.get("bucket") or DEFAULT_BUCKET),
            timeout_ms=num("timeout", 10_000),
            verify_ssl=_to_bool(values.get("verify_ssl", True)),
            enable_gzip=_to_bool(values.get("enable_gzip", False)),
            string_fields=_to_bool(values.get("string_fields", True)),
            batch_size=max(1, num("batch_size", 5000)),
            flush_interval_ms=max(10, num("flush_interval_ms", 500)),
            retry_min_ms=max(10, num("retry_min_ms", 250)),
            max_backoff_ms=max(10, num("max_backoff_ms", 10_000)),
            resend_window_s=max(0.0, num("resend_window_s", 30.0, float)),
            max_queue=max(1, num("max_queue", 1_000_000)),
            outbox=str(values["outbox"]) if values.get("outbox") else None,
            durable_outbox=_to_bool(values.get("durable_outbox", False)),
            health_data=_to_bool(values.get("health_data", False)),
            client_options=passthrough,
            sources=tuple((sources or {}).items()),
        )

    def with_(self, **changes: Any) -> InfluxConfig:
        return replace(self, **changes)

    # --- use ------------------------------------------------------------------------------------
    def where(self, key: str) -> str:
        """Where a setting is configured, for messages: 'INFLUXDB_V2_TOKEN' or 'token in [influxdb] of gait.toml'."""
        src = dict(self.sources).get(key)
        if src:
            return src
        env = _ENV_OF.get(key)
        return f"{env} (or {key} in [{TOML_SECTION}])" if env else f"{key} in [{TOML_SECTION}]"

    def problem(self) -> str | None:
        """A configuration mistake that no server can fix (one line), or None."""
        url = self.url
        if not (url.startswith("http://") or url.startswith("https://")):
            return (
                f"InfluxDB URL {url!r} is not an http(s) URL: set {self.where('url')} "
                "to the server's root URL, e.g. http://localhost:8086"
            )
        if not self.org:
            return (
                f"no InfluxDB organization set: set {self.where('org')} (VictoriaMetrics ignores it: any name will do)"
            )
        return None

    def outbox_path(self) -> Path:
        if self.outbox:
            path = Path(self.outbox).expanduser()
            if path.is_absolute():
                return path
        from gait.storage.local import default_data_dir

        return default_data_dir() / (self.outbox or OUTBOX_NAME)

    def client(self) -> Any:
        """An ``influxdb_client.InfluxDBClient`` for these settings (no retries: the sink retries)."""
        from influxdb_client import InfluxDBClient

        options = dict(self.client_options)
        if "auth_basic" in options:
            options["auth_basic"] = _to_bool(options["auth_basic"])
        if "connection_pool_maxsize" in options:
            options["connection_pool_maxsize"] = int(options["connection_pool_maxsize"])
        return InfluxDBClient(
            url=self.url,
            token=self.token,
            org=self.org or None,
            timeout=self.timeout_ms,
            verify_ssl=self.verify_ssl,
            enable_gzip=self.enable_gzip,
            **options,
        )

    def describe(self) -> str:
        org = f", org {self.org!r}" if self.org else ""
        return f"InfluxDB {self.url} (bucket {self.bucket!r}{org}; settings from {self.where('url')})"


# ----------------------------------------------------------------------------------------------
# health and errors
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InfluxHealth:
    """What the live display shows about the InfluxDB sink."""

    url: str
    bucket: str
    connected: bool | None  # None: nothing sent yet; False: the last attempt failed
    queued: int  # points not yet acknowledged by the server (memory + outbox)
    written: int  # points acknowledged by the server (this process)
    last_error: str | None = None  # one line: what went wrong and what to check
    last_error_time: float | None = None  # unix s
    last_write_time: float | None = None  # unix s of the last acknowledged batch
    dropped: int = 0  # refused by put() (queue full, sink closed): recover them with `gait sync`
    rejected: int = 0  # refused by the server as malformed (kept in the outbox's 'rejected' table)
    retry_in_s: float | None = None  # when the next attempt is due, while disconnected
    resent: int = 0  # acknowledged points queued again after an outage (the re-send window)

    @property
    def ok(self) -> bool:
        return bool(self.connected) and not self.dropped

    def line(self) -> str:
        """One line for a status bar."""
        if self.connected:
            state = "connected"
        elif self.connected is None:
            state = "not sent yet"
        else:
            state = "OFFLINE"
        text = f"InfluxDB {state}: {self.written} written, {self.queued} queued"
        if self.dropped:
            text += f", {self.dropped} dropped (run `gait sync`)"
        if self.rejected:
            text += f", {self.rejected} rejected"
        if self.connected is False and self.last_error:
            text += f" | {self.last_error}"
        return text


@dataclass(frozen=True)
class WriteFailure:
    kind: str  # unreachable timeout auth forbidden not_found rejected too_large busy server config outbox other
    message: str  # one line for the user
    retry_after_s: float | None = None


def describe_error(exc: BaseException, cfg: InfluxConfig) -> WriteFailure:
    """Turn a write exception into one line that says what to check."""
    url = cfg.url
    status = getattr(exc, "status", None)
    if status is None and getattr(exc, "response", None) is not None:
        status = getattr(exc.response, "status", None)
    if isinstance(status, int) and status > 0:
        detail = _server_message(exc)
        retry_after = _retry_after(exc)
        if status == 401:
            return WriteFailure(
                "auth",
                f"InfluxDB at {url} refused the token (401 Unauthorized): check {cfg.where('token')}",
            )
        if status == 403:
            return WriteFailure(
                "forbidden",
                f"InfluxDB at {url} denied writing to bucket {cfg.bucket!r} (403): give the token write "
                f"permission on it, or check {cfg.where('token')}",
            )
        if status == 404:
            low = detail.lower()
            if "bucket" in low or "org" in low:
                return WriteFailure(
                    "not_found",
                    f"InfluxDB at {url}: {detail} (404): check {cfg.where('bucket')} and {cfg.where('org')}",
                )
            return WriteFailure(
                "not_found",
                f"no InfluxDB write API at {url} (404 on /api/v2/write): check {cfg.where('url')} "
                "(the server's root URL, e.g. http://localhost:8086)",
            )
        if status == 413:
            return WriteFailure(
                "too_large", f"InfluxDB at {url} refused a batch as too large (413); sending smaller batches"
            )
        if status in (400, 422):
            return WriteFailure("rejected", f"InfluxDB at {url} rejected points ({status}): {detail}")
        if status in (429, 503):
            return WriteFailure(
                "busy", f"InfluxDB at {url} is busy ({status}): {detail}; retrying", retry_after_s=retry_after
            )
        return WriteFailure("server", f"InfluxDB at {url} answered {status}: {detail}; retrying", retry_after)
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    if "timeout" in low or "timed out" in low:
        return WriteFailure(
            "timeout",
            f"InfluxDB at {url} did not answer within {cfg.timeout_ms / 1000:g} s: check {cfg.where('url')} "
            "and the server's load; points wait in the outbox",
        )
    reason = _connection_reason(exc)
    if reason is not None:
        return WriteFailure(
            "unreachable",
            f"InfluxDB not reachable at {url} ({reason}): check {cfg.where('url')} and that the server is "
            "running; points wait in the outbox",
        )
    return WriteFailure("other", f"writing to InfluxDB at {url} failed ({text.splitlines()[0][:200]}); retrying")


def _server_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    if not message:
        body = getattr(exc, "body", None)
        message = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or getattr(exc, "reason", ""))
    return " ".join(str(message).split())[:300] or "no detail"


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _connection_reason(exc: BaseException) -> str | None:
    """'connection refused', 'name not resolved', 'connection reset'... for network errors, else None."""
    try:
        import urllib3.exceptions as u3
    except ImportError:  # pragma: no cover - urllib3 comes with influxdb-client
        u3 = None
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "resolve" in text or "name or service not known" in text or "nodename nor servname" in text:
        return "host name not resolved"
    if "reset" in text or "aborted" in text or "remote end closed" in text or "broken pipe" in text:
        return "connection dropped"
    if u3 is not None and isinstance(exc, (u3.NewConnectionError, u3.ProtocolError, u3.MaxRetryError)):
        return "cannot connect"
    if isinstance(exc, (ConnectionError, OSError)):
        return exc.__class__.__name__
    return None


# ----------------------------------------------------------------------------------------------
# the sink
# ----------------------------------------------------------------------------------------------
Writer = Callable[[str], None]  # sends a body of newline-separated lines; raises on failure


class InfluxSink:
    """One background writer (thread + outbox + HTTP client) shared by any number of runs.

    ``put(record, run, device)`` never blocks. ``writer`` replaces the HTTP client (for tests);
    ``clock`` is the wall clock (unix s) used for acknowledgement times and the re-send window.
    """

    def __init__(
        self,
        config: InfluxConfig,
        *,
        outbox_path: str | Path | None = None,
        writer: Writer | None = None,
        clock: Callable[[], float] = time.time,
        start: bool = True,
    ):
        self.config = config
        self.outbox_path = Path(outbox_path) if outbox_path is not None else config.outbox_path()
        self._writer = writer
        self._close_client: Callable[[], None] | None = None
        self._clock = clock
        self._queue: deque[tuple[Any, RunTags, str | None]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._loops = 0
        self._force = False
        self._closed = False
        # health (written by the thread; read as a snapshot)
        self._connected: bool | None = None
        self._pending = 0
        self._written = 0
        self._dropped = 0
        self._rejected = 0
        self._resent = 0
        self._last_error: str | None = None
        self._last_error_kind: str | None = None
        self._last_error_time: float | None = None
        self._last_write_time: float | None = None
        self._logged_kind: str | None = None
        self._retry_at = 0.0  # monotonic
        self._backoff_s = config.retry_min_ms / 1000.0
        self._limit = config.batch_size
        self._outage_requeued = False
        self._close_deadline = 0.0
        self._unsaved: list[tuple[str, str]] = []  # encoded, not yet committed to the outbox
        self._thread = threading.Thread(target=self._main, name="gait-influx-sink", daemon=True)
        if start:
            self._thread.start()

    # --- producer side (never blocks) ------------------------------------------------------------
    def put(self, record: Any, run: RunTags, device: str | None = None) -> bool:
        """Queue one record of ``run``. Never blocks; False if it was dropped or is not sent to InfluxDB."""
        if not isinstance(record, MAPPED_RECORDS):
            return False
        if isinstance(record, PainNote) and not self.config.health_data:
            return False  # health data stays local unless [influxdb] health_data = true
        if self._closed or len(self._queue) >= self.config.max_queue:
            self._dropped += 1
            return False
        self._queue.append((record, run, device))
        return True

    def put_many(self, records: Iterable[Any], run: RunTags, device: str | None = None) -> int:
        return sum(self.put(r, run, device) for r in records)

    def for_run(self, run: RunTags | Any, device: str | None = None) -> InfluxRunSink:
        """A per-run handle (``put(record, device=None)``) shaped like the local store's sink."""
        tags = run if isinstance(run, RunTags) else RunTags.from_run_info(run)
        return InfluxRunSink(self, tags, device)

    def health(self) -> InfluxHealth:
        retry = None
        if self._connected is False:
            retry = max(0.0, self._retry_at - time.monotonic())
        return InfluxHealth(
            url=self.config.url,
            bucket=self.config.bucket,
            connected=self._connected,
            queued=self._pending + len(self._queue),
            written=self._written,
            last_error=self._last_error,
            last_error_time=self._last_error_time,
            last_write_time=self._last_write_time,
            dropped=self._dropped,
            rejected=self._rejected,
            retry_in_s=retry,
            resent=self._resent,
        )

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Send everything put so far now; True once the server has acknowledged all of it.

        False as soon as an attempt fails (the server is away or refuses: the points wait in the
        outbox) or after ``timeout`` seconds. For shutdown, `gait sync` and tests, not the live path."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._loops + 2  # a whole loop that started after this call
            self._force = True
            self._wake.set()
            while True:
                if self._loops >= target:
                    if self._pending == 0 and not self._queue:
                        return True
                    if self._connected is False:
                        return False  # the server is away (or refuses): the points wait in the outbox
                if not self._thread.is_alive():
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(0.05 if remaining is None else min(remaining, 0.05))

    def close(self, timeout: float | None = 5.0) -> InfluxHealth:
        """Stop: what is queued goes to the outbox, then out to the server for up to ``timeout`` s
        (not at all while the server is unreachable). What is left waits in the outbox for the
        next start or `gait sync`."""
        if not self._closed:
            self._closed = True
            self._close_deadline = time.monotonic() + (timeout if timeout is not None else 5.0)
            self._stop.set()
            self._wake.set()
            if self._thread.is_alive():
                self._thread.join((timeout if timeout is not None else 5.0) + 5.0)
        return self.health()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> InfluxSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writer thread ---------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            outbox = Outbox(self.outbox_path, durable=self.config.durable_outbox)
        except Exception as exc:  # noqa: BLE001 - reported as health; put() keeps accepting into memory
            self._fail("config", f"cannot open the InfluxDB outbox {self.outbox_path}: {exc}")
            return
        writer = self._make_writer()
        last_prune = 0.0
        try:
            while True:
                stopping = self._stop.is_set()
                if not stopping:
                    self._wake.wait(self.config.flush_interval_ms / 1000.0)
                    self._wake.clear()
                    stopping = self._stop.is_set()
                try:
                    self._drain(outbox)
                    force, self._force = self._force, False
                    due = time.monotonic() >= self._retry_at
                    if writer is not None and (due or force or (stopping and self._connected is not False)):
                        self._send(outbox, writer, budget_s=1.0)
                    now = self._clock()
                    if now - last_prune > 5.0:
                        outbox.prune(now - self.config.resend_window_s)
                        last_prune = now
                    self._pending = outbox.pending_count() + len(self._unsaved)
                except Exception as exc:  # noqa: BLE001 - the outbox itself failed (disk full, I/O error)
                    self._note_error(WriteFailure("outbox", f"the InfluxDB outbox {self.outbox_path} failed: {exc}"))
                    if stopping:
                        break
                    self._stop.wait(1.0)
                    continue
                if self._pending and self._connected and not stopping:
                    self._wake.set()  # catching up: go on without waiting for the next interval
                with self._cond:
                    self._loops += 1
                    self._cond.notify_all()
                if stopping:
                    if self._queue:
                        continue
                    if self._pending == 0 or writer is None or self._connected is False:
                        break
                    if time.monotonic() >= self._close_deadline:
                        break
        finally:
            with contextlib.suppress(Exception):
                self._drain(outbox)
            with contextlib.suppress(Exception):
                self._pending = outbox.pending_count() + len(self._unsaved)
            outbox.close()
            if self._close_client is not None:
                with contextlib.suppress(Exception):
                    self._close_client()
            with self._cond:
                self._loops += 1
                self._cond.notify_all()

    def _make_writer(self) -> Writer | None:
        if self._writer is not None:
            return self._writer
        problem = self.config.problem()
        if problem:
            self._fail("config", problem)
            return None
        try:
            from influxdb_client import WritePrecision
            from influxdb_client.client.write_api import SYNCHRONOUS

            client = self.config.client()
            api = client.write_api(write_options=SYNCHRONOUS)
        except Exception as exc:  # noqa: BLE001
            self._fail("config", f"cannot set up the InfluxDB client for {self.config.url}: {exc}")
            return None
        self._close_client = client.close
        cfg = self.config

        def write(body: str) -> None:
            api.write(bucket=cfg.bucket, org=cfg.org or None, record=body, write_precision=WritePrecision.NS)

        return write

    def _drain(self, outbox: Outbox) -> None:
        """Encode what was put since the last loop and commit it to the outbox (kept for the next
        loop if the commit fails)."""
        items = []
        q = self._queue
        while q:
            items.append(q.popleft())
        strings = self.config.string_fields
        for record, run, device in items:
            try:
                point = record_point(record, run, device, strings)
            except Exception as exc:  # noqa: BLE001 - a bad record must not stop the sink
                self._rejected += 1
                log.warning("InfluxDB sink: cannot encode %r: %s", type(record).__name__, exc)
                continue
            if point is not None:
                self._unsaved.append(point)
        if not self._unsaved:
            return
        # one point per identity inside this batch too (the last one wins, as on the server)
        outbox.add(dict(self._unsaved).items(), now=self._clock())
        self._unsaved = []

    def _send(self, outbox: Outbox, writer: Writer, budget_s: float) -> None:
        t_end = time.monotonic() + budget_s
        while True:
            batch = outbox.pending(self._limit)
            if not batch:
                return
            try:
                writer("\n".join(line for _, line in batch))
            except Exception as exc:  # noqa: BLE001 - every failure becomes health
                failure = describe_error(exc, self.config)
                if failure.kind in ("rejected", "too_large"):
                    if len(batch) > 1:  # find the bad point(s): halve and retry at once
                        self._limit = max(1, len(batch) // 2)
                        continue
                    outbox.reject([batch[0][0]], failure.message, now=self._clock())
                    self._rejected += 1
                    self._note_error(failure)
                    continue
                self._on_failure(outbox, failure)
                return
            now = self._clock()
            outbox.mark_sent([i for i, _ in batch], now=now)
            self._on_success(len(batch), now)
            if time.monotonic() >= t_end:
                return

    def _on_success(self, n: int, now: float) -> None:
        if self._connected is False:
            log.info("InfluxDB at %s reachable again: catching up", self.config.url)
        self._connected = True
        self._written += n
        self._last_write_time = now
        self._backoff_s = self.config.retry_min_ms / 1000.0
        self._retry_at = 0.0
        self._outage_requeued = False
        self._logged_kind = None
        self._limit = min(self.config.batch_size, self._limit * 2)

    def _on_failure(self, outbox: Outbox, failure: WriteFailure) -> None:
        self._connected = False
        self._note_error(failure)
        if not self._outage_requeued:
            # the server may have lost what it acknowledged just before going away: send it again
            self._resent += outbox.requeue_since(self._clock() - self.config.resend_window_s)
            self._outage_requeued = True
        delay = self._backoff_s
        if failure.retry_after_s is not None:
            delay = max(delay, failure.retry_after_s)
        if failure.kind in ("auth", "forbidden", "not_found"):
            delay = max(delay, self.config.max_backoff_ms / 1000.0 / 2)
        self._retry_at = time.monotonic() + delay
        self._backoff_s = min(self.config.max_backoff_ms / 1000.0, self._backoff_s * 2)

    def _note_error(self, failure: WriteFailure) -> None:
        self._last_error = failure.message
        self._last_error_kind = failure.kind
        self._last_error_time = self._clock()
        if failure.kind != self._logged_kind:
            log.warning("%s", failure.message)
            self._logged_kind = failure.kind

    def _fail(self, kind: str, message: str) -> None:
        self._connected = False
        self._note_error(WriteFailure(kind, message))


class InfluxRunSink:
    """The per-run face of an `InfluxSink`, with the local store sink's shape:
    ``put(record, device=None) -> bool``, ``put_many``, ``flush(timeout)``, ``close()``."""

    def __init__(self, sink: InfluxSink, run: RunTags, device: str | None = None, owns_sink: bool = False):
        self.sink = sink
        self.run = run
        self.device = device
        self.owns_sink = owns_sink

    def put(self, record: Any, device: str | None = None) -> bool:
        return self.sink.put(record, self.run, device or self.device)

    def put_many(self, records: Iterable[Any], device: str | None = None) -> int:
        return sum(self.put(r, device) for r in records)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return self.sink.flush(timeout)

    def close(self, status: str | None = None, timeout: float | None = None) -> InfluxHealth:
        """Nothing to finish per run (``status`` is accepted for the store sink's signature);
        closes the shared sink only if this handle owns it."""
        if self.owns_sink:
            return self.sink.close(timeout)
        return self.sink.health()

    def health(self) -> InfluxHealth:
        return self.sink.health()

    @property
    def alive(self) -> bool:
        return self.sink.alive

    def __enter__(self) -> InfluxRunSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------
# gait sync
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncReport:
    runs: int
    points: int  # records handed to the sink
    flushed: bool | None  # True: all acknowledged; False: some wait in the outbox; None: not waited for
    health: InfluxHealth | None = None

    def line(self) -> str:
        if self.flushed is None:
            state = "queued"
        elif self.flushed:
            state = "all acknowledged by the server"
        else:
            state = "not all acknowledged yet: they wait in the outbox and go out when the server answers"
        return f"synced {self.runs} run(s), {self.points} points: {state}"


def run_records(store: Any, run_id: int) -> tuple[RunTags, list[tuple[Any, str | None]]]:
    """A stored run's tags and its (record, device) pairs, read through the local store's API."""
    info = store.run(run_id)
    tags = RunTags.from_run_info(info)
    items: list[tuple[Any, str | None]] = []
    cols = store.steps(run_id)
    items.extend(zip(cols.to_records(), [d if d is None else str(d) for d in cols.device]))
    items.extend((a, None) for a in store.alerts(run_id))
    items.extend((p, None) for p in store.pain_notes(run_id))
    items.extend((g, d) for d, g in store.gaps(run_id))
    items.extend((q, d) for d, q in store.quality_events(run_id))
    return tags, items


def sync_runs(
    store: Any,
    sink: InfluxSink,
    runs: Iterable[Any] | None = None,
    *,
    flush_timeout_s: float | None = 60.0,
) -> SyncReport:
    """Send earlier runs to InfluxDB; idempotent (a point sent twice is stored once).

    ``runs``: None for every run in ``store``; or run ids of ``store``; or ``(RunTags, records)``
    pairs (records: `StepMetrics`... or ``(record, device)`` pairs) when there is no store.
    Waits up to ``flush_timeout_s`` for the server's acknowledgement (None: do not wait).
    """
    if runs is None:
        if store is None:
            raise ValueError("sync_runs needs a store or a list of (RunTags, records)")
        runs = store.run_ids()
    n_runs = n_points = 0
    for item in runs:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], RunTags):
            tags, records = item
            pairs = [r if isinstance(r, tuple) else (r, None) for r in records]
        else:
            if store is None:
                raise ValueError(f"run {item!r} given without a store")
            tags, pairs = run_records(store, int(item))
        n_runs += 1
        for record, device in pairs:
            n_points += sink.put(record, tags, device)
    flushed = None if flush_timeout_s is None else sink.flush(flush_timeout_s)
    return SyncReport(runs=n_runs, points=n_points, flushed=flushed, health=sink.health())
