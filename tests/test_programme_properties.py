"""The programme's global invariants (spec section 4: 1-4, 7 and 8) as property tests over random
histories (hypothesis)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.programme import phrases, walkrun
from gait.programme.config import load_config
from gait.programme.errors import ProgrammeLocked, ProgressionCapExceeded, RunNotAllowed
from gait.programme.export import html_page
from gait.programme.inrun import RUN_EDGE, SESSION_END, WALK_EDGE, FormCue, InRunGuard
from gait.programme.pain import AMBER, GREEN, RED, UNKNOWN, CheckIn, Pain, SessionPain, classify
from gait.programme.plan import RUN_KINDS, History, SessionLog, Start, evaluate, start_session
from gait.programme.redflags import EMERGENCY_IDS, QUESTION_BY_ID, Clearance, Screen, answers_from_yes, red_flag_summary
from tests.test_programme_rules import DIAGNOSES, FORBIDDEN, catalogue

D0 = dt.date(2025, 1, 6)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

nrs = st.integers(0, 10)
pain = st.builds(Pain, nrs, nrs, st.one_of(st.none(), st.integers(0, 4)))
yes_sets = st.one_of(st.just([]), st.lists(st.sampled_from(sorted(QUESTION_BY_ID)), max_size=3))
day_event = st.one_of(
    st.tuples(st.just("screen"), yes_sets),
    st.tuples(st.just("clear"), st.just([])),
    st.tuples(st.sampled_from(["pre", "during", "after", "morning"]), pain),
    st.tuples(st.just("session"), st.sampled_from([None, "walk", "walk-run", "run"])),
)


def build(events: list[tuple[int, tuple]], profile: str = "sciatica", stage: int = 2) -> tuple[History, dt.date]:
    """A history from (day gap, event) pairs; sessions are logged only when the rules allow them."""
    h = History(starts=(Start(D0, profile, stage, {}, 0),))
    day, seq = D0, 0
    for gap, (kind, arg) in events:
        day += dt.timedelta(days=gap)
        seq += 1
        if kind == "screen":
            h = History(h.starts, h.checkins, (*h.screens, Screen(day, answers_from_yes(arg), seq)), h.clearances, h.sessions)
        elif kind == "clear":
            h = History(h.starts, h.checkins, h.screens, (*h.clearances, Clearance(day, "review", seq)), h.sessions)
        elif kind == "session":
            status = evaluate(h, day)
            try:
                plan = start_session(status.today, arg)
            except (ProgrammeLocked, RunNotAllowed):
                continue
            if status.today.limited_by == "done":
                continue
            log = SessionLog(day, status.stage, plan.kind, True, plan.running_min, seq)
            h = History(h.starts, h.checkins, h.screens, h.clearances, (*h.sessions, log))
        else:
            h = History(h.starts, (*h.checkins, CheckIn(day, kind, arg, seq=seq)), h.screens, h.clearances, h.sessions)
    return h, day


histories = st.lists(st.tuples(st.integers(0, 2), day_event), max_size=25)


def _refused(plan, kind) -> bool:
    try:
        start_session(plan, kind)
    except (ProgrammeLocked, RunNotAllowed):
        return True
    return False


@SETTINGS
@given(histories)
def test_invariant_1_red_flag_without_later_clearance_no_run_no_cue(events):
    h, last = build(events)
    status = evaluate(h, last)
    later_clearance = [(c.day, c.seq) for c in h.clearances]

    def uncleared(s: Screen) -> bool:
        return not any(c > (s.day, s.seq) for c in later_clearance)

    emergency_open = any(uncleared(s) and any(s.answers[i] for i in EMERGENCY_IDS) for s in h.screens)
    any_open = any(uncleared(s) and s.yes for s in h.screens)
    if emergency_open:
        assert status.state == "emergency"
        for kind in ("walk", "walk-run", "run"):
            with pytest.raises(ProgrammeLocked):
                start_session(status.today, kind)
    if any_open:
        assert status.state in ("emergency", "urgent")
        assert all(_refused(status.today, k) for k in RUN_KINDS)
        guard = InRunGuard.for_session(status.today.kind, status.pre, status.profile)
        said: list[str] = []
        for e in (RUN_EDGE, FormCue("Shorter steps"), WALK_EDGE, RUN_EDGE, FormCue("Lean from the ankles")):
            guard, out = guard.step(e)
            said += out
        assert phrases.RUN_NOW not in said and "Shorter steps" not in said and "Lean from the ankles" not in said


in_run_events = st.lists(st.one_of(st.sampled_from([RUN_EDGE, WALK_EDGE]),
                                   st.builds(FormCue, st.sampled_from(["Shorter steps", "Less bounce"])), pain),
                         max_size=40)


@SETTINGS
@given(in_run_events, st.one_of(st.none(), pain), st.sampled_from(["sciatica", "general"]),
       st.sampled_from(["walk", "walk-run", "run"]))
def test_invariant_2_after_a_stop_only_walk_and_safety_phrases(events, pre, profile, kind):
    guard = InRunGuard.for_session(kind, pre, profile)
    stopped = False
    running = False
    for e in [*events, SESSION_END]:
        guard, said = guard.step(e)
        if stopped:
            assert all(s in (phrases.WALK_NOW, phrases.STOP_PHRASE) or s in phrases.RED_FLAG_LINES for s in said)
            assert phrases.STOP_PHRASE not in said  # said once
        if isinstance(e, FormCue) and said:
            assert running and not stopped and kind != "walk"  # form cues only while running
        if phrases.STOP_PHRASE in said:
            stopped = True
        if e == RUN_EDGE:
            running = not stopped and kind != "walk"
        elif e == WALK_EDGE:
            running = False


zones = st.lists(st.sampled_from([GREEN, AMBER, RED, UNKNOWN]), max_size=30)


@SETTINGS
@given(zones, st.integers(0, 8), st.lists(st.integers(1, 4), min_size=30, max_size=30), st.lists(st.booleans(), min_size=30, max_size=30))
def test_invariant_3_stage_never_rises_after_red_or_unknown(zs, stage, gaps, trend):
    prog = walkrun.Progress(stage=stage)
    day = D0
    for z, gap, up in zip(zs, gaps, trend, strict=False):
        day += dt.timedelta(days=gap)
        after = walkrun.advance(prog, z, day, trend_up=up)
        if z in (RED, UNKNOWN) or up:
            assert after.stage <= prog.stage
        if z == RED and prog.stage > 1:
            assert after.stage == prog.stage - 1
        prog = after


@SETTINGS
@given(histories)
def test_invariant_3_no_two_run_days_in_a_row(events):
    # only sessions matter here: ask for one almost every day
    events = [(gap, e) for gap, e in events] + [(1, ("session", "walk-run")) for _ in range(6)]
    h, _ = build(events, profile="general", stage=3)
    run_days = sorted(s.day for s in h.sessions if s.kind in RUN_KINDS)
    assert all((b - a).days >= 2 for a, b in zip(run_days, run_days[1:], strict=False))
    assert len({s.day for s in h.sessions}) == len(h.sessions)  # one session a day at most


@SETTINGS
@given(st.lists(st.floats(0.0, 1.6), min_size=4, max_size=20), st.sampled_from([5, 10, 15, 20]))
def test_invariant_4_weekly_caps(fractions, pct):
    cfg = load_config({"weekly_increase_pct": pct})
    weeks = [90.0]
    for f in fractions:
        proposed = f * walkrun.max_weekly_running_min(weeks, cfg)
        try:
            walkrun.check_weekly_running(weeks, proposed, cfg)
        except ProgressionCapExceeded:
            assert f > 1.0
            proposed = walkrun.max_weekly_running_min(weeks, cfg)
        weeks.append(proposed)
    padded = [weeks[0]] * 2 + weeks
    for k in range(3, len(padded)):
        assert padded[k] + padded[k - 1] <= 1.30 * (padded[k - 2] + padded[k - 3]) + 1e-6
        assert padded[k] <= padded[k - 1] * (1 + pct / 100) + 1e-6


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=70, max_size=70))
def test_invariant_4_through_the_planner_past_stage_7(skips):
    """Ten weeks past stage 7, the runner doing the planned run or skipping it at random: running
    minutes of any programme fortnight <= 1.30 x the fortnight before (the stage-7 weeks count 90)."""
    h = History(starts=(Start(D0, "general", walkrun.BEYOND_STAGE, {}, 0),))
    seq = 0
    for i, skip in enumerate(skips):
        day = D0 + dt.timedelta(days=i)
        seq += 1
        h = History(h.starts, (*h.checkins, CheckIn(day, "morning", Pain(1, 1, 0), seq=seq)), h.screens, h.clearances, h.sessions)
        status = evaluate(h, day)
        if status.today.kind != "run" or skip:
            continue
        seq += 1
        h = History(h.starts, (*h.checkins, CheckIn(day, "after", Pain(1, 1, 0), seq=seq)), h.screens, h.clearances,
                    (*h.sessions, SessionLog(day, status.stage, "run", True, status.today.running_min, seq)))
    first = min((s.day for s in h.sessions), default=D0)
    n = max(((s.day - first).days // 7 for s in h.sessions), default=0) + 1
    weeks = [90.0, 90.0, 90.0] + [sum(s.running_min for s in h.sessions if (s.day - first).days // 7 == k)
                                  for k in range(n)]
    for k in range(3, len(weeks)):
        assert weeks[k] + weeks[k - 1] <= 1.30 * (weeks[k - 2] + weeks[k - 3]) + 1e-6
    run_days = sorted(s.day for s in h.sessions)
    assert all((b - a).days >= 2 for a, b in zip(run_days, run_days[1:], strict=False))
    # and on every sliding 14-day window (once there are 14 days of running before it)
    by_day = {s.day: s.running_min for s in h.sessions}
    if by_day:
        last = max(by_day) + dt.timedelta(days=13)
        end = first + dt.timedelta(days=27)
        while end <= last:
            cur = sum(m for d, m in by_day.items() if end - dt.timedelta(days=13) <= d <= end)
            prev = sum(m for d, m in by_day.items() if end - dt.timedelta(days=27) <= d <= end - dt.timedelta(days=14))
            assert cur <= 1.30 * prev + 1e-6, (end, cur, prev)
            end += dt.timedelta(days=1)


@SETTINGS
@given(histories)
def test_invariant_7_red_flag_summary_in_status_and_export(events):
    h, last = build(events)
    status = evaluate(h, last)
    assert status.to_dict()["red_flag_summary"] == red_flag_summary()
    page = html_page(h, status)
    body = page.split("<body>", 1)[1]
    text = [t.strip() for t in re.sub(r"<[^>]+>", "\n", body).splitlines() if t.strip()]
    summary = [line.lstrip("- ") for line in red_flag_summary().splitlines()]
    assert text[: len(summary)] == summary


@SETTINGS
@given(histories, st.sampled_from(["sciatica", "general"]))
def test_invariant_8_every_message_is_from_the_catalogue_and_clean(events, profile):
    h, last = build(events, profile=profile)
    status = evaluate(h, last)
    known = set(catalogue())
    for message in status.messages:
        assert message in known
        for pattern in FORBIDDEN + DIAGNOSES:
            assert not re.search(pattern, message, re.IGNORECASE)


@SETTINGS
@given(pain, st.lists(pain, max_size=3), st.lists(pain, max_size=2), st.one_of(st.none(), pain), pain,
       st.sampled_from(["sciatica", "general"]), st.sampled_from(["during", "after", "morning"]), st.integers(0, 1),
       st.integers(1, 4))
def test_classification_is_monotone_in_the_session_values(pre, during, after, morning, base, profile, where, measure, up):
    """Raising a value during, after or the next morning never turns red into amber or green (the
    pre-run and baseline values are references: a higher reference is a smaller rise)."""
    sp = SessionPain(pre, tuple(during), tuple(after), morning, base)
    zone = classify(sp, profile)

    def raised(p: Pain) -> Pain:
        if measure == 0:
            return Pain(min(10, p.back_nrs + up), p.leg_nrs, p.leg_extent)
        return Pain(p.back_nrs, min(10, p.leg_nrs + up), p.leg_extent)

    if where == "during" and during:
        sp2 = SessionPain(pre, (raised(during[0]), *during[1:]), tuple(after), morning, base)
    elif where == "after" and after:
        sp2 = SessionPain(pre, tuple(during), (raised(after[0]), *after[1:]), morning, base)
    elif where == "morning" and morning is not None:
        sp2 = SessionPain(pre, tuple(during), tuple(after), raised(morning), base)
    else:
        return
    order = {GREEN: 0, AMBER: 1, UNKNOWN: 1, RED: 2}
    if zone == RED:
        assert classify(sp2, profile) == RED
    assert order[classify(sp2, profile)] >= order[zone] or zone == UNKNOWN
