"""Importing public data sets: a missing optional reader is one line with the install command."""

from __future__ import annotations

import sys

from gait.cli import main
from tests.conftest import data_dir


def test_import_ric_without_the_c3d_reader_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "c3d", None)  # as on a machine without the validation extra
    code = main(["import", "ric", str(data_dir("ric")), str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and "pip install 'gait-form[validation]'" in err and ".c3d" in err
