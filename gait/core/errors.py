"""Typed errors. Each says what is wrong and, where it can, what to do."""

from __future__ import annotations


class GaitError(Exception):
    """Base of every error this project raises on purpose."""


class RecordingFormatError(GaitError):
    """A recording file does not follow the CSV recording format.

    ``line`` is 1-based (as an editor shows it); ``column`` is the header name, if any.
    """

    def __init__(self, path: str, line: int | None, message: str, column: str | None = None):
        self.path = path
        self.line = line
        self.column = column
        where = f"{path}:{line}" if line is not None else path
        col = f" (column {column!r})" if column else ""
        super().__init__(f"{where}{col}: {message}")


class ConfigError(GaitError):
    """A configuration value is missing, out of range or of the wrong type."""


class PlacementError(GaitError):
    """The requested placement cannot work with this input (e.g. foot without any usable signal)."""
