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
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gait.validation import datasets

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


def import_dataset(kind: str, source: str | Path, out: str | Path) -> list[datasets.Trial]:
    root = _source_root(kind, Path(source))
    if kind in ("rbds", "ric"):
        recordings = datasets.mocap_recordings(root, datasets=(kind,))
    elif kind == "alcantara":
        recordings = datasets.alcantara_trials(root)
    else:
        recordings = datasets.adept_recordings(root)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [r.write(out) for r in recordings]


def run_import(args: argparse.Namespace) -> int:
    try:
        trials = import_dataset(args.kind, args.source, args.out)
    except (FileNotFoundError, OSError, ValueError, ImportError) as exc:  # ImportError: an optional reader missing
        print(f"gait: error: {exc}", file=sys.stderr)
        return 2
    for t in trials:
        truth = f"  truth: {t.truth}" if t.truth else ""
        print(f"{t.csv}  ({t.placement}{' ' + t.side if t.side else ''}, {t.rate_hz:.0f} Hz){truth}")
    print(f"{len(trials)} recording(s) written to {args.out}", file=sys.stderr)
    return 0
