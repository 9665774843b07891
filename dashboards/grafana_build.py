"""The Grafana dashboards, as code (grafana-foundation-sdk).

    build_dashboards()            # {"gait-run-flux.json": Dashboard, ...}: the SDK's models
    render(board)                 # the JSON text of one dashboard (what is committed)
    as_json(board)                # the same as plain JSON values
    write_dashboards(out_dir)     # `gait grafana build [--out DIR]`: every dashboard into out_dir

Three dashboards over the points `gait.storage.influx` writes (gait/storage/influx_schema.md):

* ``gait-run-flux.json``: one run on InfluxDB 2.x (Flux);
* ``gait-club-flux.json``: many runners on InfluxDB 2.x (Flux);
* ``gait-run-victoriametrics.json``: the same run review on VictoriaMetrics, through Grafana's
  Prometheus data source (MetricsQL: metric = ``measurement_field``, tags = labels).

The two run reviews share one layout (`_run_review`); only the query language differs. The JSON in
dashboards/grafana/ is generated from here and a test keeps it equal to what this module builds;
edit this file, then run ``gait grafana build``.

The SDK has no InfluxDB query type and models only the Grafana built-in fields of an annotation,
so `FluxQuery` and `Annotation` add those (typed, serialised by the SDK's own encoder).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import piechart, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dash
from grafana_foundation_sdk.models.piechart import PieChartLegendValues, PieChartType
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT_DIR = Path(__file__).resolve().with_name("grafana")

# per-step metrics drawn by side: (panel id, field, title, description, unit, x, y)
SIDE_PANELS = (
    (10, "cadence_spm", "Cadence", "steps per minute", "short", 0, 4),
    (11, "gct_ms", "Ground contact time", "", "ms", 12, 4),
    (12, "vo_cm", "Vertical oscillation (bounce)", "cm", "none", 0, 12),
    (13, "vertical_ratio_pct", "Vertical ratio", "", "percent", 12, 12),
    (14, "lean_deg", "Trunk lean", "positive = forward", "degree", 0, 20),
    (15, "fsa_deg", "Foot strike angle", "positive = toes up (heel first)", "degree", 12, 20),
)
MEDIAN_FIELDS = ("cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct", "lean_deg", "fsa_deg")
STRIKE_CLASSES = (("rearfoot", 1), ("midfoot", 2), ("forefoot", 3))  # the schema's `strike` codes
CLUB_METRICS = ("vo_cm", "cadence_spm", "gct_ms", "vertical_ratio_pct", "lean_deg", "fsa_deg")
REF_IDS = "ABCDEFGHIJ"


# ----------------------------------------------------------------------------------------------
# what the SDK does not model
# ----------------------------------------------------------------------------------------------
class FluxQuery(cogvariants.Dataquery):
    """A target of Grafana's InfluxDB data source in Flux mode: ``refId`` and ``query``."""

    def __init__(self, ref_id: str = "", query: str = "", datasource: dash.DataSourceRef | None = None) -> None:
        self.ref_id = ref_id
        self.query = query
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {"refId": self.ref_id}
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        payload["query"] = self.query
        return payload


class Flux(cogbuilder.Builder[FluxQuery]):
    """Builder of `FluxQuery` (the SDK's builders take any ``Builder[Dataquery]`` as a target)."""

    def __init__(self, query: str) -> None:
        self._internal = FluxQuery(query=query)

    def build(self) -> FluxQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self

    def datasource(self, datasource: dash.DataSourceRef) -> typing.Self:
        self._internal.datasource = datasource
        return self


class AnnotationModel(dash.AnnotationQuery):
    """The SDK's annotation query plus the data source's own fields (``extra``), kept in order."""

    def __init__(self) -> None:
        super().__init__()
        self.extra: dict[str, object] = {}

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), **self.extra}


class Annotation(dash_b.AnnotationQuery):
    """The SDK's annotation builder, with Grafana's built-in marker, a Prometheus query's step and
    formats, and a Flux query (which the SDK's ``AnnotationTarget`` cannot hold)."""

    _internal: AnnotationModel

    def __init__(self, name: str) -> None:
        super().__init__()
        self._internal = AnnotationModel()
        self._internal.name = name

    def built_in(self) -> typing.Self:
        self._internal.extra["builtIn"] = 1
        return self

    def prometheus(self, expr: str, *, step: str, title_format: str, text_format: str, tag_keys: str) -> typing.Self:
        self.expr(expr)
        self._internal.extra.update(
            step=step, titleFormat=title_format, textFormat=text_format, tagKeys=tag_keys, useValueForTime=False
        )
        return self

    def flux(self, query: str, ref_id: str = "Anno") -> typing.Self:
        self._internal.extra["target"] = {"refId": ref_id, "query": query}
        return self


# ----------------------------------------------------------------------------------------------
# shared pieces
# ----------------------------------------------------------------------------------------------
def _ds(kind: str) -> dash.DataSourceRef:
    return dash.DataSourceRef(type_val=kind, uid="${datasource}")


def _grid(x: int, y: int, w: int, h: int) -> dash.GridPos:
    return dash.GridPos(h=h, w=w, x=x, y=y)


def _reduce_last() -> common_b.ReduceDataOptions:
    return common_b.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def _stat(panel_id: int, title: str, description: str, ds: dash.DataSourceRef, grid: dash.GridPos,
          decimals: int, targets: list) -> stat.Panel:  # fmt: skip
    return (
        stat.Panel().id(panel_id).title(title).description(description).datasource(ds).grid_pos(grid)
        .unit("none").decimals(decimals).reduce_options(_reduce_last())
        .color_mode(common.BigValueColorMode.NONE).graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME).justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO).targets(targets)
    )  # fmt: skip


def _timeseries(panel_id: int, title: str, description: str, ds: dash.DataSourceRef, grid: dash.GridPos,
                unit: str, target, *, points: bool = False) -> timeseries.Panel:  # fmt: skip
    return (
        timeseries.Panel().id(panel_id).title(title).description(description).datasource(ds).grid_pos(grid)
        .unit(unit).draw_style(common.GraphDrawStyle.POINTS if points else common.GraphDrawStyle.LINE)
        .line_width(1).point_size(3).show_points(common.VisibilityMode.AUTO).span_nulls(False)
        .legend(common_b.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM).show_legend(True))
        .tooltip(common_b.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.NONE))
        .with_target(target)
    )  # fmt: skip


def _table(panel_id: int, title: str, description: str, ds: dash.DataSourceRef, grid: dash.GridPos,
           target) -> table.Panel:  # fmt: skip
    return (
        table.Panel().id(panel_id).title(title).description(description).datasource(ds).grid_pos(grid)
        .show_header(True).cell_height(common.TableCellHeight.SM).with_target(target)
    )  # fmt: skip


def _board(uid: str, title: str, description: str, tags: list[str], since: str) -> dash_b.Dashboard:
    return (
        dash_b.Dashboard(title).uid(uid).description(description).tags(tags).editable()
        .tooltip(dash.DashboardCursorSync.CROSSHAIR).time(f"now-{since}", "now").timezone("").refresh("")
        .version(1).annotation(
            Annotation("Annotations & Alerts").built_in().datasource(dash.DataSourceRef("grafana", "-- Grafana --"))
            .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)").type("dashboard")
        )
    )  # fmt: skip


def _datasource_variable(kind: str, label: str) -> dash_b.DatasourceVariable:
    return dash_b.DatasourceVariable("datasource").id("datasource").label(label).type(kind).regex("")


def _option(value: str, selected: bool = True) -> dash.VariableOption:
    return dash.VariableOption(selected=selected, text=value, value=value)


def _bucket_variable() -> dash_b.TextBoxVariable:
    return (
        dash_b.TextBoxVariable("bucket").id("bucket").label("bucket").default_value("gait")
        .current(dash.VariableOption(text="gait", value="gait")).options([_option("gait")])
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# the query languages
# ----------------------------------------------------------------------------------------------
def _flux_schema_values(tag: str, predicate: str) -> str:
    return (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: "${{bucket}}", tag: "{tag}", predicate: (r) => {predicate}, start: -10y)'
    )


def _flux(*lines: str) -> str:
    return '\n  |> '.join(('from(bucket: "${bucket}")', "range(start: v.timeRangeStart, stop: v.timeRangeStop)",
                          *lines))  # fmt: skip


def _flux_run(measurement: str, field: str | None = None) -> str:
    """The filter of one run's points (and one field)."""
    cond = f'r._measurement == "{measurement}" and r.runner == "${{runner}}" and r.run == "${{run}}"'
    if field is not None:
        cond += f' and r._field == "{field}"'
    return f"filter(fn: (r) => {cond})"


def _quoted(names: typing.Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


@dataclass(frozen=True)
class Language:
    """What the run review needs from a query language (the layout is shared)."""

    name: str
    datasource: dash.DataSourceRef
    target: Callable[..., cogbuilder.Builder]  # (ref_id, query, legend, instant, table) -> target builder
    uid: str
    title: str
    description: str
    tag: str
    variables: list
    annotation: Annotation
    medians: list[tuple[str, str]]  # (legend, query)
    medians_description: str
    flagged: list[tuple[str, str]]
    flagged_description: str
    lost: str
    by_side: Callable[[str], str]
    series_interval: str | None
    strikes: list[tuple[str, str]]
    alerts_title: str
    alerts_description: str
    alerts: str
    pain: str
    pain_legend: str


def _flux_language() -> Language:
    ds = _ds("influxdb")

    def target(ref_id: str, query: str, legend: str = "", instant: bool = False, as_table: bool = False) -> Flux:
        return Flux(query).ref_id(ref_id).datasource(ds)

    step = 'r._measurement == "gait_step"'
    runner = (dash_b.QueryVariable("runner").id("runner").label("runner").datasource(ds)
              .query(_flux_schema_values("runner", step)).refresh(dash.VariableRefresh.ON_DASHBOARD_LOAD)
              .sort(dash.VariableSort.ALPHABETICAL_ASC).multi(False).include_all(False).regex(""))  # fmt: skip
    run = (dash_b.QueryVariable("run").id("run").label("run (UTC start)").datasource(ds)
           .query(_flux_schema_values("run", step + ' and r.runner == "${runner}"'))
           .refresh(dash.VariableRefresh.ON_DASHBOARD_LOAD).sort(dash.VariableSort.ALPHABETICAL_DESC)
           .multi(False).include_all(False).regex(""))  # fmt: skip
    cues = _flux(
        'filter(fn: (r) => r._measurement == "gait_alert" and r.runner == "${runner}" and r.run == "${run}" '
        'and r._field == "kind_code")',
        'filter(fn: (r) => r.kind != "silent")',
        'map(fn: (r) => ({_time: r._time, text: r.rule + ": " + r.kind, tags: r.rule}))',
        "group()",
    )
    strike_map = (
        'map(fn: (r) => ({r with class: '
        + " else ".join(f'if r._value == {code} then "{name}"' for name, code in STRIKE_CLASSES)
        + ' else "other"}))'
    )
    return Language(
        name="flux",
        datasource=ds,
        target=target,
        uid="gait-run-flux",
        title="gait: run review (InfluxDB, Flux)",
        description="One run of one runner: per-step metrics by side, strike types, coach alerts, pain, data "
        "health. Pick the runner and the run; set the time range to cover the run (the run label starts with "
        "its UTC start).",
        tag="influxdb",
        variables=[_datasource_variable("influxdb", "InfluxDB"), _bucket_variable(), runner, run],
        annotation=Annotation("Coach cues").datasource(ds).enable(True).icon_color("orange").flux(cues),
        medians=[("", _flux(_flux_run("gait_step"),
                            f"filter(fn: (r) => contains(value: r._field, set: [{_quoted(MEDIAN_FIELDS)}]))",
                            'group(columns: ["_field"])', "median()"))],  # fmt: skip
        medians_description="Median of every step in the time range (both sides).",
        flagged=[("", _flux(
            _flux_run("gait_step", "quality"), "group()",
            "map(fn: (r) => ({r with flagged: if r._value > 0 then 1 else 0}))",
            "reduce(identity: {steps: 0, flagged: 0}, fn: (r, accumulator) => "
            "({steps: accumulator.steps + 1, flagged: accumulator.flagged + r.flagged}))",
        ))],  # fmt: skip
        flagged_description="Steps whose quality mask is not 0 (gap, clipping, warm-up...).",
        lost=_flux(_flux_run("gait_health", "missing_samples"), "group()", "sum()"),
        by_side=lambda field: _flux(
            _flux_run("gait_step"), f'filter(fn: (r) => r._field == "{field}")', 'group(columns: ["side"])',
            'sort(columns: ["_time"])', "aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)",
            'keep(columns: ["_time", "_value", "side"])',
        ),
        series_interval=None,
        strikes=[("", _flux(_flux_run("gait_step", "strike"), strike_map, 'group(columns: ["class"])', "count()",
                            'keep(columns: ["class", "_value"])'))],  # fmt: skip
        alerts_title="Coach alerts",
        alerts_description="message and target appear only if the server keeps strings (InfluxDB does).",
        alerts=_flux(
            _flux_run("gait_alert"), 'pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
            "group()", 'keep(columns: ["_time", "rule", "kind", "severity_code", "value", "target", "message"])',
            'sort(columns: ["_time"])',
        ),
        pain=_flux(_flux_run("gait_pain", "score"), 'group(columns: ["phase"])'),
        pain_legend="",
    )


def _metricsql_language() -> Language:
    ds = _ds("prometheus")
    run = '{runner="$runner", run="$run"}'

    def target(ref_id: str, query: str, legend: str = "", instant: bool = False,
               as_table: bool = False) -> prometheus.Dataquery:  # fmt: skip
        q = prometheus.Dataquery().ref_id(ref_id).datasource(ds).expr(query).legend_format(legend)
        q = q.instant() if instant else q.range()
        return q.format(PromQueryFormat.TABLE if as_table else PromQueryFormat.TIME_SERIES)

    def label_values(ref_id: str, query: str) -> dict[str, object]:
        return {"query": query, "refId": ref_id}

    runner_v = (dash_b.QueryVariable("runner").id("runner").label("runner").datasource(ds)
                .query(label_values("runner", "label_values(gait_step_quality, runner)"))
                .refresh(dash.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dash.VariableSort.ALPHABETICAL_ASC)
                .multi(False).include_all(False).regex(""))  # fmt: skip
    run_v = (dash_b.QueryVariable("run").id("run").label("run (UTC start)").datasource(ds)
             .query(label_values("run", 'label_values(gait_step_quality{runner="$runner"}, run)'))
             .refresh(dash.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dash.VariableSort.ALPHABETICAL_DESC)
             .multi(False).include_all(False).regex(""))  # fmt: skip
    cues = Annotation("Coach cues").datasource(ds).enable(True).icon_color("orange").prometheus(
        'gait_alert_kind_code{runner="$runner", run="$run", kind!="silent"}',
        step="1s", title_format="{{rule}}", text_format="{{kind}}", tag_keys="rule,kind",
    )  # fmt: skip
    return Language(
        name="metricsql",
        datasource=ds,
        target=target,
        uid="gait-run-victoriametrics",
        title="gait: run review (VictoriaMetrics, MetricsQL)",
        description="The Flux run review rebuilt on VictoriaMetrics' Prometheus-compatible API: metric = "
        "measurement_field (gait_step_vo_cm), tags = labels. Needs a Prometheus data source pointing at "
        "VictoriaMetrics.",
        tag="victoriametrics",
        variables=[_datasource_variable("prometheus", "VictoriaMetrics"), runner_v, run_v],
        annotation=cues,
        medians=[(f, f"avg(median_over_time(gait_step_{f}{run}[$__range]))") for f in MEDIAN_FIELDS],
        medians_description="Median per side over the time range, averaged over the sides.",
        flagged=[
            ("flagged", f"sum(count_gt_over_time(gait_step_quality{run}[$__range], 0))"),
            ("steps", f"sum(count_over_time(gait_step_quality{run}[$__range]))"),
        ],
        flagged_description="",
        lost=f"sum(sum_over_time(gait_health_missing_samples{run}[$__range])) or vector(0)",
        by_side=lambda field: f"avg by (side) (avg_over_time(gait_step_{field}{run}[$__interval]))",
        series_interval="5s",
        strikes=[(name, f"sum(count_eq_over_time(gait_step_strike{run}[$__range], {code}))")
                 for name, code in STRIKE_CLASSES],  # fmt: skip
        alerts_title="Coach alerts per rule and kind",
        alerts_description="Strings (message, target) do not survive in VictoriaMetrics; rule and kind are tags.",
        alerts=f"sum by (rule, kind) (count_over_time(gait_alert_kind_code{run}[$__range]))",
        pain=f"max by (phase) (max_over_time(gait_pain_score{run}[$__interval]))",
        pain_legend="{{phase}}",
    )


# ----------------------------------------------------------------------------------------------
# the dashboards
# ----------------------------------------------------------------------------------------------
def _run_review(lang: Language) -> dash_b.Dashboard:
    ds, target = lang.datasource, lang.target

    def instant_targets(queries: list[tuple[str, str]]) -> list:
        return [target(REF_IDS[k], q, legend, instant=True) for k, (legend, q) in enumerate(queries)]

    board = _board(lang.uid, lang.title, lang.description, ["gait", "running", lang.tag], "7d")
    board.variables(lang.variables).annotation(lang.annotation)
    board.with_panel(_stat(1, "Run medians", lang.medians_description, ds, _grid(0, 0, 16, 4), 1,
                           instant_targets(lang.medians)))  # fmt: skip
    board.with_panel(_stat(2, "Steps flagged / steps", lang.flagged_description, ds, _grid(16, 0, 4, 4), 0,
                           instant_targets(lang.flagged)))  # fmt: skip
    board.with_panel(_stat(3, "Samples lost in gaps", "", ds, _grid(20, 0, 4, 4), 0,
                           instant_targets([("", lang.lost)])))  # fmt: skip
    for panel_id, field, title, description, unit, x, y in SIDE_PANELS:
        panel = _timeseries(panel_id, f"{title} ({field})", description, ds, _grid(x, y, 12, 8), unit,
                            target("A", lang.by_side(field), "{{side}}"))  # fmt: skip
        if lang.series_interval:
            panel.interval(lang.series_interval)
        board.with_panel(panel)
    board.with_panel(
        piechart.Panel().id(20).title("Foot strike types").datasource(ds).grid_pos(_grid(0, 28, 8, 8)).unit("none")
        .pie_type(PieChartType.PIE).reduce_options(_reduce_last())
        .tooltip(common_b.VizTooltipOptions().mode(common.TooltipDisplayMode.SINGLE).sort(common.SortOrder.NONE))
        .legend(piechart.PieChartLegendOptions().display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.RIGHT)
                .values([PieChartLegendValues.VALUE, PieChartLegendValues.PERCENT]).show_legend(True))
        .targets(instant_targets(lang.strikes))
    )  # fmt: skip
    board.with_panel(_table(21, lang.alerts_title, lang.alerts_description, ds, _grid(8, 28, 10, 8),
                            target("A", lang.alerts, instant=True, as_table=True)))  # fmt: skip
    pain = _timeseries(22, "Pain (0-10)", "", ds, _grid(18, 28, 6, 8), "none",
                       target("A", lang.pain, lang.pain_legend), points=True).min(0).max(10)  # fmt: skip
    if lang.series_interval:
        pain.interval(lang.series_interval)
    return board.with_panel(pain)


def run_flux() -> dash_b.Dashboard:
    return _run_review(_flux_language())


def run_victoriametrics() -> dash_b.Dashboard:
    return _run_review(_metricsql_language())


def club_flux() -> dash_b.Dashboard:
    ds = _ds("influxdb")
    runners = 'contains(value: r.runner, set: ${runner:json})'
    runner = (dash_b.QueryVariable("runner").id("runner").label("runner").datasource(ds)
              .query(_flux_schema_values("runner", 'r._measurement == "gait_step"'))
              .refresh(dash.VariableRefresh.ON_DASHBOARD_LOAD).sort(dash.VariableSort.ALPHABETICAL_ASC)
              .multi(True).include_all(True).regex(""))  # fmt: skip
    metric = (dash_b.CustomVariable("metric").id("metric").label("metric").values(",".join(CLUB_METRICS))
              .current(dash.VariableOption(text=CLUB_METRICS[0], value=CLUB_METRICS[0]))
              .options([_option(m, k == 0) for k, m in enumerate(CLUB_METRICS)]).multi(False).include_all(False))  # fmt: skip
    medians = _flux(
        f'filter(fn: (r) => r._measurement == "gait_step" and {runners})',
        f"filter(fn: (r) => contains(value: r._field, set: [{_quoted(MEDIAN_FIELDS[:5])}]))",
        'group(columns: ["runner", "run", "_field"])', "median()", "group()",
        'pivot(rowKey: ["runner", "run"], columnKey: ["_field"], valueColumn: "_value")',
        'sort(columns: ["run"], desc: true)',
    )  # fmt: skip
    trend = _flux(
        f'filter(fn: (r) => r._measurement == "gait_step" and {runners} and r._field == "${{metric}}")',
        'group(columns: ["runner"])', 'sort(columns: ["_time"])',
        "aggregateWindow(every: 1d, fn: median, createEmpty: false)",
    )  # fmt: skip
    cues = _flux(
        f'filter(fn: (r) => r._measurement == "gait_alert" and {runners} and r._field == "kind_code" '
        'and r.kind == "cue")',
        'group(columns: ["runner", "rule"])', "count()", "group()",
        'pivot(rowKey: ["runner"], columnKey: ["rule"], valueColumn: "_value")',
    )  # fmt: skip
    return (
        _board("gait-club-flux", "gait: club overview (InfluxDB, Flux)",
               "Every run of the selected runners in the time range: medians per run, a daily trend, and coach cues.",
               ["gait", "running", "influxdb"], "90d")
        .variables([_datasource_variable("influxdb", "InfluxDB"), _bucket_variable(), runner, metric])
        .with_panel(_table(1, "Runs: medians per run", "", ds, _grid(0, 0, 24, 10), Flux(medians).ref_id("A")
                           .datasource(ds)))
        .with_panel(_timeseries(2, "Daily median of ${metric} per runner", "", ds, _grid(0, 10, 16, 9), "none",
                                Flux(trend).ref_id("A").datasource(ds)))
        .with_panel(_table(3, "Coach cues per runner and rule", "", ds, _grid(16, 10, 8, 9),
                           Flux(cues).ref_id("A").datasource(ds)))
    )  # fmt: skip


BUILDERS: dict[str, Callable[[], dash_b.Dashboard]] = {
    "gait-run-flux.json": run_flux,
    "gait-club-flux.json": club_flux,
    "gait-run-victoriametrics.json": run_victoriametrics,
}


def build_dashboards() -> dict[str, dash.Dashboard]:
    """Every dashboard, by file name: the SDK's models."""
    return {name: make().build() for name, make in BUILDERS.items()}


def render(board: dash.Dashboard) -> str:
    """The JSON text of a dashboard, as committed (2-space indent, a final newline)."""
    return json.dumps(board, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def as_json(board: dash.Dashboard) -> dict[str, typing.Any]:
    """A dashboard as plain JSON values (what Grafana reads)."""
    return json.loads(render(board))


def write_dashboards(out_dir: str | Path | None = None) -> list[tuple[Path, bool]]:
    """Write every dashboard into ``out_dir`` (default: dashboards/grafana next to this module).
    Returns ``(path, changed)`` per file; an unchanged file is not rewritten."""
    out = Path(out_dir) if out_dir is not None else OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in build_dashboards().items():
        path = out / name
        text = render(board)
        changed = not path.exists() or path.read_text(encoding="utf-8") != text
        if changed:
            path.write_text(text, encoding="utf-8")
        written.append((path, changed))
    return written
