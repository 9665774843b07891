"""Dashboards over HTTP: a real uvicorn on a free loopback port, the JSON equal to the store's,
exports, the live bus and SSE, the pain button, and the security cases (token, Host, CSP, path
traversal with ../ and its encoded variants)."""

from __future__ import annotations

import asyncio
import csv
import http.client
import io
import json
import math
import threading
import time
import zipfile

import numpy as np
import pytest

from dashboards.bus import LiveBus
from dashboards.run_demo import store_synthetic_run, synthetic_history, synthetic_steps
from dashboards.server import CSP, STATIC_DIR, ServerThread, check_bind, create_app, safe_static_path
from gait.core.records import ALERT_CUE, Alert, PainNote
from gait.storage import Store


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A store with a real replayed run (3 min of the adept recording through pipeline + coach)
    and a few weeks of synthetic example runs."""
    from gait.dashboard_demo import replay_adept

    folder = tmp_path_factory.mktemp("dash-store")
    with Store(folder) as store:
        history = synthetic_history(store, weeks=3, runs_per_week=2)
        real = replay_adept(store, LiveBus(), speed=None, minutes=3.0, start_s=60.0, say=lambda s: None)
        with store.sink(real) as sink:  # a pain note on the real run (sink.close closes the run again)
            sink.put(PainNote(120.0, 2, "during", "left glute"))
        store.close_run(real)
    return {"dir": folder, "real": real, "history": history}


@pytest.fixture(scope="module")
def server(data):
    bus = LiveBus()
    app = create_app(data["dir"], bus=bus)
    with ServerThread(app, port=0) as srv:
        srv.bus = bus
        yield srv


def request(srv, method, path, body=None, headers=None, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    h = {"Host": host or f"127.0.0.1:{srv.port}", **(headers or {})}
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)  # the raw path, not normalised
    for k, v in h.items():
        conn.putheader(k, v)
    data = body.encode() if isinstance(body, str) else body
    if data is not None:
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp, payload


def get_json(srv, path):
    resp, body = request(srv, "GET", path)
    assert resp.status == 200, (path, resp.status, body[:200])
    return json.loads(body)


def rounded(a, nd):
    return [None if not math.isfinite(v) else round(float(v), nd) for v in np.asarray(a, dtype=float)]


# --------------------------------------------------------------------------------------------
# JSON equals the store
# --------------------------------------------------------------------------------------------
def test_run_list_equals_store(server, data):
    got = get_json(server, "/api/runs")["runs"]
    with Store(data["dir"], recover=False) as store:
        want = store.list_runs()
    assert [r["run_id"] for r in got] == [s.run_id for s in want]
    for g, w in zip(got, want):
        assert g["steps"] == w.steps
        assert g["cadence_spm"] == pytest.approx(w.cadence_spm)
        assert g["vo_cm"] == pytest.approx(w.vo_cm)
        assert g["heel_strike_share"] == (None if w.heel_strike_share is None else pytest.approx(w.heel_strike_share))
        assert g["status"] == w.status


def test_run_payload_equals_store(server, data):
    run_id = data["real"]
    got = get_json(server, f"/api/runs/{run_id}")
    with Store(data["dir"], recover=False) as store:
        cols = store.steps(run_id)
        summary = store.summary(run_id)
        km = store.splits(run_id, by="km")
        minute = store.splits(run_id, by="minute")
        alerts = store.alerts(run_id)
        pains = store.pain_notes(run_id)
        dist = store.distances(run_id)
    assert got["n_steps"] == len(cols) == summary.steps > 200
    assert got["summary"]["cadence_spm"] == pytest.approx(summary.cadence_spm)
    assert got["steps"]["cadence_spm"] == rounded(cols.cadence_spm, 1)
    assert got["steps"]["vo_cm"] == rounded(cols.vo_cm, 2)
    assert got["steps"]["vertical_ratio_pct"] == rounded(cols.vertical_ratio_pct, 2)
    assert got["steps"]["distance_m"] == rounded(dist, 1)
    assert got["steps"]["t"][0] == 0.0
    assert len(got["splits"]["km"]) == len(km) and len(got["splits"]["minute"]) == len(minute)
    for g, w in zip(got["splits"]["minute"], minute):
        assert g["steps"] == w.steps
        assert g["cadence_spm"] == pytest.approx(w.cadence_spm, abs=1e-3)
        assert g["vo_cm"] == pytest.approx(w.vo_cm, abs=1e-3)
    assert [a["message"] for a in got["alerts"]] == [a.message for a in alerts]
    assert [(p["score"], p["phase"], p["note"]) for p in got["pain"]] == [(p.score, p.phase, p.note) for p in pains]
    assert got["pain"][0]["score"] == 2


def test_splits_and_trends_endpoints(server, data):
    run_id = data["history"][0]
    got = get_json(server, f"/api/runs/{run_id}/splits?by=km")
    with Store(data["dir"], recover=False) as store:
        want = store.splits(run_id, by="km")
        trends = store.trends(period="week")
    assert [s["steps"] for s in got["splits"]] == [s.steps for s in want]
    assert got["splits"][0]["pace_s_per_km"] == pytest.approx(want[0].pace_s_per_km, abs=1e-3)
    resp, _ = request(server, "GET", f"/api/runs/{run_id}/splits?by=mile")
    assert resp.status == 400
    t = get_json(server, "/api/trends?period=week")
    assert [p["period_start"] for p in t["points"]] == [p.period_start.isoformat() for p in trends]
    assert [p["heel_strike_share"] for p in t["points"]] == pytest.approx([p.heel_strike_share for p in trends])
    resp, _ = request(server, "GET", "/api/trends?period=year")
    assert resp.status == 400
    resp, _ = request(server, "GET", "/api/runs/99999")
    assert resp.status == 404


# --------------------------------------------------------------------------------------------
# exports
# --------------------------------------------------------------------------------------------
def test_exports(server, data):
    run_id = data["real"]
    resp, body = request(server, "GET", f"/api/runs/{run_id}/export/steps.csv")
    assert resp.status == 200 and "attachment" in resp.getheader("content-disposition")
    rows = list(csv.reader(io.StringIO(body.decode())))
    with Store(data["dir"], recover=False) as store:
        n = len(store.steps(run_id))
    assert len(rows) == n + 1 and "cadence_spm" in rows[0]
    resp, body = request(server, "GET", f"/api/runs/{run_id}/export/csv.zip")
    assert sorted(zipfile.ZipFile(io.BytesIO(body)).namelist()) == sorted(
        [f"run-{run_id}-steps.csv", f"run-{run_id}-alerts.csv", f"run-{run_id}-pain.csv"]
    )
    resp, body = request(server, "GET", f"/api/runs/{run_id}/export/fit")
    assert resp.status == 200 and body[8:12] == b".FIT"
    resp, body = request(server, "GET", f"/api/runs/{run_id}/export/parquet.zip")
    assert resp.status == 200 and len(zipfile.ZipFile(io.BytesIO(body)).namelist()) == 2
    resp, body = request(server, "GET", f"/api/runs/{run_id}/export/html")
    html = body.decode()
    assert resp.status == 200 and "default-src 'none'" in resp.getheader("content-security-policy")
    assert 'http-equiv="Content-Security-Policy"' in html
    assert "src=" not in html and "href=\"http" not in html  # nothing to fetch: all inline
    assert json.loads(html.split('id="run-data">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))["n_steps"] == n
    for bad in ("exe", "..%2f..%2fserver.py", "..", "%2e%2e"):
        resp, _ = request(server, "GET", f"/api/runs/{run_id}/export/{bad}")
        assert resp.status == 404, bad


# --------------------------------------------------------------------------------------------
# security
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/runs", "/live", "/trends", "/compare", "/runs/1", "/api/runs", "/static/css/app.css", "/nope"])
def test_csp_on_every_response(server, path):
    resp, body = request(server, "GET", path)
    assert resp.getheader("content-security-policy") == CSP
    assert "default-src 'self'" in CSP and "script-src 'self'" in CSP
    assert resp.getheader("x-content-type-options") == "nosniff"
    if path in ("/", "/live") and resp.status == 200:
        text = body.decode()
        assert "<script>" not in text and "style=" not in text  # no inline code: CSP holds
        assert "http://" not in text and "https://" not in text  # nothing from the internet


def test_static_files_only_the_vendored_ones(server):
    resp, body = request(server, "GET", "/static/vendor/uplot/uPlot.iife.min.js")
    assert resp.status == 200 and b"uPlot" in body
    resp, body = request(server, "GET", "/static/vendor/uplot/LICENSE")
    assert resp.status == 404  # no extension on the allow-list: not served (the licence ships in the package)
    for f in STATIC_DIR.rglob("*.html"):
        text = f.read_text()
        assert "http://" not in text and "https://" not in text, f


TRAVERSALS = [
    "/static/../server.py",
    "/static/../../pyproject.toml",
    "/static/%2e%2e/server.py",
    "/static/%2e%2e%2fserver.py",
    "/static/..%2fserver.py",
    "/static/%2E%2E%2F%2E%2E%2Fpyproject.toml",
    "/static/%252e%252e%252fserver.py",
    "/static/..%5cserver.py",
    "/static/..\\server.py",
    "/static/css/../../server.py",
    "/static/css/%2e%2e/%2e%2e/server.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/.%2e/server.py",
    "/static/css%2f..%2f..%2fserver.py",
    "/static/..;/server.py",
    "/static/%00../server.py",
    "/static/.hidden.js",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_traversal(server, path):
    resp, body = request(server, "GET", path)
    assert resp.status in (400, 404), (path, resp.status)
    assert b"create_app" not in body and b"[project]" not in body and b"root:" not in body


def test_safe_static_path_unit():
    assert safe_static_path(STATIC_DIR, "css/app.css") is not None
    for rel in ("../server.py", "%2e%2e/server.py", "%252e%252e/server.py", "css/../../server.py", "/etc/passwd", "a\\..\\b.js", "c:/x.js", ""):
        assert safe_static_path(STATIC_DIR, rel) is None, rel


def test_token_required_off_loopback(data):
    with pytest.raises(ValueError, match="token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ValueError, match="token"):
        ServerThread(create_app(data["dir"]), host="0.0.0.0", port=0)
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "s3cret")


def test_token_header_cookie_and_query(data):
    app = create_app(data["dir"], token="s3cret-token")
    with ServerThread(app, port=0, token="s3cret-token") as srv:
        resp, _ = request(srv, "GET", "/api/runs")
        assert resp.status == 401 and resp.getheader("content-security-policy")
        resp, _ = request(srv, "GET", "/api/runs", headers={"Authorization": "Bearer wrong"})
        assert resp.status == 401
        resp, _ = request(srv, "GET", "/api/runs", headers={"Authorization": "Bearer s3cret-token"})
        assert resp.status == 200
        resp, _ = request(srv, "GET", "/api/runs", headers={"X-Gait-Token": "s3cret-token"})
        assert resp.status == 200
        resp, _ = request(srv, "GET", "/runs?token=wrong")
        assert resp.status == 401
        resp, _ = request(srv, "GET", "/runs?token=s3cret-token&x=1")
        assert resp.status == 303 and resp.getheader("location") == "/runs?x=1"
        cookie = resp.getheader("set-cookie")
        assert "gait_token=s3cret-token" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        resp, _ = request(srv, "GET", "/api/runs", headers={"Cookie": "gait_token=s3cret-token"})
        assert resp.status == 200
        resp, _ = request(srv, "GET", "/static/../server.py", headers={"Cookie": "gait_token=s3cret-token"})
        assert resp.status == 404


def test_host_and_origin_checks(server):
    resp, _ = request(server, "GET", "/api/runs", host="evil.example:80")  # DNS rebinding
    assert resp.status == 421
    resp, _ = request(server, "GET", "/api/runs", host=f"localhost:{server.port}")
    assert resp.status == 200
    resp, _ = request(
        server, "POST", "/api/live/pain", body='{"score": 3}',
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"},
    )
    assert resp.status == 403


# --------------------------------------------------------------------------------------------
# live: bus, SSE, pain
# --------------------------------------------------------------------------------------------
def _read_sse(srv, want, timeout=5.0, headers=None):
    """Open the stream, call ``want(event, data)`` per message until it returns True; returns
    the wall time it took."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    conn.request("GET", "/api/live/stream", headers={"Host": f"127.0.0.1:{srv.port}", **(headers or {})})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-type").startswith("text/event-stream")
    assert resp.getheader("content-security-policy") == CSP
    event, buf = None, b""
    t_end = time.monotonic() + timeout
    try:
        while time.monotonic() < t_end:
            line = resp.fp.readline()
            if not line:
                break
            line = line.rstrip(b"\r\n")
            if line.startswith(b"event: "):
                event = line[7:].decode()
            elif line.startswith(b"data: "):
                buf = line[6:]
            elif not line and event:
                if want(event, json.loads(buf)):
                    return True
                event = None
    finally:
        conn.close()
    return False


def test_sse_delivers_each_step_within_a_second(server):
    bus: LiveBus = server.bus
    bus.start_run(run_id=None, info={"placement": "waist"})
    steps = synthetic_steps(5, seed=3)
    got: dict = {}

    def publisher():
        time.sleep(0.3)
        got["t_pub"] = time.monotonic()
        bus.publish(steps[-1])

    def want(event, d):
        if event == "step" and d["ic_s"] == round(steps[-1].ic_s, 4):
            got["t_recv"] = time.monotonic()
            got["step"] = d
            return True
        return False

    threading.Thread(target=publisher, daemon=True).start()
    assert _read_sse(server, want)
    assert got["t_recv"] - got["t_pub"] < 1.0
    assert got["step"]["cadence_spm"] == pytest.approx(steps[-1].cadence_spm, abs=1e-3)
    bus.end_run()


def test_sse_late_joiner_gets_state_and_history(server):
    bus: LiveBus = server.bus
    bus.start_run(run_id=None)
    for s in synthetic_steps(50, seed=4):
        bus.publish(s)
    bus.publish(Alert(10.0, "cadence", ALERT_CUE, "Quicker, shorter steps", 158.0, "165-173 spm", "warn"))
    bus.publish({"type": "health", "device": "pod", "received": 10, "dropped": 1, "malformed": 0, "battery_pct": 80})
    seen = {"step": 0}

    def want(event, d):
        if event == "state":
            seen["state"] = d
        elif event == "step":
            seen["step"] += 1
        elif event == "synced":
            return True
        return False

    assert _read_sse(server, want)
    assert seen["step"] == 50
    assert seen["state"]["active"] and seen["state"]["cue"]["message"] == "Quicker, shorter steps"
    assert seen["state"]["health"]["pod"]["dropped"] == 1
    bus.end_run()


def test_pain_button_reaches_coach_and_store(server, data):
    bus: LiveBus = server.bus
    resp, body = request(server, "POST", "/api/live/pain", body='{"score": 3}', headers={"Content-Type": "application/json"})
    assert resp.status == 409  # no live run
    # a live run: the run engine with the local store and the bus as sinks (what gait live builds)
    from gait.engine.setup import RunOptions, open_engine

    engine = open_engine(RunOptions(data_dir=str(data["dir"]), runner="pain-test", placement="waist", cues="silent"),
                         bus=bus, display=False)  # fmt: skip
    engine.start()
    run_id = engine.summary.run_id
    try:
        resp, body = request(server, "POST", "/api/live/pain", body='{"score": 8, "note": "calf"}', headers={"Content-Type": "application/json"})
        assert resp.status == 200, body
        out = json.loads(body)
        assert [r["type"] for r in out["records"]] == ["pain", "alert"]
        assert bus.state.cue["kind"] == "stop"
        assert [(p.score, p.note) for p in engine.summary.pain_notes] == [(8, "calf")]  # the run's coach heard it
        for bad in ('{"score": 11}', '{"score": -1}', '{"score": "x"}', '{"score": 2.5}', "{}", "nope"):
            resp, _ = request(server, "POST", "/api/live/pain", body=bad, headers={"Content-Type": "application/json"})
            assert resp.status == 400, bad
        resp, _ = request(server, "POST", "/api/live/pain", body="score=3", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status == 415
        resp, _ = request(server, "GET", "/api/live/pain")
        assert resp.status == 405
    finally:
        engine.finish()
    with Store(data["dir"], recover=False) as store:  # stored once, by the run's own store sink
        assert [(p.score, p.note) for p in store.pain_notes(run_id)] == [(8, "calf")]
        assert [a.kind for a in store.alerts(run_id)] == ["stop"]


def test_bus_never_blocks_and_drops_oldest():
    async def main():
        bus = LiveBus(client_queue=16)
        sub = bus.subscribe()
        sub.take()  # the backlog
        steps = synthetic_steps(2000, seed=5)
        t0 = time.perf_counter()
        for s in steps:  # a client that never reads
            bus.publish(s)
        elapsed = time.perf_counter() - t0
        items = sub.take()
        assert elapsed < 1.0  # 2000 steps: far more than a 200 Hz source makes steps (~3/s)
        assert sub.dropped == 2000 - 16 and bus.stats.dropped == 2000 - 16
        assert items[0].startswith("event: dropped")
        assert f'"ic_s":{round(steps[-1].ic_s, 4)}' in items[-1]  # the newest kept
        assert bus.publish(object()) is False and bus.stats.rejected == 1

        class Health:  # the device layer's Health, duck-typed
            received = 5

            def to_dict(self):
                return {"device": "h10", "received": 5, "dropped": 0, "malformed": 1, "battery_pct": None}

        assert bus.publish(Health())
        assert bus.snapshot()["health"]["h10"]["malformed"] == 1
        sub.close()
        assert bus.stats.subscribers == 0

    asyncio.run(main())


def test_bus_with_synthetic_200hz_status_stream():
    """A 200 Hz source: the live run publishes steps (~3/s) and a status once a second, never
    samples; one minute of that goes through in milliseconds."""
    bus = LiveBus()
    t0 = time.perf_counter()
    for i, s in enumerate(synthetic_steps(170, seed=6)):
        bus.publish(s)
        if i % 3 == 0:
            bus.publish({"type": "health", "device": "pod", "received": i * 20, "sample_rate_hz": 200.0})
    assert time.perf_counter() - t0 < 0.5
    assert bus.stats.steps == 170 and len(bus.recent_steps()) == 170


def test_store_synthetic_run_roundtrip(tmp_path):
    with Store(tmp_path) as store:
        rid = store_synthetic_run(store, synthetic_steps(300, seed=1), start_time=1_700_000_000.0, pain=(1, 2, 3), cues=2)
        s = store.summary(rid)
    assert s.steps == 300 and s.pain_before == 1 and s.pain_during_max == 2 and s.pain_after == 3 and s.cues == 2


def test_review_payload_stored_at_close_and_voided_by_writes(tmp_path):
    import gzip

    from dashboards.server import REVIEW_PAYLOAD, review_payload_gz, review_payload_version, run_payload_text

    with Store(tmp_path) as store:
        run_id = store_synthetic_run(store, synthetic_steps(400, seed=3), start_time=time.time() - 600, cues=1)
        version = review_payload_version()
        blob = store.derived(run_id, REVIEW_PAYLOAD, version)  # built by the close hook
        assert blob is not None and gzip.decompress(blob).decode() == run_payload_text(store, run_id)
        assert store.derived(run_id, REVIEW_PAYLOAD, "another version") is None
        store.set_notes(run_id, "edited")
        assert store.derived(run_id, REVIEW_PAYLOAD, version) is None  # notes changed: rebuilt
        assert json.loads(gzip.decompress(review_payload_gz(store, run_id)))["info"]["notes"] == "edited"
        assert store.derived(run_id, REVIEW_PAYLOAD, version) is not None
        store.write(run_id, [PainNote(10.0, 1, "during")])
        assert store.derived(run_id, REVIEW_PAYLOAD, version) is None  # written again: voided
        assert json.loads(gzip.decompress(review_payload_gz(store, run_id)))["pain"][-1]["score"] == 1
    app = create_app(tmp_path)
    with ServerThread(app, port=0) as srv:
        resp, plain = request(srv, "GET", f"/api/runs/{run_id}")
        assert resp.getheader("content-encoding") is None and json.loads(plain)["run_id"] == run_id
        resp, packed = request(srv, "GET", f"/api/runs/{run_id}", headers={"Accept-Encoding": "gzip, br"})
        assert resp.getheader("content-encoding") == "gzip" and gzip.decompress(packed) == plain


def test_prebuild_stores_payloads_of_runs_closed_without_the_dashboards(tmp_path):
    from dashboards.server import REVIEW_PAYLOAD, prebuild_review_payloads, review_payload_version
    from gait.storage import Store

    with Store(tmp_path) as store:
        run_id = store.open_run(runner="r", placement="waist")
        store.close_run(run_id)
    # a closed run whose stored payload is missing (as when closed by a process without dashboards)
    import sqlite3

    con = sqlite3.connect(tmp_path / "gait.sqlite")
    con.execute("DELETE FROM derived_cache")
    con.commit()
    con.close()
    assert prebuild_review_payloads(tmp_path) == 1
    with Store(tmp_path) as store:
        assert store.derived(run_id, REVIEW_PAYLOAD, review_payload_version()) is not None
    assert prebuild_review_payloads(tmp_path) == 0
