"""The programme's pages and JSON over HTTP (a real uvicorn on a loopback port): the JSON equals the
programme's own status, the red-flag panel is in every programme page and first in the printable
export, and the rules on where a write comes from:

- another origin (or ``Sec-Fetch-Site: cross-site``): every programme write refused;
- no ``Origin`` header: refused when the write could lower a safety state (a screen answered all
  "no"; a check-in that lifts the pre-run gate; an urgent answer that would replace a cleared
  emergency lock), accepted when it raises one (a red-flag "yes", a high pre-run score);
- the page's own origin: accepted;
- a clinician review: refused without the dashboard's token, whatever the origin; accepted with it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import io
import json

import pytest

from dashboards.server import CSP, ServerThread, create_app
from gait.programme import commands as pc
from gait.programme.access import status as programme_status

DAY = dt.date(2025, 6, 2)
RED_FLAG_WORDS = ("both legs", "genitals", "bowel")


def days_ago(n: int) -> dt.date:
    return DAY - dt.timedelta(days=n)


def programme_history(folder, profile: str = "sciatica") -> None:
    """A started programme at stage 1: two walk-run sessions, the first classed, the last one
    (yesterday) waiting for this morning's check-in."""
    out = io.StringIO()
    pc.start(folder, days_ago(12), profile, 1, None, out)
    pc.screen(folder, days_ago(12), [], out)
    for d in (12, 11, 10, 9, 8):
        pc.checkin(folder, days_ago(d), "morning", 2, 2, 1, False, False, out)
    pc.screen(folder, days_ago(3), [], out)
    pc.checkin(folder, days_ago(3), "pre", 2, 2, 1, False, False, out)
    pc.session(folder, days_ago(3), None, out)
    pc.checkin(folder, days_ago(2), "morning", 2, 2, 1, False, False, out)
    pc.screen(folder, days_ago(1), [], out)
    pc.checkin(folder, days_ago(1), "pre", 2, 2, 1, False, False, out)
    pc.session(folder, days_ago(1), None, out)


class Server:
    def __init__(self, folder, token=None):
        self.folder = folder
        self.token = token
        self.thread = ServerThread(create_app(folder, token=token, programme_today=lambda: DAY), port=0, token=token)

    def __enter__(self):
        self.thread.start()
        self.port = self.thread.port
        self.origin = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.thread.stop()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp, payload

    def post(self, path, body, origin="same", headers=None):
        h = dict(headers or {})
        if origin == "same":
            h["Origin"] = self.origin
        elif origin is not None:
            h["Origin"] = origin
        resp, payload = self.request("POST", path, body, h)
        return resp.status, json.loads(payload) if payload.startswith(b"{") else payload

    def get_json(self, path):
        resp, payload = self.request("GET", path)
        assert resp.status == 200, (path, resp.status, payload[:300])
        return json.loads(payload)

    def state(self):
        return self.get_json("/api/programme/state")


def all_answers(yes=()):
    from gait.programme import QUESTIONS

    return {q.id: q.id in yes for q in QUESTIONS}


@pytest.fixture()
def folder(tmp_path):
    programme_history(tmp_path)
    return tmp_path


@pytest.fixture()
def server(folder):
    with Server(folder) as srv:
        yield srv


def counts(folder):
    from gait.storage import Store

    with Store(folder, recover=False) as s:
        return {t: s.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("programme_checkins", "programme_screens", "programme_clearances")}


# --------------------------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------------------------
def test_state_plan_history_equal_the_programme(server, folder):
    st = programme_status(folder, DAY)
    state = server.state()
    assert state["started"] is True
    assert state["state"] == st.state == "ready"
    assert state["stage"] == st.stage
    assert state["last_zone"] == st.last_zone
    assert state["next_session"] == st.next_session.to_dict()
    assert state["red_flags"]["lines"] and any("both legs" in line for line in state["red_flags"]["lines"])
    assert len(state["questions"]) == 14 and {q["level"] for q in state["questions"]} == {"emergency", "urgent"}

    plan = server.get_json("/api/programme/plan")
    assert plan["today"]["kind"] == st.today.kind == "rest"  # the day after a run
    assert plan["next_session"]["kind"] == "walk-run"
    assert plan["next_session"]["intervals"] == [list(p) for p in st.next_session.intervals]

    hist = server.get_json("/api/programme/history")
    assert [s["zone"] for s in hist["sessions"]] == [r.zone for r in st.sessions]
    assert hist["sessions"][-1]["zone"] is None  # yesterday's session: waiting for this morning
    assert [c["stage"] for c in hist["stages"]] == [c.stage for c in st.stages]
    assert len(hist["checkins"]) == 8


def test_not_started(tmp_path):
    with Server(tmp_path) as srv:
        state = srv.state()
        assert state["started"] is False and "gait programme start" in state["not_started"]
        assert srv.get_json("/api/programme/plan")["started"] is False
        assert srv.get_json("/api/programme/history")["sessions"] == []
        resp, _ = srv.request("GET", "/api/programme/export/diary.csv")
        assert resp.status == 409
        # a red flag answered before the programme starts still locks it
        code, out = srv.post("/api/programme/screen", {"answers": {"bowel": True}}, origin=None)
        assert code == 201 and out["lock"]["level"] == "emergency" and out["headline"] == "Seek emergency care now"


@pytest.mark.parametrize("path", ["/programme", "/checkin", "/export"])
def test_red_flag_panel_in_every_programme_page(server, path):
    resp, body = server.request("GET", path)
    assert resp.status == 200 and resp.getheader("content-security-policy") == CSP
    text = body.decode()
    panel = text[text.index('id="red-flags"'):]
    panel = panel[: panel.index("</section>")]
    for word in RED_FLAG_WORDS:
        assert word in panel, word
    assert "bladder" in panel or "pee" in panel
    assert "<details" not in text and "<script>" not in text and "style=" not in text
    assert "http://" not in text and "https://" not in text
    assert 'href="/programme"' in text


def test_every_page_links_the_programme(server):
    for path in ("/", "/trends", "/compare", "/live"):
        _, body = server.request("GET", path)
        assert b'href="/programme"' in body, path


def test_export(server):
    resp, body = server.request("GET", "/api/programme/export/programme.html")
    assert resp.status == 200
    text = body.decode()
    first = text[text.index("<body>"):]
    assert first.index("Seek emergency care now") < first.index("Pain diary")
    for word in RED_FLAG_WORDS:
        assert word in first[: first.index("Pain diary")]
    csp = resp.getheader("content-security-policy")
    assert "default-src 'none'" in csp and "sha256-" in csp
    resp, body = server.request("GET", "/api/programme/export/diary.csv")
    assert resp.status == 200 and "attachment" in resp.getheader("content-disposition")
    lines = body.decode().splitlines()
    assert lines[0].startswith("# ") and "both legs" in body.decode()  # the red flags first, as on every export
    assert next(x for x in lines if not x.startswith("#")).startswith("date,when,back_nrs,leg_nrs")
    for bad in ("../diary.csv", "x.csv", "programme.pdf"):
        resp, _ = server.request("GET", f"/api/programme/export/{bad}")
        assert resp.status == 404, bad


# --------------------------------------------------------------------------------------------
# writes: the page's own origin
# --------------------------------------------------------------------------------------------
def test_checkin_from_the_page_classes_the_session(server):
    assert server.state()["last_zone"] == "green"  # the first session
    code, out = server.post("/api/programme/checkin", {"when": "morning", "back": 5, "leg": 2, "leg_extent": 1})
    assert code == 201 and out["last_zone"] == "red"  # did not settle: 5 > baseline 2 + 1
    hist = server.get_json("/api/programme/history")
    assert hist["sessions"][-1]["zone"] == "red"


@pytest.mark.parametrize("body", [
    {"when": "later", "back": 1, "leg": 1},
    {"when": "pre", "back": 11, "leg": 1},
    {"when": "pre", "back": 1, "leg": -1},
    {"when": "pre", "back": 1.5, "leg": 1},
    {"when": "pre", "back": True, "leg": 1},
    {"when": "pre", "back": 1, "leg": 1, "leg_extent": 5},
    [1, 2],
])
def test_bad_checkins_refused(server, folder, body):
    before = counts(folder)
    code, _ = server.post("/api/programme/checkin", body)
    assert code == 400
    assert counts(folder) == before


def test_json_only(server, folder):
    resp, _ = server.request("POST", "/api/programme/checkin", b"when=pre&back=1&leg=1",
                             {"Content-Type": "application/x-www-form-urlencoded", "Origin": server.origin})
    assert resp.status == 415
    resp, _ = server.request("POST", "/api/programme/screen", b"{", {"Content-Type": "application/json", "Origin": server.origin})
    assert resp.status == 400


def test_screen_needs_every_answer_unless_one_is_yes(server, folder):
    code, out = server.post("/api/programme/screen", {"answers": {"bladder": False}})
    assert code == 400 and "every question" in out["error"]
    code, _ = server.post("/api/programme/screen", {"answers": {"nope": True}})
    assert code == 400
    code, _ = server.post("/api/programme/screen", {"answers": {"bladder": "yes"}})
    assert code == 400
    code, out = server.post("/api/programme/screen", {"answers": all_answers()})
    assert code == 201 and out["state"] == "ready"
    code, out = server.post("/api/programme/screen", {"answers": {"fever": True}})
    assert code == 201 and out["state"] == "urgent"
    assert out["headline"].startswith("See a doctor within 1-2 days")
    assert any("walking only" in m for m in out["messages"])
    assert server.get_json("/api/programme/plan")["today"]["allowed"] == ["walk"]


# --------------------------------------------------------------------------------------------
# writes: another origin, no origin
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,body", [
    ("/api/programme/checkin", {"when": "pre", "back": 1, "leg": 1}),
    ("/api/programme/checkin", {"when": "pre", "back": 8, "leg": 8}),
    ("/api/programme/screen", {"answers": all_answers()}),
    ("/api/programme/screen", {"answers": all_answers(yes=("bladder",))}),
    ("/api/programme/clear", {"note": "seen"}),
])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "http://localhost"])
def test_another_origin_refused(server, folder, path, body, origin):
    before = counts(folder)
    code, _ = server.post(path, body, origin=origin)
    assert code == 403
    assert counts(folder) == before


def test_cross_site_fetch_refused_even_without_origin(server, folder):
    before = counts(folder)
    code, _ = server.post("/api/programme/checkin", {"when": "pre", "back": 8, "leg": 8}, origin=None,
                          headers={"Sec-Fetch-Site": "cross-site"})
    assert code == 403
    assert counts(folder) == before


def test_no_origin_clean_screen_refused(server, folder):
    before = counts(folder)
    code, out = server.post("/api/programme/screen", {"answers": all_answers()}, origin=None)
    assert code == 403 and "Origin" in out["error"]
    assert counts(folder) == before
    code, _ = server.post("/api/programme/screen", {"answers": all_answers()})  # from the page: fine
    assert code == 201


def test_no_origin_red_flag_yes_accepted_and_locks(server, folder):
    code, out = server.post("/api/programme/screen", {"answers": {"both_legs": True}}, origin=None)
    assert code == 201 and out["state"] == "emergency"
    assert out["headline"] == "Seek emergency care now"
    plan = server.get_json("/api/programme/plan")
    assert plan["today"]["kind"] == "rest" and plan["today"]["allowed"] == []
    assert programme_status(folder, DAY).state == "emergency"


def test_no_origin_checkin_that_lifts_the_pre_run_gate_refused(server, folder):
    # a rest day today (after yesterday's run): the gate is tested on the next run day
    nxt = DAY + dt.timedelta(days=1)
    app = create_app(folder, programme_today=lambda: nxt)
    with ServerThread(app, port=0) as t:
        srv = Server.__new__(Server)
        srv.port, srv.origin, srv.folder = t.port, f"http://127.0.0.1:{t.port}", folder
        code, out = srv.post("/api/programme/screen", {"answers": all_answers()})
        assert code == 201 and "walk-run" in srv.get_json("/api/programme/plan")["today"]["allowed"]
        code, out = srv.post("/api/programme/checkin", {"when": "pre", "back": 7, "leg": 3}, origin=None)
        assert code == 201  # raising: a score of 7 turns the day into walk or rest
        assert srv.get_json("/api/programme/plan")["today"]["allowed"] == ["walk"]
        before = counts(folder)
        code, out = srv.post("/api/programme/checkin", {"when": "pre", "back": 2, "leg": 2}, origin=None)
        assert code == 403  # the later, lower pre-run score would allow running again
        assert counts(folder) == before
        assert srv.get_json("/api/programme/plan")["today"]["allowed"] == ["walk"]
        code, out = srv.post("/api/programme/checkin", {"when": "pre", "back": 2, "leg": 2})
        assert code == 201 and "walk-run" in srv.get_json("/api/programme/plan")["today"]["allowed"]


def test_clearance_needs_the_token(server, folder):
    code, _ = server.post("/api/programme/screen", {"answers": {"bladder": True}})
    assert code == 201
    for origin in ("same", None):
        code, out = server.post("/api/programme/clear", {"note": "seen by Dr A"}, origin=origin)
        assert code == 403 and "gait programme clear" in out["error"]
    assert counts(folder)["programme_clearances"] == 0
    assert server.state()["state"] == "emergency"


def test_with_the_token_a_clearance_and_a_clean_screen_unlock(folder):
    out = io.StringIO()
    pc.screen(folder, DAY, ["bladder"], out)
    token = {"X-Gait-Token": "s3cret"}
    with Server(folder, token="s3cret") as srv:
        code, _ = srv.post("/api/programme/clear", {"note": "seen"}, origin=None)
        assert code == 401  # no token at all
        code, _ = srv.post("/api/programme/clear", {"note": "seen"}, origin="http://evil.example", headers=token)
        assert code == 403  # the token does not make another origin's request acceptable
        code, _ = srv.post("/api/programme/clear", {"note": "  "}, origin=None, headers=token)
        assert code == 400
        code, out = srv.post("/api/programme/clear", {"note": "seen by Dr A: no sign of an emergency"}, origin=None,
                             headers=token)
        assert code == 201 and out["state"] == "emergency" and out["lock"]["cleared"] is True
        code, out = srv.post("/api/programme/screen", {"answers": all_answers()}, origin=None, headers=token)
        assert code == 201 and out["state"] == "ready"


def test_no_origin_urgent_answer_cannot_replace_a_cleared_emergency(folder):
    """After a clinician review of an emergency lock, an urgent "yes" would make the state milder
    (urgent: walking allowed): without an Origin header it is refused, from the page accepted."""
    out = io.StringIO()
    pc.screen(folder, DAY, ["bladder"], out)
    pc.clear(folder, DAY, "seen by Dr A", out)
    with Server(folder) as srv:
        assert srv.state()["state"] == "emergency"
        code, _ = srv.post("/api/programme/screen", {"answers": {"fever": True}}, origin=None)
        assert code == 403
        assert srv.state()["state"] == "emergency"
        code, out2 = srv.post("/api/programme/screen", {"answers": {"fever": True}})
        assert code == 201 and out2["state"] == "urgent"


# --------------------------------------------------------------------------------------------
# part 2: one focus at a time, the form-pain association, the care around the run
# --------------------------------------------------------------------------------------------
def focus_history(folder, sessions: int = 16, every: int = 2) -> None:
    """A programme at stage 4 with a cadence focus (baseline 160 spm) started on the first of
    ``sessions`` walk-run sessions ``every`` days apart (the last one two days ago), each with its
    mean cadence and a class from the next morning (green, amber, red in turn)."""
    from gait.programme.retrain_access import record_run_value, start_focus

    out = io.StringIO()
    first = 2 + every * (sessions - 1)
    pc.start(folder, days_ago(first + 6), "sciatica", 4, None, out)
    pc.screen(folder, days_ago(first + 6), [], out)
    for d in range(first + 6, first, -1):
        pc.checkin(folder, days_ago(d), "morning", 1, 1, 0, False, False, out)
    start_focus(folder, days_ago(first), "cadence", baseline=160.0)
    for i in range(sessions):
        d = first - every * i
        pc.screen(folder, days_ago(d), [], out)
        pc.checkin(folder, days_ago(d), "pre", 1, 1, 0, False, False, out)
        pc.session(folder, days_ago(d), None, out)
        record_run_value(folder, days_ago(d), 163.0 + i)
        pc.checkin(folder, days_ago(d - 1), "morning", 1 + i % 3, 1, 0, False, False, out)


def stage_7_history(folder) -> None:
    """A general-profile programme at stage 7 for 30 days, every session green: the minimal-shoe
    transition may start (the weekly caps past stage 7 make some of the days rest days)."""
    from gait.programme import RunNotAllowed

    out = io.StringIO()
    pc.start(folder, days_ago(30), "general", 7, None, out)
    for d in range(30, -1, -1):
        pc.checkin(folder, days_ago(d), "morning", 1, 1, 0, False, False, out)
        if d % 2 == 0 and d > 1:
            pc.checkin(folder, days_ago(d), "pre", 1, 1, 0, False, False, out)
            with contextlib.suppress(RunNotAllowed):
                pc.session(folder, days_ago(d), None, out)


def test_focus_and_association(tmp_path):
    from gait.programme.retrain_access import focus_summary, review

    focus_history(tmp_path)
    with Server(tmp_path) as srv:
        f = srv.get_json("/api/programme/focus")
    assert f["focus"] == json.loads(json.dumps(focus_summary(tmp_path, DAY)))
    focus = f["focus"]
    assert focus["metric"] == "cadence" and 1 <= focus["session"] <= 8
    assert 0 <= focus["feedback_fraction"] <= 1
    assert focus["baseline"] == 160.0 and focus["target_low"] < 168.0 < focus["target_high"]  # relative: 160 + 5 %
    assert {"end", "7d", "28d"} <= set(focus["next_probes"])
    a = f["association"]
    assert a == json.loads(json.dumps(review(tmp_path, DAY).to_dict()))
    assert a["shown"] is True and a["n"] == 16 and a["rho"] is not None
    assert a["caption"] == "An association in your own data, not proof of cause."
    assert a["focus_changes"] == [{"date": days_ago(32).isoformat(), "metric": "cadence"}]


def test_association_not_shown_with_few_sessions(tmp_path):
    focus_history(tmp_path, sessions=5)
    with Server(tmp_path) as srv:
        a = srv.get_json("/api/programme/focus")["association"]
    assert a["shown"] is False and a["n"] == 5 and a["rho"] is None and a["timeline"] == []
    assert "not enough data" in a["message"].lower()
    assert "not proof of cause" in a["caption"]


def test_no_focus_and_not_started(server, tmp_path):
    f = server.get_json("/api/programme/focus")
    assert f["started"] is True and f["focus"] is None and f["association"]["shown"] is False
    with Server(tmp_path / "empty") as srv:
        assert srv.get_json("/api/programme/focus")["started"] is False
        c = srv.get_json("/api/programme/care")
        assert c["started"] is False and c["shoes"]["eligibility"]["eligible"] is False


def test_care_payload(server):
    c = server.get_json("/api/programme/care")
    assert c["warm_up"]["walk_min"] == 10
    heat, ice = c["timers"]["heat"], c["timers"]["ice"]
    assert heat["default_min"] == 15 and heat["max_min"] <= 20 and ice["default_min"] == 10
    assert "not shown to prepare you for running" in heat["evidence"] and "insufficient" in ice["evidence"]
    assert "numb" in heat["numb_skin_question"]
    assert "12 weeks" in c["yoga"]["dose"] and c["yoga"]["this_week"] is None
    elig = c["shoes"]["eligibility"]
    assert c["shoes"]["state"] == "not_started" and elig["eligible"] is False and "before_stage_7" in elig["reasons"]
    assert any("stage 7" in w for w in elig["words"])


def test_timers(server, folder):
    code, out = server.post("/api/programme/timer", {"kind": "heat", "minutes": 15, "skin_numb": True})
    assert code == 409 and out["reason"] == "skin_numb" and "numb" in out["error"]
    code, out = server.post("/api/programme/timer", {"kind": "heat", "minutes": 25, "skin_numb": False})
    assert code == 409 and out["reason"] == "too_long"
    code, out = server.post("/api/programme/timer", {"kind": "ice", "skin_numb": False}, origin=None)
    assert code == 403 and "Origin" in out["error"]  # "not numb" opens the timer: from the page only
    assert server.get_json("/api/programme/care")["timers"]["today"] == []
    code, out = server.post("/api/programme/timer", {"kind": "ice", "skin_numb": False})
    assert code == 201 and out["timer"]["planned_min"] == 10 and out["timer"]["running"] is True
    assert [t["kind"] for t in out["care"]["timers"]["today"]] == ["ice"]
    for bad in ({"kind": "sauna", "skin_numb": False}, {"kind": "heat"}, {"kind": "heat", "skin_numb": "no"},
                {"kind": "heat", "skin_numb": False, "minutes": "15"}):
        code, _ = server.post("/api/programme/timer", bad)
        assert code == 400, bad
    code, _ = server.post("/api/programme/timer", {"kind": "heat", "skin_numb": False}, origin="http://evil.example")
    assert code == 403


def test_timers_refused_while_a_red_flag_is_open(server):
    code, _ = server.post("/api/programme/screen", {"answers": {"fever": True}})
    assert code == 201
    assert server.get_json("/api/programme/care")["timers"]["heat"]["available"] is False
    code, out = server.post("/api/programme/timer", {"kind": "heat", "skin_numb": False})
    assert code == 409 and out["reason"] == "urgent"
    code, _ = server.post("/api/programme/screen", {"answers": {"bladder": True}})
    code, out = server.post("/api/programme/timer", {"kind": "ice", "skin_numb": False})
    assert code == 423 and out["reason"] == "emergency"
    assert server.get_json("/api/programme/care")["timers"]["today"] == []


def test_yoga_log(server):
    for minutes, setting in ((75, "class"), (20, "home")):
        code, out = server.post("/api/programme/yoga", {"minutes": minutes, "setting": setting})
        assert code == 201
    code, out = server.post("/api/programme/yoga", {"minutes": 20, "setting": "home"}, origin=None)
    assert code == 201  # a yoga entry can only raise safety
    week = out["care"]["yoga"]["this_week"]
    assert week["adherence"] == "1 class + 0 home" and week["home_min"] == 40  # home days: days without a class
    assert week["dose_met"] is False
    code, out = server.post("/api/programme/yoga", {"minutes": 30, "setting": "home", "pain": 6}, origin=None)
    assert code == 201 and out["entry"]["red"] is True
    assert DAY.isoformat() in out["care"]["yoga"]["red_days"]
    for bad in ({"minutes": 0}, {"minutes": 30, "setting": "gym"}, {"minutes": 30, "pain": 11}, {"minutes": True}):
        code, _ = server.post("/api/programme/yoga", bad)
        assert code == 400, bad


def test_minimal_shoes(tmp_path):
    stage_7_history(tmp_path)
    start = {"action": "start", "surface": "soft", "soles_numb": False, "foot_bone_injury_12m": False}
    with Server(tmp_path) as srv:
        assert srv.get_json("/api/programme/care")["shoes"]["eligibility"] == {"eligible": True, "reasons": [], "words": []}
        code, out = srv.post("/api/programme/shoes", {"action": "run", "minutes": 5})
        assert code == 409 and out["reason"] == "not_started"
        code, out = srv.post("/api/programme/shoes", {**start, "soles_numb": True})
        assert code == 409 and out["reason"] == "soles_numb"
        code, out = srv.post("/api/programme/shoes", start, origin=None)
        assert code == 403
        code, out = srv.post("/api/programme/shoes", start)
        assert code == 201 and out["care"]["shoes"]["state"] == "walking" and out["care"]["shoes"]["week"] == 1
        code, out = srv.post("/api/programme/shoes", {"action": "run", "minutes": 5})
        assert code == 409 and out["reason"] == "walking_weeks"
        code, out = srv.post("/api/programme/shoes", {"action": "walk", "minutes": 60})
        assert code == 201 and out["care"]["shoes"]["weeks"][0]["minimal_walk_min"] == 60
        code, out = srv.post("/api/programme/shoes", {"action": "check", "foot_pain": 1, "bone_spot": True}, origin=None)
        assert code == 201 and out["care"]["shoes"]["state"] == "stopped"  # raising safety: taken from anywhere
        assert srv.state()["state"] == "review"


def test_export_has_the_focus_and_the_care(tmp_path):
    from gait.programme.export import export_store
    from gait.programme.store import ProgrammeStore

    focus_history(tmp_path / "data")
    with Server(tmp_path / "data") as srv:
        code, _ = srv.post("/api/programme/yoga", {"minutes": 60, "setting": "class"})
        assert code == 201
        bodies = {}
        for name in ("focus.csv", "care.csv"):
            resp, bodies[name] = srv.request("GET", f"/api/programme/export/{name}")
            assert resp.status == 200 and "attachment" in resp.getheader("content-disposition")
    with ProgrammeStore.open(tmp_path / "data") as ps:
        export_store(ps, DAY, tmp_path / "cli")
    for name, body in bodies.items():  # the same file as the command line's export
        assert body == (tmp_path / "cli" / name).read_bytes(), name
        assert body.decode().startswith("# ") and "both legs" in body.decode()
    assert "163" in bodies["focus.csv"].decode() and "yoga" in bodies["care.csv"].decode()
