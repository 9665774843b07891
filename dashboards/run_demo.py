"""The dashboard half of the full-system demo, the review-open bench and example history.

    run_full_demo(args, producer)   # serve the dashboards on 127.0.0.1, run `producer` (the live run)
    bench_review_open()             # a 2-hour run: server JSON time + browser render time, printed
    synthetic_history(store)        # weeks of example runs for the trends page (clearly labelled)

The producer (``gait.dashboard_demo.replay_adept``: a real recording through the pipeline and the
coach) is passed in, so this module imports no pipeline stage and no device (import contract:
dashboards are read-only presentation). ``gait.dashboard_demo.run_full_demo(args)`` is the entry
point the command line calls.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dashboards.bus import LiveBus
from dashboards.server import DEFAULT_HOST, DEFAULT_PORT, ServerThread, create_app, run_payload_text, url_for
from gait.core.records import ALERT_CLEAR, ALERT_CUE, Alert, PainNote, StepMetrics
from gait.storage import Store

Producer = Callable[..., int]
SYNTHETIC_RUNNER = "example runner (synthetic)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--token", default=None, help="access token (required for a non-loopback --host)")
    parser.add_argument(
        "--data-dir", default=None, dest="data_dir", help="store folder (default: a temporary folder, deleted after)"
    )
    parser.add_argument("--speed", default="10", help="replay pace: N x real time (default 10) or 'max'")
    parser.add_argument("--minutes", type=float, default=None, help="replay only the first N minutes")
    parser.add_argument(
        "--history", action="store_true", help="also store 8 weeks of synthetic example runs (to fill the trends page)"
    )
    parser.add_argument("--exit", action="store_true", help="stop serving when the replay ends (default: keep serving)")


def _free_port(host: str, port: int) -> int:
    if port == 0:
        return 0
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return 0
    return port


def _speed(value: Any) -> float | None:
    text = str(value if value is not None else "10").strip().lower()
    if text in ("max", "0", "inf", ""):
        return None
    text = text.removesuffix("x")
    if text in ("0", ""):
        return None
    v = float(text)
    if v <= 0:
        raise ValueError("--speed must be 'max' or a positive number")
    return v


def run_full_demo(args: argparse.Namespace, producer: Producer | None = None, say: Callable[[str], None] = print) -> int:
    """Serve the dashboards, then run ``producer(store, bus, speed=..., minutes=..., say=..., stop=...)``
    (the live run) while a browser watches; keep serving afterwards until Ctrl-C (unless ``--exit``)."""
    if producer is None:
        raise ValueError("run_full_demo needs the producer: call gait.dashboard_demo.run_full_demo(args)")
    host = getattr(args, "host", None) or DEFAULT_HOST
    port = getattr(args, "port", DEFAULT_PORT)
    token = getattr(args, "token", None)
    try:
        speed = _speed(getattr(args, "speed", "10"))
    except ValueError as exc:
        say(f"gait demo: {exc}")
        return 2
    with contextlib.ExitStack() as stack:
        data_dir = getattr(args, "data_dir", None) or stack.enter_context(tempfile.TemporaryDirectory(prefix="gait-demo-"))
        store = stack.enter_context(Store(data_dir))
        if getattr(args, "history", False):
            synthetic_history(store)
        bus = LiveBus()
        app = create_app(store, bus=bus, token=token)
        try:
            srv = ServerThread(app, host=host, port=_free_port(host, port), token=token).start()
        except ValueError as exc:
            say(f"gait demo: {exc}")
            return 2
        stack.callback(srv.stop)
        say(f"gait demo: dashboards at {srv.url}")
        say(f"  live run:  {url_for(srv.host, srv.port, token, '/live')}")
        say(f"  review:    {url_for(srv.host, srv.port, token, '/')}")
        say(f"  store:     {data_dir}")
        say("Open the live page now; the recorded run starts in 3 seconds" + (f" at {speed:g}x real time." if speed else "."))
        stop = threading.Event()
        try:
            time.sleep(3.0)
            run_id = producer(store, bus, speed=speed, minutes=getattr(args, "minutes", None), say=say, stop=stop)
            say(f"run stored: {url_for(srv.host, srv.port, token, f'/runs/{run_id}')}")
            if getattr(args, "exit", False):
                return 0
            say("Serving until Ctrl-C.")
            while srv.thread.is_alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            stop.set()
            say("\ngait demo: stopped")
    return 0


# ----------------------------------------------------------------------------------------------
# example history (synthetic, labelled as such) and a long run for the speed bench
# ----------------------------------------------------------------------------------------------
def synthetic_steps(
    n: int, *, seed: int = 0, cadence: float = 168.0, vo: float = 8.6, heel: float = 0.6, gct: float = 255.0,
    t0: float = 0.0, foot: bool = True,
) -> list[StepMetrics]:
    """``n`` plausible steps (noise, slow drift with fatigue); not a recording: for layouts, trends and speed."""
    rng = np.random.default_rng(seed)
    out = []
    t = t0
    for i in range(n):
        frac = i / max(1, n - 1)
        cad = cadence - 3.0 * frac + rng.normal(0, 2.0)
        dt = 60.0 / cad
        g = gct + 10.0 * frac + rng.normal(0, 9.0)
        v = vo + 0.5 * frac + rng.normal(0, 0.45)
        strike = None
        fsa = None
        if foot:
            r = rng.random()
            strike = "rearfoot" if r < heel else ("midfoot" if r < heel + (1 - heel) * 0.75 else "forefoot")
            fsa = {"rearfoot": 12.0, "midfoot": 3.0, "forefoot": -5.0}[strike] + rng.normal(0, 2.0)
        step_len = 3.0 * dt
        out.append(
            StepMetrics(
                ic_s=t,
                to_s=t + g / 1000.0,
                side="left" if i % 2 else "right",
                gct_ms=g,
                flight_ms=dt * 1000.0 - g,
                cadence_spm=cad,
                vo_cm=v,
                vertical_ratio_pct=v / (step_len * 100.0) * 100.0,
                fsa_deg=fsa,
                strike=strike,
                lean_deg=6.5 + rng.normal(0, 1.2),
                impact_g=3.0 + rng.normal(0, 0.3),
                duty_factor=g / (2 * dt * 1000.0),
                quality=(),
                emitted_s=t + g / 1000.0 + 0.2,
            )
        )
        t += dt
    return out


def store_synthetic_run(
    store: Store, steps: list[StepMetrics], *, start_time: float, runner: str = SYNTHETIC_RUNNER, speed_mps: float = 3.0,
    pain: tuple[int | None, int | None, int | None] = (None, None, None), cues: int = 0, placement: str = "foot",
) -> int:
    run_id = store.open_run(
        runner=runner, placement=placement, devices=[{"id": "example-pod", "kind": "synthetic"}],
        config={"placement": placement, "speed_mps": speed_mps}, start_time=start_time,
        stream_t0_s=steps[0].ic_s if steps else 0.0, notes="synthetic example data (dashboards.run_demo)",
    )
    records: list[Any] = list(steps)
    t_end = steps[-1].to_s if steps else 0.0
    for k in range(cues):
        t = steps[0].ic_s + (k + 1) * (t_end - steps[0].ic_s) / (cues + 1)
        records.append(Alert(t, "heel_strike", ALERT_CUE, "Land under your hips", 0.62, "below 50 %", "warn"))
        records.append(Alert(t + 40.0, "heel_strike", ALERT_CLEAR, "Good", 0.45, "below 50 %", "info"))
    for phase, score in zip(("before", "during", "after"), pain):
        if score is not None:
            t = {"before": steps[0].ic_s, "during": (steps[0].ic_s + t_end) / 2, "after": t_end}[phase]
            records.append(PainNote(t, int(score), phase))
    store.write(run_id, records)
    store.close_run(run_id, end_time=start_time + (t_end - (steps[0].ic_s if steps else 0.0)))
    return run_id


def synthetic_history(store: Store, weeks: int = 8, runs_per_week: int = 3, now: float | None = None) -> list[int]:
    """Example runs over ``weeks`` weeks: a runner practising a quicker cadence and a softer landing
    (heel-strike share and bounce fall, cadence rises, pain eases). Labelled runner SYNTHETIC_RUNNER."""
    now = time.time() if now is None else now
    ids = []
    for w in range(weeks):
        for r in range(runs_per_week):
            k = w * runs_per_week + r
            frac = k / max(1, weeks * runs_per_week - 1)
            start = now - (weeks - w) * 7 * 86400 + r * 2.3 * 86400
            minutes = 30 + 10 * ((k * 7) % 3)
            n = int(minutes * (164 + 10 * frac))
            steps = synthetic_steps(
                n, seed=100 + k, cadence=163 + 10 * frac, vo=9.6 - 1.4 * frac, heel=0.78 - 0.45 * frac, gct=268 - 18 * frac
            )
            pain = (max(0, round(3 - 3 * frac)), max(0, round(4 - 4 * frac)), max(0, round(3 - 2.5 * frac)))
            ids.append(store_synthetic_run(store, steps, start_time=start, pain=pain, cues=max(0, 4 - int(4 * frac))))
    return ids


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
