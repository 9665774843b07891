"""The run on a terminal: one line per step, ``#`` lines for everything else.

    12.345 H10 left  cad 172  gct 245ms  flight 104ms  vo 8.9cm  vr 7.1%  fsa -  lean 6.2deg  +253ms
    #    20.000 status H10: 2000 received ... | steps 31
    #>> [1:05] CADENCE  Quicker, shorter steps  (158 spm; target 165 to 173 spm)

Times are seconds on the run's common clock; ``+NNN ms`` is a step's latency (receive time of
the packet that completed it minus its toe-off). ``jsonl``: one JSON object per step instead
(``device``, ``t_s``, ``latency_ms`` and the step's own fields on its device clock). Status
lines every ``status_every_s`` of stream time (None or 0: only the final one). Alerts spoken
aloud are banners (inverse video on a terminal; a stop in red).
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any, TextIO

from gait.core.records import ALERT_SILENT, ALERT_STOP, Alert, PainNote, StepMetrics
from gait.cues import format_alert
from gait.engine.events import (
    AlertRaised,
    DeviceHealth,
    GapFound,
    LinkChanged,
    Message,
    Notice,
    PainReported,
    RunSummary,
    Step,
)
from gait.engine.sinks import Sink

DEFAULT_STATUS_EVERY_S = 5.0


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{format(value, spec)}{unit}"


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def step_line(device: str, s: StepMetrics, t_ic: float, latency_ms: float) -> str:
    side = s.side or "-"
    q = f"  [{','.join(s.quality)}]" if s.quality else ""
    strike = f" {s.strike}" if s.strike else ""
    arm = ""  # a wrist sensor's stride
    if s.arm_cross_cm is not None or s.arm_swing_deg is not None:
        arm = f"arm {_fmt(s.arm_cross_cm, '.1f', 'cm')}  swing {_fmt(s.arm_swing_deg, '.0f', 'deg')}  "
    return (
        f"{t_ic:9.3f} {device} {side:<5} "
        f"cad {_fmt(s.cadence_spm, '.0f')}  gct {_fmt(s.gct_ms, '.0f', 'ms')}  "
        f"flight {_fmt(s.flight_ms, '.0f', 'ms')}  vo {_fmt(s.vo_cm, '.1f', 'cm')}  "
        f"vr {_fmt(s.vertical_ratio_pct, '.1f', '%')}  fsa {_fmt(s.fsa_deg, '.1f', 'deg')}{strike}  "
        f"lean {_fmt(s.lean_deg, '.1f', 'deg')}  {arm}+{latency_ms:.0f}ms{q}"
    )


def coach_summary_line(coach_name: str, alerts: list[Alert], pain_notes: list[PainNote]) -> str | None:
    """The coach's account of a run (None when it said nothing aloud and heard no pain)."""
    alerts = [a for a in alerts if a.rule != "interval"]  # the session's walk/run calls are not the coach's
    if not (any(a.kind != ALERT_SILENT for a in alerts) or pain_notes):
        return None
    kinds: dict[str, int] = {}
    for a in alerts:
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    words = {"cue": "cues", "clear": "clears", "stop": "stops"}
    said = ", ".join(f"{n} {k if n == 1 else words.get(k, k)}" for k, n in sorted(kinds.items())) or "no alerts"
    pain = {p: [n.score for n in pain_notes if n.phase == p] for p in ("before", "during", "after")}
    pain_txt = "; ".join(f"pain {p} {','.join(map(str, v))}" for p, v in pain.items() if v)
    return f"coach {coach_name}: {said}" + (f"; {pain_txt}" if pain_txt else "")


class TerminalSink(Sink):
    """Renders events as lines on ``out`` (default stdout)."""

    name = "terminal"

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        jsonl: bool = False,
        status_every_s: float | None = DEFAULT_STATUS_EVERY_S,
        tty: bool | None = None,
    ):
        super().__init__()
        self.out = out if out is not None else sys.stdout
        self.jsonl = jsonl
        self.status_every_s = status_every_s
        self.tty = isatty(self.out) if tty is None else tty
        self.lines = 0
        self._last_status_s = 0.0

    def line(self, text: str) -> None:
        self.lines += 1
        self.out.write(text + "\n")

    def handle(self, event: Any) -> None:
        if isinstance(event, Step):
            s = event.device_step
            if self.jsonl:
                obj = {"device": event.device, "t_s": round(event.step.ic_s, 4),
                       "latency_ms": round(event.latency_ms, 1), **s.to_dict()}  # fmt: skip
                self.line(json.dumps(obj))
            else:
                self.line(step_line(event.device, s, event.step.ic_s, event.latency_ms))
        elif isinstance(event, Message):
            self.line(f"# {event.text}" if event.time_s is None else f"# {event.time_s:9.3f} {event.text}")
        elif isinstance(event, GapFound):
            g = event.gap
            self.line(
                f"# {g.start_s:9.3f} {event.device}: gap, {g.missing_samples} samples missing "
                f"({(g.end_s - g.start_s) * 1e3:.0f} ms)"
            )
        elif isinstance(event, LinkChanged):
            detail = f": {event.detail}" if event.detail else ""
            self.line(f"# {event.time_s:9.3f} {event.device}: {event.kind}{detail}")
        elif isinstance(event, Notice):
            self.line(f"# {event.device}: notice: {event.event.message}")
        elif isinstance(event, PainReported):
            n = event.note
            self.line(f"# {n.time_s:9.3f} pain {n.score}/10 ({n.phase})")
        elif isinstance(event, AlertRaised):
            a = event.alert
            if a.kind != ALERT_SILENT:
                self.line(self._banner(format_alert(a), a.kind == ALERT_STOP))
        elif isinstance(event, DeviceHealth):
            self._status(event)

    def _status(self, event: DeviceHealth) -> None:
        if not event.final:
            if not self.status_every_s or event.time_s - self._last_status_s < self.status_every_s - 1e-9:
                return
        self._last_status_s = event.time_s
        t = event.time_s
        for st in event.devices:
            extra = f" | steps {st.steps}"
            if st.speed_mps is not None:
                extra += f" | rsc {st.speed_mps:.2f} m/s {st.cadence_spm or 0:.0f} spm"
            if st.error:
                extra += f" | error: {st.error}"
            self.line(f"# {t:9.3f} status {st.health.summary()}{extra}")
        if event.unknown_packets:
            self.line(f"# {t:9.3f} status {event.unknown_packets} packets from undeclared devices ignored")
        if event.sinks:
            self.line(f"# {t:9.3f} status {' | '.join(event.sinks)}")

    def _banner(self, text: str, stop: bool) -> str:
        line = f"#>> {text}"
        if self.tty:
            return f"\x1b[{'1;41' if stop else '7'}m{line}\x1b[0m"
        return line

    def close(self, summary: RunSummary) -> None:
        coach = self.engine.coach if self.engine is not None else None
        if coach is not None:
            text = coach_summary_line(coach.config.name, summary.alerts, summary.pain_notes)
            if text:
                self.line(f"# {text}")
        with contextlib.suppress(Exception):
            self.out.flush()
