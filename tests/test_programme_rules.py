"""The programme's rules against the spec's test tables (F1, F2, F3, F9) and the phrase catalogue."""

from __future__ import annotations

import datetime as dt
import inspect
import re

import pytest

from gait.programme import phrases, walkrun
from gait.programme.config import BOUNDS, ProgrammeConfig, apply_clinician_profile, load_config
from gait.programme.errors import (
    ConfigOutOfBounds,
    ConsecutiveDayRun,
    ProgrammeLocked,
    ProgressionCapExceeded,
    RunNotAllowed,
)
from gait.programme.pain import (
    AMBER,
    GREEN,
    RED,
    UNKNOWN,
    CheckIn,
    Pain,
    SessionPain,
    classify,
    mornings_by_day,
    pre_run_gate,
    stop_rule,
    weekly_trend,
)
from gait.programme.plan import History, SessionLog, Start, evaluate, start_session
from gait.programme.redflags import (
    EMERGENCY_IDS,
    QUESTIONS,
    URGENT_IDS,
    Clearance,
    Screen,
    answers_from_yes,
    red_flag_summary,
)

D0 = dt.date(2025, 3, 3)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def screen(n: int, *yes: str, seq: int = 0) -> Screen:
    return Screen(day(n), answers_from_yes(yes), seq)


def base_history(profile: str = "sciatica", stage: int = 2) -> History:
    return History(starts=(Start(day(0), profile, stage, {}, 0),))


# --- F1 -------------------------------------------------------------------------------------------


def test_the_screen_has_six_emergency_questions_and_the_urgent_ones():
    assert len(EMERGENCY_IDS) == 6 and len(URGENT_IDS) == 8
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    assert all(q.level in ("emergency", "urgent") and q.text.endswith("?") for q in QUESTIONS)


@pytest.mark.parametrize("qid", EMERGENCY_IDS)
def test_any_single_emergency_yes_locks(qid):
    h = History(starts=base_history().starts, screens=(screen(0, qid, seq=1),))
    st = evaluate(h, day(0))
    assert st.state == "emergency"
    for kind in ("walk", "walk-run", "run", None):
        with pytest.raises(ProgrammeLocked):
            start_session(st.today, kind)
    assert st.today.kind == "rest" and st.today.allowed == ()
    assert st.messages[0] == phrases.EMERGENCY_MESSAGE
    assert "emergency" in st.messages[0].lower() and "now" in st.messages[0]
    # never unlocked by time passing
    assert evaluate(h, day(400)).state == "emergency"


@pytest.mark.parametrize("qid", URGENT_IDS)
def test_one_urgent_yes_pauses_running_and_allows_walking(qid):
    h = History(starts=base_history().starts, screens=(screen(0, qid, seq=1),))
    st = evaluate(h, day(0))
    assert st.state == "urgent"
    with pytest.raises(RunNotAllowed):
        start_session(st.today, "run")
    with pytest.raises(RunNotAllowed):
        start_session(st.today, "walk-run")
    assert start_session(st.today, "walk").kind == "walk"
    assert "1-2 days" in st.messages[0]
    assert evaluate(h, day(60)).state == "urgent"


def test_clearance_with_question_4_yes_again_stays_emergency():
    h = History(starts=base_history().starts,
                screens=(screen(0, "both_legs", seq=1), screen(2, "both_legs", seq=3)),
                clearances=(Clearance(day(2), "GP: seen", 2),))
    assert evaluate(h, day(2)).state == "emergency"


def test_unlock_needs_a_clearance_and_then_a_clean_screen():
    starts = base_history().starts
    yes = screen(0, "bladder", seq=1)
    clean_only = History(starts=starts, screens=(yes, screen(1, seq=2)))
    assert evaluate(clean_only, day(1)).state == "emergency"  # a clean screen alone: still locked
    review_only = History(starts=starts, screens=(yes,), clearances=(Clearance(day(1), "A&E: seen", 2),))
    assert evaluate(review_only, day(1)).state == "emergency"  # a review alone: still locked
    clean_before_review = History(starts=starts, screens=(yes, screen(1, seq=2)),
                                  clearances=(Clearance(day(1), "seen", 3),))
    assert evaluate(clean_before_review, day(1)).state == "emergency"  # the clean screen must follow
    both = History(starts=starts, screens=(yes, screen(1, seq=3)), clearances=(Clearance(day(1), "seen", 2),))
    assert evaluate(both, day(1)).state == "ready"
    # an urgent yes after the review: paused until its own review
    urgent_after = History(starts=starts, screens=(yes, screen(1, "fever", seq=3)),
                           clearances=(Clearance(day(1), "seen", 2),))
    assert evaluate(urgent_after, day(1)).state == "urgent"


def test_red_flag_summary_one_line_per_emergency_sign():
    text = red_flag_summary()
    lines = text.splitlines()
    assert len(lines) == 1 + 6
    low = text.lower()
    for words in ("both legs", "genitals", "bowel"):
        assert words in low
    assert "pee" in low or "bladder" in low


# --- F2 -------------------------------------------------------------------------------------------


def p(v: int, extent: int | None = None) -> Pain:
    return Pain(v, v, extent)


@pytest.mark.parametrize(("during", "after", "morning", "baseline", "expected"), [
    (2, 2, 1, 1, GREEN),
    (4, 5, 2, 2, AMBER),
    (6, 3, 2, 2, RED),
    (4, 3, 4, 2, RED),  # did not settle
    (4, 3, 3, 2, AMBER),
    (3, 3, None, 2, UNKNOWN),  # next morning missing
])
def test_f2_table_general(during, after, morning, baseline, expected):
    sp = SessionPain(pre=p(baseline), during=(p(during),), after=(p(after),),
                     morning=None if morning is None else p(morning), baseline=p(baseline))
    assert classify(sp, "general") == expected


def test_f2_sciatica_leg_rise_is_red():
    sp = SessionPain(pre=Pain(1, 2, 2), during=(Pain(1, 4, 2),), after=(Pain(1, 2, 2),), morning=Pain(1, 2, 2),
                     baseline=Pain(1, 2, 2))
    assert classify(sp, "sciatica") == RED
    assert classify(sp, "general") == AMBER  # 4 during is in the amber band; no leg-rise rule


def test_f2_sciatica_spread_back_next_morning_is_amber_and_still_spread_is_red():
    sp = SessionPain(pre=Pain(1, 2, 2), during=(Pain(1, 3, 3),), after=(Pain(1, 2, 2),), morning=Pain(1, 2, 2),
                     baseline=Pain(1, 2, 2))
    assert classify(sp, "sciatica") == AMBER
    still = SessionPain(pre=Pain(1, 2, 2), during=(Pain(1, 3, 3),), morning=Pain(1, 2, 3), baseline=Pain(1, 2, 2))
    assert classify(still, "sciatica") == RED


def test_new_numbness_is_red():
    sp = SessionPain(pre=p(1), during=(p(1),), morning=p(1), baseline=p(1), new_numbness_or_weakness=True)
    assert classify(sp, "general") == RED


def test_trend_up_and_two_rising_weeks_review_and_hold():
    mornings = [CheckIn(day(i), "morning", p(2)) for i in range(7)] + \
               [CheckIn(day(7 + i), "morning", p(3)) for i in range(7)]
    m = mornings_by_day(mornings)
    t = weekly_trend(m, day(13))
    assert t.up and t.rise_nrs == pytest.approx(1.0)
    assert not weekly_trend(m, day(6)).up
    third = [CheckIn(day(14 + i), "morning", p(4)) for i in range(7)]
    h = History(starts=(Start(day(0), "general", 2),), checkins=tuple(mornings + third))
    st = evaluate(h, day(20))
    assert st.state == "review" and st.today.kind == "walk" and st.today.allowed == ("walk",)
    assert "doctor or physiotherapist" in st.messages[0]
    with pytest.raises(RunNotAllowed):
        start_session(st.today, "walk-run")
    assert evaluate(h, day(13)).state == "ready"  # one rising week: not yet


@pytest.mark.parametrize(("pre", "report", "profile", "stop", "reasons"), [
    (Pain(2, 2, 1), Pain(2, 6, 1), "general", True, ("above_threshold",)),
    (Pain(2, 2, 1), Pain(2, 5, 1), "general", False, ()),
    (Pain(2, 2, 1), Pain(2, 4, 1), "sciatica", True, ("leg_rise",)),
    (Pain(2, 2, 1), Pain(2, 3, 1), "sciatica", False, ()),
    (Pain(2, 2, 1), Pain(2, 3, 2), "sciatica", True, ("spread",)),
    (None, Pain(2, 5, 3), "sciatica", False, ()),
    (Pain(0, 4, 1), Pain(7, 6, 2), "sciatica", True, ("above_threshold", "leg_rise", "spread")),
])
def test_in_run_stop_rule(pre, report, profile, stop, reasons):
    d = stop_rule(report, pre, profile)
    assert d.stop is stop and d.reasons == reasons
    assert d.phrase == (phrases.STOP_PHRASE if stop else None)


def test_pre_run_score_six_turns_the_day_into_walk_or_rest():
    assert pre_run_gate(Pain(6, 0)) and pre_run_gate(Pain(0, 6)) and not pre_run_gate(Pain(5, 5))
    h = History(starts=(Start(day(0), "general", 3),), checkins=(CheckIn(day(0), "pre", Pain(2, 6, 1), seq=1),))
    st = evaluate(h, day(0))
    assert st.state == "ready" and st.today.kind == "walk" and st.today.allowed == ("walk",)
    assert phrases.PRE_RUN_GATE_MESSAGE in st.messages
    with pytest.raises(RunNotAllowed):
        start_session(st.today, "walk-run")


# --- F3 -------------------------------------------------------------------------------------------


def test_stage_table():
    assert [walkrun.STAGES[s].running_min for s in range(1, 8)] == [6, 12, 18, 24, 27, 28, 30]
    assert walkrun.STAGES[2].intervals == ((180, 120),) * 6
    assert walkrun.STAGES[7].intervals == ((0, 1800),)
    assert walkrun.WARM_UP_WALK_S == 600 and walkrun.COOL_DOWN_WALK_S == 300
    assert walkrun.STAGES[1].total_min == pytest.approx(10 + 30 + 5)


@pytest.mark.parametrize(("zones", "expected_stage", "hold"), [
    ("GG", 3, False),
    ("GA", 3, False),
    ("AG", 3, False),
    ("AA", 2, False),
    ("AAG", 2, False),  # the two ambers reset the count: one green is not two sessions
    ("AAGG", 3, False),
    ("GR", 1, False),
    ("GU", 2, False),
    ("GUG", 2, False),  # unknown: the stage is repeated
    ("R", 1, False),
])
def test_f3_progression_table(zones, expected_stage, hold):
    prog = walkrun.Progress(stage=2)
    code = {"G": GREEN, "A": AMBER, "R": RED, "U": UNKNOWN}
    for i, z in enumerate(zones):
        prog = walkrun.advance(prog, code[z], day(2 * i))
    assert prog.stage == expected_stage and prog.hold is hold


def test_two_reds_within_14_days_hold():
    prog = walkrun.advance(walkrun.advance(walkrun.Progress(stage=3), RED, day(1)), RED, day(10))
    assert prog.hold and prog.stage == 1
    apart = walkrun.advance(walkrun.advance(walkrun.Progress(stage=3), RED, day(1)), RED, day(15))
    assert not apart.hold


def test_trend_up_blocks_the_step_up():
    prog = walkrun.advance(walkrun.Progress(stage=2), GREEN, day(0))
    assert walkrun.advance(prog, GREEN, day(2), trend_up=True).stage == 2
    assert walkrun.advance(prog, GREEN, day(2)).stage == 3


def test_two_run_days_in_a_row_are_refused():
    h = History(starts=(Start(day(0), "general", 2),), sessions=(SessionLog(day(1), 2, "walk-run", True, 12, 1),))
    st = evaluate(h, day(2))
    assert st.today.kind == "rest"
    with pytest.raises(ConsecutiveDayRun):
        start_session(st.today, "walk-run")
    assert start_session(st.today, "walk").kind == "walk"  # walking is fine
    assert st.next_session.day == day(3) and st.next_session.kind == "walk-run"
    with pytest.raises(ConsecutiveDayRun):
        walkrun.check_not_consecutive([day(1)], day(2))


@pytest.mark.parametrize(("history", "pct", "proposed", "ok", "limit"), [
    ([30, 30], 10, 33, True, None),
    ([30, 30], 10, 34, False, "weekly_increase_pct"),
    ([30, 30, 33], 10, 36.3, True, None),  # 14-day ratio 69.3 / 60 = 1.155
    ([30, 30], 20, 36, True, None),  # ratio 66 / 60 = 1.10
    ([30, 30, 36], 20, 43.2, False, "cap_14_day_pct"),  # 79.2 / 60 = 1.32 > 1.30
    ([30, 30, 36], 20, 42, True, None),  # 78 / 60 = 1.30
])
def test_f3_weekly_progression_past_stage_7(history, pct, proposed, ok, limit):
    cfg = load_config({"weekly_increase_pct": pct})
    if ok:
        walkrun.check_weekly_running(history, proposed, cfg)
        assert walkrun.max_weekly_running_min(history, cfg) >= proposed - 1e-9
    else:
        with pytest.raises(ProgressionCapExceeded) as err:
            walkrun.check_weekly_running(history, proposed, cfg)
        assert err.value.limit == limit
        assert walkrun.max_weekly_running_min(history, cfg) < proposed


def test_max_weekly_running_numbers():
    assert walkrun.max_weekly_running_min([30, 30]) == pytest.approx(33.0)
    assert walkrun.max_weekly_running_min([30, 30, 36], load_config({"weekly_increase_pct": 20})) == pytest.approx(42.0)


# --- F9 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "value"), [
    ("stop_threshold_nrs", 6), ("stop_threshold_nrs", 2), ("stop_threshold_nrs", 7), ("leg_increment_nrs", 3),
    ("leg_increment_nrs", 0), ("settle_tolerance_nrs", 2), ("weekly_increase_pct", 25), ("weekly_increase_pct", 4),
    ("cadence_change_cap_pct", 12), ("heat_ice_max_min", 25), ("minimal_shoe_weekly_increase_pct", 15),
    ("cap_14_day_pct", 40), ("stop_threshold_nrs", 4.5), ("stop_threshold_nrs", True), ("faded_schedule_pct", [75, 50, 25, 10]),
    ("faded_schedule_pct", [50, 75, 25, 0]), ("no_such_setting", 1),
])
def test_out_of_bounds_is_a_named_error(setting, value):
    with pytest.raises(ConfigOutOfBounds) as err:
        load_config({setting: value})
    assert err.value.setting == setting and setting in str(err.value)


def test_defaults_are_the_spec_table():
    cfg = ProgrammeConfig()
    assert (cfg.stop_threshold_nrs, cfg.leg_increment_nrs, cfg.settle_tolerance_nrs) == (5, 2, 1)
    assert (cfg.weekly_increase_pct, cfg.cap_14_day_pct, cfg.cadence_change_cap_pct) == (10, 30, 10)
    assert cfg.faded_schedule_pct == (75, 50, 25, 0) and cfg.heat_ice_max_min == 20
    assert {b.name: (b.low, b.high) for b in BOUNDS}["stop_threshold_nrs"] == (3, 5)


def test_clinician_profile_tightens_never_loosens():
    cfg = apply_clinician_profile(load_config(), {"stop_threshold_nrs": 3})
    assert cfg.stop_threshold_nrs == 3
    assert stop_rule(Pain(4, 0), None, "general", cfg).stop and not stop_rule(Pain(4, 0), None, "general").stop
    with pytest.raises(ConfigOutOfBounds, match="stop_threshold_nrs"):
        apply_clinician_profile(load_config(), {"stop_threshold_nrs": 7})
    with pytest.raises(ConfigOutOfBounds, match="loosen"):
        apply_clinician_profile(load_config({"stop_threshold_nrs": 4}), {"stop_threshold_nrs": 5})
    with pytest.raises(ConfigOutOfBounds, match="cap_14_day_pct"):
        apply_clinician_profile(load_config(), {"cap_14_day_pct": 20})


# --- the phrase catalogue (invariant 8) -------------------------------------------------------------

FORBIDDEN = [
    r"keep going", r"\bpush", r"almost there", r"no pain,? no gain", r"you can do it", r"don'?t stop",
    r"faster", r"speed up", r"pick up the pace", r"go further", r"extra (mile|km)", r"finish strong", r"\bpace\b",
    r"personal best", r"beat your", r"streak", r"badge", r"prevents? injur",
]
DIAGNOSES = [r"cauda equina", r"hernia", r"slipped disc", r"stress fracture", r"stenosis", r"\bsciatica\b",
             r"\byou (probably |may |might )?have\b", r"diagnos(is|ed)"]


def catalogue() -> list[str]:
    out: list[str] = []
    for name, value in inspect.getmembers(phrases):
        if name.startswith("_"):
            continue
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, tuple | list):
            out += [v if isinstance(v, str) else " ".join(v) for v in value]
        elif isinstance(value, dict):
            out += list(value.values())
    return out


def test_phrase_catalogue_has_no_forbidden_encouragement_or_diagnosis():
    texts = catalogue()
    assert len(texts) > 40
    for text in texts:
        for pattern in FORBIDDEN + DIAGNOSES:
            assert not re.search(pattern, text, re.IGNORECASE), (pattern, text)
    # the catalogue test itself catches them
    assert re.search(FORBIDDEN[0], "Keep going!", re.IGNORECASE) and re.search(DIAGNOSES[0], "Cauda equina", re.I)
