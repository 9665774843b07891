"""``gait programme focus | probe | review``: retraining one focus at a time (F4) and the form-pain
review (F5), on typed values (the argument parsing is in `gait.cli`). Each prints to ``out`` and
returns the exit code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import IO, Any

from gait.programme import phrases
from gait.programme.redflags import red_flag_summary
from gait.programme.retrain_access import focus_summary, record_probe, record_run_value, review, start_focus


def _emit(out: IO[str], text: str) -> None:
    print(text, file=out)


def _show(summary: dict[str, Any] | None, as_json: bool, out: IO[str], first: str = "") -> int:
    if as_json:
        _emit(out, json.dumps({"focus": summary}, indent=1))
        return 0
    if first:
        _emit(out, first)
    if summary is None:
        _emit(out, "no retraining focus: gait programme focus --start cadence")
    else:
        s = summary
        _emit(out, f"focus: {s['name']}   phase: {s['phase']}   session {s['session']} of 8   "
                   f"feedback {s['feedback_fraction'] * 100:.0f} % of running time")
        _emit(out, f"target {s['target_low']:g}-{s['target_high']:g} {s['unit']} "
                   f"(your baseline {s['baseline']:g} {s['unit']} {s['delta_pct']:+g} %)")
        if s["probe_due"]:
            _emit(out, f"probe due today ({s['probe_due']}): {phrases.PROBE_START}")
        for p in s["probes"]:
            _emit(out, f"probe {p['probe']} on {p['date']}: {p['value']:g} ({p['retained'] * 100:.0f} % kept) "
                       f"{'passed' if p['passed'] else 'not passed'}")
        for line in (s["message"], s["note"], *s["checkin_questions"]):
            if line:
                _emit(out, line)
        if s["next_focus"]:
            _emit(out, f"next focus: {s['next_focus']} "
                       + ("may start" if s["next_focus_may_start"] else f"(not yet: {s['next_focus_refused']})"))
    _emit(out, red_flag_summary())
    return 0


def focus(data_dir: str | Path | None, day: dt.date, start: str | None, baseline: float | None,
          delta_pct: float | None, foot_sensor: bool, run_value: float | None, as_json: bool, out: IO[str]) -> int:
    first = ""
    if start is not None:
        st = start_focus(data_dir, day, start, baseline, delta_pct, foot_sensor=foot_sensor)
        first = f"focus started on {day.isoformat()}: {phrases.FOCUS_NAMES[st.metric]}"
    if run_value is not None:
        record_run_value(data_dir, day, run_value)
        first = f"run value recorded for {day.isoformat()}: {run_value:g}"
    return _show(focus_summary(data_dir, day), as_json, out, first)


def probe(data_dir: str | Path | None, day: dt.date, value: float | None, as_json: bool, out: IO[str]) -> int:
    st = record_probe(data_dir, day, value)
    p = st.probes[-1]
    first = f"probe {p.label} recorded: {p.value:g}, {'passed' if p.passed else 'not passed'}"
    return _show(focus_summary(data_dir, day), as_json, out, first)


def review_cmd(data_dir: str | Path | None, day: dt.date, as_json: bool, out: IO[str]) -> int:
    a = review(data_dir, day)
    if as_json:
        _emit(out, json.dumps(a.to_dict(), indent=1))
        return 0
    if not a.shown:
        _emit(out, a.message)
    else:
        _emit(out, f"n = {a.n} sessions over {a.span_days} days; Spearman rho = "
                   + ("-" if a.rho is None else f"{a.rho:+.2f}") + " (focus metric against pain class)")
        for p in a.timeline:
            _emit(out, f"{p.day.isoformat()}  {p.metric:<8} run {p.run_value if p.run_value is not None else '-'}"
                       f"  probe {p.probe_value if p.probe_value is not None else '-'}  {p.zone or '-'}")
        for c in a.changes:
            _emit(out, f"focus change {c.day.isoformat()}: {c.metric}")
    _emit(out, a.caption)
    return 0
