"""Export of the programme: the pain diary, session classes, stage history and red flags as CSV,
and a printable HTML page whose first lines are the red-flag summary and the disclaimer.

Export is the only way the diary leaves the local store, and it is an explicit command.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

from gait.programme import phrases, walkrun
from gait.programme.plan import History, ProgrammeStatus
from gait.programme.redflags import QUESTIONS, red_flag_summary

FILES = ("diary.csv", "sessions.csv", "stages.csv", "flags.csv", "focus.csv", "care.csv", "programme.html")


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """A CSV file whose first lines (``#``) are the red-flag summary and the disclaimer, as on
    every page of the programme; the table follows."""
    with path.open("w", newline="", encoding="utf-8") as f:
        for line in (*red_flag_summary().splitlines(), phrases.DISCLAIMER):
            f.write(f"# {line}\n")
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _focus_rows(focus: Any) -> list[list[object]]:
    starts, values = focus if focus is not None else ((), ())
    rows: list[list[object]] = [[f.day.isoformat(), f.metric, "start", f"{f.baseline:g}",
                                 f"baseline, change {f.delta_pct:+g} %"] for f in starts]
    rows += [[v.day.isoformat(), v.metric, v.kind if not v.label else f"{v.kind} {v.label}", f"{v.value:.4g}", ""]
             for v in values]
    return sorted(rows, key=lambda r: str(r[0]))


def _care_rows(care: Any) -> list[list[object]]:
    if care is None:
        return []
    rows: list[list[object]] = [[t.day.isoformat(), f"{t.kind} timer", f"{t.planned_min:g}", ""] for t in care.timers]
    rows += [[y.day.isoformat(), f"yoga ({y.setting})", f"{y.minutes:g}",
              "" if y.pain_nrs is None else f"pain {y.pain_nrs}"] for y in care.yoga]
    rows += [[f.day.isoformat(), f"{f.footwear} shoes, {f.activity}", f"{f.minutes:g}",
              "" if f.foot_pain_nrs is None else f"foot pain {f.foot_pain_nrs}"] for f in care.footwear]
    return sorted(rows, key=lambda r: str(r[0]))


def export_store(ps: Any, day: Any, out_dir: str | Path) -> list[Path]:
    """The whole export of a programme store (`gait.programme.store.ProgrammeStore`) on ``day``:
    the diary and the classes, the retraining focus and its values, the care records."""
    from gait.programme.plan import evaluate
    from gait.programme.retrain_store import focus_records

    hist = ps.history()
    status = evaluate(hist, day)
    return export(hist.until(day), status, out_dir, focus=focus_records(ps), care=ps.care())


def export(history: History, status: ProgrammeStatus, out_dir: str | Path, *, focus: Any = None,
           care: Any = None) -> list[Path]:
    """Write the export files into ``out_dir`` (created); returns their paths. ``focus``: (focus
    starts, focus values); ``care``: the care records (timers, yoga, footwear)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    diary = [[c.day.isoformat(), c.when, c.pain.back_nrs, c.pain.leg_nrs,
              "" if c.pain.leg_extent is None else c.pain.leg_extent, int(c.new_numbness), int(c.new_weakness),
              "" if c.calf_nrs is None else c.calf_nrs, "" if c.achilles_nrs is None else c.achilles_nrs]
             for c in sorted(history.checkins, key=lambda c: (c.day, c.seq))]
    _write(out / "diary.csv", ["date", "when", "back_nrs", "leg_nrs", "leg_extent", "new_numbness", "new_weakness",
                               "calf_nrs", "achilles_nrs"], diary)
    sessions = [[r.day.isoformat(), r.stage, r.kind, int(r.completed), f"{r.running_min:g}", r.zone or "pending",
                 int(r.stopped)] for r in status.sessions]
    _write(out / "sessions.csv", ["date", "stage", "kind", "completed", "running_min", "class", "stopped"], sessions)
    stages = [[c.day.isoformat(), c.stage, walkrun.stage_name(c.stage), c.reason] for c in status.stages]
    _write(out / "stages.csv", ["date", "stage", "stage_name", "reason"], stages)
    flags: list[list[object]] = []
    for s in sorted(history.screens, key=lambda s: (s.day, s.seq)):
        flags.append([s.day.isoformat(), "screen", s.level, " ".join(s.yes)])
    for c in sorted(history.clearances, key=lambda c: (c.day, c.seq)):
        flags.append([c.day.isoformat(), "clinician review", "", c.note])
    flags.sort(key=lambda r: str(r[0]))
    _write(out / "flags.csv", ["date", "event", "level", "detail"], flags)
    _write(out / "focus.csv", ["date", "metric", "record", "value", "detail"], _focus_rows(focus))
    _write(out / "care.csv", ["date", "what", "minutes", "detail"], _care_rows(care))
    page = out / "programme.html"
    page.write_text(html_page(history, status, focus=focus, care=care), encoding="utf-8")
    return [out / name for name in FILES]


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(history: History, status: ProgrammeStatus, *, focus: Any = None, care: Any = None) -> str:
    """The printable page. Its first text lines are the red-flag summary, then the disclaimer."""
    lines = red_flag_summary().splitlines()
    flag_panel = ("<section id=\"red-flags\" class=\"red-flags\"><h1>" + html.escape(lines[0]) + "</h1><ul>"
                  + "".join(f"<li>{html.escape(line.lstrip('- '))}</li>" for line in lines[1:]) + "</ul>"
                  + f"<p>{html.escape(phrases.DISCLAIMER)}</p></section>")
    diary = [[c.day.isoformat(), c.when, c.pain.back_nrs, c.pain.leg_nrs,
              "" if c.pain.leg_extent is None else c.pain.leg_extent]
             for c in sorted(history.checkins, key=lambda c: (c.day, c.seq))]
    sessions = [[r.day.isoformat(), walkrun.stage_name(r.stage), r.kind, r.zone or "pending",
                 "yes" if r.stopped else ""] for r in status.sessions]
    stages = [[c.day.isoformat(), walkrun.stage_name(c.stage), c.reason] for c in status.stages]
    screens = [[s.day.isoformat(), s.level, ", ".join(s.yes)] for s in sorted(history.screens, key=lambda s: (s.day, s.seq))]
    reviews = [[c.day.isoformat(), c.note] for c in sorted(history.clearances, key=lambda c: (c.day, c.seq))]
    questions = [[q.id, q.level, q.text] for q in QUESTIONS]
    today = status.day.isoformat()
    return "\n".join([
        "<!doctype html>",
        "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Programme export</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #999;padding:2px 6px}.red-flags{border:3px solid #b00;padding:0.5em 1em}"
        "@media print{.red-flags{break-inside:avoid}}</style></head><body>",
        flag_panel,
        f"<h2>Programme on {today}</h2>",
        f"<p>Profile: {html.escape(status.profile)}. State: {html.escape(status.state)}. "
        f"Stage: {html.escape(walkrun.stage_name(status.stage))}. Last class: {html.escape(status.last_zone or '-')}.</p>",
        "<h2>Pain diary</h2>", _table(["date", "when", "back (0-10)", "leg (0-10)", "leg extent (0-4)"], diary),
        "<h2>Sessions</h2>", _table(["date", "stage", "kind", "class", "stopped"], sessions),
        "<h2>Stage history</h2>", _table(["date", "stage", "why"], stages),
        "<h2>Red-flag screens</h2>", _table(["date", "result", "yes answers"], screens),
        "<h2>Clinician reviews</h2>", _table(["date", "note"], reviews),
        "<h2>Form focus (retraining)</h2>", _table(["date", "metric", "record", "value", "detail"], _focus_rows(focus)),
        "<h2>Care around the run</h2>", _table(["date", "what", "minutes", "detail"], _care_rows(care)),
        "<h2>The questions</h2>", _table(["id", "level", "question"], questions),
        "</body></html>",
    ])
