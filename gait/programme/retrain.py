"""Gait retraining, one focus at a time (spec F4). Pure: no storage, no clock; the day is given.

    t = focus_target("cadence", baseline=160.0, config=cfg)       # Target: centre 168, band 166-170
    feedback_fraction(5, cfg)                                      # 0.75
    feedback_on(5, running_s=400.0, config=cfg)                    # alternating 5-minute windows
    cues = BandwidthCues(t)                                        # the in-run cue scheduler
    cues, text = cues.step(t_s, value, running=True, feedback=True)
    probe_passes(t, probe_mean=166.4, zone="green")                # >= 80 % of the intended change kept
    state = fold_focus(starts, values, sessions, day)              # the block, its probes, the ladder
    maintenance_every_m(state, day, runs_since_week_3)             # outdoor check cues after a block

A block: a no-feedback baseline at the runner's own speed, then 8 sessions (one per run day, so
never two days in a row), feedback available 100 % of running time in sessions 1-4, then 75, 50,
25 and 0 % in sessions 5-8; probes of 5 minutes without feedback at the end of session 8, after 7
days and after 28 days. A failed probe at the end of session 8 or after 7 days repeats sessions
5-8 once; a second failure keeps the focus in maintenance, unlocks nothing and suggests a review.

Every target is the runner's baseline x (1 + delta), never a population number: cadence +5 %
first (then +7.5 %), at most the config's cadence cap (+10 %, a clinician may lower it); a softer
landing 80 % of the baseline peak impact (only with a foot sensor); trunk lean within +-5 deg of
the calibrated baseline (no change intended).

Design choices (the literature gives no value): the split 75/50/25/0 %; the on/off pattern of
5-minute windows; the probe pass mark (80 % of the intended change kept, and the session not red);
the band half-widths (cadence 1.5 % of baseline, impact 5 % of baseline); the hysteresis (back
inside only a quarter of the band inside its edge); a missed end-of-session-8 probe is skipped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gait.programme import phrases
from gait.programme.config import DEFAULT_CONFIG, ProgrammeConfig
from gait.programme.errors import ConfigOutOfBounds, ProgrammeError
from gait.programme.pain import RED
from gait.programme.plan import RUN_KINDS, SessionResult

CADENCE, LANDING, LEAN = "cadence", "landing", "lean"
LADDER: tuple[str, ...] = (CADENCE, LANDING, LEAN)  # default order; one focus active at a time
METRIC_UNITS = {CADENCE: "spm", LANDING: "g", LEAN: "deg"}
METRIC_STEP_FIELD = {CADENCE: "cadence_spm", LANDING: "impact_g", LEAN: "lean_deg"}  # the step column of each
REPORTED_NOT_CUED = ("vo_cm",)  # bounce falls with cadence: shown in the review, never spoken

BLOCK_SESSIONS = 8
FULL_FEEDBACK_SESSIONS = 4
WINDOW_S = 300.0  # on/off windows of 5 minutes (G5)
PROBE_S = 300  # a probe: 5 minutes of running without feedback
PROBE_DAYS = {"end": 0, "7d": 7, "28d": 28}  # after the block's last session
DECISIVE_PROBES = ("end", "7d")  # a failure repeats sessions 5-8 (once)
PASS_RETAINED = 0.80  # design choice: the probe keeps >= 80 % of the intended change
BLOCK_DAYS = (14, 21)  # 8 sessions within 14-21 days
MIN_SESSIONS_PER_WEEK = 3
ROLLING_S = 10.0  # the cue scheduler's rolling mean
CUE_AFTER_S = 20.0  # a cue after this long outside the band
CUE_GAP_S = 60.0  # at most one cue a minute
RED_FREE_DAYS = 14  # no new focus within 14 days of a red session
SPEED_MATCH_MPS = 0.3  # design choice: a probe is compared with the baseline within +-0.3 m/s

CADENCE_STEPS_PCT = (5.0, 7.5, 10.0)  # first +5 %, then +7.5 %, never above the config's cap
LANDING_DELTA_PCT = -20.0  # peak impact <= 80 % of baseline (G3/G12 triggers)
LANDING_CAP_PCT = 20.0
LEAN_BAND_DEG = 5.0  # baseline +- 5 deg (algorithms.md 5.4)
CADENCE_HALF_BAND_PCT = 1.5  # design choice
LANDING_HALF_BAND_PCT = 5.0  # design choice

BLOCK, PROBES, MAINTENANCE, STALLED = "block", "probes", "maintenance", "stalled"


class FocusRefused(ProgrammeError):
    """A focus that may not start now (another one active, a red in the last 14 days, a rising
    pain trend, the current focus not yet through its 7-day probe, no foot sensor for landing)."""


class ProbeNotDue(ProgrammeError):
    """No retention probe is due on this day."""


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The band a focus aims at: ``centre = baseline * (1 + delta_pct / 100)``, never absolute.
    ``one_sided``: only leaving the band on the high side is a cue (a softer landing may be softer)."""

    metric: str
    baseline: float
    delta_pct: float
    low: float
    high: float
    one_sided: bool = False

    @property
    def centre(self) -> float:
        return self.baseline * (1.0 + self.delta_pct / 100.0)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def outside(self, value: float) -> int:
        """-1 below the band, +1 above, 0 inside (below never counts for a one-sided band)."""
        if value > self.high:
            return 1
        if value < self.low and not self.one_sided:
            return -1
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "unit": METRIC_UNITS[self.metric], "baseline": round(self.baseline, 3),
                "delta_pct": self.delta_pct, "target": round(self.centre, 3), "target_low": round(self.low, 3),
                "target_high": round(self.high, 3), "one_sided": self.one_sided}


def cap_pct(metric: str, config: ProgrammeConfig = DEFAULT_CONFIG) -> float:
    """The largest change over the baseline a focus may ask for (invariant 6)."""
    return {CADENCE: config.cadence_change_cap_pct, LANDING: LANDING_CAP_PCT, LEAN: 0.0}[metric]


def default_delta_pct(metric: str, step: int = 0, config: ProgrammeConfig = DEFAULT_CONFIG) -> float:
    """The ladder's change for a metric: cadence +5 % first (step 0), then +7.5 %, +10 %, each at
    most the cap; a softer landing -20 %; lean 0 (stay in the band)."""
    if metric == CADENCE:
        return min(CADENCE_STEPS_PCT[min(step, len(CADENCE_STEPS_PCT) - 1)], cap_pct(CADENCE, config))
    return {LANDING: LANDING_DELTA_PCT, LEAN: 0.0}[metric]


def focus_target(metric: str, baseline: float, delta_pct: float | None = None,
                 config: ProgrammeConfig = DEFAULT_CONFIG) -> Target:
    """The target band from the runner's own baseline. A change beyond the cap is refused
    (`ConfigOutOfBounds` naming ``delta_pct``); so is a change in the wrong direction."""
    if metric not in LADDER:
        raise ConfigOutOfBounds("metric", f"unknown focus {metric!r} (known: {', '.join(LADDER)})")
    if isinstance(baseline, bool) or not isinstance(baseline, int | float) or not math.isfinite(baseline) or (
            metric != LEAN and baseline <= 0):
        raise ConfigOutOfBounds("baseline", f"expected a measured baseline of your own, got {baseline!r}")
    delta = default_delta_pct(metric, 0, config) if delta_pct is None else float(delta_pct)
    cap = cap_pct(metric, config)
    if not math.isfinite(delta) or abs(delta) > cap + 1e-9:
        raise ConfigOutOfBounds("delta_pct", f"{delta:g} % is beyond the {metric} cap of {cap:g} % over your own "
                                             "baseline")
    if (metric == CADENCE and delta < 0) or (metric == LANDING and delta > 0):
        raise ConfigOutOfBounds("delta_pct", f"{delta:g} %: the {metric} focus changes in the other direction")
    centre = baseline * (1.0 + delta / 100.0)
    if metric == LEAN:
        return Target(metric, baseline, delta, centre - LEAN_BAND_DEG, centre + LEAN_BAND_DEG)
    half = abs(baseline) * (CADENCE_HALF_BAND_PCT if metric == CADENCE else LANDING_HALF_BAND_PCT) / 100.0
    return Target(metric, baseline, delta, centre - half, centre + half, one_sided=(metric == LANDING))


ABSOLUTE_KEYS = ("target", "target_spm", "target_g", "target_deg", "target_cm")


def parse_focus_config(mapping: Mapping[str, Any], config: ProgrammeConfig = DEFAULT_CONFIG) -> tuple[str, float]:
    """A focus as a clinician's file or a script gives it: ``{"active": "cadence", "delta_pct": 5}``.
    Two active focuses, an absolute target (``target_spm = 180``) or a change beyond the cap raise
    `ConfigOutOfBounds`. Returns (metric, delta_pct)."""
    for key in mapping:
        if key in ABSOLUTE_KEYS:
            raise ConfigOutOfBounds(key, "an absolute target is not allowed: every target is a change over your "
                                         "own baseline (delta_pct)")
        if key not in ("active", "delta_pct"):
            raise ConfigOutOfBounds(key, "unknown focus setting (known: active, delta_pct)")
    active = mapping.get("active")
    names = [active] if isinstance(active, str) else list(active or [])
    if len(names) != 1:
        raise ConfigOutOfBounds("active", f"exactly one focus at a time, got {names!r}")
    metric = names[0]
    if metric not in LADDER:
        raise ConfigOutOfBounds("active", f"unknown focus {metric!r} (known: {', '.join(LADDER)})")
    delta = mapping.get("delta_pct")
    delta = default_delta_pct(metric, 0, config) if delta is None else delta
    focus_target(metric, 1.0 if metric != LEAN else 0.0, delta, config)  # the cap and the direction
    return metric, float(delta)


def speed_matched(baseline_mps: float | None, speed_mps: float | None) -> bool:
    """A value is compared with the baseline only at a matched speed (+-0.3 m/s); unknown = matched."""
    if baseline_mps is None or speed_mps is None or not (math.isfinite(baseline_mps) and math.isfinite(speed_mps)):
        return True
    return abs(speed_mps - baseline_mps) <= SPEED_MATCH_MPS + 1e-9


# --- feedback schedule --------------------------------------------------------------------------


def feedback_fraction(session: int, config: ProgrammeConfig = DEFAULT_CONFIG) -> float:
    """Share of running time with feedback available in block session 1-8: 1, 1, 1, 1, then the
    config's faded schedule (0.75, 0.5, 0.25, 0). Session 8 is always 0."""
    if not 1 <= session <= BLOCK_SESSIONS:
        raise ValueError(f"a block has sessions 1-{BLOCK_SESSIONS}, got {session}")
    if session <= FULL_FEEDBACK_SESSIONS:
        return 1.0
    if session == BLOCK_SESSIONS:
        return 0.0
    k = session - FULL_FEEDBACK_SESSIONS - 1
    schedule = config.faded_schedule_pct
    return float(schedule[k]) / 100.0 if k < len(schedule) else 0.0


def window_on(fraction: float, window: int) -> bool:
    """Window ``window`` (0, 1, ... of 5 minutes of running) has feedback on: spread evenly, the
    first window on (0.75: on on on off; 0.5: on off on off; 0.25: on off off off)."""
    if fraction >= 1.0:
        return True
    if fraction <= 0.0:
        return False
    return math.ceil(round((window + 1) * fraction, 9)) > math.ceil(round(window * fraction, 9))


def feedback_on(session: int, running_s: float, config: ProgrammeConfig = DEFAULT_CONFIG) -> bool:
    """Is feedback on ``running_s`` seconds of running time into block session ``session``?
    (Running time only: the clock stops in walk intervals.)"""
    return window_on(feedback_fraction(session, config), int(max(0.0, running_s) // WINDOW_S))


# --- the in-run cue scheduler (bandwidth feedback) ----------------------------------------------


@dataclass(frozen=True)
class BandwidthCues:
    """Silent while the 10-s rolling mean is inside the band; a cue after 20 s outside; at most
    one a minute; back inside only a quarter band inside the edge (hysteresis). Nothing while
    walking or with feedback off (the outside clock starts again). Only the focus metric is fed."""

    target: Target
    window: tuple[tuple[float, float], ...] = ()
    side: int = 0  # the side the mean is on (-1, 0, +1), with hysteresis
    outside_since: float | None = None
    last_cue_s: float | None = None
    cues: int = 0

    def step(self, t_s: float, value: float | None, *, running: bool = True,
             feedback: bool = True) -> tuple[BandwidthCues, str | None]:
        if not running or not feedback:
            return replace(self, window=(), side=0, outside_since=None), None
        if value is None or not math.isfinite(value):
            return self, None
        window = tuple(p for p in (*self.window, (t_s, float(value))) if p[0] > t_s - ROLLING_S)
        mean = sum(v for _, v in window) / len(window)
        side = self.target.outside(mean)
        if side == 0 and self.side != 0:
            margin = self.target.half_width / 2.0
            inner = Target(self.target.metric, self.target.baseline, self.target.delta_pct,
                           self.target.low + margin, self.target.high - margin, self.target.one_sided)
            side = self.side if inner.outside(mean) == self.side else 0
        since = None if side == 0 else (self.outside_since if side == self.side and self.outside_since is not None
                                        else t_s)
        nxt = replace(self, window=window, side=side, outside_since=since)
        if side != 0 and since is not None and t_s - since >= CUE_AFTER_S - 1e-9 and (
                self.last_cue_s is None or t_s - self.last_cue_s >= CUE_GAP_S - 1e-9):
            return replace(nxt, last_cue_s=t_s, cues=self.cues + 1), cue_phrase(self.target.metric, side)
        return nxt, None


def cue_phrase(metric: str, side: int) -> str:
    """External-focus wording (G14) from the phrase catalogue."""
    return (phrases.FOCUS_CUES_BELOW if side < 0 else phrases.FOCUS_CUES_ABOVE)[metric]


def speaks(metric: str, focus: str | None) -> bool:
    """One focus speaks per session: every other rule is recorded silently."""
    return focus is not None and metric == focus


# --- probes -------------------------------------------------------------------------------------


def retained(target: Target, probe_mean: float) -> float:
    """Share of the intended change the probe kept (1 = on target); for lean, 1 inside the band."""
    if target.metric == LEAN:
        return 1.0 if target.low <= probe_mean <= target.high else 0.0
    intended = target.centre - target.baseline
    return round((probe_mean - target.baseline) / intended, 9)


def probe_passes(target: Target, probe_mean: float, zone: str | None = None) -> bool:
    """Pass: the probe keeps >= 80 % of the intended change (design choice) and the session is not red."""
    return retained(target, probe_mean) >= PASS_RETAINED and zone != RED


# --- the block, folded from its records --------------------------------------------------------


@dataclass(frozen=True)
class FocusStart:
    day: dt.date
    metric: str
    baseline: float
    delta_pct: float
    speed_mps: float | None = None
    foot_sensor: bool = False
    seq: int = 0


@dataclass(frozen=True)
class FocusValue:
    """A measured value of the focus metric: ``kind`` run (a session's mean) or probe (5 min
    without feedback; ``label`` end | 7d | 28d)."""

    day: dt.date
    metric: str
    kind: str
    value: float
    label: str = ""
    speed_mps: float | None = None
    seq: int = 0


@dataclass(frozen=True)
class ProbeResult:
    day: dt.date
    label: str
    value: float
    retained: float
    passed: bool
    round: int

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "probe": self.label, "value": self.value,
                "retained": round(self.retained, 3), "passed": self.passed, "round": self.round}


@dataclass(frozen=True)
class FocusState:
    """One focus on a day. ``session``: the block session today's run is (1-8; 8 once the block is
    done); ``phase``: block | probes | maintenance | stalled; ``passed_7d``: the next focus may
    unlock (with no red in 14 days)."""

    start: FocusStart
    target: Target
    phase: str
    done: int  # block sessions done in the current round
    session: int
    round: int
    block_end: dt.date | None
    probes: tuple[ProbeResult, ...]
    probe_due: str | None
    passed_7d: bool
    session_days: tuple[dt.date, ...] = field(default=())
    today_counted: bool = False

    @property
    def metric(self) -> str:
        return self.start.metric

    def fraction(self, config: ProgrammeConfig = DEFAULT_CONFIG) -> float:
        return feedback_fraction(self.session, config) if self.phase == BLOCK else 0.0


def counted_sessions(sessions: Sequence[SessionResult], after: dt.date) -> list[SessionResult]:
    """The sessions that count as block sessions: completed sessions with running, without a stop,
    after the focus started."""
    return sorted((s for s in sessions if s.day > after and s.kind in RUN_KINDS and s.completed and not s.stopped),
                  key=lambda s: s.day)


def fold_focus(start: FocusStart, values: Sequence[FocusValue], sessions: Sequence[SessionResult], day: dt.date,
               config: ProgrammeConfig = DEFAULT_CONFIG) -> FocusState:
    """A focus from its start, its probes and the programme's sessions, on ``day``."""
    target = focus_target(start.metric, start.baseline, start.delta_pct, config)
    zones = {s.day: s.zone for s in sessions}
    runs = [s for s in counted_sessions(sessions, start.day) if s.day <= day]
    probes_in = sorted((v for v in values if v.kind == "probe" and v.metric == start.metric
                        and (v.day, v.seq) > (start.day, start.seq) and v.day <= day), key=lambda v: (v.day, v.seq))
    events: list[tuple[dt.date, int, Any]] = [(s.day, 0, s) for s in runs] + [(v.day, 1, v) for v in probes_in]
    events.sort(key=lambda e: (e[0], e[1]))
    phase, done, rnd, block_end = BLOCK, 0, 1, None
    probes: list[ProbeResult] = []
    passed_7d = False
    session_days: list[dt.date] = []
    last_counted: dt.date | None = None
    for _, kind, ev in events:
        if kind == 0:
            if phase == BLOCK:
                done += 1
                session_days.append(ev.day)
                last_counted = ev.day
                if done == BLOCK_SESSIONS:
                    phase, block_end = PROBES, ev.day
            continue
        if block_end is None:
            continue  # a probe before the block ended does not count
        kept = retained(target, ev.value)
        ok = probe_passes(target, ev.value, zones.get(ev.day))
        probes.append(ProbeResult(ev.day, ev.label, ev.value, kept, ok, rnd))
        if ev.label in DECISIVE_PROBES and not ok and phase == PROBES:
            if rnd == 1:
                phase, done, rnd, block_end, last_counted = BLOCK, FULL_FEEDBACK_SESSIONS, 2, None, None
            else:
                phase = STALLED
        elif ev.label == "7d" and ok and phase == PROBES:
            phase, passed_7d = MAINTENANCE, True
    today_counted = last_counted == day
    if phase == BLOCK:
        session = done if today_counted else done + 1
    else:
        session = BLOCK_SESSIONS
    st = FocusState(start, target, phase, done, max(1, min(BLOCK_SESSIONS, session)), rnd, block_end,
                    tuple(probes), None, passed_7d, tuple(session_days), today_counted)
    return replace(st, probe_due=probe_due(st, day))


def probe_due(state: FocusState, day: dt.date) -> str | None:
    """The probe due on ``day``: ``end`` on the day of session 8, ``7d`` from 7 days after it,
    ``28d`` from 28 days after it (once the 7-day probe passed); None otherwise."""
    if state.block_end is None or state.phase == STALLED:
        return None
    done = {p.label for p in state.probes if p.round == state.round}
    since = (day - state.block_end).days
    if state.phase == PROBES:
        if since == 0 and "end" not in done:
            return "end"
        if since >= PROBE_DAYS["7d"] and "7d" not in done:
            return "7d"
        return None
    if state.phase == MAINTENANCE and since >= PROBE_DAYS["28d"] and "28d" not in done:
        return "28d"
    return None


def red_within(sessions: Sequence[SessionResult], day: dt.date, days: int = RED_FREE_DAYS) -> dt.date | None:
    """The last red session within ``days`` days before ``day`` (inclusive), or None."""
    reds = [s.day for s in sessions if s.zone == RED and 0 <= (day - s.day).days < days]
    return max(reds, default=None)


def may_start(metric: str, current: FocusState | None, passed: Sequence[str], sessions: Sequence[SessionResult],
              day: dt.date, *, trend_up: bool = False, foot_sensor: bool = False) -> None:
    """Raise `FocusRefused` unless a new focus on ``metric`` may start on ``day``: one at a time
    (the current one passed its 7-day probe), no red in the last 14 days, no rising pain trend,
    and a foot sensor for a softer landing."""
    if metric not in LADDER:
        raise FocusRefused(f"unknown focus {metric!r} (known: {', '.join(LADDER)})")
    if metric == LANDING and not foot_sensor:
        raise FocusRefused("a softer landing needs a foot or shank sensor (--foot-sensor)")
    if current is not None and current.phase == STALLED:
        raise FocusRefused(phrases.FOCUS_STALLED)
    if current is not None and not current.passed_7d:
        raise FocusRefused(f"one focus at a time: {current.metric} has not passed its 7-day probe yet")
    if metric in passed:
        raise FocusRefused(f"{metric} already passed its block")
    red = red_within(sessions, day)
    if red is not None:
        raise FocusRefused(f"a red session on {red.isoformat()}: no new focus within {RED_FREE_DAYS} days of it")
    if trend_up:
        raise FocusRefused("your morning pain is rising week to week: no new focus now")


def next_on_ladder(passed: Sequence[str], foot_sensor: bool = False) -> str | None:
    """The ladder's next focus after those passed (a softer landing only with a foot sensor)."""
    for m in LADDER:
        if m in passed or (m == LANDING and not foot_sensor):
            continue
        return m
    return None


def checkin_questions(state: FocusState | None) -> tuple[str, ...]:
    """Questions added to the check-ins while a focus is active: calf and Achilles with a softer
    landing (load can move there, G4)."""
    if state is not None and state.metric == LANDING and state.phase in (BLOCK, PROBES):
        return phrases.LANDING_CHECKIN_QUESTIONS
    return ()


# --- outdoor maintenance (G15) ------------------------------------------------------------------


def maintenance_every_m(block_end: dt.date | None, day: dt.date, runs_in_week_3: int = 0) -> float | None:
    """Distance between check cues on an outdoor run after a block: every 500 m in the first week,
    every km in the second, every km on alternate runs in the third (``runs_in_week_3`` = earlier
    runs of that week), then only on request (None)."""
    if block_end is None:
        return None
    week = (day - block_end).days - 1
    if week < 0:
        return None
    week //= 7
    if week == 0:
        return 500.0
    if week == 1:
        return 1000.0
    if week == 2:
        return 1000.0 if runs_in_week_3 % 2 == 0 else None
    return None


# --- today's feedback (what a live run asks) ----------------------------------------------------


@dataclass(frozen=True)
class FeedbackPlan:
    """Today's form feedback for a live run: the one focus that speaks, its band, the block
    session and its feedback share, the window schedule, a probe and the outdoor check interval."""

    day: dt.date
    metric: str
    target: Target
    session: int | None  # 1-8 inside a block, None in maintenance
    feedback_fraction: float
    probe: str | None  # end | 7d | 28d, or None
    probe_s: int
    probe_at: str  # "end": the last 5 running minutes; "start": the first 5 running minutes
    maintenance_every_m: float | None
    checkin_questions: tuple[str, ...]
    config: ProgrammeConfig = DEFAULT_CONFIG

    def feedback_on(self, running_s: float) -> bool:
        """Feedback on at ``running_s`` seconds of running (never during a probe at the start)."""
        if self.probe is not None and self.probe_at == "start" and running_s < self.probe_s:
            return False
        if self.session is None:
            return False  # maintenance speaks only the check cues
        return window_on(self.feedback_fraction, int(max(0.0, running_s) // WINDOW_S))

    def cues(self) -> BandwidthCues:
        return BandwidthCues(self.target)

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "metric": self.metric, **self.target.to_dict(),
                "session": self.session, "feedback_fraction": self.feedback_fraction, "window_s": WINDOW_S,
                "probe": self.probe, "probe_s": self.probe_s if self.probe else 0, "probe_at": self.probe_at,
                "maintenance_every_m": self.maintenance_every_m, "checkin_questions": list(self.checkin_questions)}


def feedback_plan(state: FocusState, day: dt.date, runs_in_week_3: int = 0,
                  config: ProgrammeConfig = DEFAULT_CONFIG) -> FeedbackPlan | None:
    """Today's plan for a focus (None when nothing speaks: stalled, or maintenance past week 3)."""
    if state.phase == STALLED:
        return None
    due = state.probe_due
    at = "end" if due == "end" else "start"
    if state.phase == BLOCK:
        return FeedbackPlan(day, state.metric, state.target, state.session, state.fraction(config), None, PROBE_S,
                            at, None, checkin_questions(state), config)
    if state.phase == PROBES and state.block_end == day:
        return FeedbackPlan(day, state.metric, state.target, BLOCK_SESSIONS, 0.0, due, PROBE_S, at, None,
                            checkin_questions(state), config)
    every = maintenance_every_m(state.block_end, day, runs_in_week_3)
    if every is None and due is None:
        return None
    return FeedbackPlan(day, state.metric, state.target, None, 0.0, due, PROBE_S, at, every,
                        checkin_questions(state), config)
