"""A scripted 12-week history through the command line: the retraining ladder walked as the spec
predicts (a failed probe repeats sessions 5-8; a red within 14 days blocks the next focus)."""

from __future__ import annotations

import datetime as dt
import json

from gait.cli import main

D0 = dt.date(2025, 6, 2)


def test_twelve_weeks_walk_the_ladder(tmp_path, capsys):
    d = ["--data-dir", str(tmp_path)]

    def run(n: int, *args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["programme", *args, *d, "--date", (D0 + dt.timedelta(days=n)).isoformat()])
        return code, capsys.readouterr().out

    def status(n: int) -> dict:
        code, out = run(n, "status", "--json")
        assert code == 0
        return json.loads(out)

    assert run(0, "start", "--profile", "general", "--stage", "7")[0] == 0
    assert run(0, "screen", "--yes", "")[0] == 0
    assert status(0)["focus"] is None
    assert run(0, "focus", "--start", "cadence", "--baseline-spm", "181", "--delta-pct", "12")[0] == 2  # cap 10 %
    code, out = run(0, "focus", "--start", "cadence", "--baseline-spm", "160", "--json")
    assert code == 0 and json.loads(out)["focus"]["target"] == 168.0
    assert run(0, "focus", "--start", "lean", "--baseline", "5")[0] == 2  # one focus at a time

    events: list[tuple[int, str]] = []
    red_day = None
    for n in range(0, 84):
        run(n, "checkin", "--when", "morning", "--back", "1", "--leg", "1")
        st = status(n)
        if st["today"]["kind"] not in ("run", "walk-run"):
            continue
        run(n, "checkin", "--when", "pre", "--back", "1", "--leg", "1")
        f = st["focus"]
        if f and f["phase"] == "block" and n > 0:  # day 0: the baseline run, before the block
            events.append((n, f"s{f['session']}:{f['feedback_fraction']}"))
        hurt = f is not None and f["metric"] == "cadence" and f["round"] == 2 and f["phase"] == "probes" \
            and red_day is None
        run(n, "checkin", "--when", "after", "--back", "1" if not hurt else "6", "--leg", "1")
        assert run(n, "session", "--completed")[0] == 0
        if hurt:
            red_day = n
        f = status(n)["focus"]
        if f and f["probe_due"]:
            value = "163" if (f["probe_due"] == "7d" and f["round"] == 1) else "167"
            code, out = run(n, "probe", "--value", value, "--json")
            assert code == 0, out
            events.append((n, f"probe {f['probe_due']} r{f['round']} {value}"))
            f = json.loads(out)["focus"]
        if f and f["metric"] == "cadence" and f["passed_7d"]:
            code, _ = run(n, "focus", "--start", "lean", "--baseline", "5")
            events.append((n, "lean started" if code == 0 else "lean refused"))
            if code == 0:
                break
    labels = [e for _, e in events]
    block1 = labels[:8]
    assert block1 == ["s1:1.0", "s2:1.0", "s3:1.0", "s4:1.0", "s5:0.75", "s6:0.5", "s7:0.25", "s8:0.0"]
    assert "probe end r1 167" in labels and "probe 7d r1 163" in labels
    i = labels.index("probe 7d r1 163")
    assert labels[i + 1:i + 5] == ["s5:0.75", "s6:0.5", "s7:0.25", "s8:0.0"]  # sessions 5-8 once more
    assert "probe 7d r2 167" in labels and red_day is not None
    assert "lean refused" in labels and labels[-1] == "lean started"
    refused = [n for n, e in events if e == "lean refused"]
    started = [n for n, e in events if e == "lean started"][0]
    assert all(n - red_day < 14 for n in refused) and started - red_day >= 14
    assert started <= 84
    f = status(started)["focus"]
    assert f["metric"] == "lean" and f["session"] == 1 and f["feedback_fraction"] == 1.0
    code, out = run(started, "review", "--json")
    assert code == 0 and json.loads(out)["caption"] == "An association in your own data, not proof of cause."
