"""The coach: form rules -> alerts, with hysteresis, cool-downs and one focus at a time.

It reads `gait.core.records.StepMetrics` (what the pipeline produces) and raises
`gait.core.records.Alert` records: ALERT_CUE (voiced and shown), ALERT_SILENT (recorded only: a
rule outside the current focus, the quiet start, a no-feedback block, a faded cue), ALERT_CLEAR
(back on target after a cue) and ALERT_STOP (pain: stop and walk, overrides everything).

Modules: `config` (CoachConfig, presets in ``gait/coach_presets``), `rules` (windowed values and
hysteresis), `baseline` (the runner's own baseline), `focus` (focus, blocks, faded feedback),
`engine` (the streaming `Coach` and `coach_run`). Imports gait.core only (import-linter layers).
"""

from .baseline import Baseline, baseline_from_steps, step_speed_mps
from .config import (
    RULES,
    BaselineConfig,
    BlocksConfig,
    CoachConfig,
    FadeConfig,
    FeedbackConfig,
    FocusConfig,
    PainConfig,
    RuleConfig,
    Rules,
    list_presets,
    load_config,
    load_preset,
)
from .engine import Coach, RunContext, coach_run

__all__ = [
    "RULES",
    "Baseline",
    "BaselineConfig",
    "BlocksConfig",
    "Coach",
    "CoachConfig",
    "FadeConfig",
    "FeedbackConfig",
    "FocusConfig",
    "PainConfig",
    "RuleConfig",
    "Rules",
    "RunContext",
    "baseline_from_steps",
    "coach_run",
    "list_presets",
    "load_config",
    "load_preset",
    "step_speed_mps",
]
