"""The step field registry: every field of `StepMetrics`, declared once.

Each `StepField` says what one per-step value is (name, unit, label) and where it goes: its key
in the analysis contract (`gait analyze --jsonl`), its column in the local store, its InfluxDB
field, its FIT field and its column on the review page. The store's schema check, the exports
(CSV, Parquet, FIT, the HTML report), the InfluxDB points, `StepMetrics.to_dict` and the
dashboards' columns are derived from `STEP_FIELDS`; a test checks every one of them against it.

Adding a metric: one `StepField` here (in the order of `StepMetrics`), the attribute on
`StepMetrics`, the function that computes it, and their tests. The store adds the column to
existing databases when it opens them (`gait.storage.schema.ensure_step_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass

# kinds of value
TIME = "time"  # float seconds on the recording's time base (never missing)
FLOAT = "float"  # a measured number; None when the placement cannot measure it
TEXT = "text"  # a short word ("left" / "right")
CLASS = "class"  # a category from `StepField.classes`; InfluxDB and FIT carry its code
FLAGS = "flags"  # quality flags: a tuple of strings (see gait.core.records.QUALITY_FLAGS)
KINDS = (TIME, FLOAT, TEXT, CLASS, FLAGS)


@dataclass(frozen=True, slots=True)
class FitField:
    """Where a step field goes in a FIT activity's per-second ``record`` messages.

    ``developer`` False: a native running-dynamics field of the FIT profile, written as
    ``value * scale`` (and its session/lap average as ``avg_<name>``), clipped to [0, ``max_value``].
    ``developer`` True: a FIT 2.0 developer field described in the file (``base_type``: 0x88
    float32, 0x02 uint8 for a class code; ``units`` as written in its description).
    """

    name: str
    scale: float = 1.0
    max_value: float = 6553.0
    developer: bool = False
    base_type: int = 0x88
    units: str = ""


@dataclass(frozen=True, slots=True)
class StepField:
    """One per-step value.

    ``name``: the `StepMetrics` attribute, the analysis-contract key, the store column (a FLAGS
    field is stored as ``quality_mask`` + ``quality_other``) and the CSV/Parquet column.
    ``contract``: printed by ``gait analyze --jsonl``; ``in_dict``: in `StepMetrics.to_dict` (the
    live page's step). ``decimals``: rounding in JSON. ``influx``: the InfluxDB field of
    ``gait_step`` (None: not a field; ``ic_s`` is the point's timestamp, ``side`` a tag).
    ``fit``: its FIT field, or None. ``review_decimals``: sent as a column of the review page's
    payload with this rounding (None: not sent). ``shown_decimals``: decimals the dashboards
    show. ``summary``: its median is part of run summaries, splits and trends.
    """

    name: str
    kind: str
    unit: str
    label: str
    contract: bool = False
    in_dict: bool = True
    decimals: int = 3
    influx: str | None = None
    fit: FitField | None = None
    review_decimals: int | None = None
    shown_decimals: int = 1
    summary: bool = False
    classes: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        """The store column's SQLite type (FLAGS fields are stored as a mask and a text)."""
        return {TIME: "REAL NOT NULL", FLOAT: "REAL", TEXT: "TEXT", CLASS: "TEXT"}[self.kind]

    def code(self, value: str | None) -> int | None:
        """A CLASS value's number (0, 1, ... in `classes` order); None: not measured, -1: unknown."""
        if value is None:
            return None
        return self.classes.index(value) if value in self.classes else -1


STRIKES = ("rearfoot", "midfoot", "forefoot")

STEP_FIELDS: tuple[StepField, ...] = (
    StepField("ic_s", TIME, "s", "Initial contact", contract=True, decimals=4),
    StepField("to_s", TIME, "s", "Toe-off", contract=True, decimals=4),
    StepField("side", TEXT, "", "Side", contract=True),
    StepField(
        "gct_ms", FLOAT, "ms", "Contact time", contract=True, influx="gct_ms",
        fit=FitField("stance_time"), review_decimals=1, shown_decimals=0, summary=True,
    ),
    StepField("flight_ms", FLOAT, "ms", "Flight time", contract=True, influx="flight_ms",
              review_decimals=1, shown_decimals=0),
    StepField(
        "cadence_spm", FLOAT, "spm", "Cadence", contract=True, influx="cadence_spm",
        fit=FitField("cadence", scale=0.5, max_value=254.0), review_decimals=1, shown_decimals=0, summary=True,
    ),
    StepField(
        "vo_cm", FLOAT, "cm", "Vertical oscillation", contract=True, influx="vo_cm",
        fit=FitField("vertical_oscillation", scale=10.0), review_decimals=2, summary=True,
    ),
    StepField(
        "vertical_ratio_pct", FLOAT, "%", "Vertical ratio", contract=True, influx="vertical_ratio_pct",
        fit=FitField("vertical_ratio", max_value=655.0), review_decimals=2, summary=True,
    ),
    StepField(
        "fsa_deg", FLOAT, "°", "Foot strike angle", contract=True, influx="fsa_deg",
        fit=FitField("foot_strike_angle", developer=True, units="deg"), review_decimals=1,
    ),
    StepField(
        "strike", CLASS, "", "Foot strike", contract=True, influx="strike",
        fit=FitField("foot_strike", developer=True, base_type=0x02, units="class"), classes=STRIKES,
    ),
    StepField(
        "lean_deg", FLOAT, "°", "Lean", contract=True, influx="lean_deg",
        fit=FitField("trunk_lean", developer=True, units="deg"), review_decimals=1, summary=True,
    ),
    StepField(
        "impact_g", FLOAT, "g", "Impact", influx="impact_g",
        fit=FitField("impact", developer=True, units="g"), review_decimals=2,
    ),
    StepField(
        "duty_factor", FLOAT, "", "Duty factor", influx="duty_factor",
        fit=FitField("stance_time_percent", scale=100.0, max_value=100.0),
    ),
    # a wrist sensor (gait.metrics.arm): the stride that ends at this step; null elsewhere
    StepField(
        "arm_cross_cm", FLOAT, "cm", "Arm crossing", contract=True, influx="arm_cross_cm",
        fit=FitField("arm_cross", developer=True, units="cm"), review_decimals=1,
    ),
    StepField(
        "arm_swing_deg", FLOAT, "°", "Arm swing", contract=True, influx="arm_swing_deg",
        fit=FitField("arm_swing", developer=True, units="deg"), review_decimals=1, shown_decimals=0,
    ),
    StepField("quality", FLAGS, "", "Quality", contract=True, influx="quality"),
    StepField("emitted_s", TIME, "s", "Emitted", in_dict=False),
)

FIELD_BY_NAME = {f.name: f for f in STEP_FIELDS}
CONTRACT_KEYS = tuple(f.name for f in STEP_FIELDS if f.contract)
DICT_KEYS = CONTRACT_KEYS + tuple(f.name for f in STEP_FIELDS if f.in_dict and not f.contract)
NUMERIC_FIELDS = tuple(f for f in STEP_FIELDS if f.kind in (TIME, FLOAT))
SUMMARY_FIELDS = tuple(f for f in STEP_FIELDS if f.summary)
REVIEW_FIELDS = tuple(f for f in STEP_FIELDS if f.review_decimals is not None)

assert all(f.kind in KINDS for f in STEP_FIELDS)
assert len(FIELD_BY_NAME) == len(STEP_FIELDS)
