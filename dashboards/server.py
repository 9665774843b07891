"""The dashboard server: live page (SSE from the live bus) and review pages over the local store.

    app = create_app(store, bus=LiveBus(), token=None)     # a Starlette app
    serve(store, host="127.0.0.1", port=8765)               # blocking (uvicorn)
    with ServerThread(app, port=0) as srv: srv.url           # in a background thread (demo, tests)

Read-only presentation: it reads the store (one SQLite connection per worker thread, WAL, so it
never blocks the live writer) and the bus; the only write is a pain check-in from the live page,
which goes to the live run's coach through the bus callback and into the live run's record.

Pages (HTML, no inline script): ``/`` runs, ``/runs/{id}`` one run, ``/compare?a=&b=``,
``/trends``, ``/live``; the programme's ``/programme``, ``/checkin`` and ``/export`` with their
JSON under ``/api/programme/`` (`dashboards.programme`: check-ins and red-flag answers are its
writes, with their own rules on where a request comes from). JSON: ``/api/runs``, ``/api/runs/{id}`` (everything a run page needs in
one response; for a finished run built once, when it closes, and kept gzipped in the store), ``/api/runs/{id}/splits?by=km|minute``, ``/api/trends?period=week|month``,
``/api/live/state``, ``/api/live/stream`` (Server-Sent Events), ``POST /api/live/pain``.
Exports: ``/api/runs/{id}/export/{steps.csv|csv.zip|parquet.zip|fit|html}``.

Security: binds 127.0.0.1 by default; any other address needs a token (refused otherwise). The
token is accepted from ``Authorization: Bearer``, ``X-Gait-Token`` or the ``gait_token`` cookie
that ``?token=`` sets (then redirects to the same URL without it). Without a token, only
loopback Host headers are served (no DNS rebinding). Every response carries a strict
Content-Security-Policy (``default-src 'self'``, no inline script; nothing from the internet),
static files are served from a fixed allow-list of extensions under ``static/`` only, and export
routes take a run number and a format name from a fixed list, never a path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import gzip
import hmac
import io
import ipaddress
import json
import math
import mimetypes
import tempfile
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from dashboards.bus import LiveBus
from dashboards.programme import programme_routes
from gait.core.records import Alert, PainNote
from gait.core.step_fields import CLASS, FLAGS, REVIEW_FIELDS, STEP_FIELDS, TEXT
from gait.storage import QUALITY_BITS, SCHEMA_VERSION, Store
from gait.storage.local import add_close_hook, software_version

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_COOKIE = "gait_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGES = {
    "runs": "runs.html",
    "run": "run.html",
    "compare": "compare.html",
    "trends": "trends.html",
    "live": "live.html",
}
EXPORTS = ("steps.csv", "csv.zip", "parquet.zip", "fit", "html")
SIDE_CODE = {"left": "L", "right": "R"}


def step_fields_payload() -> list[dict[str, Any]]:
    """The step fields as the pages know them (key, label, unit, kind, decimals shown; ``review``:
    a column of the run page's ``steps``), from the step field registry."""
    return [
        {
            "key": f.name,
            "label": f.label,
            "unit": f.unit,
            "kind": f.kind,
            "nd": f.shown_decimals,
            "review": f.review_decimals is not None,
        }
        for f in STEP_FIELDS
    ]


def step_fields_js() -> str:
    """``window.GaitFields``: the step fields for every page's scripts (served as /static/js/fields.js)."""
    return "window.GaitFields = " + json.dumps(step_fields_payload(), separators=(",", ":")) + ";\n"


def _review_columns(cols: Any, t0: float) -> list[str]:
    """The run page's step columns (JSON texts): time from the first contact, then the step fields
    the registry sends (numbers rounded, a class as its code, side as L/R, the quality bit mask)."""
    parts = [f'"t":{_col(cols.ic_s - t0, 3)}']
    for f in REVIEW_FIELDS:
        parts.append(f'"{f.name}":{_col(getattr(cols, f.name), int(f.review_decimals or 0))}')
    for f in STEP_FIELDS:
        if f.kind == CLASS:
            parts.append(f'"{f.name}":{json.dumps([f.code(v) if v is not None else None for v in getattr(cols, f.name).tolist()])}')
        elif f.kind == TEXT:
            parts.append(f'"{f.name}":{json.dumps([SIDE_CODE.get(v, v) for v in getattr(cols, f.name).tolist()])}')
        elif f.kind == FLAGS:
            parts.append(f'"quality_mask":{json.dumps(cols.quality_mask.tolist())}')
    return parts


def is_loopback(host: str) -> bool:
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


# ----------------------------------------------------------------------------------------------
# store access: one connection per worker thread (sqlite3 connections belong to their thread)
# ----------------------------------------------------------------------------------------------
class StoreReader:
    def __init__(self, store: Store | str | Path):
        self.data_dir = store.data_dir if isinstance(store, Store) else Path(store)
        self._local = threading.local()
        self._all: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        s = getattr(self._local, "store", None)
        if s is None:
            s = Store(self.data_dir, recover=False, durable=False)
            self._local.store = s
            with self._lock:
                self._all.append(s)
        return s


# ----------------------------------------------------------------------------------------------
# JSON helpers (columns: NaN -> null, rounded)
# ----------------------------------------------------------------------------------------------
def _num(v: Any, nd: int = 3) -> float | None:
    if v is None:
        return None
    v = float(v)
    return round(v, nd) if math.isfinite(v) else None


def _col(a: np.ndarray, nd: int) -> str:
    """A float column as a JSON array text (NaN -> null), fast."""
    if a.size == 0:
        return "[]"
    r = np.round(a.astype(np.float64), nd)
    return json.dumps(r.tolist()).replace("NaN", "null").replace("Infinity", "null")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(_jsonable(data), separators=(",", ":"), allow_nan=False),
        status_code=status,
        media_type="application/json",
    )


def summary_dict(s: Any) -> dict[str, Any]:
    d = dict(s.to_dict())
    d["devices"] = list(d.get("devices") or [])
    return d


def alert_dict(a: Alert) -> dict[str, Any]:
    return {
        "time_s": _num(a.time_s),
        "rule": a.rule,
        "kind": a.kind,
        "message": a.message,
        "value": _num(a.value),
        "target": a.target,
        "severity": a.severity,
    }


def pain_dict(p: PainNote) -> dict[str, Any]:
    return {"time_s": _num(p.time_s), "score": int(p.score), "phase": p.phase, "note": p.note}


def split_dict(sp: Any) -> dict[str, Any]:
    return {k: _num(v) if isinstance(v, float) else v for k, v in sp.__dict__.items()}


class _OneRead:
    """The store, with ``steps(run_id)`` answered from columns already read: the store's own
    ``splits`` then reads the steps once for the whole page instead of once per call."""

    def __init__(self, store: Store, run_id: int, cols: Any):
        self._store, self._run_id, self._cols = store, run_id, cols

    def steps(self, run_id: int) -> Any:
        return self._cols if run_id == self._run_id else self._store.steps(run_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def store_splits(store: Store, run_id: int, by: str, cols: Any = None) -> list[Any]:
    """``Store.splits`` (the store's code and values), reusing ``cols`` when given."""
    if cols is None:
        return store.splits(run_id, by=by)
    return Store.splits(_OneRead(store, run_id, cols), run_id, by=by)  # type: ignore[arg-type]


def run_payload_text(store: Store, run_id: int) -> str:
    """Everything the run page needs, as JSON text: info, summary, step columns (time from the
    first contact, distance, speed), per-km and per-minute splits, alerts, pain notes, gaps."""
    info = store.run(run_id)
    summary = store.summary(run_id)
    cols = store.steps(run_id)
    n = len(cols)
    t0 = float(np.nanmin(cols.ic_s)) if n else 0.0
    dist = store.distances(run_id, cols)
    speed = store.step_speeds(run_id, cols)
    head = {
        "run_id": run_id,
        "info": {
            "uuid": info.uuid,
            "runner": info.runner,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "stream_t0_s": info.stream_t0_s,
            "devices": info.devices,
            "placement": info.placement,
            "side": info.side,
            "status": info.status,
            "notes": info.notes,
            "software_version": info.software_version,
            "config": info.config_dict(),
        },
        "summary": summary_dict(summary),
        "t0_s": t0,
        "n_steps": n,
        "quality_bits": QUALITY_BITS,
        "fields": step_fields_payload(),
        "splits": {
            "km": [split_dict(s) for s in store_splits(store, run_id, "km", cols)],
            "minute": [split_dict(s) for s in store_splits(store, run_id, "minute", cols)],
        },
        "alerts": [alert_dict(a) for a in store.alerts(run_id)],
        "pain": [pain_dict(p) for p in store.pain_notes(run_id)],
        "gaps": [
            {"device": d, "start_s": _num(g.start_s), "end_s": _num(g.end_s), "missing": g.missing_samples}
            for d, g in store.gaps(run_id)
        ],
    }
    parts = [
        *_review_columns(cols, t0),
        f'"speed_mps":{_col(speed, 3) if speed is not None else "null"}',
        f'"distance_m":{_col(dist, 1) if dist is not None else "null"}',
    ]
    head_text = json.dumps(_jsonable(head), separators=(",", ":"), allow_nan=False)
    return head_text[:-1] + ',"steps":{' + ",".join(parts) + "}}"


# The run page's payload of a finished run is built once (when the run closes, or on its first
# open) and kept gzipped in the store (``derived_cache``): a cold open is then one blob read, and
# the bytes go out as they are to any browser (every one accepts gzip).
REVIEW_PAYLOAD = "review-payload.json.gz"
REVIEW_FORMAT = 2  # bump when run_payload_text's output changes


@functools.lru_cache(maxsize=1)
def review_payload_version() -> str:
    return f"{REVIEW_FORMAT}/{SCHEMA_VERSION}/{software_version()}"


def review_payload_gz(store: Store, run_id: int) -> bytes:
    """The run page's JSON, gzipped: the stored copy when valid, else built (and stored when the
    run is finished). KeyError: no such run."""
    version = review_payload_version()
    blob = store.derived(run_id, REVIEW_PAYLOAD, version)
    if blob is not None:
        return blob
    stamp = store.run_stamp(run_id)
    if stamp is None:
        raise KeyError(f"no run {run_id}")
    blob = gzip.compress(run_payload_text(store, run_id).encode(), compresslevel=5, mtime=0)
    try:
        store.put_derived(run_id, REVIEW_PAYLOAD, version, blob, stamp=stamp)
    except Exception:  # noqa: BLE001 - a busy or read-only store: serve it anyway
        pass
    return blob


def _build_review_payload(store: Store, run_id: int) -> None:
    """Close hook: a run that just finished opens in review from its stored payload."""
    review_payload_gz(store, run_id)


add_close_hook(_build_review_payload)

PREBUILD_RECENT_RUNS = 50


def prebuild_review_payloads(data_dir: str | Path, limit: int = PREBUILD_RECENT_RUNS) -> int:
    """Build the stored review payload of recent finished runs that have none (runs closed by a
    process without the dashboards), newest first, so their first open is fast too. Returns the
    number built; never raises (it runs in the background at server start)."""
    built = 0
    try:
        with Store(data_dir) as store:
            version = review_payload_version()
            for status in ("closed", "interrupted"):
                for run_id in store.run_ids(status=status)[:limit]:
                    if store.derived(run_id, REVIEW_PAYLOAD, version) is None:
                        review_payload_gz(store, run_id)
                        built += 1
    except Exception:  # noqa: BLE001 - an optimisation only: the page builds it on demand anyway
        return built
    return built


def trends_payload(store: Store, period: str, runner: str | None) -> dict[str, Any]:
    points = store.trends(runner=runner, period=period)
    return {
        "period": period,
        "runner": runner,
        "runners": store.runners(),
        "points": [dict(p.__dict__) for p in points],
    }


# ----------------------------------------------------------------------------------------------
# middleware: token, Host check, security headers
# ----------------------------------------------------------------------------------------------
class SecurityMiddleware:
    """Token (when configured), loopback Host check (when not), CSP and friends on everything."""

    def __init__(self, app: Any, token: str | None, csp: str = CSP, extra_hosts: tuple[str, ...] = ()):
        self.app = app
        self.token = token
        self.csp = csp
        self.hosts = {h.lower() for h in (*LOOPBACK_NAMES, *extra_hosts)}

    def _headers(self, scope_path: str) -> list[tuple[bytes, bytes]]:
        h = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if scope_path.startswith("/api/"):
            h.append((b"cache-control", b"no-store"))
        return h

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = scope.get("path", "")
        denial = self._check(request)
        extra = self._headers(path)

        async def send_wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", self.csp.encode()))
                headers.extend(extra)
                message = {**message, "headers": headers}
            await send(message)

        if denial is not None:
            await denial(scope, receive, send_wrapped)
            return
        await self.app(scope, receive, send_wrapped)

    def _check(self, request: Request) -> Response | None:
        if self.token is None:
            host = (request.headers.get("host") or "").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.hosts:
                return PlainTextResponse("unknown Host: this server answers on its loopback address only\n", 421)
            return self._origin_check(request)
        given = request.query_params.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return PlainTextResponse("wrong token\n", 401)
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (("?" + urllib.parse.urlencode(query)) if query else "")
            resp = RedirectResponse(target, status_code=303)
            resp.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return resp
        candidates = [
            request.headers.get("x-gait-token"),
            request.cookies.get(TOKEN_COOKIE),
        ]
        auth = request.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            candidates.append(auth[7:].strip())
        if not any(c is not None and hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates):
            return PlainTextResponse("this dashboard needs its token: open the address printed at start\n", 401)
        return self._origin_check(request)

    @staticmethod
    def _origin_check(request: Request) -> Response | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        origin = request.headers.get("origin")
        if origin and urllib.parse.urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower():
            return PlainTextResponse("cross-origin request refused\n", 403)
        return None


# ----------------------------------------------------------------------------------------------
# the app
# ----------------------------------------------------------------------------------------------
def safe_static_path(root: Path, rel: str) -> Path | None:
    """The file ``rel`` under ``root`` if it is a real file inside it with an allowed extension;
    None for anything else (``..``, encoded or backslashed variants, absolute paths, symlinks out)."""
    rel = urllib.parse.unquote(rel)  # a second decoding: %252e.. arrives as %2e.. here
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/") or ":" in rel:
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    root = root.resolve()
    path = (root / rel).resolve()
    try:
        path.relative_to(root)
    except ValueError:
        return None
    if path.suffix.lower() not in STATIC_TYPES or not path.is_file():
        return None
    return path


def create_app(
    store: Store | str | Path,
    bus: LiveBus | None = None,
    token: str | None = None,
    *,
    static_dir: str | Path | None = None,
    extra_hosts: tuple[str, ...] = (),
    sse_ping_s: float = 15.0,
    programme_today: Callable[[], dt.date] | None = None,
) -> Starlette:
    """The dashboard app over ``store`` (a Store or its data folder) and an optional live ``bus``.

    ``token``: required on every request when given (see the module docstring). ``extra_hosts``:
    Host names to accept besides loopback when there is no token (tests). ``programme_today``: the
    programme's day (default: today's date; tests pass a fixed one)."""
    reader = StoreReader(store)
    live = bus if bus is not None else LiveBus()
    static_root = Path(static_dir) if static_dir is not None else STATIC_DIR
    shutdown = asyncio.Event()

    def page(name: str) -> Callable:
        async def endpoint(request: Request) -> Response:
            return FileResponse(static_root / PAGES[name], media_type="text/html; charset=utf-8")

        return endpoint

    run_page = (static_root / PAGES["run"]).read_text(encoding="utf-8")

    async def run_page_endpoint(request: Request) -> Response:
        # the page asks the browser to fetch the run's data at once, while the scripts load
        run_id = _run_id(request)
        link = f'<link rel="preload" href="/api/runs/{run_id}" as="fetch" crossorigin="anonymous">'
        return Response(run_page.replace("<!--preload-->", link), media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        path = safe_static_path(static_root, request.path_params["path"])
        if path is None:
            return PlainTextResponse("not found\n", 404)
        return FileResponse(
            path, media_type=STATIC_TYPES[path.suffix.lower()], headers={"cache-control": "no-cache"}
        )

    def _run_id(request: Request) -> int:
        return int(request.path_params["run_id"])

    def _missing(run_id: int) -> Response:
        return _json({"error": f"no run {run_id}"}, 404)

    async def api_runs(request: Request) -> Response:
        runner = request.query_params.get("runner") or None

        def work() -> Any:
            return [summary_dict(s) for s in reader.get().list_runs(runner=runner)]

        return _json({"runs": await run_in_threadpool(work), "live": live.snapshot()})

    async def api_run(request: Request) -> Response:
        run_id = _run_id(request)
        try:
            blob = await run_in_threadpool(lambda: review_payload_gz(reader.get(), run_id))
        except KeyError:
            return _missing(run_id)
        headers = {"vary": "accept-encoding"}
        if "gzip" in (request.headers.get("accept-encoding") or "").lower():
            return Response(blob, media_type="application/json", headers={**headers, "content-encoding": "gzip"})
        return Response(gzip.decompress(blob), media_type="application/json", headers=headers)

    async def api_splits(request: Request) -> Response:
        run_id = _run_id(request)
        by = request.query_params.get("by", "km")
        if by not in ("km", "minute"):
            return _json({"error": "by must be km or minute"}, 400)
        try:
            splits = await run_in_threadpool(lambda: reader.get().splits(run_id, by=by))
        except KeyError:
            return _missing(run_id)
        return _json({"run_id": run_id, "by": by, "splits": [split_dict(s) for s in splits]})

    async def api_trends(request: Request) -> Response:
        period = request.query_params.get("period", "week")
        if period not in ("week", "month"):
            return _json({"error": "period must be week or month"}, 400)
        runner = request.query_params.get("runner") or None
        return _json(await run_in_threadpool(lambda: trends_payload(reader.get(), period, runner)))

    async def api_export(request: Request) -> Response:
        run_id = _run_id(request)
        fmt = request.path_params["fmt"]
        if fmt not in EXPORTS:
            return _json({"error": f"unknown export format; one of {', '.join(EXPORTS)}"}, 404)
        try:
            await run_in_threadpool(lambda: reader.get().run(run_id))
        except KeyError:
            return _missing(run_id)
        try:
            body, media, name, headers = await run_in_threadpool(lambda: export_bytes(reader.get(), run_id, fmt))
        except ImportError as exc:
            return _json({"error": str(exc)}, 501)
        headers = {**headers, "content-disposition": f'attachment; filename="{name}"'}
        return Response(body, media_type=media, headers=headers)

    async def api_live_state(request: Request) -> Response:
        out = live.snapshot()
        out["recent_steps"] = live.recent_steps()
        return _json(out)

    async def api_live_stream(request: Request) -> Response:
        last = request.headers.get("last-event-id")
        last_id = int(last) if last and last.isdigit() else None
        sub = live.subscribe(last_id=last_id)

        async def events() -> Any:
            try:
                yield "retry: 2000\n\n"
                while not shutdown.is_set() and not sub.closed:
                    batch = await sub.next_batch(timeout=sse_ping_s)
                    if sub.closed:
                        break
                    yield "".join(batch) if batch else ": ping\n\n"
            finally:
                sub.close()

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    async def api_live_pain(request: Request) -> Response:
        if "application/json" not in (request.headers.get("content-type") or ""):
            return _json({"error": "send JSON: {\"score\": 0-10}"}, 415)
        try:
            body = await request.json()
            score = body["score"]
            phase = body.get("phase", "during")
            note = str(body.get("note", ""))[:500]
        except (ValueError, KeyError, TypeError, AttributeError):
            return _json({"error": "send JSON: {\"score\": 0-10}"}, 400)
        if not live.accepts_pain or live.state.run_id is None:
            return _json({"error": "no run is live"}, 409)
        try:
            records = await run_in_threadpool(live.pain, score, phase, note)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        run_id = live.state.run_id  # the live run stored, sent and published them (its engine's sinks)
        out = []
        for r in records:
            if isinstance(r, PainNote):
                out.append({"type": "pain", **pain_dict(r)})
            elif isinstance(r, Alert):
                out.append({"type": "alert", **alert_dict(r)})
        return _json({"ok": True, "run_id": run_id, "records": out})

    async def api_health(request: Request) -> Response:
        return _json({"ok": True, "time": time.time()})

    fields_js = step_fields_js()

    async def step_fields_script(request: Request) -> Response:
        return Response(fields_js, media_type=STATIC_TYPES[".js"])

    async def favicon(request: Request) -> Response:
        return FileResponse(static_root / "favicon.svg", media_type="image/svg+xml")

    async def root_redirect(request: Request) -> Response:
        return FileResponse(static_root / PAGES["runs"], media_type="text/html; charset=utf-8")

    routes = [
        Route("/", root_redirect),
        Route("/runs", page("runs")),
        Route("/runs/{run_id:int}", run_page_endpoint),
        Route("/compare", page("compare")),
        Route("/trends", page("trends")),
        Route("/live", page("live")),
        Route("/static/js/fields.js", step_fields_script),
        Route("/static/{path:path}", static),
        Route("/favicon.ico", favicon),
        Route("/api/health", api_health),
        Route("/api/runs", api_runs),
        Route("/api/runs/{run_id:int}", api_run),
        Route("/api/runs/{run_id:int}/splits", api_splits),
        Route("/api/runs/{run_id:int}/export/{fmt}", api_export),
        Route("/api/trends", api_trends),
        Route("/api/live/state", api_live_state),
        Route("/api/live/stream", api_live_stream),
        Route("/api/live/pain", api_live_pain, methods=["POST"]),
        *programme_routes(reader.data_dir, static_root, store=reader.get, token=token, today=programme_today,
                          json_response=_json),
    ]

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        shutdown.set()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.bus = live
    app.state.reader = reader
    app.state.token = token
    app.state.shutdown = shutdown
    app.add_middleware(SecurityMiddleware, token=token, extra_hosts=extra_hosts)
    return app


def export_bytes(store: Store, run_id: int, fmt: str) -> tuple[bytes, str, str, dict[str, str]]:
    """(body, media type, file name, extra headers) of one export of a run."""
    from gait.storage import export

    stem = f"gait-run-{run_id}"
    if fmt == "html":
        from dashboards.report import report_csp, report_html

        html = report_html(store, run_id)
        return html.encode(), "text/html; charset=utf-8", f"{stem}-report.html", {"content-security-policy": report_csp(html)}
    if fmt == "fit":
        return export.fit_activity_bytes(store, run_id), "application/vnd.ant.fit", f"{stem}.fit", {}
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "steps.csv":
            path = export.export_steps_csv(store, run_id, Path(tmp) / f"{stem}-steps.csv")
            return path.read_bytes(), "text/csv; charset=utf-8", path.name, {}
        files = export.export_csv(store, run_id, tmp) if fmt == "csv.zip" else export.export_parquet(store, run_id, tmp)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in files.values():
                z.write(p, arcname=p.name)
        kind = "csv" if fmt == "csv.zip" else "parquet"
        return buf.getvalue(), "application/zip", f"{stem}-{kind}.zip", {}


# ----------------------------------------------------------------------------------------------
# running it
# ----------------------------------------------------------------------------------------------
def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback bind without a token (ValueError says what to do)."""
    if not is_loopback(host) and not token:
        raise ValueError(
            f"refusing to serve on {host} without a token: anyone on that network could read your runs. "
            "Pass --token SECRET (then open http://HOST:PORT/?token=SECRET), or bind 127.0.0.1."
        )


def _uvicorn_config(app: Any, host: str, port: int) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        ws="none",
    )


def url_for(host: str, port: int, token: str | None = None, path: str = "/") -> str:
    h = f"[{host}]" if ":" in host and not host.startswith("[") else host
    q = f"?token={urllib.parse.quote(token)}" if token else ""
    return f"http://{h}:{port}{path}{q}"


class ServerThread:
    """Serve an app with uvicorn in a background thread: ``with ServerThread(app) as s: s.url``.
    ``port=0`` picks a free port."""

    def __init__(self, app: Any, host: str = DEFAULT_HOST, port: int = 0, token: str | None = None):
        import uvicorn

        check_bind(host, token)
        self.host = host
        self.token = token
        self.server = uvicorn.Server(_uvicorn_config(app, host, port))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, name="gait-dashboard", daemon=True)
        self.port = port

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        t_end = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > t_end:
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.01)
        sock = self.server.servers[0].sockets[0]
        self.port = int(sock.getsockname()[1])
        return self

    @property
    def base(self) -> str:
        return url_for(self.host, self.port).rstrip("/")

    @property
    def url(self) -> str:
        return url_for(self.host, self.port, self.token)

    def stop(self, timeout: float = 5.0) -> None:
        bus = getattr(getattr(self.server.config.app, "state", None), "bus", None)
        if bus is not None:
            bus.close_subscribers()  # live streams end now, not after the graceful-shutdown timeout
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    store: Store | str | Path | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    bus: LiveBus | None = None,
    announce: Callable[[str], None] | None = print,
) -> None:
    """Serve the dashboards until Ctrl-C (blocking). ``store`` None: the default data folder."""
    import uvicorn

    check_bind(host, token)
    if store is None:
        from gait.storage import default_data_dir

        store = default_data_dir()
    if not isinstance(store, Store):
        Store(store).close()  # create / migrate / recover once, before the readers
        threading.Thread(target=prebuild_review_payloads, args=(store,), name="prebuild", daemon=True).start()
    app = create_app(store, bus=bus, token=token)
    if announce is not None:
        announce(f"gait dashboard: {url_for(host, port, token)}  (Ctrl-C to stop)")
    uvicorn.Server(_uvicorn_config(app, host, port)).run()


mimetypes.add_type("text/javascript", ".js")
