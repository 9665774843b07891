"""``gait programme ...``: what each subcommand does, on typed values (the argument parsing is in
`gait.cli`). Each function prints to ``out`` and returns the exit code."""

from __future__ import annotations

import datetime as dt
import json
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from gait.programme import phrases, walkrun
from gait.programme.access import log_session
from gait.programme.care_commands import care_view
from gait.programme.config import apply_clinician_profile, load_config
from gait.programme.export import export_store
from gait.programme.pain import EXTENT_WORDS, CheckIn, Pain
from gait.programme.plan import ProgrammeStatus, Start, evaluate
from gait.programme.redflags import QUESTIONS, Clearance, Screen, answers_from_yes, red_flag_summary, screen_level
from gait.programme.retrain_access import focus_summary
from gait.programme.store import ProgrammeStore


def _emit(out: IO[str], text: str) -> None:
    print(text, file=out)


def _status_lines(st: ProgrammeStatus) -> list[str]:
    nxt = st.next_session
    pairs = ", ".join(f"walk {w // 60}:{w % 60:02d} / run {r // 60}:{r % 60:02d}" for w, r in nxt.intervals[:1])
    reps = f"{len(nxt.intervals)} x ({pairs})" if nxt.intervals else ""
    lines = [
        f"state: {st.state}   {walkrun.stage_name(st.stage)}   last class: {st.last_zone or '-'}",
        f"next session: {nxt.day.isoformat()} {phrases.KIND_WORDS[nxt.kind]} {reps}".rstrip(),
    ]
    if nxt.warm_up_walk_s:
        lines.append(phrases.WARM_UP_WALK)
    lines += st.messages
    return lines


def _finish(ps: ProgrammeStore, day: dt.date, out: IO[str], lines: Sequence[str] = ()) -> ProgrammeStatus | None:
    hist = ps.history()
    if not hist.starts:
        for line in lines:
            _emit(out, line)
        _emit(out, red_flag_summary())
        return None
    st = evaluate(hist, day)
    ps.save_zones(st.sessions)
    for line in [*lines, *_status_lines(st)]:
        _emit(out, line)
    _emit(out, red_flag_summary())  # on every check-in and answer, safety first and always
    return st


def start(data_dir: str | Path | None, day: dt.date, profile: str, stage: int | None,
          limits_file: str | Path | None, out: IO[str]) -> int:
    limits: dict[str, Any] = {}
    if limits_file is not None:
        with open(limits_file, "rb") as f:
            limits = tomllib.load(f)
        limits = dict(limits.get("programme", limits))
        apply_clinician_profile(load_config(), limits)  # refuse a loosening before anything is stored
    with ProgrammeStore.open(data_dir) as ps:
        ps.add_start(Start(day, profile, walkrun.ENTRY_STAGE if stage is None else stage, limits))
        _finish(ps, day, out, [f"programme started on {day.isoformat()}: profile {profile}"])
    return 0


def questions(as_json: bool, out: IO[str]) -> int:
    if as_json:
        _emit(out, json.dumps([q.to_dict() for q in QUESTIONS], indent=1))
    else:
        for q in QUESTIONS:
            _emit(out, f"{q.id:<16} {q.level:<9} {q.text}")
    return 0


def screen(data_dir: str | Path | None, day: dt.date, yes_ids: Sequence[str], out: IO[str]) -> int:
    answers = answers_from_yes(yes_ids)
    with ProgrammeStore.open(data_dir) as ps:
        ps.add_screen(Screen(day, answers))
        level = screen_level(answers)
        first = {"emergency": phrases.EMERGENCY_MESSAGE, "urgent": phrases.URGENT_MESSAGE}.get(level,
                                                                                             phrases.CLEAR_SCREEN_MESSAGE)
        _finish(ps, day, out, [first])
    return 0


def checkin(data_dir: str | Path | None, day: dt.date, when: str, back_nrs: int, leg_nrs: int,
            leg_extent: int | None, new_numbness: bool, new_weakness: bool, out: IO[str],
            calf_nrs: int | None = None, achilles_nrs: int | None = None) -> int:
    other = max((v for v in (calf_nrs, achilles_nrs) if v is not None), default=None)
    c = CheckIn(day, when, Pain(back_nrs, leg_nrs, leg_extent, other), new_numbness, new_weakness,
                calf_nrs=calf_nrs, achilles_nrs=achilles_nrs)
    with ProgrammeStore.open(data_dir) as ps:
        ps.add_checkin(c)
        tendon = "".join(f", {name} {v}" for name, v in (("calf", calf_nrs), ("Achilles", achilles_nrs)) if v is not None)
        _finish(ps, day, out, [f"check-in recorded ({when}): back {back_nrs}, leg {leg_nrs}"
                               + ("" if leg_extent is None else f", reaching: {_extent(leg_extent)}") + tendon])
    return 0


def _extent(n: int) -> str:
    return EXTENT_WORDS[n]


def session(data_dir: str | Path | None, day: dt.date, kind: str | None, out: IO[str]) -> int:
    with ProgrammeStore.open(data_dir) as ps:
        log = log_session(ps, day, kind)
        _finish(ps, day, out, [f"{log.kind} session recorded for {day.isoformat()} ({walkrun.stage_name(log.stage)}). "
                               + phrases.SESSION_DONE])
    return 0


def clear(data_dir: str | Path | None, day: dt.date, note: str, out: IO[str]) -> int:
    with ProgrammeStore.open(data_dir) as ps:
        ps.add_clearance(Clearance(day, note))
        _finish(ps, day, out, [phrases.CLEARANCE_RECORDED])
    return 0


def status(data_dir: str | Path | None, day: dt.date, as_json: bool, out: IO[str]) -> int:
    with ProgrammeStore.open(data_dir) as ps:
        st = evaluate(ps.history(), day)
        ps.save_zones(st.sessions)
        care_keys = care_view(ps, day, time.time())  # warm_up, timers, yoga, shoes
        focus = focus_summary(ps, day)
    if as_json:
        _emit(out, json.dumps({**st.to_dict(), **care_keys, "focus": focus}, indent=1))
        return 0
    _emit(out, red_flag_summary())
    for line in _status_lines(st):
        _emit(out, line)
    _emit(out, phrases.DISCLAIMER)
    return 0


def export(data_dir: str | Path | None, day: dt.date, out_dir: str | Path, out: IO[str]) -> int:
    with ProgrammeStore.open(data_dir) as ps:
        paths = export_store(ps, day, out_dir)
    for p in paths:
        _emit(out, str(p))
    return 0
