"""The live bus: an in-process publish/subscribe between the live run and the live page.

    bus = LiveBus()
    bus.start_run(run_id=7, info={"placement": "waist"}, on_pain=handle_pain)   # the live run
    bus.publish(step)            # StepMetrics / Alert / PainNote / a device Health / a dict
    ...
    bus.end_run("end of source")

    sub = bus.subscribe()        # the server, one per SSE client (inside the event loop)
    async for chunk in sub: ...  # ready-to-send SSE text ("id: 12\\nevent: step\\ndata: {...}\\n\\n")
    sub.close()

Publishing never blocks and never waits for a client: a record is serialised to one SSE
message once, appended to a bounded history (so a page opened mid-run gets the last minutes)
and to every subscriber's bounded queue; a slow client loses its *oldest* messages (counted in
`Subscription.dropped`, and announced to it in a ``dropped`` event), never the pipeline's time.
Thread-safe: the live run publishes from its own thread; subscribers live in the server's
asyncio loop and are woken with ``call_soon_threadsafe``.

Health records come from the device layer (``firmware_interface.session.Health``), which the
dashboards must not import: anything with ``to_dict()`` and a ``received`` counter is taken as
a device's health (duck typing), as is a dict with ``"type": "health"``.

Pain: the live run registers ``on_pain(score, phase, note) -> list of records`` in
`start_run`. The server calls it (`LiveBus.pain`) when the runner presses the pain button; the
callback hands the check-in to the run's engine (its coach, on the stream clock), whose sinks
store, send and publish the `PainNote` and any `Alert` the coach raised, and returns them for
the server's answer. The server does not store or publish them again.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gait.core.records import Alert, PainNote, StepMetrics

HISTORY_STEPS = 1200  # about 7 minutes of steps at 170 spm: the live page's traces
HISTORY_EVENTS = 200  # alerts, pain notes, health, run events kept for late joiners
CLIENT_QUEUE = 256  # messages per client before the oldest are dropped

PainHandler = Callable[[int, str, str], "list[Any] | None"]


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return list(v)
    return v


def step_payload(step: StepMetrics) -> dict[str, Any]:
    d = step.to_dict()
    d["emitted_s"] = None if not math.isfinite(step.emitted_s) else round(float(step.emitted_s), 3)
    return d


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "time_s": round(float(alert.time_s), 3),
        "rule": alert.rule,
        "kind": alert.kind,
        "message": alert.message,
        "value": None if alert.value is None or not math.isfinite(alert.value) else round(float(alert.value), 3),
        "target": alert.target,
        "severity": alert.severity,
    }


def pain_payload(note: PainNote) -> dict[str, Any]:
    return {"time_s": round(float(note.time_s), 3), "score": int(note.score), "phase": note.phase, "note": note.note}


def encode(record: Any) -> tuple[str, dict[str, Any]]:
    """(event name, JSON-ready payload) of a record the bus accepts; TypeError otherwise."""
    if isinstance(record, StepMetrics):
        return "step", step_payload(record)
    if isinstance(record, Alert):
        return "alert", alert_payload(record)
    if isinstance(record, PainNote):
        return "pain", pain_payload(record)
    if isinstance(record, dict):
        kind = str(record.get("type", "event"))
        return kind, {k: _clean(v) for k, v in record.items() if k != "type"}
    to_dict = getattr(record, "to_dict", None)
    if callable(to_dict) and hasattr(record, "received"):
        return "health", {k: _clean(v) for k, v in to_dict().items()}
    raise TypeError(f"the live bus does not carry {type(record).__name__} records")


@dataclass
class BusStats:
    published: int = 0
    steps: int = 0
    alerts: int = 0
    dropped: int = 0  # messages dropped from slow clients' queues (all clients)
    subscribers: int = 0
    rejected: int = 0  # records of a kind the bus does not carry


class Subscription:
    """One client's bounded queue of SSE messages (drop-oldest). Iterate it inside the loop."""

    def __init__(self, bus: LiveBus, loop: asyncio.AbstractEventLoop, maxlen: int):
        self.bus = bus
        self.loop = loop
        self.queue: collections.deque[str] = collections.deque()
        self.maxlen = maxlen
        self.dropped = 0
        self._reported = 0
        self.event = asyncio.Event()
        self.closed = False
        self.backlog: list[str] = []  # the snapshot and history, sent once before the queue

    def _push(self, message: str) -> int:
        """Called with the bus lock held, from any thread. Returns how many were dropped."""
        dropped = 0
        while len(self.queue) >= self.maxlen:
            self.queue.popleft()
            dropped += 1
        self.queue.append(message)
        self.dropped += dropped
        return dropped

    def _wake(self) -> None:
        if not self.closed:
            self.event.set()

    def take(self) -> list[str]:
        """Everything queued now (may be empty), a ``dropped`` notice first if messages were lost."""
        with self.bus._lock:
            items = self.backlog + list(self.queue)
            self.backlog = []
            self.queue.clear()
            self.event.clear()
            lost = self.dropped - self._reported
            self._reported = self.dropped
        if lost:
            items.insert(0, sse("dropped", {"messages": lost, "total": self.dropped}))
        return items

    async def next_batch(self, timeout: float | None = None) -> list[str]:
        """Wait until something is queued (or ``timeout`` seconds pass: returns [])."""
        items = self.take()
        if items or self.closed:
            return items
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return []
        return self.take()

    def close(self) -> None:
        self.closed = True
        self.bus._unsubscribe(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        while not self.closed:
            items = await self.next_batch()
            if items:
                return "".join(items)
        raise StopAsyncIteration


def sse(event: str, data: Any, ident: int | None = None) -> str:
    body = json.dumps(data, separators=(",", ":"), allow_nan=False)
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {body}\n\n"


@dataclass
class LiveState:
    """What a page opened mid-run needs: run info, last step, active cue, health per device."""

    run_id: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    active: bool = False
    started_wall: float | None = None
    ended_reason: str | None = None
    last_step: dict[str, Any] | None = None
    cue: dict[str, Any] | None = None  # the last cue / stop (cleared by a 'clear' alert)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    stream_s: float | None = None  # newest stream time seen (a pain note's time)
    t0_s: float | None = None  # stream time of the first step
    interval: dict[str, Any] | None = None  # today's session: the phase running now (walk / run ...)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "info": self.info,
            "active": self.active,
            "started_wall": self.started_wall,
            "ended_reason": self.ended_reason,
            "last_step": self.last_step,
            "cue": self.cue,
            "health": self.health,
            "stream_s": self.stream_s,
            "t0_s": self.t0_s,
            "interval": self.interval,
        }


class LiveBus:
    """See the module docstring."""

    def __init__(
        self,
        history_steps: int = HISTORY_STEPS,
        history_events: int = HISTORY_EVENTS,
        client_queue: int = CLIENT_QUEUE,
    ):
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._steps: collections.deque[tuple[int, str]] = collections.deque(maxlen=history_steps)
        self._events: collections.deque[tuple[int, str]] = collections.deque(maxlen=history_events)
        self._seq = 0
        self.client_queue = client_queue
        self.state = LiveState()
        self.stats = BusStats()
        self._on_pain: PainHandler | None = None
        self._pain_lock = threading.Lock()

    # --- the live run's side -------------------------------------------------------------------
    def start_run(self, run_id: int | None = None, info: dict[str, Any] | None = None, on_pain: PainHandler | None = None) -> None:
        """A new live run: clears the history, tells every open page, registers the pain callback."""
        with self._lock:
            self._steps.clear()
            self._events.clear()
            self.state = LiveState(run_id=run_id, info=dict(info or {}), active=True, started_wall=time.time())
            self._on_pain = on_pain
        self._publish("run", {"run_id": run_id, "info": dict(info or {}), "active": True}, keep=True)

    def end_run(self, reason: str = "end of run") -> None:
        with self._lock:
            self.state.active = False
            self.state.ended_reason = reason
            self._on_pain = None
        self._publish("run", {"run_id": self.state.run_id, "active": False, "reason": reason}, keep=True)

    def publish(self, record: Any) -> bool:
        """Publish one record. Never blocks on a client; False if the bus does not carry its kind."""
        try:
            event, payload = encode(record)
        except TypeError:
            self.stats.rejected += 1
            return False
        with self._lock:
            st = self.state
            if event == "step":
                t = payload.get("emitted_s") or payload.get("to_s")
                st.stream_s = t if st.stream_s is None or t is None else max(st.stream_s, t)
                if st.t0_s is None:
                    st.t0_s = payload.get("ic_s")
                st.last_step = payload
                self.stats.steps += 1
            elif event == "alert":
                self.stats.alerts += 1
                if payload["kind"] in ("cue", "stop"):
                    if not (st.cue and st.cue.get("kind") == "stop" and payload["kind"] != "stop"):
                        st.cue = payload
                elif payload["kind"] == "clear" and st.cue and st.cue.get("kind") != "stop":
                    st.cue = None
            elif event == "health":
                st.health[str(payload.get("device", "device"))] = payload
            elif event == "interval":
                st.interval = payload
        self._publish(event, payload, keep=event != "step", step=event == "step")
        return True

    def _publish(self, event: str, payload: dict[str, Any], keep: bool = False, step: bool = False) -> None:
        with self._lock:
            self._seq += 1
            message = sse(event, payload, self._seq)
            if step:
                self._steps.append((self._seq, message))
            elif keep:
                self._events.append((self._seq, message))
            self.stats.published += 1
            subs = list(self._subs)
            for sub in subs:
                self.stats.dropped += sub._push(message)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._wake)
            except RuntimeError:  # the client's loop is closed: it is gone
                sub.closed = True
                self._unsubscribe(sub)

    # --- the server's side ---------------------------------------------------------------------
    def subscribe(self, last_id: int | None = None, backlog: bool = True) -> Subscription:
        """A new client (call inside the event loop). It first receives a ``state`` snapshot,
        then the history newer than ``last_id`` (steps of the last minutes, kept events), then
        everything published from now on."""
        loop = asyncio.get_running_loop()
        sub = Subscription(self, loop, self.client_queue)
        with self._lock:
            history = sorted(list(self._steps) + list(self._events)) if backlog else []
            if last_id is not None:
                history = [h for h in history if h[0] > last_id]
            # the backlog is not bounded by the client queue: a late joiner gets the whole traces
            sub.backlog = [sse("state", self.state.to_dict()), *(m for _, m in history), sse("synced", {"id": self._seq})]
            self._subs.append(sub)
            self.stats.subscribers = len(self._subs)
        sub.event.set()
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
            self.stats.subscribers = len(self._subs)

    def close_subscribers(self) -> None:
        """End every client's stream (server shutdown): their iterators stop at once."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.closed = True
            try:
                sub.loop.call_soon_threadsafe(sub.event.set)
            except RuntimeError:
                pass
            self._unsubscribe(sub)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out = self.state.to_dict()
            out["stats"] = dict(self.stats.__dict__)
            return out

    def recent_steps(self) -> list[dict[str, Any]]:
        with self._lock:
            messages = [m for _, m in self._steps]
        return [json.loads(m.split("data: ", 1)[1]) for m in messages]

    @property
    def accepts_pain(self) -> bool:
        return self._on_pain is not None and self.state.active

    def pain(self, score: int, phase: str = "during", note: str = "") -> list[Any]:
        """Hand a pain check-in to the live run's callback; returns the records it produced
        (a PainNote, Alerts). Without a live run (or if the callback returned nothing), a
        PainNote on the newest stream time. Raises ValueError for a bad score or phase."""
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
            raise ValueError("pain score must be a whole number from 0 to 10")
        if phase not in ("before", "during", "after"):
            raise ValueError("phase must be before, during or after")
        handler = self._on_pain
        records: list[Any] | None = None
        if handler is not None:
            with self._pain_lock:
                records = handler(score, phase, note)
        if not records:
            t = self.state.stream_s
            records = [PainNote(time_s=float(t) if t is not None else 0.0, score=score, phase=phase, note=note)]
        return list(records)
