"""The programme through the command line: a scripted ten-week history replayed day by day
(`gait programme ... --date`), the export, and the store's migration to schema v3."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3

import pytest

from gait.cli import main
from gait.programme.redflags import red_flag_summary
from gait.storage import SCHEMA_VERSION, Store, migrate

D0 = dt.date(2025, 3, 3)


class Runner:
    def __init__(self, data_dir, capsys):
        self.data_dir = str(data_dir)
        self.capsys = capsys

    def __call__(self, n: int, *args: str) -> tuple[int, str]:
        self.capsys.readouterr()
        code = main(["programme", *args, "--data-dir", self.data_dir, "--date", (D0 + dt.timedelta(days=n)).isoformat()])
        return code, self.capsys.readouterr().out

    def status(self, n: int) -> dict:
        code, out = self(n, "status", "--json")
        assert code == 0
        return json.loads(out)

    def checkin(self, n: int, when: str, back: int, leg: int, extent: int = 1) -> None:
        code, out = self(n, "checkin", "--when", when, "--back", str(back), "--leg", str(leg), "--leg-extent", str(extent))
        assert code == 0 and "both legs" in out  # the red-flag summary on every check-in

    def session(self, n: int, during: tuple[int, int] | None = None) -> None:
        self.checkin(n, "pre", 2, 2)
        if during is not None:
            self.checkin(n, "during", *during)
        code, out = self(n, "session", "--completed")
        assert code == 0, out
        self.checkin(n, "after", 2, 2)


def test_ten_week_history(tmp_path, capsys):
    run = Runner(tmp_path / "store", capsys)
    assert run(0, "start", "--profile", "sciatica", "--stage", "1")[0] == 0
    assert run(0, "screen", "--yes", "")[0] == 0
    missing_morning, unsettled = {22}, {19: (4, 4)}
    amber = (3, 3)
    sessions = {0: None, 2: None, 4: amber, 6: None, 8: amber, 10: amber, 12: None, 14: None, 16: (2, 6),
                18: None, 21: None, 23: None, 25: None}
    sessions.update({d: None for d in range(29, 70, 2)})
    expect = {  # day: (state, stage, last_zone) after that day's morning check-in
        0: ("ready", 1, None), 2: ("ready", 1, "green"), 3: ("ready", 2, "green"), 7: ("ready", 3, "green"),
        11: ("ready", 3, "amber"), 13: ("ready", 3, "green"), 15: ("ready", 4, "green"), 17: ("ready", 3, "red"),
        19: ("hold", 2, "red"), 20: ("ready", 2, "red"), 23: ("ready", 2, "unknown"), 26: ("ready", 3, "green"),
        27: ("emergency", 3, "green"), 29: ("ready", 3, "green"), 32: ("ready", 4, "green"),
        36: ("ready", 5, "green"), 40: ("ready", 6, "green"), 44: ("ready", 7, "green"), 48: ("ready", 8, "green"),
        69: ("ready", 8, "green"),
    }
    seen = {}
    for n in range(70):
        if n not in missing_morning:
            run.checkin(n, "morning", *unsettled.get(n, (2, 2)))
        if n == 20:
            assert run(n, "clear", "--note", "physiotherapist: seen, go on")[0] == 0
        if n == 27:  # a red flag: both legs
            code, out = run(n, "screen", "--yes", "both_legs")
            assert code == 0 and "emergency" in out.lower()
            code, _ = run(n, "session", "--completed")
            assert code == 3  # locked: nothing starts
            st = run.status(n)
            assert st["next_session"]["kind"] == "rest" and st["next_session"]["intervals"] == []
        if n == 29:
            assert run(n, "clear", "--note", "A&E: examined, no emergency found")[0] == 0
            assert run.status(n)["state"] == "emergency"  # a review alone does not unlock
            assert run(n, "screen", "--yes", "")[0] == 0
        if n in expect:
            st = run.status(n)
            seen[n] = (st["state"], st["stage"], st["last_zone"])
            assert "both legs" in st["red_flag_summary"]
        if n in sessions:
            st = run.status(n)
            if n >= 49 and st["today"]["kind"] == "rest":  # past stage 7: three runs a programme week
                assert st["today"]["limited_by"] == "week"
                continue
            assert st["today"]["kind"] in ("walk-run", "run"), (n, st["today"])
            run.session(n, sessions[n])
    assert seen == expect

    st19 = run.status(19)  # replayed for that day: hold means walking only
    assert st19["next_session"]["kind"] == "walk" and st19["next_session"]["intervals"] == [[1800, 0]]
    st3 = run.status(3)
    assert st3["next_session"]["kind"] == "walk-run" and st3["next_session"]["intervals"] == [[180, 120]] * 6
    assert run.status(1)["next_session"]["date"] == (D0 + dt.timedelta(days=2)).isoformat()  # never two run days in a row
    nxt = run.status(48)["next_session"]  # the first week past stage 7: 90 min x 1.10 = 99 min in three runs
    assert nxt["date"] == (D0 + dt.timedelta(days=49)).isoformat() and nxt["kind"] == "run"
    assert nxt["intervals"] == [[0, 1980]]

    out_dir = tmp_path / "export"
    code, out = run(69, "export", "--out", str(out_dir))
    assert code == 0
    page = (out_dir / "programme.html").read_text(encoding="utf-8")
    text = [t.strip() for t in re.sub(r"<[^>]+>", "\n", page.split("<body>", 1)[1]).splitlines() if t.strip()]
    summary = [line.lstrip("- ") for line in red_flag_summary().splitlines()]
    assert text[: len(summary)] == summary
    for name in ("diary.csv", "sessions.csv", "stages.csv", "flags.csv"):  # every export opens with the red flags
        head = (out_dir / name).read_text(encoding="utf-8").splitlines()[: len(summary)]
        assert [x.removeprefix("# ").lstrip("- ") for x in head[1:]] == summary[1:] and head[0].startswith("# ")
    with (out_dir / "sessions.csv").open() as f:
        rows = list(csv.DictReader(x for x in f if not x.startswith("#")))
    by_day = {dt.date.fromisoformat(r["date"]): r for r in rows}
    assert by_day[D0 + dt.timedelta(days=16)]["class"] == "red" and by_day[D0 + dt.timedelta(days=16)]["stopped"] == "1"
    assert by_day[D0 + dt.timedelta(days=18)]["class"] == "red"  # did not settle
    assert by_day[D0 + dt.timedelta(days=21)]["class"] == "unknown"
    assert by_day[D0 + dt.timedelta(days=4)]["class"] == "amber"
    # past stage 7: weekly running minutes within 10 % a week and 30 % over 14 days
    past = sorted((dt.date.fromisoformat(r["date"]), float(r["running_min"])) for r in rows if r["stage"] == "8")
    first = past[0][0]
    weeks = [90.0] * 3 + [sum(m for d, m in past if (d - first).days // 7 == k) for k in range(3)]
    for k in range(3, len(weeks)):
        assert weeks[k] <= weeks[k - 1] * 1.10 + 1e-6
        assert weeks[k] + weeks[k - 1] <= 1.30 * (weeks[k - 2] + weeks[k - 3]) + 1e-6
    with (out_dir / "flags.csv").open() as f:
        flags = list(csv.DictReader(x for x in f if not x.startswith("#")))
    assert [f["level"] for f in flags if f["event"] == "screen"] == ["clear", "emergency", "clear"]
    # the diary is stored locally, and the cached classes agree with the rules
    with Store(tmp_path / "store") as s:
        zones = dict(s.conn.execute("SELECT day, zone FROM programme_sessions"))
    assert zones[(D0 + dt.timedelta(days=16)).isoformat()] == "red"


def test_questions_json_and_answers(tmp_path, capsys):
    assert main(["programme", "screen", "--questions", "--json"]) == 0
    qs = json.loads(capsys.readouterr().out)
    assert {q["level"] for q in qs} == {"emergency", "urgent"} and all(set(q) == {"id", "text", "level"} for q in qs)
    d = ["--data-dir", str(tmp_path), "--date", "2025-05-01"]
    assert main(["programme", "start", "--profile", "general", *d]) == 0
    assert main(["programme", "screen", "--yes", "fever", *d]) == 0
    capsys.readouterr()
    assert main(["programme", "status", "--json", *d]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["state"] == "urgent" and st["stage"] == 0 and st["next_session"]["kind"] == "walk"
    assert main(["programme", "screen", "--yes", "no_such_question", *d]) == 2
    assert main(["programme", "checkin", "--when", "pre", "--back", "1", "--leg", "1", *d]) == 0
    with pytest.raises(SystemExit):
        main(["programme", "checkin", "--when", "pre", "--back", "11", "--leg", "1", *d])


def test_clinician_limits_file(tmp_path, capsys):
    d = ["--data-dir", str(tmp_path / "s"), "--date", "2025-05-01"]
    tight = tmp_path / "tight.toml"
    tight.write_text("[programme]\nstop_threshold_nrs = 3\n")
    loose = tmp_path / "loose.toml"
    loose.write_text("[programme]\nstop_threshold_nrs = 7\n")
    assert main(["programme", "start", "--profile", "sciatica", "--limits", str(loose), *d]) == 2
    assert "stop_threshold_nrs" in capsys.readouterr().err
    assert main(["programme", "start", "--profile", "sciatica", "--limits", str(tight), *d]) == 0
    capsys.readouterr()
    main(["programme", "status", "--json", *d])
    assert json.loads(capsys.readouterr().out)["limits"]["stop_threshold_nrs"] == 3


def test_a_v2_store_opens_and_gains_the_programme_tables(tmp_path):
    conn = sqlite3.connect(tmp_path / "gait.sqlite", isolation_level=None)
    assert migrate(conn, target=2) == [1, 2]
    conn.execute("INSERT INTO runs (uuid, start_time, status) VALUES ('r1', 1700000000, 'closed')")
    conn.close()
    with Store(tmp_path) as s:
        assert s.migrations_applied == list(range(3, SCHEMA_VERSION + 1))  # v3 and any later one
        assert s.run(1).uuid == "r1"
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"programme_starts", "programme_checkins", "programme_screens", "programme_clearances",
                "programme_sessions"} <= tables


def test_gate_for_the_live_run(tmp_path):
    import io

    from gait.programme import ConsecutiveDayRun, Pain, ProgrammeLocked, RunNotAllowed, ScreenDue, gate, log_session
    from gait.programme.commands import screen, start

    out, d = io.StringIO(), tmp_path
    day = dt.date(2025, 6, 2)
    start(d, day, "sciatica", 2, None, out)
    with pytest.raises(ScreenDue):
        gate(d, day, kind="walk-run")  # sciatica: the red-flag questions first, once a day
    screen(d, day, [""], out)
    plan = gate(d, day, kind="walk-run")
    assert plan.kind == "walk-run" and plan.intervals == ((180, 120),) * 6 and plan.warm_up_walk_s == 600
    assert plan.stop(Pain(2, 6, 1)).stop and not plan.stop(Pain(0, 1, 0)).stop
    log_session(d, day)
    nxt = day + dt.timedelta(days=1)
    with pytest.raises(ConsecutiveDayRun):
        gate(d, nxt, kind="walk-run")
    assert gate(d, nxt).kind == "rest"
    screen(d, nxt, ["trauma"], out)
    with pytest.raises(RunNotAllowed):
        gate(d, nxt + dt.timedelta(days=1), kind="walk-run")
    assert gate(d, nxt + dt.timedelta(days=1), kind="walk").kind == "walk"
    screen(d, nxt, ["bowel"], out)
    for kind in (None, "walk", "walk-run"):
        with pytest.raises(ProgrammeLocked):
            gate(d, nxt + dt.timedelta(days=30), kind=kind)
