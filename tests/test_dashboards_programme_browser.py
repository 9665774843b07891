"""The programme pages in a real browser (Playwright driving Debian's Chromium).

- The red-flag panel is visible on /programme, /checkin and /export (desktop and a 390 px phone,
  with no horizontal scroll), and says "both legs", "genitals", "bladder" or "pee", and "bowel".
- A check-in entered in the page changes the traffic light (yesterday's session: waiting, then red
  when the morning pain did not settle).
- An emergency answer in the page locks the programme: the pages say "Seek emergency care now",
  ``gait programme status`` says emergency, and ``gait live`` refuses to start a run when the run
  engine asks the programme first.

Screenshots go to a temporary folder (printed); with GAIT_UPDATE_SCREENSHOTS=1 they also replace
the README's copies in docs/screenshots/. Chromium missing: skipped outside CI, a failure in CI.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, keep_screenshots
from tests.test_dashboards_programme import DAY, programme_history

pytest.importorskip("playwright.sync_api")

PAGES = ("/programme", "/checkin", "/export")



@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    out = tmp_path_factory.mktemp("screenshots")
    (out / "pages").mkdir()
    print(f"\nscreenshots: {out}")
    yield out
    keep_screenshots(out)  # the README's copies, on request only


def serve(folder):
    from dashboards.server import ServerThread, create_app

    return ServerThread(create_app(folder, programme_today=lambda: DAY), port=0)


def open_page(browser, **kw):
    ctx = browser.new_context(**kw)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
    return ctx, page, errors, outside


def check_panel(page):
    panel = page.locator("#red-flags")
    assert panel.is_visible()
    box = panel.bounding_box()
    assert box and box["height"] > 80 and box["width"] > 300
    text = panel.inner_text().lower()
    assert "both legs" in text and "genitals" in text and "bowel" in text
    assert "bladder" in text or "pee" in text
    assert panel.locator("li").count() == 6  # the six emergency signs, one line each
    assert page.locator("#red-flags details, #red-flags button[aria-expanded]").count() == 0  # nothing folds it


def test_red_flag_panel_on_every_programme_page(browser, tmp_path, shots):
    programme_history(tmp_path)
    with serve(tmp_path) as srv:
        for kw, tag in (({"viewport": {"width": 1366, "height": 900}}, "desktop"),
                        ({"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                          "has_touch": True}, "phone")):
            ctx, page, errors, outside = open_page(browser, **kw)
            for path in PAGES:
                page.goto(f"{srv.base}{path}")
                page.wait_for_selector("body[data-ready='1']", timeout=15_000)
                check_panel(page)
                assert page.locator("#app .bad").count() == 0, page.locator("#app").inner_text()
                assert page.evaluate("document.documentElement.scrollWidth") <= kw["viewport"]["width"], (path, tag)
                name = path.strip("/")  # kept with the test's screenshots, not copied to the README's
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(shots / "pages" / f"programme-{name}-{tag}.png"), full_page=True)
            page.goto(f"{srv.base}/programme")
            page.wait_for_selector("body[data-ready='1']")
            assert page.locator("#plan-kind").inner_text().lower() == "rest"  # the day after a run
            assert "walk-run" in page.locator("#plan-next").inner_text()
            assert page.locator("#traffic td[data-zone]").count() == 2
            legend = page.locator("#traffic-legend").inner_text().lower()
            for word in ("green", "amber", "red", "unknown"):
                assert word in legend  # the classes in words, not colour only
            assert page.locator("#stages tbody tr").count() >= 1
            page.goto(f"{srv.base}/export")
            page.wait_for_selector("#exports a")
            assert page.locator("#exports a").count() == 7
            assert not errors, errors
            assert not outside, outside
            ctx.close()


def test_checkin_in_the_page_changes_the_traffic_light(browser, tmp_path, shots):
    programme_history(tmp_path)
    yday = (DAY - dt.timedelta(days=1)).isoformat()
    with serve(tmp_path) as srv:
        ctx, page, errors, outside = open_page(browser, viewport={"width": 1366, "height": 900})
        page.goto(f"{srv.base}/programme")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        cell = page.locator(f"#traffic td[data-date='{yday}']")
        assert cell.get_attribute("data-zone") == "pending"
        assert page.locator("#last-zone").get_attribute("data-zone") == "green"
        form = page.locator("#checkin-form")
        form.locator("label[data-field='when'][data-value='morning']").click()
        form.locator("label[data-field='back'][data-value='5']").click()
        form.locator("label[data-field='leg'][data-value='3']").click()
        form.locator("label[data-field='leg_extent'][data-value='1']").click()
        form.locator("#checkin-save").click()
        page.wait_for_function("() => document.body.dataset.updates == '2'", timeout=10_000)
        cell = page.locator(f"#traffic td[data-date='{yday}']")
        assert cell.get_attribute("data-zone") == "red"  # the morning did not settle (5 > 2 + 1)
        assert "red" in cell.get_attribute("aria-label")
        assert page.locator("#last-zone").get_attribute("data-zone") == "red"
        assert "saved" in page.locator("#checkin-flash").inner_text().lower()
        assert "Morning: back 5, leg 3" in page.locator("#checkins").inner_text()
        check_panel(page)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky bar where a reader sees it, at the top
        page.wait_for_timeout(100)
        page.screenshot(path=str(shots / "programme.png"), full_page=True)
        # a screen answered all "no" needs the page's own origin: Chromium's fetch from the page sends it
        page.goto(f"{srv.base}/checkin")
        page.wait_for_selector("body[data-ready='1']")
        for q in page.locator("#screen-form fieldset.q").all():
            q.locator("label[data-answer='no']").click()
        page.locator("#screen-save").click()
        page.wait_for_function("() => document.body.dataset.updates == '2'", timeout=10_000)
        assert "No warning signs reported" in page.locator("#checkin-flash").inner_text()
        assert page.locator("#screens li").first.inner_text().endswith("no warning signs")
        assert not errors, errors
        assert not outside, outside
        ctx.close()


def _engine_asks_the_programme() -> bool:
    """Does the run engine ask the programme before a live run (the lock's refusal)?"""
    return any("gait.programme" in p.read_text(encoding="utf-8") for p in (REPO / "gait" / "engine").glob("*.py"))


def test_emergency_answer_in_the_page_locks_the_programme(browser, tmp_path, shots):
    programme_history(tmp_path)
    with serve(tmp_path) as srv:
        ctx, page, errors, outside = open_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                               is_mobile=True, has_touch=True)
        page.goto(f"{srv.base}/checkin")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        assert page.locator("#state-banner").is_hidden()
        form = page.locator("#screen-form")
        for q in form.locator("fieldset.q").all():
            answer = "yes" if q.get_attribute("data-q") == "bladder" else "no"
            q.locator(f"label[data-answer='{answer}']").click()
        assert form.locator("fieldset.q[data-q='bladder'] .q-yes").is_visible()  # what to do, at once
        form.locator("#screen-save").click()
        page.wait_for_function("() => document.body.dataset.state == 'emergency'", timeout=10_000)
        banner = page.locator("#state-banner")
        assert banner.is_visible() and "Seek emergency care now" in banner.inner_text()
        check_panel(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("window.scrollY") == 0  # the banner in view
        page.screenshot(path=str(shots / "programme-emergency-phone.png"), full_page=False)
        for path in PAGES:  # every programme page says it
            page.goto(f"{srv.base}{path}")
            page.wait_for_selector("body[data-ready='1']")
            assert "Seek emergency care now" in page.locator("#state-banner").inner_text(), path
            check_panel(page)
        page.goto(f"{srv.base}/programme")
        page.wait_for_selector("body[data-ready='1']")
        assert "Nothing may start today" in page.locator("#today").inner_text()
        assert not errors, errors
        assert not outside, outside
        ctx.close()

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "gait.cli", "programme", "status", "--json", "--data-dir", str(tmp_path),
                           "--date", DAY.isoformat()], capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["state"] == "emergency" and status["today"]["allowed"] == []
    if not _engine_asks_the_programme():
        print("gait live: the run engine does not ask the programme yet; the lock is checked through its status")
        return
    proc = subprocess.run([sys.executable, "-m", "gait.cli", "live", "--source", "simulator", "--duration", "5",
                           "--speed", "max", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=Path(REPO))
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "emergency" in (proc.stdout + proc.stderr).lower()


def _no_horizontal_scroll(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_focus_and_association_view(browser, tmp_path, shots):
    """Enough sessions (16 over 30 days): the focus with its session, feedback share and a target
    relative to the baseline; the association as a timeline and a scatter with n and rho, the focus
    change marked, and its caption; on a 390 px phone without horizontal scroll."""
    from tests.test_dashboards_programme import focus_history

    focus_history(tmp_path)
    with serve(tmp_path) as srv:
        for kw, tag in (({"viewport": {"width": 1366, "height": 900}}, "desktop"),
                        ({"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                          "has_touch": True}, "phone")):
            ctx, page, errors, outside = open_page(browser, **kw)
            page.goto(f"{srv.base}/programme")
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            assert page.locator("#focus-metric").get_attribute("data-metric") == "cadence"
            assert " of 8" in page.locator("#focus-session").inner_text()
            assert page.locator("#focus-feedback").inner_text()
            target = page.locator("#focus-target").inner_text()
            assert "against your baseline" in target and "160" in target and "180" not in target
            assert page.locator("#probes tbody tr").count() == 3
            assoc = page.locator("#association")
            assert assoc.locator("#assoc-timeline circle.pt").count() == 16
            assert assoc.locator("#assoc-timeline .focus-change").count() == 1
            assert assoc.locator("#assoc-scatter circle.pt").count() >= 10
            stats = assoc.locator("#assoc-stats")
            assert stats.get_attribute("data-n") == "16" and "Spearman" in stats.inner_text()
            caption = assoc.locator("#assoc-caption")
            assert caption.is_visible() and "not proof of cause" in caption.inner_text()
            assert assoc.locator("#assoc-empty").count() == 0
            _no_horizontal_scroll(page, kw["viewport"]["width"])
            check_panel(page)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / "pages" / f"programme-focus-{tag}.png"), full_page=True)
            assert not errors, errors
            assert not outside, outside
            ctx.close()


def test_association_needs_enough_sessions(browser, tmp_path):
    from tests.test_dashboards_programme import focus_history

    focus_history(tmp_path, sessions=5)
    with serve(tmp_path) as srv:
        ctx, page, errors, outside = open_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(f"{srv.base}/programme")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        assoc = page.locator("#association")
        assert "not enough data yet" in assoc.locator("#assoc-empty").inner_text().lower()
        assert assoc.locator("svg").count() == 0
        assert "not proof of cause" in assoc.locator("#assoc-caption").inner_text()
        _no_horizontal_scroll(page, 390)
        assert not errors, errors
        assert not outside, outside
        ctx.close()


def test_timers_refuse_on_numb_skin(browser, tmp_path, shots):
    programme_history(tmp_path)
    with serve(tmp_path) as srv:
        ctx, page, errors, outside = open_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                               is_mobile=True, has_touch=True)
        page.goto(f"{srv.base}/programme")
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        form = page.locator("#heat-form")
        assert "not shown to prepare you for running" in form.locator("#heat-evidence").inner_text()
        assert "insufficient" in page.locator("#ice-evidence").inner_text()
        form.locator("label[data-answer='yes']").click()
        form.locator("#heat-start").click()
        status = page.locator("#heat-status")
        page.wait_for_function("() => document.querySelector('#heat-status').dataset.refused === '1'", timeout=10_000)
        assert "numb" in status.inner_text() and status.inner_text().startswith("Not started")
        assert page.locator("#timers-today").count() == 0
        _no_horizontal_scroll(page, 390)
        page.screenshot(path=str(shots / "pages" / "programme-timer-refused-phone.png"), full_page=False)
        form = page.locator("#ice-form")
        form.locator("label[data-answer='no']").click()
        form.locator("#ice-start").click()
        page.wait_for_function("() => document.body.dataset.updates == '2'", timeout=10_000)
        assert "Ice timer started" in page.locator("#care-flash").inner_text()
        assert page.locator("#timers-today li[data-kind='ice']").count() == 1
        assert "left" in page.locator("#timers-today .countdown").inner_text()
        errors = [e for e in errors if "status of 409" not in e]  # the refusal's own answer, logged by Chromium
        assert not errors, errors
        assert not outside, outside
        ctx.close()
