"""Formatting of the validation results: a plain-text table for the terminal and markdown for README.

Pure presentation: rows in (`Row`: a label plus a `Score`), text out. No I/O except `write_markdown`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gait.validation.score import Consistency, Floor, Score

COLUMNS = (
    "dataset",
    "placement",
    "Hz",
    "speed m/s",
    "algorithm",
    "trials",
    "n truth",
    "recall %",
    "precision %",
    "IC bias±SD ms",
    "TO bias±SD ms",
    "GCT MAE ms",
    "cadence err spm",
    "VO MAE cm",
    "FSA MAE deg",
    "strike acc %",
    "lean MAE deg",
    "side acc %",
    "no side %",
    "notes",
)
_HEAD = 5  # label columns before the numbers


@dataclass
class Row:
    dataset: str
    placement: str
    rate: str  # "100", "200", "500", "all"
    algorithm: str
    score: Score | None  # None when the algorithm could not run
    truth_kind: str = ""  # "force", "kinematic", "force+kinematic"
    notes: list[str] = field(default_factory=list)
    pooled: bool = False
    speed: str = ""  # the treadmill speeds of the row's trials (m/s), e.g. "2.5" or "2.91-3.35"


@dataclass
class FloorResult:
    placement: str
    floor: Floor
    value: float
    verdict: bool | None  # True PASS, False FAIL, None no data
    basis: str = ""  # which pool the value comes from


@dataclass
class GoalResult:
    """One accuracy goal measured in one speed band. ``verdict`` None: the truth there cannot judge it
    (kinematic truth of contact timing) or there is no data."""

    placement: str
    goal: str
    band: str
    value: float
    verdict: bool | None
    basis: str = ""


def _f(value: float, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def _pm(bias: float, sd: float) -> str:
    if not math.isfinite(bias):
        return "–"
    return f"{bias:+.0f}±{_f(sd, 0)}"


def row_cells(row: Row) -> list[str]:
    s = row.score
    head = [row.dataset, row.placement, row.rate, row.speed or "–", row.algorithm]
    notes = "; ".join(row.notes)
    if s is None:
        return [*head, *(["–"] * (len(COLUMNS) - _HEAD - 1)), notes]
    return [
        *head,
        str(s.n_trials),
        str(s.n_truth),
        _f(s.recall_pct),
        _f(s.precision_pct),
        _pm(s.ic_bias_ms, s.ic_sd_ms),
        _pm(s.to_bias_ms, s.to_sd_ms),
        _f(s.gct_mae_ms),
        _f(s.cadence_err_spm, 2),
        _f(s.vo_mae_cm, 2),
        _f(s.fsa_mae_deg),
        _f(s.strike_acc_pct, 0),
        _f(s.lean_mae_deg),
        _f(s.side_acc_pct, 1),
        _f(s.side_missing_pct, 1),
        notes,
    ]


def text_table(rows: Sequence[Row], max_notes: int = 70) -> str:
    cells = [list(COLUMNS)]
    for r in rows:
        c = row_cells(r)
        if len(c[-1]) > max_notes:
            c[-1] = c[-1][: max_notes - 1] + "…"
        cells.append(c)
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    right = set(range(_HEAD, len(COLUMNS) - 1))

    def fmt(c: list[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(c, widths))).rstrip()

    out = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    prev_pooled = False
    for r, c in zip(rows, cells[1:]):
        if r.pooled and not prev_pooled:
            out.append("  ".join("-" * w for w in widths))
        out.append(fmt(c))
        prev_pooled = r.pooled
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] * _HEAD + ["---:"] * (len(COLUMNS) - _HEAD - 1) + ["---"]) + "|",
    ]
    for r in rows:
        c = [v.replace("|", "\\|") for v in row_cells(r)]
        if r.pooled:
            c[:_HEAD] = [f"**{v}**" for v in c[:_HEAD]]
        lines.append("| " + " | ".join(c) + " |")
    return "\n".join(lines)


def floors_text(results: Sequence[FloorResult], markdown: bool = False) -> str:
    verdict = {True: "PASS", False: "FAIL", None: "no data"}
    if markdown:
        lines = ["| placement | floor | value | verdict | basis |", "|---|---|---:|---|---|"]
        for fr in results:
            lines.append(
                f"| {fr.placement} | {fr.floor.name} | {_f(fr.value, 2)} | {verdict[fr.verdict]} | {fr.basis} |"
            )
        return "\n".join(lines)
    w = max((len(fr.floor.name) for fr in results), default=10)
    return "\n".join(
        f"  {fr.placement:<7} {fr.floor.name:<{w}}  {_f(fr.value, 2):>7}  {verdict[fr.verdict]:<7}  {fr.basis}"
        for fr in results
    )


def goals_text(results: Sequence[GoalResult], markdown: bool = False) -> str:
    verdict = {True: "met", False: "not met", None: "not judged"}
    if markdown:
        lines = ["| placement | goal | speed band m/s | value | verdict | basis |", "|---|---|---|---:|---|---|"]
        for g in results:
            lines.append(f"| {g.placement} | {g.goal} | {g.band} | {_f(g.value, 2)} | {verdict[g.verdict]} | {g.basis} |")
        return "\n".join(lines)
    w = max((len(g.goal) for g in results), default=10)
    return "\n".join(
        f"  {g.placement:<7} {g.goal:<{w}}  {g.band:<5} {_f(g.value, 2):>7}  {verdict[g.verdict]:<10}  {g.basis}"
        for g in results
    )


def consistency_text(c: Consistency | None, note: str = "", markdown: bool = False) -> str:
    if c is None:
        return f"adept ankle vs hip cadence: not available ({note})"
    head = (
        f"adept outdoor run, ankle (left foot) vs hip cadence: {c.n_ankle} ankle contacts, {c.n_hip} hip contacts, "
        f"{c.n_matched} ankle strides compared with the hip over the same interval (while the hip runs); "
        f"stride by stride: mean |difference| {_f(c.mean_abs_diff_spm, 2)} spm, {_f(c.within_2spm_pct)} % within "
        f"2 spm, {_f(c.within_5pct_pct)} % within 5 %; per minute: mean |difference| "
        f"{_f(c.minute_mean_abs_diff_spm, 2)} spm."
    )
    if note:
        head += f" {note}"
    if not c.per_minute:
        return head
    if markdown:
        lines = [head, "", "| minute | ankle spm | hip spm | diff spm | ankle steps | hip steps |", "|---:|---:|---:|---:|---:|---:|"]
        for r in c.per_minute:
            lines.append(
                f"| {int(r['minute'])} | {_f(r['ankle_spm'])} | {_f(r['hip_spm'])} | {_f(r['diff_spm'], 2)} | "
                f"{int(r['ankle_steps'])} | {int(r['hip_steps'])} |"
            )
        return "\n".join(lines)
    mins = " ".join(f"{_f(r['diff_spm'], 1)}" for r in c.per_minute)
    return head + f"\n  per-minute difference (ankle - hip, spm): {mins}"


def write_markdown(
    path: str | Path,
    rows: Sequence[Row],
    floors: Sequence[FloorResult],
    consistency_md: str,
    notes: Sequence[str] = (),
    goals: Sequence[GoalResult] = (),
) -> None:
    parts = [
        "## Accuracy against public running data",
        "",
        "Produced by `gait validate` (virtual IMU from RBDS and RIC motion capture with treadmill force or "
        "kinematic truth; Alcantara et al. 2022 real sacral accelerometer with force; the adeptdata outdoor run "
        "for ankle-vs-hip consistency). Errors are detected minus truth. Rows are split by treadmill speed (m/s); bold rows pool all datasets of a placement at a speed band, and at every speed (all).",
        "",
        markdown_table(rows),
        "",
        "### Floors",
        "",
        floors_text(floors, markdown=True),
        "",
        *(["### Goals by speed band", "", goals_text(goals, markdown=True), ""] if goals else []),
        "### Consistency without truth",
        "",
        consistency_md,
    ]
    if notes:
        parts += ["", "### Notes", ""] + [f"- {n}" for n in notes]
    Path(path).write_text("\n".join(parts) + "\n", encoding="utf-8")
