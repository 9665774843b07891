"""The Grafana dashboards: built from code (dashboards/grafana_build.py, grafana-foundation-sdk), the
committed JSON equal to the build, the structure of every dashboard, and every VictoriaMetrics query
run against a real VictoriaMetrics holding synced runs.

The VictoriaMetrics check syncs two runs of a local store with the project's InfluxDB sink
(`gait.storage.influx.sync_runs`): a real recorded run (the adept outdoor run's hip sensor replayed
through the run engine and the coach, as ``gait demo`` does; waist placement: no side, no foot strike)
and the project's synthetic example run (both feet, foot strike, coach cues, a gap, pain before, during
and after). Every panel target and the annotation query of the dashboard are taken from the builder's
output, their template variables substituted as Grafana does (``$runner``, ``$run``, ``$__interval``
from the time range and the panel's minimum interval, ``$__range``; instant queries at the end of the
range), and each answer is compared with what the schema (gait/storage/influx_schema.md) promises for
the records of that run in the local store. Two time ranges: the dashboard's default (the last 7 days)
and one around the run. The variables' ``label_values`` queries must list the synced runners and runs.

Needs Debian's ``victoria-metrics`` (tests/vm_server.py) and the adept recording (fetched on first
use, or from GAIT_DATA_MIRROR): skipped outside CI without them, failed under CI=true. The Flux dashboards cannot be run here (no InfluxDB 2 server is installable): their structure
is checked (every panel has a query, every variable a query uses is defined before it is used).
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pytest

from dashboards.grafana_build import BUILDERS, MEDIAN_FIELDS, as_json, build_dashboards, render
from gait.cli import main
from gait.storage.influx import (
    KIND_CODES,
    STEP_FIELDS,
    STRIKE_CODES,
    InfluxConfig,
    InfluxSink,
    RunTags,
    quality_mask,
    sync_runs,
)
from tests.conftest import REPO, adept_run_path

if TYPE_CHECKING:
    from tests.vm_server import VMServer

pytest_plugins = ["tests.vm_server"]  # fixture vm_binary (skip or fail without victoria-metrics)

GRAFANA_DIR = REPO / "dashboards" / "grafana"
VM_BOARD = "gait-run-victoriametrics.json"
BOARDS = {name: as_json(board) for name, board in build_dashboards().items()}

# Grafana: the data source's minimum interval (the README's provisioning sets timeInterval: 5s), and
# the data points a panel asks for (its width in pixels; ~1000 for a half-width panel on a wide screen)
DATASOURCE_TIME_INTERVAL = "5s"
MAX_DATA_POINTS = 1000

# values a run's medians and per-side averages must lie in (running, any placement)
PLAUSIBLE = {
    "cadence_spm": (120.0, 220.0),
    "gct_ms": (100.0, 400.0),
    "vo_cm": (2.0, 15.0),
    "vertical_ratio_pct": (2.0, 15.0),
    "lean_deg": (-15.0, 30.0),
    "fsa_deg": (-30.0, 40.0),
}


# ----------------------------------------------------------------------------------------------
# the committed JSON is the build
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_committed_json_is_what_the_code_builds(name):
    committed = (GRAFANA_DIR / name).read_text(encoding="utf-8")
    assert committed == render(build_dashboards()[name]), (
        f"dashboards/grafana/{name} differs from what dashboards/grafana_build.py builds: "
        "run `gait grafana build` (and edit the code, not the JSON)"
    )


def test_every_committed_dashboard_is_built():
    assert sorted(p.name for p in GRAFANA_DIR.glob("*.json")) == sorted(BUILDERS)


def test_gait_grafana_build_writes_the_committed_files(tmp_path, capsys):
    assert main(["grafana", "build", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count(": written") == len(BUILDERS)
    for name in BUILDERS:
        assert (tmp_path / name).read_bytes() == (GRAFANA_DIR / name).read_bytes()
    assert main(["grafana", "build", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count(": unchanged") == len(BUILDERS)


# ----------------------------------------------------------------------------------------------
# structure (every dashboard; the only check the Flux ones can have here)
# ----------------------------------------------------------------------------------------------
VAR_REF = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def variable_refs(text: str) -> set[str]:
    """Template variables a text uses (Grafana's own ``$__...`` variables left out)."""
    names = {next(g for g in m.groups() if g) for m in VAR_REF.finditer(text)}
    return {n for n in names if not n.startswith("__")}


def query_text(target: dict) -> str:
    return target.get("expr") or target.get("query") or ""


def variable_query(variable: dict) -> str:
    q = variable.get("query")
    return q.get("query", "") if isinstance(q, dict) else str(q or "")


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_has_a_query_and_every_variable_it_uses_is_defined(name):
    board = BOARDS[name]
    variables = board["templating"]["list"]
    defined = [v["name"] for v in variables]
    assert len(defined) == len(set(defined)) and defined[0] == "datasource", defined
    ds_kind = variables[0]["query"]  # the data source variable's plugin type
    for k, v in enumerate(variables):  # a variable's query uses only variables defined before it
        assert variable_refs(variable_query(v)) <= set(defined[:k]), (v["name"], variable_query(v))
        if v["type"] == "query":
            assert v["datasource"] == {"type": ds_kind, "uid": "${datasource}"} and variable_query(v), v["name"]

    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), ids
    cells: set[tuple[int, int]] = set()
    for p in board["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, (p["title"], g)
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        assert p["datasource"] == {"type": ds_kind, "uid": "${datasource}"}, p["title"]
        assert p["targets"], f"{p['title']}: no query"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)) and all(refs), (p["title"], refs)
        for t in p["targets"]:
            assert query_text(t).strip(), (p["title"], t["refId"])
            assert t["datasource"] == p["datasource"], (p["title"], t["refId"])
            assert variable_refs(query_text(t)) <= set(defined), (p["title"], query_text(t))
        assert variable_refs(p["title"]) <= set(defined), p["title"]
    for a in board["annotations"]["list"]:
        text = a.get("expr") or (a.get("target") or {}).get("query") or ""
        assert a.get("builtIn") == 1 or text.strip(), a["name"]
        assert variable_refs(text) <= set(defined), (a["name"], text)


def test_the_run_reviews_have_one_layout():
    """The Flux and the MetricsQL run review show the same panels in the same places."""

    def layout(board: dict) -> list[tuple]:
        return [(p["id"], p["type"], p["gridPos"]["x"], p["gridPos"]["y"], p["gridPos"]["w"], p["gridPos"]["h"])
                for p in board["panels"]]  # fmt: skip

    flux, vm = BOARDS["gait-run-flux.json"], BOARDS[VM_BOARD]
    assert layout(flux) == layout(vm)
    assert [v["name"] for v in vm["templating"]["list"]] == ["datasource", "runner", "run"]
    assert [v["name"] for v in flux["templating"]["list"]] == ["datasource", "bucket", "runner", "run"]


# ----------------------------------------------------------------------------------------------
# Grafana's variables: intervals and ranges
# ----------------------------------------------------------------------------------------------
def round_interval(ms: float) -> int:
    """Grafana's ``rangeutil.roundInterval``: an interval rounded to a clear increment (ms)."""
    steps = ((15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000), (3500, 2000),
             (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000), (90000, 60000),
             (210000, 120000), (450000, 300000), (750000, 600000), (1050000, 900000), (1500000, 1200000),
             (2700000, 1800000), (5400000, 3600000), (9000000, 7200000), (16200000, 10800000),
             (32400000, 21600000), (86400000, 43200000), (604800000, 86400000), (1814400000, 604800000),
             (3628800000, 2592000000))  # fmt: skip
    return next((v for limit, v in steps if ms < limit), 31536000000)


DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def duration_ms(text: str) -> int:
    m = DURATION.match(text)
    assert m, text
    return int(m.group(1)) * UNIT_MS[m.group(2)]


def seconds_to_hms(ms: int) -> str:
    """Grafana's ``rangeutil.secondsToHms`` (the text of ``$__interval``)."""
    s = ms / 1000.0
    for unit, size in (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{int(s // size)}{unit}"
    return f"{int(s)}s" if s >= 1 else f"{int(ms)}ms"


@dataclass(frozen=True)
class View:
    """A dashboard time range, as Grafana turns it into query parameters."""

    name: str
    start_s: float
    end_s: float

    @property
    def range_ms(self) -> int:
        return int(round((self.end_s - self.start_s) * 1000))

    def interval_ms(self, min_interval: str | None) -> int:
        """``$__interval`` of a panel: the range over the data points, rounded, not under the minimum."""
        low = duration_ms(min_interval or DATASOURCE_TIME_INTERVAL)
        return max(round_interval(self.range_ms / MAX_DATA_POINTS), low)

    def variables(self, min_interval: str | None) -> dict[str, str]:
        return {"__interval": seconds_to_hms(self.interval_ms(min_interval)),
                "__range": f"{round(self.range_ms / 1000)}s"}  # fmt: skip


def interpolate(expr: str, values: dict[str, str]) -> str:
    """Grafana's interpolation of a Prometheus query: single-value variables go in as they are."""

    def one(m: re.Match) -> str:
        name = next(g for g in m.groups() if g)
        assert name in values, f"{expr}: no value for ${name}"
        assert '"' not in values[name] and "\\" not in values[name], values[name]
        return values[name]

    return VAR_REF.sub(one, expr)


def dashboard_view(board: dict, now: float) -> View:
    m = re.match(r"^now-(\d+\w+)$", board["time"]["from"])
    assert m and board["time"]["to"] == "now", board["time"]
    return View("dashboard default " + board["time"]["from"], now - duration_ms(m.group(1)) / 1000.0, now)


# ----------------------------------------------------------------------------------------------
# what the schema promises for a stored run
# ----------------------------------------------------------------------------------------------
@dataclass
class RunExpect:
    """A stored run as its points look in VictoriaMetrics (gait/storage/influx_schema.md)."""

    runner: str
    run: str
    start_s: float  # unix time of the first and the last step
    end_s: float
    by_side: dict[str, dict[str | None, np.ndarray]] = field(default_factory=dict)  # field -> side -> values
    strikes: Counter = field(default_factory=Counter)  # strike code -> steps
    strike_steps: int = 0
    steps: int = 0
    flagged: int = 0
    alerts: Counter = field(default_factory=Counter)  # (rule, kind) -> alerts
    cues: set = field(default_factory=set)  # (rule, kind) of the alerts that are not silent
    pain: dict[str, float] = field(default_factory=dict)  # phase -> highest score
    missing_samples: int = 0

    @classmethod
    def of(cls, store, run_id: int) -> RunExpect:
        tags = RunTags.from_run_info(store.run(run_id))
        steps = store.steps(run_id).to_records()
        times = [tags.timestamp_ns(s.ic_s) / 1e9 for s in steps]
        out = cls(tags.runner, tags.run, min(times), max(times))
        for name in (*STEP_FIELDS, "strike", "quality"):
            sides: dict[str | None, list[float]] = {}
            for s in steps:
                v = getattr(s, name)
                if name == "strike":
                    v = None if v is None else STRIKE_CODES[v]
                elif name == "quality":
                    v = quality_mask(v)
                if v is not None and math.isfinite(v):
                    sides.setdefault(s.side, []).append(float(v))
            out.by_side[name] = {side: np.asarray(v) for side, v in sides.items()}
        out.strikes = Counter(STRIKE_CODES[s.strike] for s in steps if s.strike is not None)
        out.strike_steps = sum(out.strikes.values())
        out.steps = len(steps)
        out.flagged = sum(1 for s in steps if quality_mask(s.quality) > 0)
        alerts = store.alerts(run_id)
        out.alerts = Counter((a.rule, a.kind) for a in alerts)
        out.cues = {(a.rule, a.kind) for a in alerts if a.kind != "silent"}
        for p in store.pain_notes(run_id):
            out.pain[p.phase] = max(out.pain.get(p.phase, -1.0), float(p.score))
        out.missing_samples = sum(g.missing_samples for _, g in store.gaps(run_id))
        return out

    def view(self) -> View:
        return View("around the run", self.start_s - 60.0, self.end_s + 60.0)


@pytest.fixture(scope="module")
def synced(vm_binary, tmp_path_factory):
    """A VictoriaMetrics holding a real recorded run and the synthetic example run, synced from a
    local store by the project's sink; yields ``(server, [RunExpect, ...])``."""
    from dashboards.bus import LiveBus
    from dashboards.run_demo import store_synthetic_run, synthetic_steps
    from gait.core.records import Gap, PainNote
    from gait.dashboard_demo import replay_adept
    from gait.storage import Store
    from tests.vm_server import VMServer

    folder = tmp_path_factory.mktemp("grafana-vm")
    now = time.time()
    server = VMServer(vm_binary, folder / "vm")
    with Store(folder / "store") as store:
        real = replay_adept(store, LiveBus(), speed=None, minutes=3.0, start_s=60.0, say=lambda s: None,
                            data_path=adept_run_path(), start_time=now - 2 * 3600)  # fmt: skip
        with store.sink(real) as sink:  # a pain check-in on the real run (sink.close closes the run again)
            sink.put(PainNote(120.0, 2, "during", "left glute"))
        store.close_run(real)
        steps = synthetic_steps(540, seed=7)  # about 3 minutes, both feet
        example = store_synthetic_run(store, steps, start_time=now - 3600, pain=(1, 3, 2), cues=1)
        with store.sink(example) as sink:
            sink.put(Gap(start_s=steps[100].ic_s, end_s=steps[100].ic_s + 0.5, missing_samples=100), "example-pod")
        store.close_run(example)
        runs = [RunExpect.of(store, run_id) for run_id in (real, example)]

        server.start()
        cfg = InfluxConfig.from_mapping(dict(url=server.url, org="club", token="t0ken", bucket="gait",
                                             string_fields=False, health_data=True, flush_interval_ms=50))  # fmt: skip
        sink = InfluxSink(cfg, outbox_path=folder / "outbox.sqlite")
        try:
            report = sync_runs(store, sink, flush_timeout_s=30.0)
        finally:
            sink.close()
    try:
        assert report.runs == 2 and report.flushed, report.line()
        server.wait_samples(sum(r.steps for r in runs), match='{__name__="gait_step_quality"}')
        yield server, runs
    finally:
        server.stop()


def test_the_synced_runs_hold_what_the_panels_need(synced):
    """The real run: one sensor at the waist (no side); the example run: both feet, every metric."""
    _, (real, example) = synced
    assert real.steps > 300 and set(real.by_side["cadence_spm"]) == {None} and not real.strikes
    assert real.pain == {"during": 2.0} and real.alerts
    for name in MEDIAN_FIELDS:
        assert set(example.by_side[name]) == {"left", "right"}, name
    assert set(example.strikes) == {1, 2, 3} and example.cues and example.missing_samples == 100
    assert set(example.pain) == {"before", "during", "after"}


# ----------------------------------------------------------------------------------------------
# every query of the VictoriaMetrics dashboard against the server
# ----------------------------------------------------------------------------------------------
def prom(server: VMServer, path: str, params: dict) -> object:
    url = f"{server.url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    with urllib.request.urlopen(url, timeout=20) as r:
        answer = json.loads(r.read())
    assert answer["status"] == "success", (path, params, answer)
    return answer["data"]


def run_query(server: VMServer, expr: str, view: View, *, instant: bool, interval_ms: int) -> list[dict]:
    """One target as Grafana's Prometheus data source sends it."""
    if instant:
        return prom(server, "/api/v1/query", {"query": expr, "time": f"{view.end_s:.3f}"})["result"]
    step_s = interval_ms / 1000.0
    start = math.floor(view.start_s / step_s) * step_s
    end = math.floor(view.end_s / step_s) * step_s
    return prom(server, "/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step_s})["result"]


RUN_SEL = re.escape('{runner="$runner", run="$run"}')
CHECKS: list[tuple[str, re.Pattern]] = [
    ("median", re.compile(rf"^avg\(median_over_time\(gait_step_(\w+){RUN_SEL}\[\$__range\]\)\)$")),
    ("flagged", re.compile(rf"^sum\(count_gt_over_time\(gait_step_quality{RUN_SEL}\[\$__range\], 0\)\)$")),
    ("steps", re.compile(rf"^sum\(count_over_time\(gait_step_quality{RUN_SEL}\[\$__range\]\)\)$")),
    ("lost", re.compile(rf"^sum\(sum_over_time\(gait_health_missing_samples{RUN_SEL}\[\$__range\]\)\) or vector\(0\)$")),
    ("by_side", re.compile(rf"^avg by \(side\) \(avg_over_time\(gait_step_(\w+){RUN_SEL}\[\$__interval\]\)\)$")),
    ("strike", re.compile(rf"^sum\(count_eq_over_time\(gait_step_strike{RUN_SEL}\[\$__range\], (\d+)\)\)$")),
    ("alerts", re.compile(rf"^sum by \(rule, kind\) \(count_over_time\(gait_alert_kind_code{RUN_SEL}\[\$__range\]\)\)$")),
    ("pain", re.compile(rf"^max by \(phase\) \(max_over_time\(gait_pain_score{RUN_SEL}\[\$__interval\]\)\)$")),
    ("cues", re.compile(r'^gait_alert_kind_code\{runner="\$runner", run="\$run", kind!="silent"\}$')),
]  # fmt: skip


def classify(expr: str) -> tuple[str, str | None]:
    for kind, pattern in CHECKS:
        m = pattern.match(expr)
        if m:
            return kind, (m.group(1) if m.groups() else None)
    raise AssertionError(f"a query this test does not know, say what it must return in CHECKS: {expr}")


def vm_queries() -> list[tuple[str, dict, dict | None]]:
    """``(id, target, panel)`` of every panel target and of the annotation queries."""
    board = BOARDS[VM_BOARD]
    out = [(f"{p['id']}-{t['refId']} {p['title']}", t, p) for p in board["panels"] for t in p["targets"]]
    out += [(f"annotation {a['name']}", {"expr": a["expr"], "step": a["step"]}, None)
            for a in board["annotations"]["list"] if "expr" in a]  # fmt: skip
    return out


VM_QUERIES = vm_queries()


def single_value(result: list[dict], what: str) -> float | None:
    """The one value of an instant answer (None when there is no series)."""
    if not result:
        return None
    assert len(result) == 1 and result[0]["metric"] == {}, (what, result)
    return float(result[0]["value"][1])


def check_answer(kind: str, arg: str | None, target: dict, result: list[dict], run: RunExpect) -> bool:
    """Compare one answer with the run's records; returns whether it had data."""
    what = (kind, arg, run.runner)
    if kind == "median":
        sides = run.by_side[arg]
        assert target["legendFormat"] == arg, target
        got = single_value(result, what)
        if not sides:
            assert got is None, what  # the placement does not measure it: no samples, no series
            return False
        want = float(np.mean([np.median(v) for v in sides.values()]))
        assert got == pytest.approx(want, rel=1e-6), what
        lo, hi = PLAUSIBLE[arg]
        assert lo <= got <= hi, (what, got)
    elif kind in ("flagged", "steps", "lost"):
        want = {"flagged": run.flagged, "steps": run.steps, "lost": run.missing_samples}[kind]
        got = single_value(result, what)
        if kind == "flagged" and want == 0 and got is None:
            return False
        assert got == want, (what, got, want)
    elif kind == "strike":
        code = int(arg)
        assert STRIKE_CODES.get(target["legendFormat"]) == code, target  # the legend names the schema's code
        got = single_value(result, what)
        if not run.strike_steps:
            assert got is None, what
            return False
        assert (got or 0) == run.strikes[code], (what, got)
    elif kind == "by_side":
        sides = run.by_side[arg]
        assert {s["metric"].get("side") for s in result} == set(sides), (what, [s["metric"] for s in result])
        for s in result:
            assert set(s["metric"]) <= {"side"}, (what, s["metric"])
            values = np.array([float(v) for _, v in s["values"]])
            stored = sides[s["metric"].get("side")]
            assert len(values) and np.all(values >= stored.min() - 1e-9) and np.all(values <= stored.max() + 1e-9), what
            lo, hi = PLAUSIBLE[arg]
            assert lo <= float(np.median(values)) <= hi, (what, float(np.median(values)))
    elif kind == "alerts":
        got = Counter({(s["metric"]["rule"], s["metric"]["kind"]): int(float(s["value"][1])) for s in result})
        assert got == run.alerts, what
    elif kind == "pain":
        got = {s["metric"].get("phase"): max(float(v) for _, v in s["values"]) for s in result}
        assert got == run.pain, what
        assert all(0 <= v <= 10 for v in got.values())
    elif kind == "cues":
        assert {(s["metric"]["rule"], s["metric"]["kind"]) for s in result} == run.cues, what
        for s in result:
            m = s["metric"]
            assert m["__name__"] == "gait_alert_kind_code" and (m["runner"], m["run"]) == (run.runner, run.run), m
            assert {float(v) for _, v in s["values"]} == {float(KIND_CODES[m["kind"]])}, m
    else:  # pragma: no cover - CHECKS and this function name the same kinds
        raise AssertionError(kind)
    return bool(result)


@pytest.mark.parametrize("query_id,target,panel", VM_QUERIES, ids=[q[0] for q in VM_QUERIES])
def test_every_victoriametrics_query_returns_what_the_schema_promises(synced, query_id, target, panel):
    server, runs = synced
    kind, arg = classify(target["expr"])
    instant = bool(target.get("instant")) if panel is not None else False
    if panel is not None:
        assert target["instant"] != target["range"], target  # one kind of query per target
        assert target["format"] == ("table" if panel["type"] == "table" else "time_series"), target
    outcomes: list[str] = []
    now = time.time()
    for run in runs:
        for view in (dashboard_view(BOARDS[VM_BOARD], now), run.view()):
            min_interval = panel.get("interval") if panel is not None else target["step"]
            interval_ms = view.interval_ms(min_interval)
            values = {"runner": run.runner, "run": run.run, **view.variables(min_interval)}
            expr = interpolate(target["expr"], values)
            result = run_query(server, expr, view, instant=instant, interval_ms=interval_ms)
            had = check_answer(kind, arg, target, result, run)
            outcomes.append(f"{run.runner} / {view.name}: {len(result) if had else 'no'} series")
    print(f"{query_id}: " + "; ".join(outcomes))
    assert any(not o.endswith(": no series") for o in outcomes), f"{query_id}: no run gave it data"


def label_values(server: VMServer, variable: dict, view: View, **chosen: str) -> list[str]:
    """The options of a ``label_values(match, label)`` variable, as Grafana asks for them."""
    m = re.match(r"^label_values\((.+), (\w+)\)$", variable_query(variable))
    assert m, variable_query(variable)
    params = {"match[]": interpolate(m.group(1), chosen), "start": f"{view.start_s:.3f}", "end": f"{view.end_s:.3f}"}
    return prom(server, f"/api/v1/label/{m.group(2)}/values", params)


def test_the_variables_list_the_synced_runners_and_runs(synced):
    server, runs = synced
    board = BOARDS[VM_BOARD]
    variables = {v["name"]: v for v in board["templating"]["list"] if v["type"] == "query"}
    assert set(variables) == {"runner", "run"}
    for view in (dashboard_view(board, time.time()), runs[0].view()):
        in_view = [r for r in runs if view.start_s <= r.start_s and r.end_s <= view.end_s]
        assert in_view
        runners = label_values(server, variables["runner"], view)
        assert {r.runner for r in in_view} <= set(runners), runners
        for r in in_view:
            assert label_values(server, variables["run"], view, runner=r.runner) == [r.run]
