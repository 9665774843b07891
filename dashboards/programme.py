"""The programme pages of the dashboards: ``/programme``, ``/checkin``, ``/export`` and their JSON.

Presentation only: the rules, the records and the words are the programme's (`gait.programme`);
this module reads its store through the programme's API, writes check-ins and red-flag answers
through the same store, and shows the results.

    routes = programme_routes(data_dir, static_root, token=None, today=datetime.date.today)

JSON: ``GET /api/programme/state`` (state, lock, messages, the red-flag summary, the questions),
``GET /api/programme/plan`` (today's and the next session), ``GET /api/programme/history``
(sessions with their class, stage changes, check-ins, screens, clinician reviews),
``POST /api/programme/checkin``, ``POST /api/programme/screen``, ``POST /api/programme/clear``,
``GET /api/programme/export/{diary.csv|sessions.csv|stages.csv|flags.csv|focus.csv|care.csv|programme.html}``.

Part 2 (one focus at a time, and the care around the run): ``GET /api/programme/focus`` (today's
focus with its session, feedback share, target band relative to the runner's baseline and its
probes; the form-pain association view, shown only with enough sessions, always with its
caption), ``GET /api/programme/care`` (the warm-up, the heat and ice timers, the yoga log against
the studied dose, the minimal-shoe plan with its eligibility), ``POST /api/programme/timer``,
``POST /api/programme/yoga``, ``POST /api/programme/shoes``. A refusal by the programme's rules
(numb skin, a red flag open, not eligible, over the allowance) is answered 409 with its reason
(``{"error", "reason"}``), 423 when the programme is locked.

Safety of a page on 127.0.0.1 (any web page the runner visits can send requests to it):

- the dashboard's Host check and Origin check (`dashboards.server.SecurityMiddleware`) hold for
  every write: a request from another origin is refused;
- a write that could lower a safety state is refused when it carries no ``Origin`` header (a
  script, another program), unless the dashboard runs with its token (then every request carries
  it): a screen answered all "no", and any check-in or screen after which the programme's own
  rules give a milder state or allow a session kind they did not allow before. Raising safety (a
  "yes" to a red flag, a high pain score) is accepted from the page itself;
- an answer that opens a care step is a safety answer: a heat or ice timer with "the skin there is
  not numb", and a minimal-shoe start with "the soles are not numb, no bone stress injury", are
  taken from the page itself (or with the token), never from a request without an ``Origin``;
  a yoga entry or a footwear log may only raise safety (pain, a bone-spot report) and is checked
  like a check-in;
- a clinician review (the clearance of a red flag) is taken from the command line
  (``gait programme clear --note TEXT``) or with the dashboard's token, never from a page of a
  dashboard without a token;
- the day a write acts on is the server's today, never one the request names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gait.programme import ProgrammeError, ProgrammeLocked, ProgrammeNotStarted, care, phrases, walkrun
from gait.programme.config import load_config
from gait.programme.export import FILES as EXPORT_FILES
from gait.programme.export import export_store
from gait.programme.pain import EXTENT_WORDS, MOMENTS, CheckIn, Pain
from gait.programme.plan import EMERGENCY, RUN_KINDS, URGENT, History, ProgrammeStatus, evaluate
from gait.programme.redflags import QUESTION_BY_ID, QUESTIONS, Clearance, Screen, fold_lock, screen_level
from gait.programme.retrain import BLOCK, PROBES
from gait.programme.retrain_access import focus_summary, review
from gait.programme.store import ProgrammeStore
from gait.storage import Store

PAGES = {"programme": "programme.html", "checkin": "checkin.html", "export": "export.html"}
PANEL_MARK = "<!--red-flags-->"
# how restrictive a state is: a write that moves down this order lowers safety
STATE_RANK = {"ready": 0, "hold": 1, "review": 2, URGENT: 3, EMERGENCY: 4}
LOCK_RANK = {None: 0, URGENT: 3, EMERGENCY: 4}
MOMENT_WORDS = {"pre": "before the session", "during": "during the session", "after": "after the session",
                "morning": "the next morning"}
MAX_NOTE = 2000
NO_ORIGIN_REFUSED = (
    "refused: this answer could lower a safety state, and the request does not say which page sent it "
    "(no Origin header). Answer on the dashboard's own page, or use the command line: gait programme ..."
)
CLEARANCE_REFUSED = (
    "a clinician review is recorded from the command line: gait programme clear --note TEXT "
    "(or on a dashboard started with --token)"
)


class Refused(Exception):
    """A write refused (status, message)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


# --------------------------------------------------------------------------------------------
# the red-flag panel: server-rendered into every programme page, so it shows before any script
# --------------------------------------------------------------------------------------------
def red_flag_panel_html() -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in phrases.RED_FLAG_LINES)
    return (
        '<section class="card redflags" id="red-flags" aria-labelledby="rf-title">'
        f'<h2 id="rf-title"><span class="rf-mark" aria-hidden="true">!</span> {html.escape(phrases.RED_FLAG_TITLE)}</h2>'
        f'<ul class="rf-list">{items}</ul>'
        '<p class="rf-do">Do not wait for your next appointment and do not run. '
        'Other worries (a leg getting weaker, a fever, a fall): answer the safety questions and see a doctor.</p>'
        '<p class="rf-links"><a class="btn danger" href="/checkin#screen">Something new or worrying? '
        'Answer the safety questions</a></p>'
        "</section>"
    )


# --------------------------------------------------------------------------------------------
# payloads
# --------------------------------------------------------------------------------------------
def _lock_dict(history: History) -> dict[str, Any]:
    lock = fold_lock([*history.screens, *history.clearances])
    return {"level": lock.level, "since": lock.since.isoformat() if lock.since else None, "cleared": lock.cleared}


def headline(state: str | None) -> str | None:
    """The first sentence of the state's message, for a banner's title."""
    msg = {EMERGENCY: phrases.EMERGENCY_MESSAGE, URGENT: phrases.URGENT_MESSAGE}.get(state or "")
    if msg is None:
        return None
    return msg.split(":")[0].split(".")[0].strip()


def state_payload(history: History, day: dt.date) -> dict[str, Any]:
    base: dict[str, Any] = {
        "date": day.isoformat(),
        "red_flags": {"title": phrases.RED_FLAG_TITLE, "lines": list(phrases.RED_FLAG_LINES)},
        "disclaimer": phrases.DISCLAIMER,
        "questions": [q.to_dict() for q in QUESTIONS],
        "moments": [{"id": m, "words": MOMENT_WORDS[m]} for m in MOMENTS],
        "extent_words": list(EXTENT_WORDS),
        "zone_words": dict(phrases.ZONE_MESSAGES),
        "lock": _lock_dict(history.until(day)),
    }
    try:
        st = evaluate(history, day)
    except ProgrammeNotStarted as exc:
        level = base["lock"]["level"]
        messages = [m for m in (
            {EMERGENCY: phrases.EMERGENCY_MESSAGE, URGENT: phrases.URGENT_MESSAGE}.get(level or ""),) if m]
        return {**base, "started": False, "state": level, "headline": headline(level), "messages": messages,
                "not_started": str(exc)}
    return {**base, "started": True, **st.to_dict(), "headline": headline(st.state),
            "lock": {**base["lock"], "level": st.lock.level}}


def _plan_words(plan: dict[str, Any]) -> dict[str, Any]:
    return {**plan, "kind_words": phrases.KIND_WORDS.get(plan["kind"], plan["kind"]),
            "stage_name": walkrun.stage_name(plan["stage"])}


def plan_payload(history: History, day: dt.date) -> dict[str, Any]:
    try:
        st = evaluate(history, day)
    except ProgrammeNotStarted as exc:
        return {"date": day.isoformat(), "started": False, "not_started": str(exc)}
    return {"date": day.isoformat(), "started": True, "state": st.state, "stage": st.stage,
            "stage_name": walkrun.stage_name(st.stage), "today": _plan_words(st.today.to_dict()),
            "next_session": _plan_words(st.next_session.to_dict()), "messages": list(st.messages)}


def history_payload(history: History, day: dt.date) -> dict[str, Any]:
    h = history.until(day)
    out: dict[str, Any] = {
        "date": day.isoformat(),
        "checkins": [{"date": c.day.isoformat(), "when": c.when, "back": c.pain.back_nrs, "leg": c.pain.leg_nrs,
                      "leg_extent": c.pain.leg_extent, "new_numbness": c.new_numbness, "new_weakness": c.new_weakness}
                     for c in sorted(h.checkins, key=lambda c: (c.day, c.seq))],
        "screens": [{"date": s.day.isoformat(), "level": s.level, "yes": list(s.yes)}
                    for s in sorted(h.screens, key=lambda s: (s.day, s.seq))],
        "clearances": [{"date": c.day.isoformat(), "note": c.note} for c in sorted(h.clearances, key=lambda c: (c.day, c.seq))],
    }
    try:
        st = evaluate(history, day)
    except ProgrammeNotStarted:
        return {**out, "started": False, "sessions": [], "stages": []}
    out["started"] = True
    out["sessions"] = [{**r.to_dict(), "stage_name": walkrun.stage_name(r.stage)} for r in st.sessions]
    out["stages"] = [{"date": c.day.isoformat(), "stage": c.stage, "stage_name": walkrun.stage_name(c.stage),
                      "reason": c.reason} for c in st.stages]
    return out


# --------------------------------------------------------------------------------------------
# safety: does a write lower a safety state?
# --------------------------------------------------------------------------------------------
def _startable(st: ProgrammeStatus) -> frozenset[str]:
    """The session kinds that may start that day (what `gate` would let through)."""
    if st.state == EMERGENCY:
        return frozenset()
    return frozenset(k for k in st.today.allowed if not (st.screen_due and k in RUN_KINDS))


def safety(history: History, day: dt.date) -> tuple[int, frozenset[str]]:
    """(how restrictive the state is, the kinds that may start) on ``day``."""
    try:
        st = evaluate(history, day)
    except ProgrammeNotStarted:
        return LOCK_RANK[fold_lock([*history.screens, *history.clearances]).level], frozenset()
    return STATE_RANK.get(st.state, 0), _startable(st)


def lowers_safety(before: History, after: History, day: dt.date) -> bool:
    """True when ``after`` gives a milder state than ``before``, or allows a kind it did not."""
    rank0, kinds0 = safety(before, day)
    rank1, kinds1 = safety(after, day)
    return rank1 < rank0 or bool(kinds1 - kinds0)


def _next_seq(h: History) -> int:
    return 1 + max((x.seq for f in ("starts", "checkins", "screens", "clearances", "sessions")
                    for x in getattr(h, f)), default=0)


def parse_checkin(body: Any, day: dt.date) -> CheckIn:
    if not isinstance(body, dict):
        raise Refused(400, 'send JSON: {"when": "pre|during|after|morning", "back": 0-10, "leg": 0-10, "leg_extent": 0-4}')
    try:
        extent = body.get("leg_extent")
        return CheckIn(day, str(body.get("when")), Pain(body.get("back"), body.get("leg"), extent),
                       bool(body.get("new_numbness", False)), bool(body.get("new_weakness", False)))
    except ProgrammeError as exc:
        raise Refused(400, str(exc)) from exc


def parse_screen(body: Any, day: dt.date) -> Screen:
    """``{"answers": {id: true|false, ...}}``. Every question must be answered unless one answer is
    "yes" (a red flag is taken at once; the unanswered ones are not recorded as "no")."""
    answers = body.get("answers") if isinstance(body, dict) else None
    if not isinstance(answers, dict) or not all(isinstance(v, bool) for v in answers.values()):
        raise Refused(400, 'send JSON: {"answers": {"question id": true or false, ...}}')
    unknown = sorted(set(answers) - set(QUESTION_BY_ID))
    if unknown:
        raise Refused(400, f"unknown question id(s): {', '.join(unknown)}")
    missing = [q.id for q in QUESTIONS if q.id not in answers]
    if missing and not any(answers.values()):
        raise Refused(400, f"answer every question yes or no (missing: {', '.join(missing)})")
    return Screen(day, dict(answers))


# --------------------------------------------------------------------------------------------
# part 2: one focus at a time (F4, F5) and the care around the run (F6-F8)
# --------------------------------------------------------------------------------------------
SHOE_ACTIONS = ("start", "run", "walk", "check")


def _status_or_none(history: History, day: dt.date) -> ProgrammeStatus | None:
    try:
        return evaluate(history, day)
    except ProgrammeNotStarted:
        return None


def focus_active(focus: dict[str, Any] | None) -> bool:
    """A retraining focus under way (its block or its probes): the minimal-shoe planner waits."""
    return focus is not None and focus.get("phase") in (BLOCK, PROBES)


def focus_payload(ps: ProgrammeStore, day: dt.date) -> dict[str, Any]:
    """Today's focus (None without one) and the form-pain association view."""
    if _status_or_none(ps.history(), day) is None:
        return {"date": day.isoformat(), "started": False, "focus": None, "association": None,
                "not_started": "no programme started yet: gait programme start --profile {sciatica,general}"}
    return {"date": day.isoformat(), "started": True, "focus": focus_summary(ps, day),
            "association": review(ps, day).to_dict(), "ladder_words": dict(phrases.FOCUS_NAMES)}


def shoe_eligibility(status: ProgrammeStatus | None, history: History, day: dt.date,
                     focus: dict[str, Any] | None) -> dict[str, Any]:
    """Whether the minimal-shoe transition may start today, and every reason why not (in words)."""
    if status is None:
        reasons: tuple[str, ...] = ("not_started",)
        return {"eligible": False, "reasons": list(reasons),
                "words": ["No programme started yet: gait programme start --profile {sciatica,general}"]}
    reasons = care.shoe_refusals(status, history, day, focus_active=focus_active(focus))
    return {"eligible": not reasons, "reasons": list(reasons),
            "words": [phrases.SHOES_REFUSALS[r] for r in reasons]}


def care_payload(ps: ProgrammeStore, day: dt.date, now_s: float | None = None) -> dict[str, Any]:
    """The warm-up, the heat and ice timers (today's, with the time left), the yoga log against the
    studied dose, and the minimal-shoe plan with its eligibility: the keys of ``gait programme
    status --json`` (the same `care.care_status`), with the programme not started too."""
    hist = ps.history()
    st = _status_or_none(hist, day)
    focus = focus_summary(ps, day) if st is not None else None
    c = ps.care()
    view = care.care_status(day=day, status=st, history=hist, timers=c.timers, yoga=c.yoga, shoe_starts=c.shoe_starts,
                            footwear=c.footwear, now_s=time.time() if now_s is None else now_s,
                            focus_active=focus_active(focus))
    view["shoes"]["eligibility"] = shoe_eligibility(st, hist, day, focus)
    lock = fold_lock([*hist.screens, *hist.clearances]).level
    state = st.state if st is not None else lock
    return {"date": day.isoformat(), "started": st is not None, "state": state, **view}


def _bool(body: dict[str, Any], key: str, question: str, required: bool = False) -> bool:
    v = body.get(key, None if required else False)
    if not isinstance(v, bool):
        raise Refused(400, f'"{key}": answer true or false ({question})')
    return v


def _number(body: dict[str, Any], key: str, *, required: bool) -> float | None:
    v = body.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v in (float("inf"), float("-inf")):
        raise Refused(400, f'"{key}": a number of minutes')
    return float(v)


def _nrs(body: dict[str, Any], key: str) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10:
        raise Refused(400, f'"{key}": a whole number 0-10, or null')
    return v


def parse_timer(body: Any) -> tuple[str, float | None, bool]:
    if not isinstance(body, dict) or body.get("kind") not in care.TIMER_KINDS:
        raise Refused(400, 'send JSON: {"kind": "heat|ice", "minutes": N or null, "skin_numb": true|false}')
    skin = _bool(body, "skin_numb", "is the skin where you will put it numb or less sensitive?", required=True)
    return body["kind"], _number(body, "minutes", required=False), skin


def parse_yoga(body: Any, day: dt.date) -> care.YogaEntry:
    if not isinstance(body, dict):
        raise Refused(400, 'send JSON: {"minutes": N, "setting": "class|home", "pain": 0-10 or null, '
                           '"new_leg_symptoms": false}')
    minutes = _number(body, "minutes", required=True)
    try:
        return care.YogaEntry(day, minutes, str(body.get("setting", care.HOME)), _nrs(body, "pain"),
                              _bool(body, "new_leg_symptoms", "new numbness or weakness in a leg"))
    except ProgrammeError as exc:
        raise Refused(400, str(exc)) from exc


def parse_shoes(body: Any, day: dt.date) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("action") not in SHOE_ACTIONS:
        raise Refused(400, 'send JSON: {"action": "start|run|walk|check", ...}')
    action = body["action"]
    if action == "start":
        surface = body.get("surface", care.SOFT)
        if surface not in care.SURFACES:
            raise Refused(400, f'"surface": one of {", ".join(care.SURFACES)}')
        return {"action": action, "surface": surface,
                "soles_numb": _bool(body, "soles_numb", "are the soles of your feet numb?", required=True),
                "foot_bone_injury_12m": _bool(body, "foot_bone_injury_12m",
                                              "a bone stress injury in the foot in the last 12 months?", required=True)}
    minutes = _number(body, "minutes", required=action != "check") or 0.0
    try:
        log = care.FootwearLog(day, str(body.get("footwear", care.MINIMAL)), action, minutes if action != "check" else 0.0,
                               _nrs(body, "foot_pain"), _bool(body, "bone_spot", "pain on pressing one spot of bone?"))
    except ProgrammeError as exc:
        raise Refused(400, str(exc)) from exc
    if not log.minimal:
        raise Refused(400, '"footwear": minimal or barefoot')
    return {"action": action, "log": log}


# --------------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------------
def programme_routes(
    data_dir: str | Path,
    static_root: Path,
    *,
    store: Callable[[], Store] | None = None,
    token: str | None = None,
    today: Callable[[], dt.date] | None = None,
    json_response: Callable[..., Response],
) -> list[Route]:
    """The programme's pages and JSON endpoints over the store in ``data_dir``. ``store``: the
    dashboard's store of the calling worker thread, for reads (writes open the store durably)."""
    data_dir = Path(data_dir)
    day_of = today or dt.date.today
    write_lock = threading.Lock()  # one programme write at a time: the safety check sees what it writes after
    panel = red_flag_panel_html()
    pages = {name: (static_root / f).read_text(encoding="utf-8").replace(PANEL_MARK, panel) for name, f in PAGES.items()}

    def read(fn: Callable[[History, dt.date], Any]) -> Any:
        if store is not None:  # the dashboard's store of this worker thread
            return fn(ProgrammeStore(store()).history(), day_of())
        with ProgrammeStore.open(data_dir) as ps:
            return fn(ps.history(), day_of())

    def page(name: str) -> Callable:
        async def endpoint(request: Request) -> Response:
            return Response(pages[name], media_type="text/html; charset=utf-8")

        return endpoint

    def getter(fn: Callable[[History, dt.date], Any]) -> Callable:
        async def endpoint(request: Request) -> Response:
            return json_response(await run_in_threadpool(read, fn))

        return endpoint

    def provenance(request: Request) -> tuple[bool, bool]:
        """(the request says it comes from this dashboard's page, it comes from another site)."""
        origin = request.headers.get("origin")
        fetch_site = (request.headers.get("sec-fetch-site") or "").lower()
        other_site = fetch_site in ("cross-site", "same-site")
        return origin is not None and not other_site, other_site

    async def body_json(request: Request) -> Any:
        if "application/json" not in (request.headers.get("content-type") or ""):
            raise Refused(415, "send JSON (Content-Type: application/json)")
        try:
            return await request.json()
        except ValueError as exc:
            raise Refused(400, "the body is not JSON") from exc

    def write(request: Request, record: Callable[[ProgrammeStore, History], None],
              after: Callable[[History], History], always_lowering: bool) -> dict[str, Any]:
        from_page, other_site = provenance(request)
        if other_site:
            raise Refused(403, "cross-site request refused")
        day = day_of()
        with write_lock, ProgrammeStore.open(data_dir) as ps:
            before = ps.history()
            if token is None and not from_page and (always_lowering or lowers_safety(before, after(before), day)):
                raise Refused(403, NO_ORIGIN_REFUSED)
            record(ps, before)
            return state_payload(ps.history(), day)

    async def post(request: Request, make: Callable[[Any, dt.date], Any], kind: str) -> Response:
        try:
            body = await body_json(request)
            day = day_of()
            rec = make(body, day)

            def run() -> dict[str, Any]:
                if kind == "checkin":
                    return write(request, lambda ps, h: ps.add_checkin(rec),
                                 lambda h: dataclasses.replace(h, checkins=(*h.checkins, dataclasses.replace(rec, seq=_next_seq(h)))),
                                 always_lowering=False)
                return write(request, lambda ps, h: ps.add_screen(rec),
                             lambda h: dataclasses.replace(h, screens=(*h.screens, dataclasses.replace(rec, seq=_next_seq(h)))),
                             always_lowering=screen_level(rec.answers) == "clear")

            out = await run_in_threadpool(run)
        except Refused as exc:
            return json_response({"error": str(exc)}, exc.status)
        return json_response({"ok": True, **out}, 201)

    async def api_checkin(request: Request) -> Response:
        return await post(request, parse_checkin, "checkin")

    async def api_screen(request: Request) -> Response:
        return await post(request, parse_screen, "screen")

    async def api_clear(request: Request) -> Response:
        # the middleware has checked the token on this request when the dashboard has one
        if token is None:
            return json_response({"error": CLEARANCE_REFUSED}, 403)
        try:
            body = await body_json(request)
            note = body.get("note") if isinstance(body, dict) else None
            if not isinstance(note, str) or not note.strip():
                raise Refused(400, 'send JSON: {"note": "the clinician\'s review, in words"}')
        except Refused as exc:
            return json_response({"error": str(exc)}, exc.status)
        day = day_of()

        def run() -> dict[str, Any]:
            with write_lock, ProgrammeStore.open(data_dir) as ps:
                ps.add_clearance(Clearance(day, note.strip()[:MAX_NOTE]))
                return state_payload(ps.history(), day)

        return json_response({"ok": True, **await run_in_threadpool(run)}, 201)

    def read_ps(fn: Callable[[ProgrammeStore, dt.date], Any]) -> Any:
        if store is not None:
            return fn(ProgrammeStore(store()), day_of())
        with ProgrammeStore.open(data_dir) as ps:
            return fn(ps, day_of())

    def getter_ps(fn: Callable[[ProgrammeStore, dt.date], Any]) -> Callable:
        async def endpoint(request: Request) -> Response:
            return json_response(await run_in_threadpool(read_ps, fn))

        return endpoint

    def care_write(request: Request, act: Callable[[ProgrammeStore, dt.date, bool], dict[str, Any]]) -> dict[str, Any]:
        """One care write under the write lock; ``act(ps, day, trusted)`` raises `Refused` or a
        refusal of the programme's rules before it records anything."""
        from_page, other_site = provenance(request)
        if other_site:
            raise Refused(403, "cross-site request refused")
        day = day_of()
        with write_lock, ProgrammeStore.open(data_dir) as ps:
            out = act(ps, day, token is not None or from_page)
            return {**out, "care": care_payload(ps, day)}

    def with_offrun(o: Any) -> Callable[[History], History]:
        def after(h: History) -> History:
            if o is None:
                return h
            seq = max(_next_seq(h), 1 + max((x.seq for x in h.offrun), default=0))
            return dataclasses.replace(h, offrun=(*h.offrun, dataclasses.replace(o, seq=seq)))

        return after

    def timer_act(kind: str, minutes: float | None, skin_numb: bool) -> Callable:
        def act(ps: ProgrammeStore, day: dt.date, trusted: bool) -> dict[str, Any]:
            hist = ps.history()
            st = _status_or_none(hist, day)
            state = st.state if st is not None else (fold_lock([*hist.screens, *hist.clearances]).level or "ready")
            now = time.time()
            t = care.start_timer(kind, day, now, skin_numb=skin_numb, state=state, minutes=minutes,
                                 config=st.config if st is not None else load_config())
            if not trusted:  # "the skin there is not numb": a safety answer that opens the timer
                raise Refused(403, NO_ORIGIN_REFUSED)
            ps.add_timer(t)
            return {"timer": t.to_dict(now)}

        return act

    def yoga_act(entry: care.YogaEntry) -> Callable:
        def act(ps: ProgrammeStore, day: dt.date, trusted: bool) -> dict[str, Any]:
            before = ps.history()
            if not trusted and lowers_safety(before, with_offrun(entry.offrun())(before), day):
                raise Refused(403, NO_ORIGIN_REFUSED)
            ps.add_yoga(entry)
            if before.starts:
                ps.save_zones(evaluate(ps.history(), day).sessions)
            return {"entry": {"date": day.isoformat(), "minutes": entry.minutes, "setting": entry.setting,
                              "pain_nrs": entry.pain_nrs, "new_leg_symptoms": entry.new_leg_symptoms,
                              "red": care.yoga_is_red(entry)}}

        return act

    def shoes_act(req: dict[str, Any]) -> Callable:
        def act(ps: ProgrammeStore, day: dt.date, trusted: bool) -> dict[str, Any]:
            hist = ps.history()
            st = _status_or_none(hist, day)
            if st is None:
                raise Refused(409, "no programme started yet: gait programme start --profile {sciatica,general}")
            c = ps.care()
            active = focus_active(focus_summary(ps, day))
            current = care.shoe_plan(c.shoe_starts, c.footwear, st, hist, day, focus_active=active)
            if req["action"] == "start":
                s = care.start_transition(st, hist, day, focus_active=active, surface=req["surface"],
                                          soles_numb=req["soles_numb"],
                                          foot_bone_injury_12m=req["foot_bone_injury_12m"], current=current)
                if not trusted:  # "soles not numb, no bone stress injury": safety answers that open it
                    raise Refused(403, NO_ORIGIN_REFUSED)
                ps.add_shoe_start(s)
                return {"started": s.day.isoformat()}
            log: care.FootwearLog = req["log"]
            if log.activity == care.RUN:
                care.check_minimal_run(current, c.footwear, day, log.minutes)
            elif current.state == care.NOT_STARTED:
                raise care.CareRefused("not_started", phrases.SHOES_REFUSALS["not_started"])
            if not trusted and lowers_safety(hist, with_offrun(log.offrun())(hist), day):
                raise Refused(403, NO_ORIGIN_REFUSED)
            ps.add_footwear(log)
            ps.save_zones(evaluate(ps.history(), day).sessions)
            return {"logged": {"date": day.isoformat(), "footwear": log.footwear, "activity": log.activity,
                               "minutes": log.minutes, "foot_pain_nrs": log.foot_pain_nrs, "bone_spot": log.bone_spot}}

        return act

    async def care_post(request: Request, make: Callable[[Any, dt.date], Callable]) -> Response:
        try:
            body = await body_json(request)
            act = make(body, day_of())
            out = await run_in_threadpool(care_write, request, act)
        except Refused as exc:
            return json_response({"error": str(exc)}, exc.status)
        except care.CareRefused as exc:
            words = str(exc).removesuffix(f" (reason: {exc.reason})")
            return json_response({"error": words, "reason": exc.reason, "refused": True}, 409)
        except ProgrammeLocked as exc:
            return json_response({"error": str(exc), "reason": "emergency", "refused": True}, 423)
        except ProgrammeError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"ok": True, **out}, 201)

    async def api_timer(request: Request) -> Response:
        return await care_post(request, lambda body, day: timer_act(*parse_timer(body)))

    async def api_yoga(request: Request) -> Response:
        return await care_post(request, lambda body, day: yoga_act(parse_yoga(body, day)))

    async def api_shoes(request: Request) -> Response:
        return await care_post(request, lambda body, day: shoes_act(parse_shoes(body, day)))

    async def api_export(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in EXPORT_FILES:
            return json_response({"error": f"unknown export; one of {', '.join(EXPORT_FILES)}"}, 404)
        day = day_of()

        def build() -> bytes | None:
            with ProgrammeStore.open(data_dir) as ps, tempfile.TemporaryDirectory() as tmp:
                try:
                    export_store(ps, day, tmp)
                except ProgrammeNotStarted:
                    return None
                return (Path(tmp) / name).read_bytes()

        body = await run_in_threadpool(build)
        if body is None:
            return json_response({"error": "no programme started yet: gait programme start --profile {sciatica,general}"}, 409)
        if name.endswith(".html"):
            from dashboards.report import report_csp

            return Response(body, media_type="text/html; charset=utf-8",
                            headers={"content-security-policy": report_csp(body.decode("utf-8"))})
        stem = f"programme-{day.isoformat()}-{name}"
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{stem}"'})

    return [
        Route("/programme", page("programme")),
        Route("/checkin", page("checkin")),
        Route("/export", page("export")),
        Route("/api/programme/state", getter(state_payload)),
        Route("/api/programme/plan", getter(plan_payload)),
        Route("/api/programme/history", getter(history_payload)),
        Route("/api/programme/checkin", api_checkin, methods=["POST"]),
        Route("/api/programme/screen", api_screen, methods=["POST"]),
        Route("/api/programme/clear", api_clear, methods=["POST"]),
        Route("/api/programme/export/{name}", api_export),
        Route("/api/programme/focus", getter_ps(focus_payload)),
        Route("/api/programme/care", getter_ps(care_payload)),
        Route("/api/programme/timer", api_timer, methods=["POST"]),
        Route("/api/programme/yoga", api_yoga, methods=["POST"]),
        Route("/api/programme/shoes", api_shoes, methods=["POST"]),
    ]
