"""``gait programme heat|ice|yoga|shoes``: the care around the run on typed values (the argument
parsing is in `gait.cli`), and the care keys of ``gait programme status --json``. Each command
prints to ``out`` and returns the exit code; a refusal raises (`CareRefused` names its reason,
`ProgrammeLocked` in the emergency state)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import IO, Any

from gait.programme import care, phrases
from gait.programme.config import load_config
from gait.programme.errors import ProgrammeNotStarted
from gait.programme.plan import ProgrammeStatus, evaluate
from gait.programme.redflags import fold_lock, red_flag_summary
from gait.programme.retrain import BLOCK, PROBES
from gait.programme.retrain_access import focus_summary
from gait.programme.store import ProgrammeStore


def _emit(out: IO[str], text: str) -> None:
    print(text, file=out)


def _focus_active(ps: ProgrammeStore, day: dt.date) -> bool:
    """Whether a retraining focus is under way, its block or its probes (the minimal-shoe planner
    never runs in the same weeks: one change at a time)."""
    focus = focus_summary(ps, day)
    return focus is not None and focus["phase"] in (BLOCK, PROBES)


def care_view(ps: ProgrammeStore, day: dt.date, now_s: float | None = None) -> dict[str, Any]:
    """The keys ``warm_up``, ``timers``, ``yoga`` and ``shoes`` of ``gait programme status --json``."""
    return _care_view(ps, day, now_s)[1]


def _care_view(ps: ProgrammeStore, day: dt.date, now_s: float | None = None) -> tuple[ProgrammeStatus | None, dict]:
    hist = ps.history()
    st = evaluate(hist, day) if hist.starts else None
    c = ps.care()
    view = care.care_status(day=day, status=st, history=hist, timers=c.timers, yoga=c.yoga, shoe_starts=c.shoe_starts,
                            footwear=c.footwear, now_s=now_s, focus_active=_focus_active(ps, day))
    return st, view


def _state(ps: ProgrammeStore, day: dt.date) -> tuple[str, ProgrammeStatus | None]:
    hist = ps.history()
    if not hist.starts:
        # no programme yet: the red-flag screen still counts (an emergency answer locks the timers)
        level = fold_lock(hist.screens + hist.clearances).level
        return level or "ready", None
    st = evaluate(hist, day)
    return st.state, st


def timer(data_dir: str | Path | None, day: dt.date, kind: str, minutes: float | None, skin_numb: bool,
          as_json: bool, out: IO[str]) -> int:
    now_s = time.time()
    with ProgrammeStore.open(data_dir) as ps:
        state, st = _state(ps, day)
        t = care.start_timer(kind, day, now_s, skin_numb=skin_numb, state=state, minutes=minutes,
                             config=st.config if st else load_config())
        ps.add_timer(t)
    if as_json:
        _emit(out, json.dumps({"timer": t.to_dict(now_s)}, indent=1))
        return 0
    ends = dt.datetime.fromtimestamp(t.ends_at_s).strftime("%H:%M")
    template = phrases.HEAT_STARTED if kind == care.HEAT else phrases.ICE_STARTED
    _emit(out, template.format(minutes=t.planned_min, ends=ends))
    if kind == care.ICE:
        _emit(out, phrases.ICE_CLOTH)
    _emit(out, t.evidence)
    return 0


def yoga(data_dir: str | Path | None, day: dt.date, minutes: float, in_class: bool, pain_nrs: int | None,
         new_leg_symptoms: bool, as_json: bool, out: IO[str]) -> int:
    e = care.YogaEntry(day, minutes, care.CLASS if in_class else care.HOME, pain_nrs, new_leg_symptoms)
    with ProgrammeStore.open(data_dir) as ps:
        state, st = _state(ps, day)
        if st is None:  # the log counts against the programme's weeks and feeds its traffic light
            raise ProgrammeNotStarted("no programme started yet: gait programme start --profile {sciatica,general}")
        ps.add_yoga(e)
        config = st.config if st else load_config()
        if st is not None:
            ps.save_zones(evaluate(ps.history(), day).sessions)
        _, view = _care_view(ps, day)
    red = care.yoga_is_red(e, config)
    lines = [phrases.YOGA_RECORDED.format(minutes=e.minutes, setting=e.setting)]
    if red:
        lines.append(phrases.YOGA_RED.format(threshold=config.stop_threshold_nrs))
    week = view["yoga"]["this_week"]
    if week:
        lines.append(f"week {week['week']} of {care.YOGA_DOSE_WEEKS}: {week['adherence']} "
                     f"(studied dose: 1 class + home practice)")
    lines += [phrases.YOGA_EVIDENCE]
    if as_json:
        _emit(out, json.dumps({"entry": {"date": day.isoformat(), "minutes": e.minutes, "setting": e.setting,
                                         "pain_nrs": e.pain_nrs, "new_leg_symptoms": e.new_leg_symptoms,
                                         "red": red}, "yoga": view["yoga"]}, indent=1))
        return 0
    for line in lines:
        _emit(out, line)
    if red:
        _emit(out, red_flag_summary())
    return 0


def shoes(data_dir: str | Path | None, day: dt.date, action: str, *, minutes: float = 0.0, footwear: str = "minimal",
          surface: str = "soft", soles_numb: bool = False, foot_bone_injury_12m: bool = False,
          foot_pain_nrs: int | None = None, bone_spot: bool = False, as_json: bool = False,
          out: IO[str]) -> int:
    """``action``: show | start | run | walk | check."""
    lines: list[str] = []
    with ProgrammeStore.open(data_dir) as ps:
        hist = ps.history()
        if not hist.starts:
            raise ProgrammeNotStarted("no programme started yet: gait programme start --profile {sciatica,general}")
        st = evaluate(hist, day)
        c = ps.care()
        focus = _focus_active(ps, day)
        current = care.shoe_plan(c.shoe_starts, c.footwear, st, hist, day, focus_active=focus)
        if action == "start":
            s = care.start_transition(st, hist, day, focus_active=focus, surface=surface, soles_numb=soles_numb,
                                      foot_bone_injury_12m=foot_bone_injury_12m, current=current)
            ps.add_shoe_start(s)
            lines += [phrases.SHOES_STARTED, phrases.SHOES_SURFACE_NOTE]
        elif action in ("run", "walk", "check"):
            if action == "run":
                care.check_minimal_run(current, c.footwear, day, minutes)
            elif current.state == care.NOT_STARTED and action == "walk":
                raise care.CareRefused("not_started", phrases.SHOES_REFUSALS["not_started"])
            log = care.FootwearLog(day, footwear, action, minutes if action != "check" else 0.0, foot_pain_nrs,
                                   bone_spot)
            ps.add_footwear(log)
            if action == "run":
                lines.append(phrases.SHOES_RUN_RECORDED.format(minutes=minutes, footwear=footwear, day=day.isoformat()))
            elif action == "walk":
                lines.append(phrases.SHOES_WALK_RECORDED.format(minutes=minutes, footwear=footwear, day=day.isoformat()))
            ps.save_zones(evaluate(ps.history(), day).sessions)
        _, view = _care_view(ps, day)
    plan = view["shoes"]
    lines += plan["messages"]
    if as_json:
        _emit(out, json.dumps({"shoes": plan}, indent=1))
        return 0
    for line in lines:
        _emit(out, line)
    _emit(out, phrases.SHOES_EVIDENCE)
    if plan["state"] == care.STOPPED:
        _emit(out, red_flag_summary())
    return 0
