"""The programme's records in the local store (schema v3 tables ``programme_*``).

    with ProgrammeStore.open(data_dir) as ps:      # or ProgrammeStore(store) on an open Store
        ps.add_checkin(CheckIn(day, "morning", Pain(2, 3, 1)))
        history = ps.history()                     # everything, as the pure rules' records

The records are health data: they stay in the local SQLite file. Nothing here sends anything
anywhere; export is an explicit command (`gait.programme.export`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gait.programme.care import FootwearLog, ShoeStart, Timer, YogaEntry
from gait.programme.pain import CheckIn, Pain
from gait.programme.plan import History, OffRun, SessionLog, SessionResult, Start
from gait.programme.redflags import Clearance, Screen
from gait.storage.local import Store


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class ProgrammeStore:
    """The programme's tables of one `gait.storage.Store` (the caller's, or one it opens)."""

    def __init__(self, store: Store, *, owned: bool = False):
        self.store = store
        self._owned = owned

    @classmethod
    def open(cls, data_dir: str | Path | None = None) -> ProgrammeStore:
        return cls(Store(data_dir, recover=False), owned=True)

    def close(self) -> None:
        if self._owned:
            self.store.close()

    def __enter__(self) -> ProgrammeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes -------------------------------------------------------------------------------
    def _insert(self, table: str, values: Mapping[str, Any]) -> int:
        cols = [*values, "created_at"]
        with self.store.transaction() as c:
            cur = c.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            (*values.values(), time.time()))
            return int(cur.lastrowid or 0)

    def add_start(self, start: Start) -> int:
        return self._insert("programme_starts", {"day": start.day.isoformat(), "profile": start.profile,
                                                 "stage": start.stage, "limits_json": json.dumps(dict(start.limits))})

    def add_checkin(self, c: CheckIn) -> int:
        return self._insert("programme_checkins", {
            "day": c.day.isoformat(), "moment": c.when, "back_nrs": c.pain.back_nrs, "leg_nrs": c.pain.leg_nrs,
            "leg_extent": c.pain.leg_extent, "new_numbness": int(c.new_numbness), "new_weakness": int(c.new_weakness),
            "calf_nrs": c.calf_nrs, "achilles_nrs": c.achilles_nrs})

    def add_screen(self, s: Screen) -> int:
        return self._insert("programme_screens", {"day": s.day.isoformat(), "answers_json": json.dumps(dict(s.answers))})

    def add_clearance(self, c: Clearance) -> int:
        return self._insert("programme_clearances", {"day": c.day.isoformat(), "note": c.note})

    def add_session(self, s: SessionLog) -> int:
        return self._insert("programme_sessions", {"day": s.day.isoformat(), "stage": s.stage, "kind": s.kind,
                                                   "completed": int(s.completed), "running_min": s.running_min})

    def add_timer(self, t: Timer) -> int:
        return self._insert("programme_timers", {"day": t.day.isoformat(), "kind": t.kind,
                                                 "planned_min": t.planned_min, "started_at": t.started_at_s})

    def add_yoga(self, e: YogaEntry) -> int:
        return self._insert("programme_yoga", {"day": e.day.isoformat(), "minutes": float(e.minutes),
                                               "setting": e.setting, "pain_nrs": e.pain_nrs,
                                               "new_leg_symptoms": int(e.new_leg_symptoms)})

    def add_shoe_start(self, s: ShoeStart) -> int:
        return self._insert("programme_shoe_starts", {"day": s.day.isoformat(), "surface": s.surface,
                                                      "soles_numb": int(s.soles_numb),
                                                      "foot_bone_injury_12m": int(s.foot_bone_injury_12m)})

    def add_footwear(self, g: FootwearLog) -> int:
        return self._insert("programme_footwear", {"day": g.day.isoformat(), "footwear": g.footwear,
                                                   "activity": g.activity, "minutes": float(g.minutes),
                                                   "foot_pain_nrs": g.foot_pain_nrs, "bone_spot": int(g.bone_spot)})

    def save_zones(self, results: Iterable[SessionResult]) -> None:
        """Cache the classes the rules computed (the rules stay the source of truth)."""
        rows = {(r.day.isoformat(), r.stage, r.kind): r.zone for r in results}
        with self.store.transaction() as c:
            for (day, stage, kind), zone in rows.items():
                c.execute("UPDATE programme_sessions SET zone = ? WHERE day = ? AND stage = ? AND kind = ?",
                          (zone, day, stage, kind))

    # --- reads --------------------------------------------------------------------------------
    # ``seq`` is one counter across the tables (created_at order) so same-day events keep their order.
    def history(self) -> History:
        conn = self.store.conn
        rows: list[tuple[float, str, tuple]] = []
        for table, cols in (
            ("programme_starts", "day, profile, stage, limits_json"),
            ("programme_checkins", "day, moment, back_nrs, leg_nrs, leg_extent, new_numbness, new_weakness, calf_nrs, "
                                   "achilles_nrs"),
            ("programme_screens", "day, answers_json"),
            ("programme_clearances", "day, note"),
            ("programme_sessions", "day, stage, kind, completed, running_min"),
            ("programme_yoga", "day, minutes, setting, pain_nrs, new_leg_symptoms"),
            ("programme_footwear", "day, footwear, activity, minutes, foot_pain_nrs, bone_spot"),
        ):
            for r in conn.execute(f"SELECT created_at, id, {cols} FROM {table}"):
                rows.append((r[0], table, r[1:]))
        rows.sort(key=lambda r: (r[0], r[2][0]))
        starts, checkins, screens, clearances, sessions = [], [], [], [], []
        offrun: list[OffRun] = []
        for seq, (_, table, r) in enumerate(rows, start=1):
            if table == "programme_starts":
                starts.append(Start(_day(r[1]), r[2], int(r[3]), json.loads(r[4] or "{}"), seq))
            elif table == "programme_checkins":
                other = max((int(v) for v in (r[8], r[9]) if v is not None), default=None)
                checkins.append(CheckIn(_day(r[1]), r[2], Pain(int(r[3]), int(r[4]), None if r[5] is None else int(r[5]),
                                                               other), bool(r[6]), bool(r[7]), seq,
                                        None if r[8] is None else int(r[8]), None if r[9] is None else int(r[9])))
            elif table == "programme_screens":
                screens.append(Screen(_day(r[1]), json.loads(r[2]), seq))
            elif table == "programme_clearances":
                clearances.append(Clearance(_day(r[1]), r[2], seq))
            elif table == "programme_sessions":
                sessions.append(SessionLog(_day(r[1]), int(r[2]), r[3], bool(r[4]), float(r[5]), seq))
            else:  # yoga and foot checks: off-run reports for the traffic light
                o = (_yoga(r, seq) if table == "programme_yoga" else _footwear(r, seq)).offrun()
                if o is not None:
                    offrun.append(o)
        return History(tuple(starts), tuple(checkins), tuple(screens), tuple(clearances), tuple(sessions),
                       tuple(offrun))

    def care(self) -> Care:
        """The records of the care around the run (timers, yoga, minimal-shoe starts, footwear)."""
        conn = self.store.conn
        rows: list[tuple[float, str, tuple]] = []
        for table, cols in (("programme_timers", "day, kind, planned_min, started_at"),
                            ("programme_yoga", "day, minutes, setting, pain_nrs, new_leg_symptoms"),
                            ("programme_shoe_starts", "day, surface, soles_numb, foot_bone_injury_12m"),
                            ("programme_footwear", "day, footwear, activity, minutes, foot_pain_nrs, bone_spot")):
            for r in conn.execute(f"SELECT created_at, id, {cols} FROM {table}"):
                rows.append((r[0], table, r[1:]))
        rows.sort(key=lambda r: (r[0], r[2][0]))
        care = Care()
        for seq, (_, table, r) in enumerate(rows, start=1):
            if table == "programme_timers":
                care.timers.append(Timer(_day(r[1]), r[2], float(r[3]), float(r[4]), seq))
            elif table == "programme_yoga":
                care.yoga.append(_yoga(r, seq))
            elif table == "programme_shoe_starts":
                care.shoe_starts.append(ShoeStart(_day(r[1]), r[2], bool(r[3]), bool(r[4]), seq))
            else:
                care.footwear.append(_footwear(r, seq))
        return care


@dataclass
class Care:
    timers: list[Timer] = field(default_factory=list)
    yoga: list[YogaEntry] = field(default_factory=list)
    shoe_starts: list[ShoeStart] = field(default_factory=list)
    footwear: list[FootwearLog] = field(default_factory=list)


def _yoga(r: tuple, seq: int) -> YogaEntry:
    return YogaEntry(_day(r[1]), float(r[2]), r[3], None if r[4] is None else int(r[4]), bool(r[5]), seq)


def _footwear(r: tuple, seq: int) -> FootwearLog:
    return FootwearLog(_day(r[1]), r[2], r[3], float(r[4]), None if r[5] is None else int(r[5]), bool(r[6]), seq)
