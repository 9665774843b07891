"""Typed errors of the programme. Each names what was refused and why, in plain words."""

from __future__ import annotations

from gait.core.errors import ConfigError, GaitError


class ProgrammeError(GaitError):
    """Base of the programme's refusals."""


class ProgrammeNotStarted(ProgrammeError):
    """No programme has been started in this store (``gait programme start``)."""


class ProgrammeLocked(ProgrammeError):
    """An emergency answer of the red-flag screen locks the programme: no session of any kind
    starts until a clinician review is recorded and the screen is answered again, all "no"."""


class RunNotAllowed(ProgrammeError):
    """Today's plan does not allow a session with running in it (urgent state, hold, review,
    a pre-run score of 6 or more, or a rest day)."""


class ConsecutiveDayRun(RunNotAllowed):
    """A run session the day after a run session: never two run days in a row."""


class ScreenDue(RunNotAllowed):
    """The red-flag questions have to be answered before this run (once a day in the sciatica
    profile; after new numbness or weakness was reported; before the first run)."""


class ProgressionCapExceeded(ProgrammeError):
    """A proposed weekly running time is above the weekly increase or the 14-day cap.
    ``limit`` is ``"weekly_increase_pct"`` or ``"cap_14_day_pct"``."""

    def __init__(self, limit: str, message: str):
        self.limit = limit
        super().__init__(message)


class ConfigOutOfBounds(ConfigError):
    """A programme setting outside its hard bounds, or a clinician profile that would loosen one.
    ``setting`` is the setting's name."""

    def __init__(self, setting: str, message: str):
        self.setting = setting
        super().__init__(f"{setting}: {message}")
