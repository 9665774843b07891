"""Recent samples by absolute stream index, for a stage that reads back over a window.

`History` holds columns of equal length (a time column, an (n, 3) block, flags ...) that grow
at the end with each frame and give up their oldest rows when room is needed. The storage is
allocated with room to spare and only compacted (the rows to keep moved to the front) when it
is full, so a frame costs a copy of its own samples, not of the whole history: a stage that
concatenated its history with every 100 ms frame copied seconds of samples ten times a second.

``keep``: rows behind the newest that must stay readable after an append (older ones may be
dropped at any append, never before). Columns are NumPy views of the valid rows; they are
replaced by the next append, so a stage re-reads them after appending and never keeps one across
frames. Values are stored, not computed: a stage reads exactly the numbers it appended.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class History:
    """Columns of samples by absolute index; see the module docstring."""

    def __init__(self, keep: int, columns: Sequence[tuple[tuple[int, ...], type | np.dtype]], spare: int = 64):
        self.keep = max(int(keep), 0)
        self._shapes = [(tuple(shape), np.dtype(dtype)) for shape, dtype in columns]
        self._cap = 2 * self.keep + spare
        self._data = [np.zeros((self._cap, *shape), dtype) for shape, dtype in self._shapes]
        self.b0 = 0  # absolute index of row 0
        self.n = 0  # valid rows

    @property
    def end(self) -> int:
        """Absolute index one past the newest row."""
        return self.b0 + self.n

    def append(self, *values: np.ndarray) -> None:
        """One array per column, all of the same length, appended as the newest rows."""
        m = int(values[0].shape[0])
        if self.n + m > self._cap:
            cut = max(0, self.n - self.keep)  # rows no longer needed once these m arrive
            rest = self.n - cut
            if rest + m > self._cap:  # a frame longer than the room: grow
                self._cap = rest + m + self.keep
                data = [np.zeros((self._cap, *shape), dtype) for shape, dtype in self._shapes]
                for new, old in zip(data, self._data):
                    new[:rest] = old[cut : self.n]
                self._data = data
            elif cut:
                for col in self._data:
                    col[:rest] = col[cut : self.n]
            self.n = rest
            self.b0 += cut
        for col, v in zip(self._data, values):
            col[self.n : self.n + m] = v
        self.n += m

    def column(self, k: int) -> np.ndarray:
        """The valid rows of column ``k`` (a view: writes go into the history)."""
        return self._data[k][: self.n]

    def get(self, k: int, lo: int, hi: int) -> np.ndarray | None:
        """Rows of absolute indices [lo, hi) of column ``k``; None when not (or no longer) held."""
        if lo < self.b0 or hi > self.b0 + self.n or hi <= lo:
            return None
        return self._data[k][lo - self.b0 : hi - self.b0]
