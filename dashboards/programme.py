"""The programme pages of the dashboards: ``/programme``, ``/checkin``, ``/export`` and their JSON.

Presentation only: the rules, the records and the words are the programme's (`gait.programme`);
this module reads its store through the programme's API, writes check-ins and red-flag answers
through the same store, and shows the results.

    routes = programme_routes(data_dir, static_root, token=None, today=datetime.date.today)

JSON: ``GET /api/programme/state`` (state, lock, messages, the red-flag summary, the questions),
``GET /api/programme/plan`` (today's and the next session), ``GET /api/programme/history``
(sessions with their class, stage changes, check-ins, screens, clinician reviews),
``POST /api/programme/checkin``, ``POST /api/programme/screen``, ``POST /api/programme/clear``,
``GET /api/programme/export/{diary.csv|sessions.csv|stages.csv|flags.csv|programme.html}``.

Safety of a page on 127.0.0.1 (any web page the runner visits can send requests to it):

- the dashboard's Host check and Origin check (`dashboards.server.SecurityMiddleware`) hold for
  every write: a request from another origin is refused;
- a write that could lower a safety state is refused when it carries no ``Origin`` header (a
  script, another program), unless the dashboard runs with its token (then every request carries
  it): a screen answered all "no", and any check-in or screen after which the programme's own
  rules give a milder state or allow a session kind they did not allow before. Raising safety (a
  "yes" to a red flag, a high pain score) is accepted from the page itself;
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gait.programme import ProgrammeError, ProgrammeNotStarted, phrases, walkrun
from gait.programme.export import FILES as EXPORT_FILES
from gait.programme.export import export as write_export
from gait.programme.pain import EXTENT_WORDS, MOMENTS, CheckIn, Pain
from gait.programme.plan import EMERGENCY, RUN_KINDS, URGENT, History, ProgrammeStatus, evaluate
from gait.programme.redflags import QUESTION_BY_ID, QUESTIONS, Clearance, Screen, fold_lock, screen_level
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

    async def api_export(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in EXPORT_FILES:
            return json_response({"error": f"unknown export; one of {', '.join(EXPORT_FILES)}"}, 404)
        day = day_of()

        def build() -> bytes | None:
            with ProgrammeStore.open(data_dir) as ps:
                hist = ps.history()
            try:
                st = evaluate(hist, day)
            except ProgrammeNotStarted:
                return None
            with tempfile.TemporaryDirectory() as tmp:
                write_export(hist.until(day), st, tmp)
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
    ]
