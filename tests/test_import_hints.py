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


def test_a_command_whose_package_is_missing_says_what_to_install(tmp_path, monkeypatch, capsys):
    # as after `pip install --no-deps` on a phone: the dashboards' web framework is not there
    monkeypatch.setitem(sys.modules, "starlette", None)
    for name in [m for m in sys.modules if m.startswith(("starlette.", "dashboards.server"))]:
        monkeypatch.delitem(sys.modules, name)
    code = main(["dashboard", "--port", "0", "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err == "gait: error: this command needs the Python package starlette, which is not installed: pip install 'starlette'\n"
