"""The dashboards in a real browser (Playwright driving Debian's Chromium).

The live page receives a real recording's analysis (the adept outdoor run through the pipeline
and the coach) published on the bus, and must show the last step's numbers and the cue; the review
pages must show a stored run with the store's numbers. Screenshots go to a temporary folder
(printed, kept as test artefacts); with GAIT_UPDATE_SCREENSHOTS=1 they also replace the README's
copies in docs/screenshots/.

Chromium missing: skipped outside CI (install with ``apt-get install chromium``), a failure in CI.
"""

from __future__ import annotations

import threading
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.conftest import keep_screenshots

pytest.importorskip("playwright.sync_api")



def js_fixed(v: float, nd: int) -> str:
    """JavaScript's Number(v).toFixed(nd) (ties away from zero, on the exact binary value)."""
    q = Decimal(1).scaleb(-nd)
    return str(Decimal(v).quantize(q, rounding=ROUND_HALF_UP))




@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    out = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {out}")
    yield out
    keep_screenshots(out)  # the README's copies, on request only


@pytest.fixture(scope="module")
def recorded():
    """Steps and coach alerts of 6 minutes of the real adept run (waist, with the run's speed)."""
    from gait.dashboard_demo import ADEPT_SPEED_MPS
    from gait.demo import ADEPT_RATE_HZ, adept_sensors, load_adept_run, stream_sensors

    hip = load_adept_run(minutes=8.0)["left_hip"]
    hip = hip.slice(int(2 * 60 * ADEPT_RATE_HZ), len(hip))
    res, summary, _ = stream_sensors(adept_sensors({"left_hip": hip}), speed_mps=ADEPT_SPEED_MPS)
    steps, alerts = res["hip"].steps, summary.alerts
    assert len(steps) > 500
    return steps, alerts


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    """A store with the real run replayed through pipeline + coach, and synthetic weeks for trends."""
    from dashboards.bus import LiveBus
    from dashboards.run_demo import synthetic_history
    from gait.dashboard_demo import replay_adept
    from gait.storage import Store

    folder = tmp_path_factory.mktemp("browser-store")
    with Store(folder) as store:
        synthetic_history(store, weeks=8, runs_per_week=3, now=time.time() - 86400)
        real = replay_adept(store, LiveBus(), speed=None, say=lambda s: None, start_time=time.time() - 3600)
    return folder, real


@pytest.fixture(scope="module")
def server(store_dir):
    from dashboards.bus import LiveBus
    from dashboards.server import ServerThread, create_app

    bus = LiveBus()
    with ServerThread(create_app(store_dir[0], bus=bus), port=0) as srv:
        srv.bus = bus
        yield srv


def _page(browser, **kw):
    ctx = browser.new_context(**kw)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "file:")) else None)
    return ctx, page, errors, outside


def _tile(page, metric):
    return page.locator(f"#tile-{metric} .num").inner_text()


def test_live_page_shows_replayed_run(browser, server, recorded, shots, store_dir):
    from gait.core.records import PainNote
    from gait.storage import Store

    steps, alerts = recorded
    bus = server.bus
    with Store(store_dir[0]) as store:
        run_id = store.open_run(runner="live test", placement="waist")
    pains = []

    def on_pain(score, phase, note):
        pains.append(score)
        return [PainNote(steps[-1].to_s, score, phase, note)]

    bus.start_run(run_id=run_id, info={"placement": "waist"}, on_pain=on_pain)
    cue = next(a for a in alerts if a.kind == "cue")
    ctx, page, errors, outside = _page(browser, viewport={"width": 1366, "height": 900})
    page.goto(f"{server.base}/live")
    page.wait_for_function("() => document.getElementById('conn-text').textContent.length > 0")

    def publish():
        t_end = steps[-1].ic_s
        pending = sorted(alerts, key=lambda a: a.time_s)
        for i, s in enumerate(steps):
            bus.publish(s)
            while pending and pending[0].time_s <= s.emitted_s:
                bus.publish(pending.pop(0))
            if i % 40 == 0:
                bus.publish({"type": "health", "device": "left_hip", "kind": "ActiGraph GT9X", "received": i * 3,
                             "dropped": 2, "malformed": 1, "gaps": 1, "missing_samples": 20, "battery_pct": 76})
            time.sleep(0.002 if s.ic_s < t_end - 20 else 0.0)

    th = threading.Thread(target=publish)
    th.start()
    th.join()
    last = steps[-1]
    page.wait_for_function(f"() => document.body.dataset.lastIc == '{round(last.ic_s, 4)}'", timeout=10_000)
    # today's session: the interval and its countdown (stream time: the last step's)
    t_now = last.emitted_s
    bus.publish({"type": "interval", "phase": "run", "index": 2, "count": 6, "start_s": t_now - 30.0,
                 "end_s": t_now + 90.0, "text": "Run now. 2 of 6."})  # fmt: skip
    page.wait_for_function("() => document.getElementById('interval').dataset.phase == 'run'", timeout=5_000)
    assert page.locator("#interval-phase").inner_text() == "RUN"
    assert page.locator("#interval-count").inner_text() == "2 of 6"
    left = page.locator("#interval-left").inner_text()
    assert left.endswith(" left") and left.startswith(("1:2", "1:3")), left  # 90 s less the page's seconds
    bus.publish(cue)  # the cue on screen for the check and the screenshot
    page.wait_for_function("() => document.getElementById('banner').classList.contains('cue')", timeout=5_000)
    page.wait_for_timeout(400)
    assert _tile(page, "cadence_spm") == js_fixed(round(last.cadence_spm, 3), 0)
    assert _tile(page, "gct_ms") == js_fixed(round(last.gct_ms, 3), 0)
    assert _tile(page, "vo_cm") == js_fixed(round(last.vo_cm, 3), 1)
    assert _tile(page, "vertical_ratio_pct") == js_fixed(round(last.vertical_ratio_pct, 3), 1)
    assert _tile(page, "lean_deg") == js_fixed(round(last.lean_deg, 3), 1)
    assert page.locator("#banner-text").inner_text() == cue.message
    assert "76%" in page.locator("#health").inner_text()
    page.screenshot(path=str(shots / "live-desktop.png"), full_page=True)

    # a phone
    pctx, phone, perrors, poutside = _page(
        browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    phone.goto(f"{server.base}/live")
    phone.wait_for_function(f"() => document.body.dataset.lastIc == '{round(last.ic_s, 4)}'", timeout=10_000)
    phone.wait_for_timeout(500)
    assert phone.locator("#tile-cadence_spm .num").inner_text() == js_fixed(round(last.cadence_spm, 3), 0)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    phone.locator("#pain-grid button[data-score='3']").click()
    phone.wait_for_function("() => document.getElementById('pain-status').textContent.includes('saved')", timeout=5_000)
    phone.evaluate("window.scrollTo(0, 0)")
    phone.wait_for_timeout(200)
    phone.screenshot(path=str(shots / "live-phone.png"), full_page=False)
    assert pains == [3]
    bus.end_run()
    with Store(store_dir[0], recover=False) as store:  # the live run's own sinks store it, not the server
        assert store.pain_notes(run_id) == []
    assert not errors and not perrors, errors + perrors
    assert not outside and not poutside
    ctx.close()
    pctx.close()


def test_review_run_page_matches_store(browser, server, store_dir, shots):
    from gait.storage import Store

    folder, run_id = store_dir
    with Store(folder, recover=False) as store:
        summary = store.summary(run_id)
        km = store.splits(run_id, by="km")
    ctx, page, errors, outside = _page(browser, viewport={"width": 1366, "height": 900})
    page.goto(f"{server.base}/runs/{run_id}")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert page.locator("#summary [data-metric='steps'] .num").inner_text() == f"{summary.steps:,}"
    assert page.locator("#summary [data-metric='cadence_spm'] .num").inner_text() == js_fixed(summary.cadence_spm, 0)
    assert page.locator("#summary [data-metric='vo_cm'] .num").inner_text() == js_fixed(summary.vo_cm, 1)
    row = page.locator("#splits tbody tr").first
    assert page.locator("#splits").get_attribute("data-by") == "km"
    assert row.locator("td[data-col='cadence_spm']").inner_text() == js_fixed(round(km[0].cadence_spm, 3), 0)
    assert row.locator("td").nth(4).inner_text() == str(km[0].steps)
    assert page.locator("#splits tbody tr").count() == len(km)
    assert page.locator("#charts .chart").count() >= 5
    assert page.locator("#alerts li").count() >= 1
    page.screenshot(path=str(shots / "review-run.png"), full_page=True)
    page.locator("[data-key='minute']").click()
    assert page.locator("#splits").get_attribute("data-by") == "minute"

    page.goto(f"{server.base}/")
    page.wait_for_selector("#runs tbody tr")
    with Store(folder, recover=False) as store:
        assert page.locator("#runs tbody tr").count() == len(store.run_ids())

    page.goto(f"{server.base}/trends")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert page.locator("#verdicts .verdict").count() >= 3
    # what changed and in which direction; never that a change worked (no cause from medians)
    body = page.locator("main").inner_text().lower()
    assert "working" not in body and "worked" not in body and ("up from" in body or "down from" in body)
    page.screenshot(path=str(shots / "trends.png"), full_page=True)

    ids = Store(folder, recover=False).run_ids()
    page.goto(f"{server.base}/compare?a={ids[-1]}&b={ids[1]}")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert page.locator("#compare tbody tr").count() >= 8
    assert "working" not in page.locator("main").inner_text().lower()
    page.screenshot(path=str(shots / "compare.png"), full_page=True)
    assert not errors, errors
    assert not outside, outside
    ctx.close()


def test_report_is_self_contained(browser, store_dir, tmp_path):
    from dashboards.report import write_report
    from gait.storage import Store

    folder, run_id = store_dir
    with Store(folder, recover=False) as store:
        path = write_report(store, run_id, tmp_path / "report.html")
        steps = store.summary(run_id).steps
    ctx, page, errors, outside = _page(browser, viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(Path(path).as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert page.locator("#summary [data-metric='steps'] .num").inner_text() == f"{steps:,}"
    assert requests == [Path(path).as_uri()]  # the file itself and nothing else
    assert not errors, errors
    ctx.close()


def test_review_open_bench(browser):
    """Prints the review-open timing of a 2-hour run (not a tight timed test)."""
    from dashboards.bench import bench_review_open

    figures = bench_review_open(n_steps=21_600, pw_browser=browser)
    assert figures["browser_total_ms"] < 10_000


def test_live_lag_bench(browser):
    """Prints how far behind the bus the live page is, at a 200 Hz stream's step rate and in a
    burst (not a tight timed test)."""
    from dashboards.bench import bench_live_lag

    figures = bench_live_lag(phases=((3.0, 5.0), (50.0, 10.0)), pw_browser=browser)
    assert figures["3_per_s_shown"] == 1.0 and figures["50_per_s_shown"] > 0.9


def test_wrist_run_shows_the_arm_metrics(browser, tmp_path, shots):
    """A wrist run (the tests' synthetic arm through the pipeline): the review page shows the arm
    crossing and swing (tiles, charts, the Arms section saying they are unvalidated), and the live
    page shows the arm tile once a step carries it."""
    import numpy as np

    from dashboards.bus import LiveBus
    from dashboards.server import ServerThread, create_app
    from gait.core.config import PipelineConfig
    from gait.core.records import SampleBlock
    from gait.pipeline import analyze
    from gait.storage import Store
    from tests.wrist_motion import ArmRun

    run = ArmRun(seconds=60.0, plane_deg=15.0)
    t, acc, gyr = run.recording()
    cfg = PipelineConfig(placement="wrist")
    steps = analyze(SampleBlock(t, acc, gyr), cfg, run.fs).steps
    with Store(tmp_path) as store:
        run_id = store.open_run(runner="wrist test", config=cfg, start_time=time.time() - 600, devices=["watch"])
        store.write(run_id, steps, device="watch")
        store.close_run(run_id)
    cross = np.median([round(s.arm_cross_cm, 1) for s in steps if s.arm_cross_cm is not None])
    swing = np.median([round(s.arm_swing_deg, 1) for s in steps if s.arm_swing_deg is not None])
    bus = LiveBus()
    with ServerThread(create_app(tmp_path, bus=bus), port=0) as srv:
        ctx, page, errors, outside = _page(browser, viewport={"width": 1366, "height": 900})
        page.goto(f"{srv.base}/runs/{run_id}")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        assert page.locator("#summary [data-metric='arm_cross_cm'] .num").inner_text() == js_fixed(cross, 1)
        assert page.locator("#summary [data-metric='arm_swing_deg'] .num").inner_text() == js_fixed(swing, 0)
        assert page.locator("#charts .chart[data-metric='arm_cross_cm']").count() == 1
        assert page.locator("#charts .chart[data-metric='arm_swing_deg']").count() == 1
        assert "Unvalidated" in page.locator("main").inner_text()
        assert page.locator("#arms").is_visible()
        page.screenshot(path=str(shots / "review-wrist.png"), full_page=True)

        bus.start_run(run_id=run_id + 1, info={"placement": "wrist"})
        live = page
        live.goto(f"{srv.base}/live")
        live.wait_for_function("() => document.getElementById('conn-text').textContent.length > 0")
        for s in steps[:40]:
            bus.publish(s)
        last = steps[39]
        live.wait_for_function(f"() => document.body.dataset.lastIc == '{round(last.ic_s, 4)}'", timeout=10_000)
        assert _tile(live, "arm_cross_cm") == js_fixed(round(last.arm_cross_cm, 3), 1)
        assert _tile(live, "cadence_spm") == js_fixed(round(last.cadence_spm, 3), 0)
        assert "unvalidated" in live.locator("#tile-arm_cross_cm").inner_text().lower()
        bus.end_run()
        assert not errors, errors
        assert not outside, outside
        ctx.close()
