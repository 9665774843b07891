"""Dashboard benchmarks: how fast a long run opens in review, and how far the live page lags.

    python -m dashboards.bench [--live]
    bench_review_open()             # a 2-hour run: server JSON time + browser render time, printed
    bench_live_lag()                # steps published at a 200 Hz stream's rate: page lag, printed

Both print figures and assert nothing (the browser tests run them once). Headless Chromium
through Playwright (`find_chromium`, `CHROMIUM_ARGS`), when they are installed.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dashboards.bus import LiveBus
from dashboards.run_demo import store_synthetic_run, synthetic_steps
from dashboards.server import ServerThread, create_app, run_payload_text
from gait.storage import Store


# ----------------------------------------------------------------------------------------------
# speed: how fast a long run opens in review
# ----------------------------------------------------------------------------------------------
def bench_review_open(
    n_steps: int = 21_600,
    browser: bool = True,
    chromium: str | None = None,
    out: Callable[[str], None] = print,
    pw_browser: Any = None,
) -> dict[str, float]:
    """Store a 2-hour run (``n_steps`` steps, foot pod with speed; closing it builds and stores its
    review payload, as a live run's end does), then time: building the payload (store -> JSON text
    -> gzip), the cold HTTP fetch (a fresh server: one blob read), and in the browser (when
    Playwright and Chromium are available; ``pw_browser``: an already launched Playwright browser)
    the page's own timings: cold (first open after the server starts), warm (second open), and
    cold without a stored payload (a run closed by a process without the dashboards: built on
    its first open). Prints one line and returns the figures (milliseconds)."""
    import gzip
    import urllib.request

    from dashboards.server import REVIEW_PAYLOAD, review_payload_gz

    figures: dict[str, float] = {}

    def fetch(url: str) -> float:
        t0 = time.perf_counter()
        req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as resp:
            resp.read()
        return (time.perf_counter() - t0) * 1000

    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        with Store(tmp) as store:
            run_id = store_synthetic_run(store, synthetic_steps(n_steps, seed=7), start_time=time.time() - 7200, cues=6)
            t0 = time.perf_counter()
            text = run_payload_text(store, run_id)
            figures["server_json_ms"] = (time.perf_counter() - t0) * 1000
            figures["json_kb"] = len(text) / 1024
            t0 = time.perf_counter()
            blob = gzip.compress(text.encode(), compresslevel=5, mtime=0)
            figures["gzip_ms"] = (time.perf_counter() - t0) * 1000
            figures["gzip_kb"] = len(blob) / 1024
            assert review_payload_gz(store, run_id) == blob  # the close hook stored it
        url = f"/runs/{run_id}"
        with ServerThread(create_app(tmp), port=0) as srv:
            figures["http_cold_ms"] = fetch(f"{srv.base}/api/runs/{run_id}")  # a fresh server: the stored blob
            figures["http_warm_ms"] = fetch(f"{srv.base}/api/runs/{run_id}")
        if browser:
            with ServerThread(create_app(tmp), port=0) as srv:  # cold: the server has not served anything yet
                cold = _browser_open_times(srv.base + url, chromium, pw_browser, repeat=2)
            if cold:
                figures.update(cold[0])
                figures.update({f"warm_{k}": v for k, v in cold[1].items()})
            with Store(tmp) as store:  # no stored payload: built on the first open
                store.conn.execute("DELETE FROM derived_cache WHERE name = ?", (REVIEW_PAYLOAD,))
            with ServerThread(create_app(tmp), port=0) as srv:
                unstored = _browser_open_times(srv.base + url, chromium, pw_browser)
            if unstored:
                figures.update({f"unstored_{k}": v for k, v in unstored[0].items()})
    line = (
        f"review open, {n_steps:,}-step run: payload built once at close {figures['server_json_ms']:.0f} ms"
        f" + gzip {figures['gzip_ms']:.0f} ms ({figures['json_kb']:.0f} kB JSON, {figures['gzip_kb']:.0f} kB stored),"
        f" HTTP fetch cold {figures['http_cold_ms']:.0f} ms, warm {figures['http_warm_ms']:.0f} ms"
    )
    if "browser_total_ms" in figures:
        line += (
            f"; browser cold: scripts ran {figures['browser_script_ms']:.0f} ms, fetch+parse {figures['browser_fetch_ms']:.0f}"
            f" ms, render {figures['browser_render_ms']:.0f} ms, everything drawn {figures['browser_total_ms']:.0f} ms"
            f" after navigation start; warm: everything drawn {figures['warm_browser_total_ms']:.0f} ms;"
            f" cold without a stored payload: {figures['unstored_browser_total_ms']:.0f} ms"
        )
    elif browser:
        line += " (browser timing skipped: Playwright or Chromium missing)"
    out(line)
    return figures


def bench_live_lag(
    phases: tuple[tuple[float, float], ...] = ((3.0, 20.0), (50.0, 20.0)),
    chromium: str | None = None,
    out: Callable[[str], None] = print,
    pw_browser: Any = None,
) -> dict[str, float]:
    """Does the live page keep up? Publish steps on the bus at ``rate`` steps/s for ``seconds`` s
    per phase (3/s: what a 200 Hz stream produces; 50/s: a burst) and time, per step, publish ->
    the page's numbers updated (DOM) and -> the next frame (traces drawn). Prints p50/p99/max per
    phase and returns them (milliseconds); {} without Playwright or Chromium."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        Store(tmp).close()
        bus = LiveBus()
        with ServerThread(create_app(tmp, bus=bus), port=0) as srv, contextlib.ExitStack() as stack:
            if pw_browser is None:
                exe = chromium or find_chromium()
                try:
                    from playwright.sync_api import sync_playwright
                except ImportError:
                    return {}
                if exe is None or not Path(exe).exists():
                    return {}
                p = stack.enter_context(sync_playwright())
                pw_browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
                stack.callback(pw_browser.close)
            page = pw_browser.new_page(viewport={"width": 1366, "height": 900})
            stack.callback(page.close)
            bus.start_run(run_id=1, info={"placement": "foot"})
            page.goto(f"{srv.base}/live")
            page.wait_for_function("() => document.getElementById('conn-text').textContent.length > 0")
            page.evaluate(
                """() => { window.__lag = [];
                  new MutationObserver(() => {
                    const dom = performance.timeOrigin + performance.now(), ic = document.body.dataset.lastIc;
                    requestAnimationFrame(() => requestAnimationFrame(() =>
                      window.__lag.push([ic, dom, performance.timeOrigin + performance.now()])));
                  }).observe(document.body, { attributes: true, attributeFilter: ["data-last-ic"] });
                }"""
            )
            t_stream = 0.0
            for k, (rate, seconds) in enumerate(phases):
                steps = synthetic_steps(max(1, int(rate * seconds)), seed=11 + k, t0=t_stream)
                t_stream = steps[-1].to_s + 1.0
                sent: dict[str, float] = {}
                start = time.perf_counter()
                for i, st in enumerate(steps):
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    sent[f"{st.ic_s:.4f}"] = time.time() * 1000
                    bus.publish(st)
                last = f"{steps[-1].ic_s:.4f}"
                page.wait_for_function(
                    "(ic) => window.__lag.some((r) => Number(r[0]).toFixed(4) === ic)", arg=last, timeout=30_000
                )
                rows = page.evaluate("() => window.__lag.splice(0)")
                dom = np.array([r[1] - sent[f"{float(r[0]):.4f}"] for r in rows if f"{float(r[0]):.4f}" in sent])
                drawn = np.array([r[2] - sent[f"{float(r[0]):.4f}"] for r in rows if f"{float(r[0]):.4f}" in sent])
                name = f"{rate:g}_per_s"
                figures[f"{name}_shown"] = float(len(dom)) / len(steps)
                for label, a in (("dom", dom), ("drawn", drawn)):
                    if a.size:
                        figures[f"{name}_{label}_p50_ms"] = float(np.percentile(a, 50))
                        figures[f"{name}_{label}_p99_ms"] = float(np.percentile(a, 99))
                        figures[f"{name}_{label}_max_ms"] = float(a.max())
                out(
                    f"live page lag, {rate:g} steps/s for {seconds:g} s ({len(steps)} steps, {len(dom)} seen in the page):"
                    f" publish -> numbers on the page p50 {figures.get(f'{name}_dom_p50_ms', float('nan')):.1f} ms,"
                    f" p99 {figures.get(f'{name}_dom_p99_ms', float('nan')):.1f} ms,"
                    f" max {figures.get(f'{name}_dom_max_ms', float('nan')):.1f} ms;"
                    f" -> traces drawn (2 frames later) p50 {figures.get(f'{name}_drawn_p50_ms', float('nan')):.1f} ms,"
                    f" p99 {figures.get(f'{name}_drawn_p99_ms', float('nan')):.1f} ms"
                )
            bus.end_run()
    return figures


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _browser_open_times(url: str, chromium: str | None, pw_browser: Any = None, repeat: int = 1) -> list[dict[str, float]]:
    """The page's own timings of ``repeat`` opens of ``url`` (each in a new page); [] without a browser."""

    def measure(b: Any) -> list[dict[str, float]]:
        out = []
        for _ in range(repeat):
            page = b.new_page(viewport={"width": 1366, "height": 900})
            try:
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                wall = (time.perf_counter() - t0) * 1000
                ds = page.evaluate("() => ({...document.body.dataset})")
            finally:
                page.close()
            out.append({
                "browser_script_ms": float(ds.get("scriptMs", "nan")),
                "browser_fetch_ms": float(ds.get("fetchMs", "nan")),
                "browser_render_ms": float(ds.get("renderMs", "nan")),
                "browser_total_ms": float(ds.get("paintedMs", "nan")),
                "browser_wall_ms": wall,
            })
        return out

    if pw_browser is not None:
        return measure(pw_browser)
    exe = chromium or find_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if exe is None or not Path(exe).exists():
        return []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            return measure(b)
        finally:
            b.close()


if __name__ == "__main__":
    import sys

    bench_review_open()
    if "--live" in sys.argv[1:]:
        bench_live_lag()
