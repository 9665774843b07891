"""The streaming contract, as a base class.

Every stage is built as ``Stage(config, sampling_rate_hz)`` and offers ``reset()``,
``process(block) -> list[records]`` and ``flush() -> list[records]`` (end of stream).

`FramedStage` re-cuts whatever blocks arrive into frames of a fixed number of samples
(``config.frame_ms``) and calls ``_process_frame`` once per complete frame, so per-call
cost is bounded and tiny packets cost little. On top of that every stage is *frame-size
invariant*: its records depend only on the samples, never on where frames were cut. Each
decision (an event, a re-estimate) is taken at a sample index fixed by the data, from the
samples in windows fixed by sample indices, and never from "whatever happens to be in the
buffer now". Hence chunk invariance, and a cheap offline path: `gait.pipeline.analyze` runs
the very same stages with long frames (``OFFLINE_FRAME_MS``). The contract test proves both
for every stage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from gait.core.config import MAX_FRAME_MS, PipelineConfig
from gait.core.records import block_len, concat_blocks, slice_block


def frame_samples(config: PipelineConfig, sampling_rate_hz: float) -> int:
    return max(1, int(round(config.frame_ms * 1e-3 * sampling_rate_hz)))


class Stage(ABC):
    """A pipeline stage. ``latency_ms`` declares its look-ahead (how long after a sample its
    effect on the output can appear, on top of the frame)."""

    latency_ms: float = 0.0

    def __init__(self, config: PipelineConfig, sampling_rate_hz: float):
        if not (1.0 <= sampling_rate_hz <= 5000.0):
            raise ValueError(f"sampling rate {sampling_rate_hz} Hz is out of range")
        self.config = config
        self.fs = float(sampling_rate_hz)

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def process(self, block: Any) -> list[Any]: ...

    def flush(self) -> list[Any]:
        return []


class FramedStage(Stage):
    """Re-frames its input; subclasses implement `_reset_state` and `_process_frame`.

    ``max_frame_ms``: the longest frame the stage takes; a longer ``config.frame_ms`` is cut into
    frames of this length (a stage whose history buffers hold one frame more than it looks back sets
    it, so its buffers, and what it keeps, stay the same whatever the configured frame)."""

    max_frame_ms: float = MAX_FRAME_MS

    def __init__(self, config: PipelineConfig, sampling_rate_hz: float):
        super().__init__(config, sampling_rate_hz)
        self.frame_len = min(frame_samples(config, sampling_rate_hz),
                             max(1, int(round(self.max_frame_ms * 1e-3 * sampling_rate_hz))))  # fmt: skip
        self._pending: list[Any] = []
        self._pending_n = 0
        self.reset()

    def reset(self) -> None:
        self._pending = []
        self._pending_n = 0
        self._reset_state()

    @abstractmethod
    def _reset_state(self) -> None: ...

    @abstractmethod
    def _process_frame(self, frame: Any, final: bool) -> list[Any]:
        """Handle one frame. ``final`` is True only for the last (possibly short) frame at flush."""

    def process(self, block: Any) -> list[Any]:
        n = block_len(block)
        if n == 0:
            return []
        if not self._pending and n == self.frame_len:  # fast path: input already framed
            return self._process_frame(block, False)
        self._pending.append(block)
        self._pending_n += n
        if self._pending_n < self.frame_len:
            return []
        data = concat_blocks(self._pending)
        out: list[Any] = []
        start = 0
        total = self._pending_n
        while total - start >= self.frame_len:
            out.extend(self._process_frame(slice_block(data, start, start + self.frame_len), False))
            start += self.frame_len
        if start < total:
            self._pending = [slice_block(data, start, total)]
            self._pending_n = total - start
        else:
            self._pending = []
            self._pending_n = 0
        return out

    def flush(self) -> list[Any]:
        out: list[Any] = []
        if self._pending_n:
            data = concat_blocks(self._pending)
            self._pending = []
            self._pending_n = 0
            out.extend(self._process_frame(data, True))
        out.extend(self._finish())
        return out

    def _finish(self) -> list[Any]:
        """End of stream after the last frame: emit what is still held back."""
        return []
