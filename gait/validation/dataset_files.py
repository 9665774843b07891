"""Which files of a public data set are there: found by pattern, in a folder or as one file.

The same authors publish their files under more names than the set this project validates with:

* RBDS (Fukuchi et al., figshare and regifukuchi/BMC-RIC-running-biomechanics): per subject
  ``RBDS<NNN>static.txt`` (standing trial), per run ``RBDS<NNN>run<T><speed>markers.txt`` and
  ``...forces.txt`` (``T25`` = treadmill 2.5 m/s; ``T35``, ``T45``), and variants without the
  ``markers`` suffix and with a repeat digit (``RBDS0041runT252.txt`` + ``RBDS0041runT252forces.txt``);
  ``RBDS<NNN>processed.txt`` (gait-cycle averages) and the ``RBDSinfo`` table are not recordings.
  A run is usable with its markers and its subject's standing trial; its forces are the contact
  truth (without them the virtual sensors are made with no truth).
* Alcantara et al. (alcantarar/Recurrent_GRF_Prediction): tables ``Accelerometer<suffix>.csv`` with
  ``GRF<suffix>.csv`` and ``Sub_Info<suffix>.csv`` (``_trials01-20``, ``_one_sub`` or no suffix), and a
  raw one-subject recording ``Sample_test_data.csv`` (columns ``Accel_LN_X,Y,Z`` and a time in ms).

Nothing usable is one `DatasetFilesError` line: what was expected and what was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gait.core.errors import GaitError


class DatasetFilesError(GaitError):
    """A data set's folder or file holds nothing that can be imported (one line: expected vs found)."""


def _found(files: list[Path], limit: int = 12) -> str:
    if not files:
        return "nothing"
    names = sorted(f.name for f in files)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _listing(source: Path) -> tuple[Path, list[Path]]:
    """The folder to look in and its files (``source`` itself when it is a file)."""
    if not source.exists():
        raise DatasetFilesError(f"{source}: no such file or folder")
    folder = source if source.is_dir() else source.parent
    return folder, sorted(p for p in folder.iterdir() if p.is_file())


# ============================================================================ RBDS

RBDS_RUN = re.compile(r"^(?P<subject>RBDS\d+)run(?P<trial>[A-Za-z0-9]*?)(?P<kind>markers|forces)?\.txt$", re.I)
RBDS_STATIC = re.compile(r"^(?P<subject>RBDS\d+)static\.txt$", re.I)
RBDS_PROCESSED = re.compile(r"^RBDS\d+processed\.txt$", re.I)
RBDS_EXPECTED = (
    "expected RBDS<NNN>run<T><speed>markers.txt (or RBDS<NNN>run<T><speed>.txt) with RBDS<NNN>static.txt, "
    "and RBDS<NNN>run<T><speed>forces.txt for contact truth"
)


@dataclass(frozen=True)
class RbdsRun:
    """One RBDS run's files (``forces`` None: no contact truth)."""

    subject: str  # "RBDS001"
    trial: str  # what follows "run" in the file name: "T25", "T252"
    markers: Path
    static: Path
    forces: Path | None
    speed_mps: float | None  # from the trial code: T25 -> 2.5
    info: Path | None  # an RBDSinfo table next to the files, if any


def _rbds_speed(trial: str) -> float | None:
    m = re.search(r"(\d)(\d)", trial)
    return int(m.group(1)) + int(m.group(2)) / 10.0 if m else None


def rbds_runs(source: str | Path) -> tuple[list[RbdsRun], list[str]]:
    """The usable RBDS runs in ``source`` (a folder, a folder holding ``rbds/``, or one run's file)
    and one note per run that cannot be used. Nothing usable: `DatasetFilesError`."""
    source = Path(source)
    if source.is_dir() and (source / "rbds").is_dir():
        source = source / "rbds"
    folder, files = _listing(source)
    runs: dict[tuple[str, str], dict[str, Path]] = {}
    statics: dict[str, Path] = {}
    for f in files:
        if m := RBDS_RUN.match(f.name):
            kind = (m.group("kind") or "markers").lower()
            runs.setdefault((m.group("subject"), m.group("trial")), {})[kind] = f
        elif m := RBDS_STATIC.match(f.name):
            statics[m.group("subject")] = f
    infos = sorted(f for f in files if f.name.lower().startswith("rbdsinfo") and f.suffix.lower() == ".txt")
    info = next((f for f in infos if "v2" in f.name.lower()), infos[0] if infos else None)
    if source.is_file():
        if RBDS_STATIC.match(source.name):
            raise DatasetFilesError(
                f"{source}: a standing (static) trial, not a run: give a run's markers file or the folder ({RBDS_EXPECTED})"
            )
        if RBDS_PROCESSED.match(source.name):
            raise DatasetFilesError(
                f"{source}: gait-cycle-normalised averages, not a recording: give a run's markers file or the folder "
                f"({RBDS_EXPECTED})"
            )
        m = RBDS_RUN.match(source.name)
        if m is None:
            raise DatasetFilesError(f"{source}: not an RBDS file name ({RBDS_EXPECTED})")
        runs = {k: v for k, v in runs.items() if k == (m.group("subject"), m.group("trial"))}
    out: list[RbdsRun] = []
    notes: list[str] = []
    for (subject, trial), parts in sorted(runs.items()):
        markers, forces = parts.get("markers"), parts.get("forces")
        if markers is None:
            notes.append(
                f"{forces.name}: no markers file ({subject}run{trial}markers.txt or {subject}run{trial}.txt) "
                "next to it: skipped"
            )
            continue
        static = statics.get(subject)
        if static is None:
            notes.append(
                f"{markers.name}: no standing trial {subject}static.txt next to it (it sets the sensor frames and "
                "the standing calibration): skipped"
            )
            continue
        out.append(RbdsRun(subject, trial, markers, static, forces, _rbds_speed(trial), info))
    if not out:
        why = f" ({'; '.join(notes)})" if notes else ""
        raise DatasetFilesError(f"{source}: no complete RBDS run: {RBDS_EXPECTED}; found {_found(files)}{why}")
    return out, notes


# ============================================================================ Alcantara

ALC_TABLE = re.compile(r"^(?P<kind>Accelerometer|GRF|Sub_Info)(?P<suffix>.*)\.csv$", re.I)
ALC_EXPECTED = (
    "expected Accelerometer*.csv (with GRF*.csv for contact truth and Sub_Info*.csv for speed and slope) or a raw "
    "recording with columns Accel_LN_X,Accel_LN_Y,Accel_LN_Z and a time in ms (like Sample_test_data.csv)"
)


@dataclass(frozen=True)
class AlcantaraTables:
    """One set of the authors' tables (``grf`` None: no contact truth; ``info`` None: no speed)."""

    accelerometer: Path
    grf: Path | None
    info: Path | None
    tag: str  # for the recording names: "" for the data set's own _trials01-20 tables, else the suffix


def _is_raw_recording(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return all(a in header for a in ("Accel_LN_X", "Accel_LN_Y", "Accel_LN_Z"))


def _tag(suffix: str) -> str:
    if suffix.lower() in ("", "_trials01-20"):
        return ""
    return re.sub(r"[^a-z0-9]+", "_", suffix.lower()).strip("_")


def alcantara_files(source: str | Path) -> tuple[list[AlcantaraTables], list[Path], list[str]]:
    """The authors' table sets and raw recordings in ``source`` (a folder, a folder holding
    ``alcantara-sacral/``, or one file), with one note per thing that limits them (no GRF: no
    truth; no Sub_Info: no speed). Nothing usable: `DatasetFilesError`."""
    source = Path(source)
    if source.is_dir() and (source / "alcantara-sacral").is_dir():
        source = source / "alcantara-sacral"
    folder, files = _listing(source)
    tables: dict[str, dict[str, Path]] = {}
    raw: list[Path] = []
    for f in files:
        if (m := ALC_TABLE.match(f.name)) and not _is_raw_recording(f):
            tables.setdefault(m.group("suffix").lower(), {})[m.group("kind").lower()] = f
        elif f.suffix.lower() == ".csv" and _is_raw_recording(f):
            raw.append(f)
    if source.is_file():
        m = ALC_TABLE.match(source.name)
        if source in raw:
            tables = {}
            raw = [source]
        elif m is not None:
            tables = {k: v for k, v in tables.items() if k == m.group("suffix").lower()}
            raw = []
        else:
            raise DatasetFilesError(f"{source}: not one of the Alcantara files ({ALC_EXPECTED})")
    sets: list[AlcantaraTables] = []
    notes: list[str] = []
    for suffix, parts in sorted(tables.items()):
        acc = parts.get("accelerometer")
        if acc is None:
            have = ", ".join(sorted(p.name for p in parts.values()))
            notes.append(f"{have}: no Accelerometer{suffix}.csv next to it (the signals): skipped")
            continue
        grf, info = parts.get("grf"), parts.get("sub_info")
        if grf is None:
            notes.append(f"{acc.name}: no GRF{suffix}.csv next to it: recordings written without contact truth")
        if info is None:
            notes.append(f"{acc.name}: no Sub_Info{suffix}.csv next to it: no speed, slope or mass with the recordings")
        sets.append(AlcantaraTables(acc, grf, info, _tag(suffix)))
    if not sets and not raw:
        why = f" ({'; '.join(notes)})" if notes else ""
        raise DatasetFilesError(f"{source}: no Alcantara recordings: {ALC_EXPECTED}; found {_found(files)}{why}")
    return sets, raw, notes
