"""What the run engine emits: one typed event per thing that happened in a run.

Every sink (local store, InfluxDB, live bus, cue player, terminal) receives the same events in
the same order, on the run's common clock (seconds of receive time since the first packet).
Nothing else travels from the engine to a sink.

    RunState     the run started / closed / was interrupted
    Step         one step's metrics (device clock and common clock), its device and latency
    AlertRaised  an alert of the coach (cue, clear, stop, or recorded silently)
    PainReported a pain check-in (before, during or after the run)
    IntervalEdge a phase of today's walk-run session starts (run now, walk now, warm-up, cool-down)
    GapFound     samples lost on a device's link
    LinkChanged  a device connected, disconnected, stopped, restarted, changed rate...
    Notice       something about the data (a pipeline's quality event) on the common clock
    SpeedRead    a running speed from a foot pod (RSC)
    DeviceHealth every device's link health and the sinks' health, paced by receive time
    Message      a plain line for people (device set up, pipeline stopped, end of run)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gait.core.records import Alert, Gap, PainNote, QualityEvent, StepMetrics

RUN_STARTED = "started"
RUN_CLOSED = "closed"
RUN_INTERRUPTED = "interrupted"
END_OF_SOURCE = "end of source"


@dataclass(frozen=True)
class RunState:
    state: str  # RUN_STARTED, RUN_CLOSED or RUN_INTERRUPTED
    time_s: float
    reason: str = ""


@dataclass(frozen=True)
class Step:
    device: str
    placement: str | None
    step: StepMetrics  # on the common clock (what is stored, sent and coached)
    device_step: StepMetrics  # the same step on the device's own clock (the metrics' time base)
    latency_ms: float  # receive time of the packet that completed it minus the step's toe-off


@dataclass(frozen=True)
class AlertRaised:
    alert: Alert


@dataclass(frozen=True)
class PainReported:
    note: PainNote


@dataclass(frozen=True)
class IntervalEdge:
    """A phase of today's session starts: warm-up, walk, run, cool-down, done (the spoken words
    come as an `AlertRaised` of rule "interval" right after it)."""

    time_s: float
    phase: str
    index: int
    count: int
    end_s: float  # when this phase ends (inf: the session is done)
    text: str
    stopped: bool = False  # the running part was ended by a stop: every run interval is walked


@dataclass(frozen=True)
class GapFound:
    device: str
    gap: Gap  # on the common clock


@dataclass(frozen=True)
class LinkChanged:
    device: str
    time_s: float
    kind: str  # connected, disconnected, stopped, restart, rate_changed, unsupported, battery...
    detail: str = ""
    reconnect: bool = False  # 'connected' after a 'disconnected'
    about_data: bool = False  # says something about the data: stored as a quality event


@dataclass(frozen=True)
class Notice:
    device: str
    event: QualityEvent  # on the common clock


@dataclass(frozen=True)
class SpeedRead:
    device: str
    time_s: float
    speed_mps: float
    cadence_spm: float | None = None
    source: str = "rsc"


@dataclass(frozen=True)
class DeviceStatus:
    """One device as the engine sees it: its link health (a `firmware_interface` Health, duck
    typed: ``summary()`` and ``to_dict()``), its step count, its newest pod reading, its error."""

    device: str
    health: Any
    steps: int = 0
    speed_mps: float | None = None
    cadence_spm: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class DeviceHealth:
    time_s: float
    devices: tuple[DeviceStatus, ...]
    unknown_packets: int = 0
    sinks: tuple[str, ...] = ()  # the sinks' own one-line health ("InfluxDB connected: ...")
    final: bool = False  # the last one of the run


@dataclass(frozen=True)
class Message:
    text: str
    time_s: float | None = None  # None: not tied to a stream time
    device: str | None = None


Event = RunState | Step | AlertRaised | PainReported | IntervalEdge | GapFound | LinkChanged | Notice | SpeedRead | DeviceHealth | Message


@dataclass
class RunSummary:
    """What a run did, for the command that ran it."""

    reason: str = END_OF_SOURCE
    packets: int = 0
    steps: int = 0
    status: str | None = None  # RUN_CLOSED or RUN_INTERRUPTED once finished
    run_id: int | None = None  # the run in the local store (None: not stored)
    alerts: list[Alert] = field(default_factory=list)
    pain_notes: list[PainNote] = field(default_factory=list)
    coach: dict[str, Any] | None = None  # the coach's summary
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
