"""Retraining one focus at a time (F4) and the form-pain review (F5): the spec's test tables,
invariants 5 and 6 as property tests, and the engine-facing `todays_feedback`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.programme import phrases
from gait.programme.config import load_config
from gait.programme.errors import ConfigOutOfBounds
from gait.programme.plan import SessionResult
from gait.programme.retrain import (
    BLOCK,
    BLOCK_SESSIONS,
    CADENCE,
    LANDING,
    LEAN,
    MAINTENANCE,
    PROBES,
    STALLED,
    BandwidthCues,
    FocusRefused,
    FocusStart,
    FocusValue,
    cap_pct,
    feedback_fraction,
    feedback_on,
    focus_target,
    fold_focus,
    maintenance_every_m,
    may_start,
    parse_focus_config,
    probe_passes,
    speaks,
    speed_matched,
)
from gait.programme.retrain_review import FocusChange, SessionPoint, association

D0 = dt.date(2025, 5, 5)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


# --- F4 test table ------------------------------------------------------------------------------


def test_feedback_fraction_table():
    assert [feedback_fraction(s) for s in range(1, 9)] == [1, 1, 1, 1, .75, .5, .25, 0]


@pytest.mark.parametrize("session,windows", [
    (1, [True] * 8), (4, [True] * 8), (5, [True, True, True, False] * 2), (6, [True, False] * 4),
    (7, [True, False, False, False] * 2), (8, [False] * 8)])
def test_alternating_five_minute_windows(session, windows):
    assert [feedback_on(session, 300 * k + 150) for k in range(8)] == windows


def _trace(cues: BandwidthCues, values, dt_s=1.0, **kw):
    said = []
    for i, v in enumerate(values):
        cues, text = cues.step(i * dt_s, v, **kw)
        if text:
            said.append((i * dt_s, text))
    return cues, said


@pytest.mark.parametrize("name,values,kw,expect", [
    ("inside band", [168.0] * 300, {}, 0),
    ("25 s below band", [168.0] * 30 + [150.0] * 25 + [168.0] * 60, {}, 1),
    ("3 min below band", [150.0] * 180, {}, 3),
    ("walking interval", [150.0] * 180, {"running": False}, 0),
    ("feedback off window", [150.0] * 180, {"feedback": False}, 0),
])
def test_cue_scheduler_on_a_synthetic_cadence_trace(name, values, kw, expect):
    t = focus_target(CADENCE, 160.0)
    _, said = _trace(BandwidthCues(t), values, **kw)
    assert len(said) == expect if name != "3 min below band" else 1 <= len(said) <= 3
    if name == "25 s below band":
        assert 48.0 <= said[0][0] <= 52.0  # about 20 s after leaving the band (10-s rolling mean)
        assert said[0][1] == phrases.FOCUS_CUES_BELOW[CADENCE]


def test_cue_at_about_20_s_from_the_first_sample():
    _, said = _trace(BandwidthCues(focus_target(CADENCE, 160.0)), [150.0] * 25)
    assert [t for t, _ in said] == [20.0]


@pytest.mark.parametrize("request_pct,ok", [(5, True), (7.5, True), (10, True), (12, False), (-5, False)])
def test_cadence_target_relative_and_capped(request_pct, ok):
    if ok:
        t = focus_target(CADENCE, 160.0, request_pct)
        assert t.centre == pytest.approx(160 * (1 + request_pct / 100))
    else:
        with pytest.raises(ConfigOutOfBounds):
            focus_target(CADENCE, 160.0, request_pct)


def test_cadence_target_baseline_160_centres_at_168():
    t = focus_target(CADENCE, 160.0)
    assert t.centre == pytest.approx(168.0) and t.low < 168 < t.high


def test_clinician_cap_tightens_the_cadence_change():
    with pytest.raises(ConfigOutOfBounds):
        focus_target(CADENCE, 160.0, 7.5, load_config({"cadence_change_cap_pct": 5}))


@pytest.mark.parametrize("mapping,setting", [
    ({"active": "cadence", "target_spm": 180}, "target_spm"),
    ({"active": ["cadence", "lean"]}, "active"),
    ({"active": "cadence", "delta_pct": 12}, "delta_pct"),
])
def test_focus_config_refuses_absolute_targets_and_two_focuses(mapping, setting):
    with pytest.raises(ConfigOutOfBounds) as exc:
        parse_focus_config(mapping)
    assert exc.value.setting == setting


def test_focus_config_one_focus():
    assert parse_focus_config({"active": "cadence", "delta_pct": 5}) == (CADENCE, 5.0)


@pytest.mark.parametrize("probe,zone,passed", [(166.4, "green", True), (164.0, "green", False),
                                               (168.0, "red", False), (170.0, None, True)])
def test_probe_pass_mark(probe, zone, passed):
    assert probe_passes(focus_target(CADENCE, 160.0), probe, zone) is passed


def test_landing_and_lean_targets():
    soft = focus_target(LANDING, 10.0)
    assert soft.centre == pytest.approx(8.0) and soft.outside(5.0) == 0 and soft.outside(9.0) == 1
    lean = focus_target(LEAN, 6.0)
    assert (lean.low, lean.high) == (1.0, 11.0) and lean.delta_pct == 0


def test_only_the_focus_speaks():
    assert speaks(CADENCE, CADENCE) and not speaks("vo_cm", CADENCE) and not speaks(LEAN, CADENCE)


def test_speed_matched():
    assert speed_matched(2.8, 3.05) and not speed_matched(2.8, 3.2) and speed_matched(None, 3.0)


@pytest.mark.parametrize("days_after,runs_before,every", [
    (1, 0, 500.0), (7, 0, 500.0), (8, 0, 1000.0), (14, 0, 1000.0), (15, 0, 1000.0), (17, 1, None),
    (19, 2, 1000.0), (22, 0, None), (60, 0, None)])
def test_outdoor_maintenance_fading(days_after, runs_before, every):
    assert maintenance_every_m(D0, D0 + dt.timedelta(days=days_after), runs_before) == every


# --- the block folded from records --------------------------------------------------------------


def sessions_on(days, zone="green"):
    return [SessionResult(day(n), 8, "run", True, zone if not isinstance(zone, dict) else zone.get(n, "green"),
                          False, 30.0) for n in days]


BLOCK_DAYS = [1, 3, 5, 7, 9, 11, 13, 15]  # every other day: 8 sessions in 15 days


def test_block_counts_sessions_and_probes():
    start = FocusStart(day(0), CADENCE, 160.0, 5.0)
    s = fold_focus(start, (), sessions_on(BLOCK_DAYS[:5]), day(9))
    assert (s.phase, s.session, s.fraction()) == (BLOCK, 5, 0.75)  # today's session 5 logged
    s = fold_focus(start, (), sessions_on(BLOCK_DAYS[:5]), day(10))
    assert s.session == 6 and s.fraction() == 0.5
    s = fold_focus(start, (), sessions_on(BLOCK_DAYS), day(15))
    assert (s.phase, s.session, s.probe_due) == (PROBES, 8, "end")
    vals = [FocusValue(day(15), CADENCE, "probe", 167.0, "end", seq=1)]
    assert fold_focus(start, vals, sessions_on(BLOCK_DAYS), day(21)).probe_due is None
    assert fold_focus(start, vals, sessions_on(BLOCK_DAYS), day(22)).probe_due == "7d"
    vals.append(FocusValue(day(22), CADENCE, "probe", 166.5, "7d", seq=2))
    s = fold_focus(start, vals, sessions_on(BLOCK_DAYS), day(22))
    assert s.phase == MAINTENANCE and s.passed_7d
    assert fold_focus(start, vals, sessions_on(BLOCK_DAYS), day(43)).probe_due == "28d"


def test_a_failed_probe_repeats_sessions_5_to_8_once_then_stalls():
    start = FocusStart(day(0), CADENCE, 160.0, 5.0)
    vals = [FocusValue(day(15), CADENCE, "probe", 167.0, "end", seq=1),
            FocusValue(day(22), CADENCE, "probe", 163.0, "7d", seq=2)]
    s = fold_focus(start, vals, sessions_on(BLOCK_DAYS), day(22))
    assert (s.phase, s.round, s.session, s.fraction()) == (BLOCK, 2, 5, 0.75)
    more = [22, 24, 26, 28, 30]  # the probe's own run (day 22) is not a repeated session
    s = fold_focus(start, vals, sessions_on(BLOCK_DAYS + more), day(30))
    assert (s.phase, s.block_end, s.probe_due) == (PROBES, day(30), "end")
    vals.append(FocusValue(day(30), CADENCE, "probe", 162.0, "end", seq=3))
    s = fold_focus(start, vals, sessions_on(BLOCK_DAYS + more), day(30))
    assert s.phase == STALLED and not s.passed_7d


def test_probe_on_a_red_day_fails():
    start = FocusStart(day(0), CADENCE, 160.0, 5.0)
    vals = [FocusValue(day(15), CADENCE, "probe", 168.0, "end", seq=1)]
    s = fold_focus(start, vals, sessions_on(BLOCK_DAYS, {15: "red"}), day(15))
    assert not s.probes[0].passed and s.round == 2


def test_next_focus_needs_the_7_day_probe_and_no_red_in_14_days():
    start = FocusStart(day(0), CADENCE, 160.0, 5.0)
    s = fold_focus(start, (), sessions_on(BLOCK_DAYS[:3]), day(5))
    with pytest.raises(FocusRefused, match="one focus at a time"):
        may_start(LEAN, s, (), sessions_on(BLOCK_DAYS[:3]), day(6))
    with pytest.raises(FocusRefused, match="sensor"):
        may_start(LANDING, None, (), (), day(6))
    with pytest.raises(FocusRefused, match="red"):
        may_start(CADENCE, None, (), sessions_on([1], "red"), day(14))
    may_start(CADENCE, None, (), sessions_on([1], "red"), day(15))
    with pytest.raises(FocusRefused, match="rising"):
        may_start(CADENCE, None, (), (), day(15), trend_up=True)


# --- invariants 5 and 6 -------------------------------------------------------------------------


schedules = st.lists(st.sampled_from([0.0, 10.0, 25.0, 40.0, 50.0, 60.0, 75.0, 90.0, 100.0]), min_size=1,
                     max_size=4).map(lambda xs: tuple(sorted(xs, reverse=True)[:-1] + [0.0]) if len(xs) > 1
                                     else (0.0,))


@settings(max_examples=80, deadline=None)
@given(schedule=schedules, values=st.lists(st.floats(120, 200), min_size=1, max_size=400),
       other=st.lists(st.floats(0, 20), min_size=1, max_size=400), session=st.integers(1, 8))
def test_invariant_5_one_focus_speaks_and_the_fade_reaches_0(schedule, values, other, session):
    cfg = load_config({"faded_schedule_pct": list(schedule)})
    fr = [feedback_fraction(s, cfg) for s in range(1, BLOCK_SESSIONS + 1)]
    assert all(b <= a for a, b in zip(fr, fr[1:], strict=False)) and fr[-1] == 0.0 and fr[0] == 1.0
    t = focus_target(CADENCE, 160.0, config=cfg)
    cues, spoken = BandwidthCues(t), []
    for i, v in enumerate(values):
        on = feedback_on(session, float(i), cfg)
        cues, text = cues.step(float(i), v, feedback=on)
        if text:
            spoken.append((float(i), text))
        # the other metrics (bounce, lean) are recorded, never spoken
        assert not speaks("vo_cm", CADENCE) and not speaks(LEAN, CADENCE) and other[i % len(other)] >= 0
    assert {txt for _, txt in spoken} <= {phrases.FOCUS_CUES_BELOW[CADENCE], phrases.FOCUS_CUES_ABOVE[CADENCE]}
    if session == BLOCK_SESSIONS:
        assert spoken == []
    assert all(b - a >= 60.0 for (a, _), (b, _) in zip(spoken, spoken[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(metric=st.sampled_from([CADENCE, LANDING, LEAN]), baseline=st.floats(0.5, 250),
       delta=st.one_of(st.none(), st.floats(-30, 30)), cap=st.floats(3, 10))
def test_invariant_6_no_absolute_target(metric, baseline, delta, cap):
    cfg = load_config({"cadence_change_cap_pct": cap})
    try:
        t = focus_target(metric, baseline, delta, cfg)
    except ConfigOutOfBounds:
        assert delta is not None and (abs(delta) > cap_pct(metric, cfg) or (metric == CADENCE and delta < 0)
                                      or (metric == LANDING and delta > 0))
        return
    assert t.centre == pytest.approx(baseline * (1 + t.delta_pct / 100))
    assert abs(t.delta_pct) <= cap_pct(metric, cfg) + 1e-9
    assert t.low <= t.centre <= t.high


# --- F5 test table ------------------------------------------------------------------------------


def points(days, zones=("green", "amber", "green", "red", "green", "amber", "green")):
    return [SessionPoint(day(n), CADENCE, 160.0 + k, None, 20.0, zones[k % len(zones)]) for k, n in enumerate(days)]


@pytest.mark.parametrize("days,shown", [
    ([0, 4, 8, 12, 16], False),  # 5 sessions
    ([0, 4, 8, 12, 16, 20], False),  # 6 sessions over 20 days
    ([0, 4, 8, 12, 16, 21], True),  # 6 over 21
])
def test_association_needs_6_sessions_over_21_days(days, shown):
    a = association(points(days), [FocusChange(day(0), CADENCE)])
    assert a.shown is shown and a.caption == phrases.ASSOCIATION_CAPTION
    if shown:
        assert a.n == 6 and a.rho is not None and -1 <= a.rho <= 1 and len(a.timeline) == 6
        assert a.to_dict()["focus_changes"] == [{"date": day(0).isoformat(), "metric": CADENCE}]
    else:
        assert a.message == phrases.ASSOCIATION_NOT_ENOUGH and a.timeline == ()


def test_association_rho_is_spearman():
    from scipy.stats import spearmanr

    pts = points([0, 4, 8, 12, 16, 21, 25])
    a = association(pts)
    ranks = {"green": 0, "amber": 1, "red": 2}
    ref = spearmanr([p.run_value for p in pts], [ranks[p.zone] for p in pts]).statistic
    assert a.rho == pytest.approx(round(float(ref), 3))
