"""The programme around the run: red flags, pain across days, and a safe walk-run return.

Health software with fixed, cautious rules. Safety outranks every other message; the programme
asks (explicit yes/no questions) and never diagnoses; targets are relative to the runner's own
baseline; no setting loosens a limit (a clinician profile may only tighten). Not medical advice.

Modules, lowest first (pure rules import only `gait.core` and each other):

- `errors`: `ProgrammeLocked`, `RunNotAllowed`, `ConsecutiveDayRun`, `ScreenDue`,
  `ProgressionCapExceeded` (names the limit), `ConfigOutOfBounds` (names the setting), ...
- `phrases`: every sentence the programme says (a test checks it for forbidden encouragement and
  diagnostic names).
- `config`: `ProgrammeConfig` with hard bounds (`BOUNDS`), `load_config`, `apply_clinician_profile`.
- `redflags` (F1): `QUESTIONS` (id, text, level), `Screen`, `Clearance`, `fold_lock`,
  `red_flag_summary()`.
- `pain` (F2): `Pain`, `CheckIn`, `SessionPain`, `classify` (green/amber/red/unknown),
  `weekly_trend` (TREND_UP), `stop_rule` (in-run), `pre_run_gate` (>= 6: walk or rest).
- `walkrun` (F3): `STAGES` 1-7, `advance` (progression), `check_weekly_running` and
  `max_weekly_running_min` (past stage 7: weekly increase and the fixed 30 %/14-day cap).
- `plan`: `History` -> `evaluate(history, day)` -> `ProgrammeStatus` (state ready | emergency |
  urgent | review | hold, stage, last_zone, today's and the next `Plan`), `start_session`.
- `store`: `ProgrammeStore`, the records in the local SQLite store (schema v3). Health data stays
  local: nothing of it goes to InfluxDB.
- `access`: `gate`, `log_session`, `status` on a data folder or an open store.
- `export`: CSV files and a printable HTML page that opens with the red-flag summary.
- `commands`: the ``gait programme`` subcommands (parsed in `gait.cli`).

For a live run (the run engine), before the run starts::

    from gait.programme import gate, ProgrammeLocked, RunNotAllowed
    plan = gate(data_dir_or_store, day)           # raises ProgrammeLocked in the emergency state
    plan = gate(data_dir_or_store, day, kind=plan.kind)   # refuses running in urgent/review/hold,
                                                  # after a pre-run score >= 6, the day after a run
                                                  # (ConsecutiveDayRun) and before a due screen (ScreenDue)
    plan.kind           # "rest" | "walk" | "walk-run" | "run"
    plan.intervals      # ((walk_s, run_s), ...) after plan.warm_up_walk_s, before plan.cool_down_walk_s
    plan.stop(Pain(back_nrs, leg_nrs, leg_extent))  # in-run report -> StopDecision(stop, reasons, phrase)
    log_session(data_dir_or_store, day)           # when the session is done

After a stop the session is walk-only: say ``decision.phrase`` once, then only walk and safety
phrases, no form cue, no "run now".
"""

from gait.programme.access import StoreOrDir, TodaysPlan, gate, log_session, status
from gait.programme.config import BOUNDS, ProgrammeConfig, apply_clinician_profile, load_config
from gait.programme.errors import (
    ConfigOutOfBounds,
    ConsecutiveDayRun,
    ProgrammeError,
    ProgrammeLocked,
    ProgrammeNotStarted,
    ProgressionCapExceeded,
    RunNotAllowed,
    ScreenDue,
)
from gait.programme.pain import Pain, StopDecision, classify, stop_rule
from gait.programme.plan import History, Plan, ProgrammeStatus, evaluate, start_session
from gait.programme.redflags import QUESTIONS, red_flag_summary

__all__ = [
    "BOUNDS",
    "QUESTIONS",
    "ConfigOutOfBounds",
    "ConsecutiveDayRun",
    "History",
    "Pain",
    "Plan",
    "ProgrammeConfig",
    "ProgrammeError",
    "ProgrammeLocked",
    "ProgrammeNotStarted",
    "ProgrammeStatus",
    "ProgressionCapExceeded",
    "RunNotAllowed",
    "ScreenDue",
    "StopDecision",
    "StoreOrDir",
    "TodaysPlan",
    "apply_clinician_profile",
    "classify",
    "evaluate",
    "gate",
    "load_config",
    "log_session",
    "red_flag_summary",
    "start_session",
    "status",
    "stop_rule",
]
