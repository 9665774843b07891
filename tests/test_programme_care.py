"""Care around the run against the spec's test tables: warm-up, heat and ice (F6), the yoga log (F7),
the minimal-shoe / barefoot planner (F8); their refusals, invariants as property tests, and a
scripted few-week history through the command line."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from gait.cli import main
from gait.programme import care, phrases, walkrun
from gait.programme.config import load_config
from gait.programme.errors import ProgrammeLocked
from gait.programme.pain import CheckIn, Pain
from gait.programme.plan import History, OffRun, SessionLog, Start, evaluate
from gait.programme.redflags import Screen, answers_from_yes

D0 = dt.date(2025, 3, 3)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


# --- F6 ---------------------------------------------------------------------------------------------


def test_warm_up_is_part_of_every_session_with_running():
    h = History(starts=(Start(day(0), "general", 1),), screens=(Screen(day(0), answers_from_yes([])),))
    st = evaluate(h, day(0))
    assert st.today.kind == "walk-run" and st.today.warm_up_walk_s == 600
    assert care.warm_up()["walk_min"] == 10 and care.warm_up()["text"] == phrases.WARM_UP_WALK
    for stage in range(1, 9):
        h = History(starts=(Start(day(0), "general", stage),))
        assert evaluate(h, day(0)).today.warm_up_walk_s == walkrun.WARM_UP_WALK_S == 600


@pytest.mark.parametrize("kind, minutes, numb, state, expected", [
    ("heat", 25, False, "ready", "too_long"),        # clamped or rejected: rejected
    ("heat", 20, False, "ready", 20.0),
    ("heat", None, False, "ready", 15.0),            # heat default 15
    ("heat", 9, False, "ready", "too_short"),        # the advice's range is 10-20
    ("ice", None, False, "ready", 10.0),             # ice default 10
    ("ice", 21, False, "ready", "too_long"),         # never more than 20
    ("ice", 5, True, "ready", "skin_numb"),
    ("heat", 15, True, "ready", "skin_numb"),
    ("heat", 15, False, "emergency", "locked"),
    ("ice", 10, False, "emergency", "locked"),
    ("heat", 15, False, "urgent", "urgent"),
    ("ice", 10, False, "urgent", "urgent"),
    ("ice", 10, False, "hold", 10.0),
])
def test_heat_and_ice_table(kind, minutes, numb, state, expected):
    if expected == "locked":
        with pytest.raises(ProgrammeLocked):
            care.start_timer(kind, day(0), 1000.0, skin_numb=numb, state=state, minutes=minutes)
        return
    if isinstance(expected, str):
        with pytest.raises(care.CareRefused) as exc:
            care.start_timer(kind, day(0), 1000.0, skin_numb=numb, state=state, minutes=minutes)
        assert exc.value.reason == expected
        if expected == "skin_numb":
            assert "numb" in str(exc.value)
        return
    t = care.start_timer(kind, day(0), 1000.0, skin_numb=numb, state=state, minutes=minutes)
    assert t.planned_min == expected and t.ends_at_s == 1000.0 + expected * 60
    assert t.to_dict()["evidence"] == care.evidence(kind)
    assert ("reminder" in t.to_dict()) == (kind == "ice") and "cloth" in phrases.ICE_CLOTH


def test_each_timer_shows_its_evidence_in_one_sentence():
    for text in (phrases.HEAT_EVIDENCE, phrases.ICE_EVIDENCE):
        assert text.count(". ") <= 1 and text.endswith(".")
    assert "not shown to prepare you for running" in phrases.HEAT_EVIDENCE
    assert "insufficient" in phrases.ICE_EVIDENCE


def test_a_clinician_may_shorten_the_timers():
    cfg = load_config({"heat_ice_max_min": 12})
    assert care.timer_bounds_min("heat", cfg) == (10.0, 12.0, 12.0)
    with pytest.raises(care.CareRefused):
        care.start_timer("ice", day(0), 0.0, skin_numb=False, state="ready", minutes=13, config=cfg)


@settings(max_examples=200, deadline=None)
@given(kind=hs.sampled_from(["heat", "ice"]), minutes=hs.one_of(hs.none(), hs.floats(0, 100)),
       numb=hs.booleans(), state=hs.sampled_from(["ready", "hold", "review", "urgent", "emergency"]))
def test_no_timer_over_20_minutes_on_numb_skin_or_with_a_red_flag(kind, minutes, numb, state):
    try:
        t = care.start_timer(kind, day(0), 0.0, skin_numb=numb, state=state, minutes=minutes)
    except (care.CareRefused, ProgrammeLocked):
        return
    assert t.planned_min <= 20 and not numb and state not in ("urgent", "emergency")


# --- F7 ---------------------------------------------------------------------------------------------


def test_three_entries_a_week_show_one_class_and_two_home():
    entries = [care.YogaEntry(day(0), 75, "class"), care.YogaEntry(day(2), 20, "home"),
               care.YogaEntry(day(4), 20, "home")]
    weeks = care.yoga_weeks(entries, day(6))
    assert len(weeks) == 1 and weeks[0].words == "1 class + 2 home" and weeks[0].dose_met
    status = care.yoga_status(entries, day(6))
    assert status["this_week"]["adherence"] == "1 class + 2 home" and status["dose_weeks"] == 12


@pytest.mark.parametrize("pain, new_leg, red", [(6, False, True), (5, False, False), (0, True, True),
                                                (None, False, False), (10, False, True)])
def test_yoga_pain_feeds_the_traffic_light(pain, new_leg, red):
    e = care.YogaEntry(day(3), 30, "home", pain, new_leg)
    assert care.yoga_is_red(e) == red


def _ready_history(stage: int = 2) -> History:
    return History(starts=(Start(day(0), "general", stage, seq=0),),
                   screens=(Screen(day(0), answers_from_yes([]), seq=1),))


def _session(h: History, n: int, stage: int, seq: int, morning: int = 1) -> History:
    return History(h.starts, h.checkins + (CheckIn(day(n), "pre", Pain(1, 1), seq=seq),
                                           CheckIn(day(n), "after", Pain(1, 1), seq=seq + 2),
                                           CheckIn(day(n + 1), "morning", Pain(morning, morning), seq=seq + 3)),
                   h.screens, h.clearances,
                   h.sessions + (SessionLog(day(n), stage, "walk-run", True, 12.0, seq + 1),), h.offrun)


def test_a_red_yoga_day_restarts_the_streak_and_two_hold_the_programme():
    h = _session(_ready_history(2), 0, 2, 10)
    assert evaluate(h, day(1)).progress.streak  # one green at stage 2
    with_yoga = History(*[getattr(h, f) for f in ("starts", "checkins", "screens", "clearances", "sessions")],
                        offrun=(care.YogaEntry(day(1), 30, "home", 6, seq=20).offrun(),))
    st = evaluate(with_yoga, day(1))
    assert st.progress.streak == () and st.progress.reds == (day(1),) and st.stage == 2  # no stage change
    two = History(*[getattr(with_yoga, f) for f in ("starts", "checkins", "screens", "clearances", "sessions")],
                  offrun=with_yoga.offrun + (OffRun(day(5), 7, seq=30),))
    assert evaluate(two, day(5)).state == "hold"


def test_new_leg_symptoms_after_yoga_ask_for_the_screen_again():
    h = History(*[getattr(_ready_history(7), f) for f in ("starts", "checkins", "screens", "clearances",
                                                          "sessions")],
                offrun=(OffRun(day(1), 2, True, seq=5),))
    st = evaluate(h, day(1))
    assert st.screen_due and phrases.NUMBNESS_MESSAGE in st.messages


def test_no_yoga_entries_no_nagging():
    assert all(care.yoga_reminder([], day(n)) is None for n in range(60))


@settings(max_examples=100, deadline=None)
@given(days=hs.lists(hs.integers(0, 40), min_size=1, max_size=6))
def test_the_yoga_reminder_comes_at_most_once_a_week(days):
    entries = [care.YogaEntry(day(n), 30) for n in days]
    shown = [n for n in range(0, 90) if care.yoga_reminder(entries, day(n))]
    assert all(b - a >= 7 for a, b in zip(shown, shown[1:]))
    assert all(not any(0 <= n - d < 7 for d in days) for n in shown)  # never after a recent entry


# --- F8 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("week, weekly, prev, allowance", [
    (1, 20, 0, 0.0), (2, 20, 0, 0.0),   # walking only
    (3, 20, 0, 2.0),                    # week 3, weekly run 20 -> 2 (km in the spec; minutes here)
    (4, 20, 2.0, 2.0),
    (5, 20, 2.0, 2.2),                  # +10 % of the previous week's minimal running
    (9, 20, 9.5, 10.0),                 # never above half of the week's running
    (6, 20, 0.0, 2.0),                  # a week without restarts at the week-3 level
])
def test_minimal_allowance_table(week, weekly, prev, allowance):
    assert care.minimal_allowance_min(week, weekly, prev) == pytest.approx(allowance)


def test_over_the_allowance_is_rejected():
    care.check_minimal_amount(2.2, 0.0, 2.2)
    with pytest.raises(care.CareRefused) as exc:
        care.check_minimal_amount(2.2, 0.0, 3.0)
    assert exc.value.reason == "over_allowance"


@settings(max_examples=300, deadline=None)
@given(week=hs.integers(1, 30), weekly=hs.floats(0, 500), prev=hs.floats(0, 500))
def test_allowance_invariants(week, weekly, prev):
    a = care.minimal_allowance_min(week, weekly, prev)
    assert 0 <= a <= 0.5 * weekly + 1e-6
    if week <= 2:
        assert a == 0
    elif week <= 4 or prev <= 0:
        assert a <= 0.1 * weekly + 1e-6
    else:
        assert a <= prev * 1.1 + 1e-6


def _stage7_history(days_at_7: int, red_on: int | None = None) -> History:
    """Stage 7 from day 0, a green run every other day (30 minutes), mornings at 1."""
    h = History(starts=(Start(day(0), "general", 7, seq=0),), screens=(Screen(day(0), answers_from_yes([]), seq=1),))
    checkins, sessions = [], []
    seq = 10
    for n in range(0, days_at_7, 2):
        during = (CheckIn(day(n), "during", Pain(7, 7), seq=seq + 1),) if n == red_on else ()
        checkins += [CheckIn(day(n), "pre", Pain(1, 1), seq=seq), *during,
                     CheckIn(day(n + 1), "morning", Pain(1, 1), seq=seq + 3)]
        sessions.append(SessionLog(day(n), 7 if n < 4 else 8, "run", True, 30.0, seq + 2))
        seq += 10
    return History(h.starts, tuple(checkins), h.screens, (), tuple(sessions))


def test_eligible_after_stage_7_with_14_quiet_days():
    h = _stage7_history(20)
    assert care.shoe_refusals(evaluate(h, day(10)), h, day(10), focus_active=False) == ("not_14_quiet_days",)
    st = evaluate(h, day(16))
    assert care.shoe_refusals(st, h, day(16), focus_active=False) == ()


@pytest.mark.parametrize("kwargs, reason", [
    ({"focus_active": True}, "retraining_focus"),
    ({"focus_active": False, "soles_numb": True}, "soles_numb"),
    ({"focus_active": False, "foot_bone_injury_12m": True}, "foot_bone_injury"),
])
def test_refusals_with_a_named_reason(kwargs, reason):
    h = _stage7_history(20)
    with pytest.raises(care.CareRefused) as exc:
        care.start_transition(evaluate(h, day(16)), h, day(16), **kwargs)
    assert exc.value.reason == reason and reason in str(exc.value)


def test_before_stage_7_and_after_a_red_refused():
    h = History(starts=(Start(day(0), "general", 5),))
    assert "before_stage_7" in care.shoe_refusals(evaluate(h, day(20)), h, day(20), focus_active=False)
    h = _stage7_history(24, red_on=12)
    assert "red_in_14_days" in care.shoe_refusals(evaluate(h, day(20)), h, day(20), focus_active=False)


def _plan_at(n: int, logs: list[care.FootwearLog], start_day: int = 16) -> care.ShoePlan:
    h = _stage7_history(60)
    return care.shoe_plan([care.ShoeStart(day(start_day))], logs, evaluate(h, day(n)), h, day(n))


def test_the_schedule_walks_first_then_runs_within_the_allowance():
    assert _plan_at(16, []).state == care.WALKING
    with pytest.raises(care.CareRefused) as exc:
        care.check_minimal_run(_plan_at(22, []), [], day(22), 1.0)
    assert exc.value.reason == "walking_weeks"
    plan = _plan_at(30, [])  # week 3: 10 % of the 90 minutes run in the 7 days before
    assert plan.state == care.RUNNING and plan.week.week == 3
    assert plan.week.allowance_min == pytest.approx(0.1 * plan.week.weekly_running_min)
    logs = [care.FootwearLog(day(30), "minimal", "run", 3.0)]
    with pytest.raises(care.CareRefused) as exc:  # two minimal runs on consecutive days
        care.check_minimal_run(_plan_at(31, logs), logs, day(31), 1.0)
    assert exc.value.reason == "consecutive_days"
    with pytest.raises(care.CareRefused) as exc:
        care.check_minimal_run(_plan_at(32, logs), logs, day(32), 9.0)
    assert exc.value.reason == "over_allowance"


def test_foot_pain_above_2_sets_the_plan_back_a_week():
    logs = [care.FootwearLog(day(30), "minimal", "run", 3.0, foot_pain_nrs=4)]
    plan = _plan_at(37, logs)  # week 4, after a painful week 3: back to week 2 (walking)
    assert plan.week.setback and plan.week.allowance_min == 0 and plan.state == care.WALKING


def test_a_bone_spot_stops_the_plan_and_asks_for_a_review():
    log = care.FootwearLog(day(30), "minimal", "check", 0, foot_pain_nrs=3, bone_spot=True, seq=900)
    assert _plan_at(30, [log]).state == care.STOPPED
    h = _stage7_history(60)
    h = History(h.starts, h.checkins, h.screens, h.clearances, h.sessions, (log.offrun(),))
    st = evaluate(h, day(31))
    assert st.state == "review" and phrases.BONE_SPOT_MESSAGE in st.messages
    assert "stress fracture" not in phrases.BONE_SPOT_MESSAGE.lower()


# --- through the command line -----------------------------------------------------------------------


class Runner:
    def __init__(self, data_dir, capsys):
        self.data_dir, self.capsys = str(data_dir), capsys

    def __call__(self, n: int, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["programme", *args, "--data-dir", self.data_dir, "--date", day(n).isoformat()])
        cap = self.capsys.readouterr()
        return code, cap.out, cap.err


def test_a_few_weeks_through_the_command_line(tmp_path, capsys):
    run = Runner(tmp_path / "store", capsys)
    assert run(0, "start", "--profile", "general", "--stage", "7")[0] == 0
    assert run(0, "screen", "--yes", "")[0] == 0
    code, _, err = run(0, "shoes", "--start")
    assert code == 2 and "not_14_quiet_days" in err
    code, out, _ = run(0, "heat", "--skin-numb", "no")
    assert code == 0 and "15 minutes" in out and phrases.HEAT_EVIDENCE in out
    code, _, err = run(0, "ice", "--minutes", "25", "--skin-numb", "no")
    assert code == 2 and "too_long" in err
    code, _, err = run(0, "heat", "--skin-numb", "yes")
    assert code == 2 and "numb" in err
    code, out, _ = run(0, "ice", "--skin-numb", "no")
    assert code == 0 and "10 minutes" in out and "cloth" in out
    for n in range(0, 30, 2):
        if run(n, "status", "--json")[1] and json.loads(run(n, "status", "--json")[1])["today"]["kind"] == "run":
            for args in (("checkin", "--when", "pre", "--back", "1", "--leg", "1"), ("session", "--completed"),
                         ("checkin", "--when", "after", "--back", "1", "--leg", "1")):
                assert run(n, *args)[0] == 0
        assert run(n + 1, "checkin", "--when", "morning", "--back", "1", "--leg", "1")[0] == 0
        if n % 7 == 0:
            assert run(n + 1, "yoga", "--minutes", "75", "--class")[0] == 0
    code, out, _ = run(3, "yoga", "--minutes", "20", "--json")
    assert json.loads(out)["yoga"]["this_week"]["adherence"] == "1 class + 1 home"
    code, out, _ = run(16, "shoes", "--start", "--surface", "smooth-hard")
    assert code == 0 and phrases.SHOES_SURFACE_NOTE in out
    code, _, err = run(18, "shoes", "--run", "2")
    assert code == 2 and "walking_weeks" in err
    # and the other way round: no new retraining focus while the transition is under way
    code, _, err = run(18, "focus", "--start", "cadence", "--baseline-spm", "160")
    assert code != 0 and "minimal-shoe transition" in err
    assert run(18, "shoes", "--walk", "60")[0] == 0
    status = json.loads(run(30, "status", "--json")[1])
    assert {"warm_up", "timers", "yoga", "shoes"} <= set(status)
    shoes = status["shoes"]
    assert shoes["state"] == "running" and shoes["week"] == 3 and shoes["allowance_min"] > 0
    allowance = shoes["allowance_min"]
    code, _, err = run(30, "shoes", "--run", str(allowance + 1))
    assert code == 2 and "over_allowance" in err
    assert run(30, "shoes", "--run", str(allowance / 2))[0] == 0
    code, _, err = run(31, "shoes", "--run", "0.1")
    assert code == 2 and "consecutive_days" in err
    status = json.loads(run(30, "status", "--json")[1])
    assert status["shoes"]["footwear_by_day"][day(30).isoformat()] == "minimal"
    # a red yoga day: the planner pauses, the timers still work (no red flag)
    code, out, _ = run(31, "yoga", "--minutes", "30", "--pain", "7")
    assert code == 0 and "red day" in out
    code, _, err = run(32, "shoes", "--run", "0.5")
    assert code == 2 and "red_in_14_days" in err
    # a bone spot: stopped, and the programme asks for a review (walking only)
    code, out, _ = run(33, "shoes", "--check", "--foot-pain", "3", "--bone-spot", "yes")
    assert code == 0 and phrases.BONE_SPOT_MESSAGE in out
    status = json.loads(run(33, "status", "--json")[1])
    assert status["state"] == "review" and status["shoes"]["state"] == "stopped"
    # an emergency answer: heat and ice refused, locked
    assert run(34, "screen", "--yes", "bladder")[0] == 0
    code, _, err = run(34, "heat", "--skin-numb", "no")
    assert code == 3
    status = json.loads(run(34, "status", "--json")[1])
    assert status["timers"]["heat"]["available"] is False


def test_the_planner_refuses_to_start_during_a_retraining_block(tmp_path, capsys):
    run = Runner(tmp_path / "store", capsys)
    assert run(0, "start", "--profile", "general", "--stage", "7")[0] == 0
    assert run(0, "screen", "--yes", "")[0] == 0
    for n in range(0, 16, 2):
        if json.loads(run(n, "status", "--json")[1])["today"]["kind"] == "run":
            assert run(n, "checkin", "--when", "pre", "--back", "1", "--leg", "1")[0] == 0
            assert run(n, "session", "--completed")[0] == 0
        assert run(n + 1, "checkin", "--when", "morning", "--back", "1", "--leg", "1")[0] == 0
    assert run(15, "focus", "--start", "cadence", "--baseline-spm", "160")[0] == 0
    code, _, err = run(16, "shoes", "--start")
    assert code == 2 and "retraining_focus" in err and "one change at a time" in err
