"""The programme export holds all of it: the diary and classes, the retraining focus and its values,
the care records; each file opens with the red-flag summary."""

from __future__ import annotations

import csv

from gait.cli import main


def test_export_has_the_focus_and_the_care_records(tmp_path, capsys):
    def gait(*argv: str) -> int:
        return main(["programme", *argv, "--data-dir", str(tmp_path), "--date", "2025-06-02"])

    assert gait("start", "--profile", "general", "--stage", "7") == 0
    assert gait("focus", "--start", "cadence", "--baseline-spm", "158") == 0
    assert gait("heat", "--minutes", "15", "--skin-numb", "no") == 0
    assert gait("heat", "--minutes", "15", "--skin-numb", "yes") == 2  # refused on numb skin: not recorded
    assert gait("yoga", "--minutes", "30", "--class") == 0
    out = tmp_path / "export"
    assert gait("export", "--out", str(out)) == 0

    def rows(name: str) -> list[dict]:
        with (out / name).open(encoding="utf-8") as f:
            text = f.read()
        assert text.startswith("# ") and "both legs" in text.split("\n\n")[0]
        return list(csv.DictReader(x for x in text.splitlines() if not x.startswith("#")))

    focus = rows("focus.csv")
    assert [(r["metric"], r["record"], r["value"]) for r in focus] == [("cadence", "start", "158")]
    care = rows("care.csv")
    assert [r["what"] for r in care] == ["heat timer", "yoga (class)"] and care[0]["minutes"] == "15"
    page = (out / "programme.html").read_text(encoding="utf-8")
    assert "Form focus" in page and "heat timer" in page and page.index("both legs") < page.index("Pain diary")


def test_calf_and_achilles_count_as_pain_while_landing_is_the_focus(tmp_path, capsys):
    from gait.programme.pain import Pain, SessionPain, classify

    # the pain-monitoring rules hold for a tendon too: above 5 during a run is red, not settled by morning is red
    base = Pain(1, 1, 0, 1)
    assert classify(SessionPain(pre=base, during=(Pain(1, 1, 0, 6),), morning=base, baseline=base), "general") == "red"
    assert classify(SessionPain(pre=base, during=(Pain(1, 1, 0, 4),), morning=base, baseline=base), "general") == "amber"
    assert classify(SessionPain(pre=base, during=(Pain(1, 1, 0, 2),), morning=Pain(1, 1, 0, 3), baseline=base),
                    "general") == "red"  # fmt: skip
    assert classify(SessionPain(pre=base, during=(Pain(1, 1, 0, 1),), morning=base, baseline=base), "general") == "green"

    def gait(*argv: str, day: str = "2025-06-02") -> int:
        return main(["programme", *argv, "--data-dir", str(tmp_path), "--date", day])

    assert gait("start", "--profile", "general", "--stage", "3") == 0
    assert gait("checkin", "--when", "after", "--back", "1", "--leg", "1", "--calf", "3", "--achilles", "6") == 0
    assert "calf 3, Achilles 6" in capsys.readouterr().out
    out = tmp_path / "export"
    assert gait("export", "--out", str(out)) == 0
    with (out / "diary.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(x for x in f if not x.startswith("#")))
    assert (rows[0]["calf_nrs"], rows[0]["achilles_nrs"]) == ("3", "6")
