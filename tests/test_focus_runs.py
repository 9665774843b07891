"""The retraining block inside a run (issue 10): the same recorded run replayed as session 1 and as
session 8 of a cadence block. Session 1 has feedback all the time and cues; session 8 has none and
ends with a 5-minute probe, which the run computes and the programme stores; computed again from
the stored run's steps it is the same number.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics

import numpy as np

from gait.cli import main
from gait.cues import CuePlayer
from gait.demo import adept_sensors, load_adept_run
from gait.engine.driver import run_source
from gait.engine.intervals import IntervalPlan
from gait.engine.setup import RunOptions, open_engine
from gait.engine.sources import pods_from_blocks
from gait.engine.today import record_focus, todays_focus, todays_session
from gait.programme.retrain_store import running_mask
from gait.storage import Store
from tests.conftest import adept_run_path
from tests.test_session_intervals import Said

D0 = dt.date(2025, 6, 2)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def programme(data, n: int, *argv: str) -> int:
    return main(["programme", *argv, "--data-dir", str(data), "--date", day(n).isoformat()])


def block_until(data, sessions: int) -> int:
    """A cadence block (baseline 158 spm) with ``sessions`` completed sessions on alternate days;
    returns the day of the next session."""
    assert programme(data, 0, "start", "--profile", "general", "--stage", "7") == 0
    assert programme(data, 0, "focus", "--start", "cadence", "--baseline-spm", "158") == 0
    n = 0
    for _ in range(sessions):
        n += 2
        for when in ("morning", "pre", "after"):
            assert programme(data, n, "checkin", "--when", when, "--back", "1", "--leg", "1") == 0
        assert programme(data, n, "screen", "--yes", "") == 0
        assert programme(data, n, "session", "--completed") == 0
    n += 2
    for when in ("morning", "pre"):
        assert programme(data, n, "checkin", "--when", when, "--back", "1", "--leg", "1") == 0
    assert programme(data, n, "screen", "--yes", "") == 0
    return n


def run_session(data, n: int, store: bool):
    today = todays_session(data, day(n))
    assert today is not None and today.kind == "run"
    sensors = {"hip": adept_sensors(load_adept_run())["hip"]}
    plan = IntervalPlan.walk_run([(0.0, 1500.0)], warmup_s=0.0, cooldown_s=0.0)  # the recording: 25 min of it
    focus = todays_focus(data, day(n), plan)
    said = Said()
    player = CuePlayer("speech", which=lambda name: f"/usr/bin/{name}", popen=said)
    options = RunOptions(store=store, data_dir=str(data), placement="waist", plan=plan, coach="off")
    engine = open_engine(options, devices=[d for d, _ in sensors.values()], display=False, cue_player=player,
                         focus=focus)  # fmt: skip
    said.engine = engine
    asyncio.run(run_source(pods_from_blocks(sensors, rate_hz=100.0, speed=None), engine, handle_sigint=False,
                           link_loss_timeout_s=None))  # fmt: skip
    return engine, focus, [(t, x) for t, x in said.lines if x.startswith(("Quicker", "Shorter", "Light", "Step"))
                           or "step" in x.lower()]  # fmt: skip


def test_session_1_cues_session_8_is_silent_and_its_probe_is_stored(tmp_path):
    adept_run_path()  # fetched, or the test skips (fails under CI)
    first = tmp_path / "s1"
    n1 = block_until(first, 0)
    engine1, focus1, cues1 = run_session(first, n1, store=False)
    assert focus1.plan.session == 1 and focus1.plan.feedback_fraction == 1.0
    cadence_cues = [a for a in engine1.summary.alerts if a.rule == "cadence" and a.kind == "cue"]
    assert len(cadence_cues) >= 5  # the runner stays near 158 spm, below the 164-170 band: a cue a minute or so
    assert all(b.time_s - a.time_s >= 60.0 - 1e-6 for a, b in zip(cadence_cues, cadence_cues[1:], strict=False))

    eighth = tmp_path / "s8"
    n8 = block_until(eighth, 7)
    engine8, focus8, _ = run_session(eighth, n8, store=True)
    assert focus8.plan.session == 8 and focus8.plan.feedback_fraction == 0.0 and focus8.probe == "end"
    assert not [a for a in engine8.summary.alerts if a.rule == "cadence" and a.kind == "cue"]
    probe_said = [a for a in engine8.summary.alerts if a.rule == "interval" and a.message.startswith("Probe")]
    # said with the first running step of the last 5 planned minutes (the runner walked from 20:00 to 20:42)
    assert len(probe_said) == 1 and 1200.0 <= engine8.running_s(probe_said[0].time_s) <= 1260.0
    total_s = engine8.running_s()
    assert programme(eighth, n8, "checkin", "--when", "after", "--back", "1", "--leg", "1") == 0
    assert programme(eighth, n8, "session", "--completed") == 0  # as the run logs itself
    said = record_focus(eighth, day(n8), focus8, total_s)
    assert any("probe" in x for x in said)
    probe = focus8.probe_value(total_s)
    # the same number from the stored run: running steps of its last 5 minutes, their median cadence
    with Store(eighth) as store:
        rid = store.run_ids()[0]
        cols = store.steps(rid)
        keep = running_mask(cols) & (np.asarray(cols.columns()["ic_s"]) >= total_s - 300.0)
        stored = statistics.median(float(x) for x in np.asarray(cols.cadence_spm)[keep])
    assert abs(stored - probe) < 1e-3  # the store keeps 3 decimals
    code = programme(eighth, n8, "status", "--json")
    assert code == 0


def test_outdoor_maintenance_checks_every_500_m_with_no_other_cue():
    from gait.core.records import StepMetrics
    from gait.engine.focus import FocusFeedback
    from gait.programme import phrases
    from gait.programme.retrain import FeedbackPlan, focus_target

    target = focus_target("cadence", 160.0)
    plan = FeedbackPlan(D0, "cadence", target, None, 0.0, None, 300, "start", 500.0, ())  # week 1 after a block
    focus = FocusFeedback(plan)
    checks, cues = [], []
    for k in range(2100):  # 180 spm at 3 m/s: a step is 1 m long
        t = k / 3.0
        step = StepMetrics(ic_s=t, to_s=t + 0.2, side=None, gct_ms=200.0, flight_ms=130.0, cadence_spm=180.0,
                           vo_cm=8.0, vertical_ratio_pct=None, fsa_deg=None, strike=None, lean_deg=None,
                           impact_g=None, duty_factor=None)  # fmt: skip
        cue, say = focus.on_step(t, step, running=True, running_s=t, speed_mps=3.0)
        if say:
            checks.append((k, say))
        if cue and focus.feedback(t):
            cues.append(cue)
    assert [k for k, _ in checks] == [499, 999, 1499, 1999]  # every 500 m
    assert checks[0][1] == phrases.FOCUS_CHECK_CUE.format(focus=phrases.FOCUS_NAMES["cadence"])
    assert cues == []  # maintenance: no feedback windows, only the checks
