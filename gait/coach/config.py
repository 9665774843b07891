"""Coach settings: frozen dataclasses that round-trip through TOML and JSON.

A configuration is built in layers: the built-in defaults (`CoachConfig()`), then a preset
shipped in ``gait/coach_presets/*.toml``, then the user's own TOML. Each layer only names what it
changes (`CoachConfig.merged`). Every value is validated with an error that names the setting, the
value and what is allowed (`gait.core.errors.ConfigError`).

Thresholds are a band with hysteresis. A rule's windowed value is *off target* when it goes
``above`` or ``below`` the band, and *on target again* only once it is back inside the narrower
exit band (``above_exit`` / ``below_exit``). ``inf`` / ``-inf`` mean "no bound on that side".
What the numbers are measured against is the rule's ``reference``:

- ``absolute``: the value itself (cm, %, ms, deg, spm),
- ``baseline``: the difference from the runner's baseline, in the metric's unit,
- ``baseline_pct``: the change from the runner's baseline, in percent.

Sources of the default numbers (see the reference notes, algorithms.md section 5):

- Garmin Running Dynamics colour zones: VO green 8.2-9.7 cm, orange 9.8-11.5 cm; vertical ratio
  green 7.5-8.6 %; ground contact time green 249-277 ms; contact-time balance green 49.3-50.7 %,
  red beyond 52.2 % on either side. The defaults raise an alert at the top of the green zone.
- Heiderscheit et al. 2011 (MSSE 43:296): +5 % step rate lowers knee energy absorption, +10 % also
  lowers hip loads and centre-of-mass excursion; the cadence target is +5 to +10 % over the
  runner's own baseline, with the alert below target - 2 % (algorithms.md 5.2).
- Altman & Davis 2012: rearfoot / midfoot / forefoot classes come from the foot-strike angle
  (the pipeline's `StrikeThresholds`); the coach counts the share of rearfoot contacts.
- Teng & Powers 2014/2015 (trunk lean 7.3 +/- 3.6 deg self-selected, 4-14 deg when cued): no
  evidence-based lean threshold exists, so lean is judged against the runner's baseline
  (> 5 deg change, algorithms.md 5.4).
- Latency targets (algorithms.md 6.3): alerts with hysteresis over 15-30 s, hence a 20 s minimum
  duration before a cue.
- Arm crossing (a wrist sensor, "don't pump your arms across your body"): no study gives a
  threshold, and the metric has no truth yet (it is flagged ``unvalidated``), so the rule is off
  unless the runner turns it on (``[rules.arm_cross] enabled = true``; off in every preset), and
  it is judged only against the runner's own baseline: a cue when the crossing is 25 % above it,
  on target again at +15 % (design choices).
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from gait.core.errors import ConfigError
from gait.core.records import Q_CLIPPING, Q_GAP, Q_IMPLAUSIBLE, Q_LOW_RATE, Q_NAN, Q_WALKING, Q_WARMUP, QUALITY_FLAGS

RULES = ("bounce", "vertical_ratio", "heel_strike", "cadence", "contact_time", "lean", "asymmetry", "arm_cross")
REFERENCES = ("absolute", "baseline", "baseline_pct")
# Which references a rule may use (a share of rearfoot contacts has no personal baseline).
ALLOWED_REFERENCES = {
    "bounce": REFERENCES,
    "vertical_ratio": REFERENCES,
    "heel_strike": ("absolute",),
    "cadence": REFERENCES,
    "contact_time": REFERENCES,
    "lean": REFERENCES,
    "asymmetry": ("absolute",),
    "arm_cross": ("baseline", "baseline_pct"),  # no population number: always the runner's own
}
# Flags that make any per-step value untrustworthy.
BAD_FLAGS = (Q_GAP, Q_CLIPPING, Q_NAN, Q_IMPLAUSIBLE, Q_WARMUP, Q_WALKING)
# Timing-sensitive metrics also need the sample rate (algorithms.md 6.2: foot strike >= 200 Hz).
TIMING_FLAGS = BAD_FLAGS + (Q_LOW_RATE,)
FOCUS_SCOPES = ("run", "block")
INF = math.inf


@dataclass(frozen=True)
class RuleConfig:
    """One form rule. Thresholds in the unit of the rule's ``reference`` (see the module doc)."""

    enabled: bool = True
    reference: str = "absolute"
    above: float = INF  # off target above this ...
    above_exit: float = INF  # ... and on target again at or below this
    below: float = -INF  # off target below this ...
    below_exit: float = -INF  # ... and on target again at or above this
    window_steps: int = 20  # windowed value = median (a share for heel_strike) over this many steps
    min_steps: int = 10  # fewest usable steps in the window before the rule judges anything
    min_duration_s: float = 20.0  # off target this long before the first alert
    repeat_s: float = 90.0  # while still off target, cue again after this long
    ignore_flags: tuple[str, ...] = BAD_FLAGS  # steps carrying any of these are left out

    def check(self, name: str) -> None:
        where = f"coach.rules.{name}"
        if self.reference not in ALLOWED_REFERENCES[name]:
            raise ConfigError(f"{where}.reference must be one of {ALLOWED_REFERENCES[name]}, got {self.reference!r}")
        for key in ("above", "above_exit", "below", "below_exit"):
            v = getattr(self, key)
            if not isinstance(v, int | float) or isinstance(v, bool) or math.isnan(v):
                raise ConfigError(f"{where}.{key} must be a number (inf/-inf for no bound), got {v!r}")
        if self.above_exit > self.above:
            raise ConfigError(
                f"{where}: above_exit ({self.above_exit}) must be at or below above ({self.above}); "
                "the exit threshold sits inside the band (hysteresis)"
            )
        if self.below_exit < self.below:
            raise ConfigError(
                f"{where}: below_exit ({self.below_exit}) must be at or above below ({self.below}); "
                "the exit threshold sits inside the band (hysteresis)"
            )
        if not self.below_exit < self.above_exit:
            raise ConfigError(
                f"{where}: the on-target band is empty (below_exit {self.below_exit} >= above_exit {self.above_exit})"
            )
        if math.isinf(self.above) != math.isinf(self.above_exit) or math.isinf(self.below) != math.isinf(
            self.below_exit
        ):
            raise ConfigError(f"{where}: give both the enter and the exit threshold of a side, or neither")
        if self.enabled and math.isinf(self.above) and math.isinf(self.below):
            raise ConfigError(f"{where}: an enabled rule needs 'above' or 'below' (or set enabled = false)")
        if not isinstance(self.window_steps, int) or not 1 <= self.window_steps <= 500:
            raise ConfigError(f"{where}.window_steps must be an integer from 1 to 500, got {self.window_steps!r}")
        if not isinstance(self.min_steps, int) or not 1 <= self.min_steps <= self.window_steps:
            raise ConfigError(
                f"{where}.min_steps must be an integer from 1 to window_steps ({self.window_steps}), "
                f"got {self.min_steps!r}"
            )
        _check_range(f"{where}.min_duration_s", self.min_duration_s, 0.0, 600.0)
        _check_range(f"{where}.repeat_s", self.repeat_s, 5.0, 3600.0)
        unknown = set(self.ignore_flags) - set(QUALITY_FLAGS)
        if unknown:
            raise ConfigError(f"{where}.ignore_flags: unknown quality flags {sorted(unknown)}; known: {QUALITY_FLAGS}")


def _rule(**kw: Any) -> Any:
    return field(default_factory=lambda: RuleConfig(**kw))


@dataclass(frozen=True)
class Rules:
    """The form rules and their defaults (see the module doc for the sources)."""

    # Vertical oscillation above the Garmin green zone (top 9.7 cm); back on target at 9.3 cm
    # (about half a zone width lower; the VO resolution we need is <= 8 mm, algorithms.md 5.1).
    bounce: RuleConfig = _rule(above=9.7, above_exit=9.3)
    # Vertical ratio above the Garmin green zone (top 8.6 %); needs the running speed.
    vertical_ratio: RuleConfig = _rule(above=8.6, above_exit=8.2)
    # Share of rearfoot contacts (%) over 30 foot contacts; needs a foot sensor.
    heel_strike: RuleConfig = _rule(
        above=30.0, above_exit=15.0, window_steps=30, min_steps=15, ignore_flags=TIMING_FLAGS
    )
    # Cadence +5..+10 % over the runner's baseline at the same speed (Heiderscheit 2011); off target
    # below +3 % (target - 2 %) and above +12 %.
    cadence: RuleConfig = _rule(reference="baseline_pct", below=3.0, below_exit=5.0, above=12.0, above_exit=10.0)
    # Ground contact time above the Garmin green zone (top 277 ms).
    contact_time: RuleConfig = _rule(above=277.0, above_exit=265.0, ignore_flags=TIMING_FLAGS)
    # Trunk lean within +/- 5 deg of the runner's baseline; positive = more forward lean (flexion).
    lean: RuleConfig = _rule(reference="baseline", above=5.0, above_exit=3.0, below=-5.0, below_exit=-3.0)
    # Left share of ground contact time (%), 50 = even; Garmin red beyond 52.2 %.
    asymmetry: RuleConfig = _rule(
        above=52.2,
        above_exit=51.0,
        below=47.8,
        below_exit=49.0,
        window_steps=40,
        min_steps=20,
        ignore_flags=TIMING_FLAGS,
    )
    # Arm crossing (wrist sensor): more than 25 % over the runner's own baseline; opt-in.
    arm_cross: RuleConfig = _rule(enabled=False, reference="baseline_pct", above=25.0, above_exit=15.0)

    def get(self, name: str) -> RuleConfig:
        return getattr(self, name)

    def enabled(self) -> tuple[str, ...]:
        return tuple(n for n in RULES if self.get(n).enabled)


@dataclass(frozen=True)
class BaselineConfig:
    """The runner's personal baseline: learnt from the first ``duration_s`` of running (median
    of the usable steps), unless given here (from a calibration run: `baseline_from_steps`)."""

    duration_s: float = 180.0
    min_steps: int = 60
    cadence_spm: float | None = None
    speed_mps: float | None = None  # running speed at which cadence_spm was measured
    vo_cm: float | None = None
    vertical_ratio_pct: float | None = None
    gct_ms: float | None = None
    lean_deg: float | None = None
    arm_cross_cm: float | None = None
    # How cadence changes with speed within one runner, used to match the baseline to the current
    # speed when both are known and the baseline itself spans too narrow a speed range to fit it.
    # An assumption (runners lengthen the step more than they quicken it), not a published value.
    cadence_slope_spm_per_mps: float = 8.0

    def check(self) -> None:
        _check_range("coach.baseline.duration_s", self.duration_s, 0.0, 1800.0)
        if not isinstance(self.min_steps, int) or self.min_steps < 1:
            raise ConfigError(f"coach.baseline.min_steps must be a positive integer, got {self.min_steps!r}")
        for name, lo, hi in (
            ("cadence_spm", 60.0, 260.0),
            ("speed_mps", 0.5, 12.0),
            ("vo_cm", 1.0, 25.0),
            ("vertical_ratio_pct", 1.0, 25.0),
            ("gct_ms", 80.0, 600.0),
            ("lean_deg", -45.0, 60.0),
            ("arm_cross_cm", 0.5, 60.0),
        ):
            v = getattr(self, name)
            if v is not None:
                _check_range(f"coach.baseline.{name}", v, lo, hi)
        _check_range("coach.baseline.cadence_slope_spm_per_mps", self.cadence_slope_spm_per_mps, 0.0, 30.0)


@dataclass(frozen=True)
class FocusConfig:
    """One change at a time: only the focus rule speaks, the others are recorded silently.

    ``rules`` names the focus: ``["auto"]`` picks, when feedback first starts (and at each
    feedback block with ``scope = "block"``), the highest-``priority`` rule that is off target;
    a list of rule names with ``scope = "block"`` takes them in turn, one per feedback block.
    A "bounce" focus also covers "vertical_ratio" (the same advice from the same sensor).
    """

    rules: tuple[str, ...] = ("auto",)
    scope: str = "run"
    priority: tuple[str, ...] = (
        "cadence",
        "bounce",
        "vertical_ratio",
        "heel_strike",
        "contact_time",
        "lean",
        "asymmetry",
        "arm_cross",
    )

    def check(self) -> None:
        if not self.rules:
            raise ConfigError("coach.focus.rules must name at least one rule or 'auto'")
        if "auto" in self.rules and len(self.rules) > 1:
            raise ConfigError(f"coach.focus.rules: 'auto' stands alone, got {list(self.rules)}")
        for r in self.rules:
            if r != "auto" and r not in RULES:
                raise ConfigError(f"coach.focus.rules: unknown rule {r!r}; rules are {RULES} or 'auto'")
        if self.scope not in FOCUS_SCOPES:
            raise ConfigError(f"coach.focus.scope must be one of {FOCUS_SCOPES}, got {self.scope!r}")
        if self.scope == "run" and len(self.rules) > 1:
            raise ConfigError(
                f"coach.focus.rules: one focus per run, got {list(self.rules)}; "
                'set scope = "block" to take them in turn, one per feedback block'
            )
        bad = [r for r in self.priority if r not in RULES]
        if bad:
            raise ConfigError(f"coach.focus.priority: unknown rules {bad}; rules are {RULES}")


@dataclass(frozen=True)
class FadeConfig:
    """Faded feedback: fewer cues as the runner keeps on target (reduced relative frequency).

    The share of off-target episodes that are voiced starts at 1. It is multiplied by ``factor``
    each time the runner corrects within ``correct_within_s`` of a cue and each ``hold_s`` of
    unbroken time on target once a first cue was given, down to ``min_ratio``; it is divided by ``factor`` (up to 1) when a cue
    goes uncorrected for ``correct_within_s``. Repeats of a cue are spaced by ``repeat_s / ratio``.
    """

    enabled: bool = False
    factor: float = 0.5
    min_ratio: float = 0.25
    correct_within_s: float = 60.0
    hold_s: float = 120.0

    def check(self) -> None:
        _check_range("coach.feedback.fade.factor", self.factor, 0.05, 0.95)
        _check_range("coach.feedback.fade.min_ratio", self.min_ratio, 0.01, 1.0)
        _check_range("coach.feedback.fade.correct_within_s", self.correct_within_s, 1.0, 3600.0)
        _check_range("coach.feedback.fade.hold_s", self.hold_s, 10.0, 7200.0)


@dataclass(frozen=True)
class BlocksConfig:
    """Alternate blocks with and without feedback (e.g. 5 min on / 2 min off) to check that a
    change holds without the cue; every block gets a summary. Off when either length is 0."""

    feedback_s: float = 0.0
    no_feedback_s: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.feedback_s > 0 and self.no_feedback_s > 0

    def check(self) -> None:
        _check_range("coach.feedback.blocks.feedback_s", self.feedback_s, 0.0, 7200.0)
        _check_range("coach.feedback.blocks.no_feedback_s", self.no_feedback_s, 0.0, 7200.0)
        if self.enabled and self.feedback_s < 30.0:
            raise ConfigError(f"coach.feedback.blocks.feedback_s must be 0 or at least 30 s, got {self.feedback_s}")


@dataclass(frozen=True)
class FeedbackConfig:
    """When the coach may speak. ``start_s``: silent (recording only) before this run time, so the
    baseline is learnt from unprompted running. ``cooldown_s``: least time between two voiced
    cues of any rule. ``clear_cue``: say a short 'good' when a cued rule is back on target."""

    start_s: float = 180.0
    cooldown_s: float = 30.0
    clear_cue: bool = True
    fade: FadeConfig = field(default_factory=FadeConfig)
    blocks: BlocksConfig = field(default_factory=BlocksConfig)

    def check(self) -> None:
        _check_range("coach.feedback.start_s", self.start_s, 0.0, 3600.0)
        _check_range("coach.feedback.cooldown_s", self.cooldown_s, 0.0, 3600.0)
        self.fade.check()
        self.blocks.check()


@dataclass(frozen=True)
class PainConfig:
    """Never run through pain: any during-run score >= ``stop_at`` or a rise of >= ``rise`` over
    the pre-run score raises ALERT_STOP ('stop and walk') and silences every other cue. A pre-run
    score >= ``stop_at`` raises it before the start. While steps keep coming at running cadence,
    the stop is repeated every ``repeat_stop_s`` (0 = once)."""

    stop_at: int = 5
    rise: int = 2
    repeat_stop_s: float = 60.0

    def check(self) -> None:
        if not isinstance(self.stop_at, int) or not 1 <= self.stop_at <= 10:
            raise ConfigError(f"coach.pain.stop_at must be an integer from 1 to 10, got {self.stop_at!r}")
        if not isinstance(self.rise, int) or not 1 <= self.rise <= 10:
            raise ConfigError(f"coach.pain.rise must be an integer from 1 to 10, got {self.rise!r}")
        _check_range("coach.pain.repeat_stop_s", self.repeat_stop_s, 0.0, 3600.0)


@dataclass(frozen=True)
class CoachConfig:
    """Everything the coach needs to know, apart from the steps themselves."""

    name: str = "default"
    description: str = ""
    rules: Rules = field(default_factory=Rules)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    focus: FocusConfig = field(default_factory=FocusConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    pain: PainConfig = field(default_factory=PainConfig)
    speed_mps: float | None = None  # known constant running speed (treadmill); else from the steps
    pause_s: float = 5.0  # no running step for this long = a stop: windows and episodes restart
    min_running_cadence_spm: float = 130.0  # steps below this are walking: they pause the coach

    def __post_init__(self) -> None:
        for name in RULES:
            self.rules.get(name).check(name)
        self.baseline.check()
        self.focus.check()
        self.feedback.check()
        self.pain.check()
        if self.speed_mps is not None:
            _check_range("coach.speed_mps", self.speed_mps, 0.5, 12.0)
        _check_range("coach.pause_s", self.pause_s, 1.0, 600.0)
        _check_range("coach.min_running_cadence_spm", self.min_running_cadence_spm, 0.0, 200.0)
        fixed = [r for r in self.focus.rules if r != "auto"]
        off = [r for r in fixed if not self.rules.get(r).enabled]
        if off:
            raise ConfigError(f"coach.focus.rules names disabled rules {off}; enable them under [rules.<name>]")

    def with_(self, **changes: Any) -> CoachConfig:
        return replace(self, **changes)

    # --- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CoachConfig:
        return _build(cls(), d, "coach")

    @classmethod
    def from_json(cls, text: str) -> CoachConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_toml(cls, text: str) -> CoachConfig:
        """A full or partial configuration (missing settings keep their defaults)."""
        data = _loads_toml(text, "coach TOML")
        return cls.from_dict(data.get("coach", data))

    def to_toml(self) -> str:
        lines: list[str] = []
        _toml_table(lines, "coach", self.to_dict())
        return "\n".join(lines).lstrip("\n") + "\n"

    def merged(self, overrides: dict[str, Any]) -> CoachConfig:
        """This configuration with ``overrides`` (a nested dict, e.g. parsed TOML) laid on top."""
        return CoachConfig.from_dict(_deep_merge(self.to_dict(), overrides))


# --- presets -------------------------------------------------------------------------------------
PRESET_PACKAGE = "gait"
PRESET_DIR = "coach_presets"


def _preset_root():  # importlib.resources Traversable (works from a wheel as well as the tree)
    return resources.files(PRESET_PACKAGE).joinpath(PRESET_DIR)


def list_presets() -> list[str]:
    """Names of the presets shipped with the package (``gait/coach_presets/*.toml``)."""
    return sorted(p.name[: -len(".toml")] for p in _preset_root().iterdir() if p.name.endswith(".toml"))


def preset_overrides(name: str) -> dict[str, Any]:
    """The settings a preset changes (its TOML, parsed), checked against the known presets."""
    path = _preset_root().joinpath(f"{name}.toml")
    if not path.is_file():
        raise ConfigError(f"unknown coach preset {name!r}; presets: {', '.join(list_presets())}")
    data = _loads_toml(path.read_text(encoding="utf-8"), f"preset {name}")
    return data.get("coach", data)


def load_preset(name: str = "default") -> CoachConfig:
    """A shipped preset over the built-in defaults."""
    return CoachConfig().merged({"name": name, **preset_overrides(name)})


def load_config(preset: str = "default", user: str | Path | dict[str, Any] | None = None) -> CoachConfig:
    """Preset, then the user's overrides: a TOML file path, TOML text, or a dict."""
    cfg = load_preset(preset)
    if user is None:
        return cfg
    if isinstance(user, dict):
        over = user
    else:
        text = str(user)
        if isinstance(user, Path) or (("\n" not in text) and text.endswith(".toml")):
            p = Path(user)
            if not p.is_file():
                raise ConfigError(f"coach config file not found: {p}")
            text = p.read_text(encoding="utf-8")
        data = _loads_toml(text, "user coach TOML")
        over = data.get("coach", data)
    return cfg.merged(over)


# --- helpers -------------------------------------------------------------------------------------
def _check_range(name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}")


def _loads_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what}: not valid TOML: {exc}") from exc


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _build(defaults: Any, d: Any, where: str) -> Any:
    """``defaults`` (a dataclass instance) with the settings of the nested dict ``d`` replaced,
    with errors that name the setting."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a table, got {type(d).__name__}")
    known = {f.name for f in fields(defaults)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown settings {unknown}; known: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for name, value in d.items():
        default = getattr(defaults, name)
        key = f"{where}.{name}"
        if hasattr(default, "__dataclass_fields__"):
            kwargs[name] = _build(default, value, key)
        elif isinstance(default, tuple):
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{key} must be a list, got {value!r}")
            kwargs[name] = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{key} must be true or false, got {value!r}")
            kwargs[name] = value
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            kwargs[name] = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        else:
            kwargs[name] = value
    try:
        return replace(defaults, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


def _toml_table(lines: list[str], name: str, d: dict[str, Any]) -> None:
    lines.append(f"\n[{name}]")
    subtables = []
    for k, v in d.items():
        if isinstance(v, dict):
            subtables.append((k, v))
        elif v is not None:  # None is every such setting's default: leaving it out round-trips
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in subtables:
        _toml_table(lines, f"{name}.{k}", v)
