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
- `retrain` (F4, pure): targets relative to the baseline, the faded schedule, the bandwidth cue
  scheduler, probes, the focus ladder, outdoor maintenance; `retrain_review` (F5, pure): the
  association view; `retrain_store` (schema v4 records); `retrain_access`: `todays_feedback`,
  `start_focus`, `record_probe`, `record_run_value`, `focus_summary`, `review`.
- `commands`: the ``gait programme`` subcommands (parsed in `gait.cli`; `retrain_commands` for
  ``focus``, ``probe`` and ``review``).

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

Retraining (F4, `retrain`, `retrain_access`): before the run, ask for today's form feedback::

    from gait.programme.retrain_access import todays_feedback
    fb = todays_feedback(data_dir_or_store, day)  # FeedbackPlan, or None: no focus speaks today
    fb.metric, fb.target.low, fb.target.high      # the one focus that speaks, its band (own baseline)
    fb.session, fb.feedback_fraction              # block session 1-8 and its share (None in maintenance)
    fb.feedback_on(running_s)                     # the 5-minute window schedule, running time only
    cues = fb.cues(); cues, text = cues.step(t_s, value, running=..., feedback=fb.feedback_on(running_s))
    fb.probe, fb.probe_s, fb.probe_at             # a probe today: 5 min without feedback ("start"/"end")
    fb.maintenance_every_m                        # outdoor check cue every 500 / 1000 m, or None
    record_run_value(data_dir_or_store, day, mean)  # after the run, for the form-pain review (F5)

Other form rules are recorded silently; bounce is reported, never cued.
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
