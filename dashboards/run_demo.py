"""The dashboard half of the full-system demo, and example history.

    run_full_demo(producer, port=8765)   # serve the dashboards on 127.0.0.1, run `producer` (the live run)
    synthetic_history(store)             # weeks of example runs for the trends page (clearly labelled)

The producer (``gait.dashboard_demo.replay_adept``: a real recording through the pipeline and the
coach) is passed in, so this module imports no pipeline stage and no device (import contract:
dashboards are read-only presentation). ``gait.dashboard_demo.run_full_demo`` is what the command
line calls. The benchmarks are in `dashboards.bench`.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dashboards.bus import LiveBus
from dashboards.server import DEFAULT_HOST, DEFAULT_PORT, ServerThread, create_app, url_for
from gait.core.records import ALERT_CLEAR, ALERT_CUE, Alert, PainNote, StepMetrics
from gait.storage import Store

Producer = Callable[..., int]
SYNTHETIC_RUNNER = "example runner (synthetic)"


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


def run_full_demo(
    producer: Producer,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    data_dir: str | None = None,
    speed: str | float | None = "10",
    minutes: float | None = None,
    history: bool = False,
    exit_after: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    """Serve the dashboards, then run ``producer(store, bus, speed=..., minutes=..., say=..., stop=...)``
    (the live run) while a browser watches; keep serving afterwards until Ctrl-C (unless
    ``exit_after``). ``data_dir`` None: a temporary store, deleted after."""
    try:
        pace = _speed(speed)
    except ValueError as exc:
        say(f"gait demo: {exc}")
        return 2
    with contextlib.ExitStack() as stack:
        data_dir = data_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="gait-demo-"))
        store = stack.enter_context(Store(data_dir))
        if history:
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
        say("Open the live page now; the recorded run starts in 3 seconds" + (f" at {pace:g}x real time." if pace else "."))
        stop = threading.Event()
        try:
            time.sleep(3.0)
            run_id = producer(store, bus, speed=pace, minutes=minutes, say=say, stop=stop)
            say(f"run stored: {url_for(srv.host, srv.port, token, f'/runs/{run_id}')}")
            if exit_after:
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
