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
