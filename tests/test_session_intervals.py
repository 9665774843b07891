"""Today's walk-run session inside a run (issue 9): a recorded run replayed as stage 2 of the
walk-run return speaks "run now" / "walk now" at the interval edges, lets no form cue speak in
a walk interval, and after a pain stop says nothing more about running.

The run is real (the adept outdoor run's hip accelerometer, 25 minutes), played as an openpod
pod through the run engine; the cue player is the real one in speech mode, with the speech
program replaced by a recorder of what would have been said and when (the stream time).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gait.core.records import ALERT_SILENT
from gait.cues import CuePlayer
from gait.demo import adept_sensors, load_adept_run
from gait.engine.driver import run_source
from gait.engine.intervals import IntervalPlan
from gait.engine.setup import RunOptions, open_engine
from gait.engine.sources import pods_from_blocks
from tests.conftest import adept_run_path
from tests.test_live_outputs import COACH_TOML  # a coach that speaks about bounce at once and often

STAGE_2 = [(180.0, 120.0)] * 6  # 6 x (walk 3:00 / run 2:00), after a 10-minute warm-up walk
class Said:
    """Stands in for espeak-ng: what would have been spoken, at which stream time."""

    def __init__(self) -> None:
        self.engine = None
        self.lines: list[tuple[float, str]] = []

    def __call__(self, args, **kw):
        self.lines.append((self.engine.now_s(), args[-1]))

        class Done:
            def poll(self):
                return 0

        return Done()


class PainAt:
    """The recording's packets, with a pain check-in reported when the stream reaches ``at_s``."""

    kind = "recording"

    def __init__(self, source, engine, at_s: float | None, score: int):
        self.source, self.engine, self.at_s, self.score = source, engine, at_s, score
        self.reported_s: float | None = None

    def __aiter__(self):
        return self.gen()

    async def gen(self):
        async for p in self.source:
            yield p
            if self.at_s is not None and self.reported_s is None and self.engine.now_s() >= self.at_s:
                self.reported_s = self.engine.now_s()
                self.engine.pain(self.score, "during")

    def stop(self):
        self.source.stop()

    async def aclose(self):
        await self.source.aclose()


def session(tmp_path: Path, pain_at_s: float | None = None, pain_before: int | None = None, score: int = 0):
    adept_run_path()  # fetched, or the test skips (fails under CI)
    sensors = {"hip": adept_sensors(load_adept_run())["hip"]}
    coach_file = tmp_path / "coach.toml"
    coach_file.write_text(COACH_TOML)
    said = Said()
    player = CuePlayer("speech", which=lambda name: f"/usr/bin/{name}", popen=said)
    options = RunOptions(store=False, coach_config=str(coach_file), placement="waist", speed_mps=3.09,
                         plan=IntervalPlan.walk_run(STAGE_2), pain_before=pain_before)  # fmt: skip
    engine = open_engine(options, devices=[d for d, _ in sensors.values()], display=False, cue_player=player)
    said.engine = engine
    source = PainAt(pods_from_blocks(sensors, rate_hz=100.0, speed=None), engine, pain_at_s, score)
    summary = asyncio.run(run_source(source, engine, handle_sigint=False, link_loss_timeout_s=None))
    return engine, summary, said, source


def test_stage_2_says_run_now_and_walk_now_at_the_edges_and_no_form_cue_while_walking(tmp_path):
    engine, summary, said, _ = session(tmp_path)
    plan = engine.plan
    edges = [p for p in plan.phases if p.kind in ("run", "walk") and p.start_s < summary.health["left_hip"]["samples"] / 100.0 - 2]
    assert len(edges) >= 6  # 25 minutes: the warm-up and the first intervals
    for p in edges:
        word = "Run now." if p.kind == "run" else "Walk now."
        times = [t for t, text in said.lines if text.startswith(word) and f"{p.index} of 6" in text]
        assert times, (p, said.lines[:20])
        assert abs(times[0] - p.start_s) <= 1.0  # spoken within a second of the edge
    assert said.lines[0][1].startswith("Walk briskly for 10 minutes")
    # form cues: spoken only inside run intervals; recorded silently during the walks
    form = [(t, text) for t, text in said.lines if not text.startswith(("Run now", "Walk now", "Walk briskly", "Pain check"))]
    # a pain check-in is asked with every walk call that follows a run interval
    assert all("Pain check" in text for t, text in said.lines if text.startswith("Walk now.") and not text.endswith("1 of 6."))
    assert form, "the coach spoke no form cue at all"
    for t, _text in form:
        assert plan.at(t).kind == "run", (t, plan.at(t))
    silent = [a for a in summary.alerts if a.rule == "bounce" and a.kind == ALERT_SILENT]
    assert any(plan.at(a.time_s).kind != "run" for a in silent)


def test_a_pain_stop_is_said_within_a_second_and_nothing_about_running_after_it(tmp_path):
    # pain 2 before the run, 4 during (a rise of 2) in the second run interval
    engine, summary, said, source = session(tmp_path, pain_at_s=930.0, pain_before=2, score=4)
    assert source.reported_s is not None
    stops = [(t, text) for t, text in said.lines if text.startswith("Stop")]
    assert stops and abs(stops[0][0] - source.reported_s) <= 1.0
    after = [text for t, text in said.lines if t > stops[0][0]]
    assert not [x for x in after if x.startswith("Run now")]
    assert all(x.startswith(("Walk", "Stop")) or "done" in x.lower() for x in after), after


def test_plans_and_their_pain_prompts():
    stage1 = IntervalPlan.walk_run([(240.0, 60.0)] * 6)
    kinds = [p.kind for p in stage1.phases]
    assert kinds[0] == "warmup" and kinds[-2:] == ["cooldown", "done"] and kinds.count("run") == 6
    assert stage1.running_s == 360.0 and stage1.phases[-1].start_s == 600 + 6 * 300 + 300
    # asked at each walk that follows a run: walks 2..6 (the first walk comes before any running)
    assert stage1.prompts_s == tuple(600.0 + 300.0 * k for k in range(1, 6))
    continuous = IntervalPlan.walk_run([(0.0, 1800.0)])  # stage 7: 30 minutes' running
    assert continuous.prompts_s == (1200.0, 1800.0)  # every 10 minutes into the run
    assert continuous.at(599.0).kind == "warmup" and continuous.at(600.0).running and continuous.at(2400.0).kind == "cooldown"
    with pytest.raises(ValueError):
        IntervalPlan.walk_run([(-1.0, 60.0)])


def _coached_run(tmp_path, feedback_on):
    sensors = {"hip": adept_sensors(load_adept_run(minutes=8.0))["hip"]}
    coach_file = tmp_path / "coach.toml"
    coach_file.write_text(COACH_TOML)
    said = Said()
    player = CuePlayer("speech", which=lambda name: f"/usr/bin/{name}", popen=said)
    options = RunOptions(store=False, coach_config=str(coach_file), placement="waist", speed_mps=3.09)
    engine = open_engine(options, devices=[d for d, _ in sensors.values()], display=False, cue_player=player,
                         feedback_on=feedback_on)  # fmt: skip
    said.engine = engine
    asyncio.run(run_source(pods_from_blocks(sensors, rate_hz=100.0, speed=None), engine, handle_sigint=False,
                           link_loss_timeout_s=None))  # fmt: skip
    return engine, said


def test_faded_feedback_speaks_only_inside_its_windows(tmp_path):
    adept_run_path()  # fetched, or the test skips (fails under CI)
    _, full = _coached_run(tmp_path, lambda running_s: True)
    _, none = _coached_run(tmp_path, lambda running_s: False)
    _, half = _coached_run(tmp_path, lambda running_s: (running_s // 120) % 2 == 0)  # on, off, on... 2-minute windows
    assert len(full.lines) >= 10 and none.lines == []
    assert half.lines and all((t // 120) % 2 == 0 for t, _ in half.lines)
    assert len(half.lines) < len(full.lines)
