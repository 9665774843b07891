"""The step field registry is the one list of step fields: every output derives from it.

Each test checks one consumer against `gait.core.step_fields.STEP_FIELDS`: every registry field
appears there (under its declared name) and nothing else does, apart from the few values that
belong to the consumer itself (a step's number and device, the run's speed, wall-clock time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import sqlite3

import garmin_fit_sdk as fit_sdk
import pytest

from dashboards.bus import LiveBus
from dashboards.server import ServerThread, create_app, run_payload_text, step_fields_payload
from gait.core import step_fields as sf
from gait.core.records import StepMetrics
from gait.storage import Store, influx, schema
from gait.storage import export as ex
from gait.storage.local import RunSummary, Split, TrendPoint
from tests.test_export import _steps

START = dt.datetime(2026, 3, 14, 7, 30, 0, tzinfo=dt.UTC)
NAMES = {f.name for f in sf.STEP_FIELDS}


def _step(i: int) -> StepMetrics:
    """A step with every field measured (so every output carries every field)."""
    return _steps(i + 1)[i]


@pytest.fixture
def run(tmp_path):
    store = Store(tmp_path / "data")
    run_id = store.open_run(runner="ana", config={"speed_mps": 3.3}, start_time=START.timestamp(), devices=["pod"])
    store.write(run_id, _steps(40), device="pod")
    store.close_run(run_id)
    yield store, run_id
    store.close()


def test_registry_lists_the_fields_of_step_metrics_in_order():
    assert [f.name for f in dataclasses.fields(StepMetrics)] == [f.name for f in sf.STEP_FIELDS]
    assert all(f.kind in sf.KINDS and f.label for f in sf.STEP_FIELDS)
    assert [f.name for f in sf.STEP_FIELDS if f.kind == sf.CLASS] == ["strike"]


def test_analysis_contract_and_dict_keys_come_from_the_registry():
    step = _step(0)
    assert tuple(step.to_contract()) == StepMetrics.CONTRACT_KEYS == tuple(f.name for f in sf.STEP_FIELDS if f.contract)
    assert set(step.to_dict()) == {f.name for f in sf.STEP_FIELDS if f.in_dict}
    assert step.to_contract()["ic_s"] == round(step.ic_s, 4) and step.to_contract()["quality"] == ["warmup"]


def test_store_schema_has_a_column_per_field_and_nothing_else(run):
    store, run_id = run
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(steps)")}
    assert columns == set(schema.STEP_FIELD_COLUMNS) | set(schema.STORE_STEP_COLUMNS)
    got = store.steps(run_id).to_records()
    assert got == _steps(40)


def test_csv_and_parquet_columns_are_the_registry_fields(run, tmp_path):
    import pyarrow.parquet as pq

    store, run_id = run
    own = {"step_index", "device", "wall_time", "speed_mps"}
    header = ex.export_csv(store, run_id, tmp_path / "csv")["steps"].read_text().splitlines()[0].split(",")
    assert set(header) == NAMES | own and len(header) == len(NAMES | own)
    assert [c for c in header if c in NAMES] == [f.name for f in sf.STEP_FIELDS]  # registry order
    names = pq.read_schema(ex.export_parquet(store, run_id, tmp_path / "pq")["steps"]).names
    assert set(names) == NAMES | own and len(names) == len(header)


def test_influx_point_carries_the_registry_fields():
    run = influx.RunTags.new(runner="ana", placement="foot", start_time=START.timestamp(), uuid="ab" * 16)
    _, line = influx.record_point(_step(5), run)
    fields = dict(kv.split("=") for kv in line.split(" ")[1].split(","))
    assert set(fields) == {f.influx for f in sf.STEP_FIELDS if f.influx is not None}
    assert set(influx.STEP_FIELDS) == {f.influx for f in sf.STEP_FIELDS if f.kind == sf.FLOAT}
    assert fields["strike"] == f"{influx.STRIKE_CODES['rearfoot']}i" and fields["quality"] == "0i"


def test_fit_activity_carries_the_registry_fit_fields(run):
    store, run_id = run
    data = bytearray(ex.fit_activity_bytes(store, run_id))
    messages, errors = fit_sdk.Decoder(fit_sdk.Stream.from_byte_array(data)).read()
    assert errors == []
    described = {d["field_name"] for d in messages["field_description_mesgs"]}
    assert described == {f.fit.name for f in sf.STEP_FIELDS if f.fit is not None and f.fit.developer}
    record = messages["record_mesgs"][0]
    for f in sf.STEP_FIELDS:
        if f.fit is not None and not f.fit.developer:
            assert record.get(f.fit.name) is not None, f.fit.name
            assert messages["session_mesgs"][0].get(f"avg_{f.fit.name}") is not None, f.fit.name


def test_review_payload_and_page_fields_come_from_the_registry(run):
    store, run_id = run
    payload = json.loads(run_payload_text(store, run_id))
    own = {"t", "speed_mps", "distance_m"}
    sent = {f.name for f in sf.STEP_FIELDS if f.review_decimals is not None or f.kind in (sf.TEXT, sf.CLASS)}
    assert set(payload["steps"]) == own | sent | {"quality_mask"}
    assert [f["key"] for f in payload["fields"]] == [f.name for f in sf.STEP_FIELDS]
    assert payload["steps"]["strike"][:2] == [sf.STRIKES.index("midfoot"), sf.STRIKES.index("rearfoot")]
    app = create_app(store.data_dir, bus=LiveBus())
    with ServerThread(app, port=0) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("GET", "/static/js/fields.js")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
    assert resp.status == 200 and resp.getheader("content-type").startswith("text/javascript")
    assert json.loads(body.split("=", 1)[1].strip().rstrip(";")) == step_fields_payload()


def test_summaries_carry_every_summary_field():
    for record in (RunSummary, Split, TrendPoint):
        names = {f.name for f in dataclasses.fields(record)}
        assert {f.name for f in sf.SUMMARY_FIELDS} <= names, record.__name__
        metrics = {f.name for f in sf.STEP_FIELDS if f.kind == sf.FLOAT}
        assert not (names & metrics) - {f.name for f in sf.SUMMARY_FIELDS}, record.__name__


def test_a_new_field_gets_its_column_in_an_existing_store(tmp_path, monkeypatch):
    Store(tmp_path).close()  # a database of today's fields
    new = sf.StepField("stride_cm", sf.FLOAT, "cm", "Stride", influx="stride_cm")
    monkeypatch.setattr(schema, "STEP_FIELDS", (*sf.STEP_FIELDS, new))
    with Store(tmp_path) as store:
        assert store.columns_added == ["stride_cm"]
    conn = sqlite3.connect(tmp_path / "gait.sqlite")
    assert "stride_cm" in {row[1] for row in conn.execute("PRAGMA table_info(steps)")}
    conn.close()
    with Store(tmp_path) as store:  # once added, opening changes nothing
        assert store.columns_added == []
