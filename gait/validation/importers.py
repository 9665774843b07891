"""`gait import`: the public data sets' own formats to CSV recordings (+ truth JSON).

    gait import rbds      SRC OUT   # RBDS marker/force text files -> virtual sacrum and shoe IMUs
    gait import ric       SRC OUT   # RIC C3D marker files -> virtual sacrum and shoe IMUs
    gait import alcantara SRC OUT   # real sacral accelerometer trials with force truth
    gait import adept     SRC OUT   # the 25-minute outdoor run (ankle and hip), no truth
    gait import phone     SRC OUT   # a phyphox or Sensor Logger export (zip, folder or CSV) -> OUT.csv

SRC is the data set's folder (e.g. ``data/rbds``) or the folder that holds it. Only the requested
data set is read (importing RIC also uses RBDS's force trials for its kinematic-method validation
when they are next to it, and notes their absence otherwise). Virtual sensors come with their
standing calibration recording (``<name>.static.csv``).

RBDS and Alcantara files are found by their name patterns (`gait.validation.dataset_files`), in a
folder of any name or as one file: any subject and speed (``RBDS<NNN>run<T><speed>markers.txt`` or
``RBDS<NNN>run<T><speed>.txt`` with ``RBDS<NNN>static.txt``; its ``...forces.txt`` is the contact
truth, and a run without it is imported with none, said in one line), the authors' tables under any
suffix (``Accelerometer_one_sub.csv`` ...) and their raw one-subject recording
(``Sample_test_data.csv``). What limits an import is one ``gait: note:`` line each; nothing usable is
one error line saying what was expected and what was found.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gait.core.errors import GaitError
from gait.validation import datasets
from gait.validation.dataset_files import alcantara_files, rbds_runs

FOLDERS = {"rbds": "rbds", "ric": "ric", "alcantara": "alcantara-sacral", "adept": "adept-outdoor-run"}


def _source_root(kind: str, source: Path) -> Path:
    folder = FOLDERS[kind]
    if (source / folder).is_dir():
        return source
    if source.name == folder or source.is_dir():
        # datasets.* look for <root>/<folder>; accept the data set's own folder under any name
        if source.name != folder:
            raise FileNotFoundError(f"{source}: expected a folder named {folder!r} (or one that contains it)")
        return source.parent
    raise FileNotFoundError(f"{source}: no such folder")


def _rbds_recordings(source: Path) -> tuple[list[datasets.Recording], list[str]]:
    runs, notes = rbds_runs(source)
    known = {run_f: subject for subject, (run_f, *_rest) in datasets.RBDS_TRIALS.items()}
    recordings = []
    for run in runs:
        name = known.get(run.markers.name, f"{run.subject}run{run.trial}")  # the validation set's names kept
        info = None if run.subject == "RBDS0041" else run.info  # RBDS0041 is not subject 4 of the table
        trial = datasets.load_rbds_files(name, run.markers, run.static, run.forces, run.speed_mps, info)
        if run.forces is None:
            notes.append(
                f"{run.markers.name}: no {run.subject}run{run.trial}forces.txt next to it, so no contact truth: "
                "virtual IMU recordings written without a truth file"
            )
        recordings += datasets.trial_recordings(trial)
    return recordings, notes


def _alcantara_recordings(source: Path) -> tuple[list[datasets.Recording], list[str]]:
    tables, raw, notes = alcantara_files(source)
    recordings = []
    for t in tables:
        recordings += datasets.alcantara_table_trials(t.accelerometer, t.grf, t.info, t.tag)
    for path in raw:
        recordings.append(datasets.alcantara_raw_recording(path))
        notes.append(f"{path.name}: a raw recording without force or foot strike data: written without truth")
    return recordings, notes


def import_files(kind: str, source: str | Path, out: str | Path) -> tuple[list[datasets.Trial], list[str]]:
    """Import a data set's files into ``out``: the recordings written, and one note per limit."""
    source = Path(source)
    notes: list[str] = []
    if kind == "rbds":
        recordings, notes = _rbds_recordings(source)
    elif kind == "alcantara":
        recordings, notes = _alcantara_recordings(source)
    elif kind == "ric":
        recordings = datasets.mocap_recordings(_source_root(kind, source), datasets=(kind,))
    else:
        recordings = datasets.adept_recordings(_source_root(kind, source))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [r.write(out) for r in recordings], notes


def import_dataset(kind: str, source: str | Path, out: str | Path) -> list[datasets.Trial]:
    return import_files(kind, source, out)[0]


def run_import(args: argparse.Namespace) -> int:
    try:
        trials, notes = import_files(args.kind, args.source, args.out)
    except (GaitError, OSError, ValueError, ImportError) as exc:  # ImportError: an optional reader missing
        print(f"gait: error: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"gait: note: {note}", file=sys.stderr)
    for t in trials:
        truth = f"  truth: {t.truth}" if t.truth else ""
        print(f"{t.csv}  ({t.placement}{' ' + t.side if t.side else ''}, {t.rate_hz:.0f} Hz){truth}")
    print(f"{len(trials)} recording(s) written to {args.out}", file=sys.stderr)
    return 0
