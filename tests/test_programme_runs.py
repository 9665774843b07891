"""Runs inside the programme (issue 9): the run engine asks the programme before a run starts,
announces today's session, judges pain with the programme's stop rule and logs the session.

Real parts: the programme is set up through ``gait programme`` (the command line), the runs are
the simulator through ``gait live`` and the real adept outdoor run through the engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json

import pytest

from gait.cli import cmd_live, main, parse
from gait.cues import CuePlayer
from gait.demo import adept_sensors, load_adept_run
from gait.engine.driver import run_source
from gait.engine.setup import RunOptions, open_engine
from gait.engine.sources import pods_from_blocks
from gait.engine.today import interval_plan, stop_rule, todays_session
from gait.programme import ProgrammeLocked, phrases
from gait.storage import Store
from tests.conftest import adept_run_path
from tests.test_session_intervals import Said

DAY = "2026-11-02"


def programme(data, *argv: str, day: str = DAY) -> int:
    return main(["programme", *argv, "--data-dir", str(data), "--date", day])


def status(data, day: str = DAY, capsys=None) -> dict:
    if capsys is not None:
        capsys.readouterr()
    assert programme(data, "status", "--json", day=day) == 0
    return json.loads(capsys.readouterr().out)


def live(data, *extra: str, day: str = DAY) -> tuple[int, str]:
    out = io.StringIO()
    code = cmd_live(parse("live", "--source", "simulator", "--duration", "20", "--speed", "max", "--data-dir", str(data),
                          "--date", day, "--cues", "silent", "--status-every", "0", "--no-keys", *extra), out=out)  # fmt: skip
    return code, out.getvalue()


def started(data, stage: int = 2) -> None:
    assert programme(data, "start", "--profile", "sciatica", "--stage", str(stage)) == 0
    assert programme(data, "screen", "--yes", "") == 0
    assert programme(data, "checkin", "--when", "pre", "--back", "2", "--leg", "2", "--leg-extent", "1") == 0


def test_no_run_starts_while_a_red_flag_is_open(tmp_path, capsys):
    started(tmp_path)
    assert programme(tmp_path, "screen", "--yes", "both_legs") != 0 or status(tmp_path, capsys=capsys)["state"] == "emergency"
    cap = tmp_path / "x.gcap"
    code, text = live(tmp_path, "--record", str(cap))
    err = capsys.readouterr().err
    assert code == 3 and "emergency" in err.lower() and text == ""
    assert not cap.exists()  # nothing connected, nothing recorded
    with Store(tmp_path) as store:
        assert store.run_ids() == []  # and nothing stored
    # a clinician review alone does not unlock it; a review and a clean screen do
    assert programme(tmp_path, "clear", "--note", "seen by Dr A, stable") == 0
    assert live(tmp_path)[0] == 3
    assert programme(tmp_path, "screen", "--yes", "") == 0
    code, text = live(tmp_path)
    assert code == 0 and "Walk briskly for 10 minutes" in text


def test_urgent_allows_walking_only(tmp_path, capsys):
    started(tmp_path)
    programme(tmp_path, "screen", "--yes", "fever")
    assert status(tmp_path, capsys=capsys)["state"] == "urgent"
    code, text = live(tmp_path)
    assert code == 0
    assert "Run now" not in text and "Walk now" in text  # a walking session: no run interval at all


def test_a_session_logs_itself_one_a_day_and_the_day_after_running_is_a_rest_day(tmp_path, capsys):
    started(tmp_path)
    code, _ = live(tmp_path)  # 20 s of a 32-minute session (still in the warm-up walk)
    assert code == 0 and "logged, not completed" in capsys.readouterr().err
    code, _ = live(tmp_path)  # one session a day
    assert code == 2 and "session" in capsys.readouterr().err.lower()
    # a completed walk-run session the next day: the day after it is a rest day
    assert programme(tmp_path, "screen", "--yes", "", day="2026-11-03") == 0
    assert programme(tmp_path, "session", "--completed", day="2026-11-03") == 0
    assert programme(tmp_path, "screen", "--yes", "", day="2026-11-04") == 0
    capsys.readouterr()
    code, _ = live(tmp_path, day="2026-11-04")
    assert code == 2 and "rest" in capsys.readouterr().err.lower()


def test_the_programmes_stop_rule_on_a_real_run_in_stage_2(tmp_path, capsys):
    adept_run_path()  # fetched, or the test skips (fails under CI)
    started(tmp_path)
    today = todays_session(tmp_path, dt.date.fromisoformat(DAY))
    assert today.kind == "walk-run" and today.stage == 2
    said = Said()
    player = CuePlayer("speech", which=lambda name: f"/usr/bin/{name}", popen=said)
    options = RunOptions(store=False, placement="waist", plan=interval_plan(today))
    sensors = {"hip": adept_sensors(load_adept_run())["hip"]}
    engine = open_engine(options, devices=[d for d, _ in sensors.values()], display=False, cue_player=player,
                         stop_rule=stop_rule(today))  # fmt: skip
    said.engine = engine
    source = pods_from_blocks(sensors, rate_hz=100.0, speed=None)
    reported = []

    class Reports:
        kind = "recording"

        def __aiter__(self):
            return self.gen()

        async def gen(self):
            async for p in source:
                yield p
                if not reported and engine.now_s() >= 950.0:  # in the second run interval
                    reported.append(engine.now_s())
                    engine.checkin(2, 3, 1)  # leg 2 -> 3: below the increment of 2, no stop
                if len(reported) == 1 and engine.now_s() >= 960.0:
                    reported.append(engine.now_s())
                    engine.checkin(2, 4, 1)  # leg 2 -> 4 (sciatica: +2): stop

        def stop(self):
            source.stop()

        async def aclose(self):
            await source.aclose()

    asyncio.run(run_source(Reports(), engine, handle_sigint=False, link_loss_timeout_s=None))
    stops = [(t, text) for t, text in said.lines if text == phrases.STOP_PHRASE]
    assert len(stops) == 1 and abs(stops[0][0] - reported[1]) <= 1.0
    assert not [text for t, text in said.lines if t > stops[0][0] and text.startswith("Run now")]
    assert engine.stopped and 60.0 < engine.running_s() < 240.0  # the first run interval and part of the second
    notes = [n.note for n in engine.summary.pain_notes]
    assert notes == ["back 2, leg 3, reaches 1", "back 2, leg 4, reaches 1"]


def test_locked_programme_refuses_through_the_library_too(tmp_path):
    started(tmp_path)
    programme(tmp_path, "screen", "--yes", "bladder")
    with pytest.raises(ProgrammeLocked):
        todays_session(tmp_path, dt.date.fromisoformat(DAY))


def test_each_run_records_its_footwear_and_minimal_shoes_must_fit_the_transition(tmp_path, capsys):
    started(tmp_path)
    code, _ = live(tmp_path, "--footwear", "minimal")  # no transition started: refused before anything connects
    assert code == 2 and "not_started" in capsys.readouterr().err
    with Store(tmp_path) as store:
        assert store.run_ids() == []
    code, _ = live(tmp_path)
    assert code == 0
    out = tmp_path / "export"
    assert programme(tmp_path, "export", "--out", str(out)) == 0
    care = [x for x in (out / "care.csv").read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    assert f'{DAY},"regular shoes, run",0,' in care  # 20 s of the warm-up walk: no running yet


def test_the_red_flags_are_spoken_before_the_first_session_of_each_week(tmp_path, capsys):
    started(tmp_path)
    code, text = live(tmp_path)  # Monday: the week's first session
    assert code == 0
    lines = text.splitlines()
    first = next(i for i, x in enumerate(lines) if "Seek emergency care now" in x)
    assert first < next(i for i, x in enumerate(lines) if "Walk briskly for 10 minutes" in x)  # before the session
    assert "both legs" in lines[first]
    assert programme(tmp_path, "screen", "--yes", "", day="2026-11-04") == 0
    code, text = live(tmp_path, day="2026-11-04")  # Wednesday, same week: not again
    assert code == 0 and "Seek emergency care now" not in text and "Walk briskly" in text
