"""The pipeline: a fixed stage order per placement. Live and offline share this one path.

    SanitizeStage -> (placement stages) -> ContactEvent -> assemble_step -> StepMetrics

Trunk placements (sacrum, waist, chest): TrunkOrientationStage -> TrunkStepStage.
Foot: FootStepStage. Wrist: WristStepStage (step markers from the arm swing). The detectors emit
`ContactEvent`s; `gait.metrics.assemble.assemble_step` turns each into `StepMetrics`, the same
way for every placement. Every stage reads its parameters from the config (``config.params``).
Offline analysis is `analyze`: the same pipeline fed one block, then flushed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gait.core.config import MAX_FRAME_MS, PipelineConfig
from gait.core.events import ContactEvent
from gait.core.records import Gap, QualityEvent, SampleBlock, StepMetrics
from gait.detect.foot import FootStepStage
from gait.detect.trunk import TrunkStepStage
from gait.detect.wrist import WristStepStage
from gait.dsp.orientation import TrunkOrientationStage
from gait.dsp.sanitize import SanitizeStage
from gait.dsp.stage import Stage
from gait.metrics.assemble import assemble_step


def build_stages(config: PipelineConfig, sampling_rate_hz: float) -> list[Stage]:
    stages: list[Stage] = [SanitizeStage(config, sampling_rate_hz)]
    if config.is_trunk:
        stages += [TrunkOrientationStage(config, sampling_rate_hz), TrunkStepStage(config, sampling_rate_hz)]
    elif config.is_arm:
        stages += [WristStepStage(config, sampling_rate_hz)]
    else:
        stages += [FootStepStage(config, sampling_rate_hz)]
    return stages


def _is_block(record: object) -> bool:
    return hasattr(record, "time_s") and hasattr(record, "index0")


class Pipeline:
    """Samples in, records out (`StepMetrics`, `Gap`, `QualityEvent`), in the order produced
    (each detector's `ContactEvent` leaves as the `StepMetrics` assembled from it)."""

    def __init__(self, config: PipelineConfig, sampling_rate_hz: float):
        self.config = config
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.stages = build_stages(config, sampling_rate_hz)
        self.latest_time_s = float("nan")

    @property
    def latency_ms(self) -> float:
        return self.config.frame_ms + sum(s.latency_ms for s in self.stages)

    def reset(self) -> None:
        for stage in self.stages:
            stage.reset()
        self.latest_time_s = float("nan")

    def process(self, block: SampleBlock) -> list:
        if len(block):
            self.latest_time_s = float(block.time_s[-1])
        return self._run(0, [block], final=False)

    def flush(self) -> list:
        out: list = []
        for i, stage in enumerate(self.stages):
            produced = stage.flush()
            out.extend(self._run(i + 1, produced, final=True))
        return out

    def _run(self, start: int, records: list, final: bool) -> list:
        out: list = []
        for record in records:
            if not _is_block(record):
                if type(record) is ContactEvent:
                    record = assemble_step(record, self.config, self.sampling_rate_hz)
                out.append(record)
                continue
            if start >= len(self.stages):
                continue  # blocks are not a pipeline output
            produced = self.stages[start].process(record)
            out.extend(self._run(start + 1, produced, final))
        return out


@dataclass
class AnalysisResult:
    steps: list[StepMetrics] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notices: list[QualityEvent] = field(default_factory=list)


def collect(records: Iterable[object], into: AnalysisResult | None = None) -> AnalysisResult:
    result = into if into is not None else AnalysisResult()
    for r in records:
        if isinstance(r, StepMetrics):
            result.steps.append(r)
        elif isinstance(r, Gap):
            result.gaps.append(r)
        elif isinstance(r, QualityEvent):
            result.notices.append(r)
    return result


OFFLINE_FRAME_MS = MAX_FRAME_MS  # 30 s: what each frame costs besides its samples is paid 120 times an hour


def analyze(block: SampleBlock, config: PipelineConfig, sampling_rate_hz: float) -> AnalysisResult:
    """Offline analysis: the streaming pipeline over one chunk, then flushed.

    Stages are frame-size invariant, so the only difference from live use is a longer
    processing frame, which makes a whole recording cheap to analyse."""
    pipe = Pipeline(config.with_(frame_ms=OFFLINE_FRAME_MS), sampling_rate_hz)
    result = collect(pipe.process(block))
    collect(pipe.flush(), result)
    result.steps.sort(key=lambda s: s.ic_s)
    return result
