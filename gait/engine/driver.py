"""Running a source into the engine: until the source ends, Ctrl-C, or every device is lost.

    summary = await run_source(source, engine)     # always finishes the engine

While it runs, digit keys 0-9 on the terminal (`PainKeys`, when stdin is a terminal) are pain
check-ins for the engine's coach.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any

from gait.engine.engine import RunEngine
from gait.engine.events import END_OF_SOURCE, RunSummary

LINK_LOSS_TIMEOUT_S = 30.0  # every device disconnected this long (wall clock): stop


async def run_source(
    source: Any,
    engine: RunEngine,
    *,
    handle_sigint: bool = True,
    link_loss_timeout_s: float | None = LINK_LOSS_TIMEOUT_S,
    keys: bool = False,
    stop_event: threading.Event | None = None,
) -> RunSummary:
    """Feed ``source`` (a `firmware_interface.sources.Source`) into ``engine`` until the source
    ends, Ctrl-C (SIGINT), or every device has been disconnected for ``link_loss_timeout_s``
    (wall clock), or ``stop_event`` (set from another thread). Always finishes the engine (flush,
    final health, capture and run closed)."""
    loop = asyncio.get_running_loop()
    engine.bind_loop(loop)
    engine.start()
    stop = asyncio.Event()
    reason = END_OF_SOURCE
    installed = False
    if handle_sigint:
        try:
            loop.add_signal_handler(signal.SIGINT, stop.set)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            installed = False
    pain_keys = PainKeys(loop, engine) if keys else None

    async def consume() -> None:
        async for packet in source:
            engine.feed(packet)
            if stop.is_set():
                break

    async def watchdog() -> str:
        lost_since: float | None = None
        while True:
            if stop.is_set() or (stop_event is not None and stop_event.is_set()):
                return "interrupted"
            if link_loss_timeout_s is not None and engine.sessions.sessions:
                if engine.disconnected and engine.disconnected >= set(engine.sessions.sessions):
                    lost_since = lost_since or time.monotonic()
                    if time.monotonic() - lost_since >= link_loss_timeout_s:
                        return "link lost"
                else:
                    lost_since = None
            await asyncio.sleep(0.1)

    task = asyncio.create_task(consume())
    guard = asyncio.create_task(watchdog())
    try:
        if pain_keys is not None:
            pain_keys.start()
        done, _ = await asyncio.wait({task, guard}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            try:
                task.result()  # re-raise a source error
            except Exception as exc:
                reason = f"error: {type(exc).__name__}: {exc}"
                raise
            if stop.is_set():
                reason = "interrupted"
        else:
            reason = guard.result()
            source.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    except asyncio.CancelledError:
        reason = "interrupted"
    finally:
        if pain_keys is not None:
            pain_keys.stop()
        guard.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await guard
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(Exception):
            await source.aclose()
        summary = engine.finish(reason)
        engine.bind_loop(None)
    return summary


class PainKeys:
    """Digit keys 0-9 on the terminal are pain scores (0 none ... 9; the coach stops the run at
    its ``pain.stop_at``). Only when stdin is a terminal: it is put in cbreak mode (keys arrive
    one by one, without Enter and without echo; Ctrl-C still works) and read without blocking
    through the event loop (`add_reader`); `stop` restores the terminal as it was."""

    def __init__(self, loop: asyncio.AbstractEventLoop, engine: RunEngine, stream: Any = None):
        self.loop = loop
        self.engine = engine
        self.stream = stream if stream is not None else sys.stdin
        self.fd: int | None = None
        self._saved: Any = None
        self.scores: list[int] = []

    def start(self) -> bool:
        """Start listening; False when stdin is not a terminal (nothing changed then)."""
        try:
            fd = self.stream.fileno()
        except (AttributeError, ValueError, OSError):
            return False
        if not os.isatty(fd):
            return False
        try:
            background = os.tcgetpgrp(fd) != os.getpgrp()
        except OSError:  # not our controlling terminal: no job control applies to it
            background = False
        if background:
            return False  # a background job: changing the terminal would stop the process (SIGTTOU)
        try:
            import termios
            import tty

            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            self.loop.add_reader(fd, self._on_input)
        except Exception:  # noqa: BLE001 - no terminal control (a background job, no termios): no keys
            self._restore(fd)
            return False
        self.fd = fd
        self.engine.say("pain: press a digit 0-9 at any time during the run to report pain (0 = none)")
        return True

    def _on_input(self) -> None:
        fd = self.fd
        if fd is None:
            return
        try:
            data = os.read(fd, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # end of input: stop listening
            self.stop()
            return
        for ch in data.decode("ascii", "ignore"):
            if ch.isdigit():
                self.scores.append(int(ch))
                self.engine.pain(int(ch), "during")

    def stop(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        with contextlib.suppress(Exception):
            self.loop.remove_reader(fd)
        self._restore(fd)

    def _restore(self, fd: int) -> None:
        if self._saved is None:
            return
        import termios

        with contextlib.suppress(Exception):
            termios.tcsetattr(fd, termios.TCSADRAIN, self._saved)
        self._saved = None
