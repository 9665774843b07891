"""Public data sets of real runners: fetched on first use, checked by SHA-256, never committed.

The registry ``data/datasets.toml`` names each data set with its licence, citation and files
(original address and SHA-256). :func:`fetch` makes the files of the data sets asked for present in
one folder, laid out as the registry's ``path`` values (``rbds/RBDS001runT25markers.txt``, ...):

* the user cache folder (``$GAIT_DATA_CACHE``, else the platform's cache folder + ``gait/datasets``)
  keeps what was fetched; a file already there with the right SHA-256 is used as it is;
* a missing file is downloaded from its original address (with ``pooch``), or, when
  ``$GAIT_DATA_MIRROR`` names a folder, copied from that folder (same layout): the way to work on a
  machine without internet;
* every file is checked against its SHA-256 before it is used. What is fetched, and from where, is
  said on ``log`` (stderr by default), one line per file.

Failures are one :class:`DataUnavailable` line naming the file, where it was looked for, and what
to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gait.core.errors import GaitError

REGISTRY_PATH = Path(__file__).resolve().parents[1] / "data" / "datasets.toml"
MIRROR_ENV = "GAIT_DATA_MIRROR"
CACHE_ENV = "GAIT_DATA_CACHE"
Log = Callable[[str], None]


class DataUnavailable(GaitError):
    """A registered data file could not be had (no internet and no mirror, a bad checksum, ...)."""


@dataclass(frozen=True)
class DataFile:
    path: str  # place in the cache and in a mirror, e.g. "rbds/RBDS001static.txt"
    url: str
    sha256: str


@dataclass(frozen=True)
class DataSet:
    name: str
    title: str
    licence: str
    licence_url: str
    citation: str
    source: str
    changes: str
    files: tuple[DataFile, ...]

    def attribution(self) -> str:
        """One line for wherever the data is used: what, who to cite, under which licence."""
        return f"{self.name}: {self.citation.rstrip('.')}. Licence {self.licence} ({self.licence_url}); {self.changes}."


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def registry(path: str | Path | None = None) -> dict[str, DataSet]:
    """The data sets of ``data/datasets.toml`` (or ``path``), by name."""
    path = Path(path) if path else REGISTRY_PATH
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataUnavailable(f"{path}: the data set registry is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataUnavailable(f"{path}: not a valid registry ({exc})") from None
    out: dict[str, DataSet] = {}
    for name, d in doc.items():
        try:
            files = tuple(DataFile(f["path"], f["url"], f["sha256"].lower()) for f in d["files"])
            out[name] = DataSet(name, d["title"], d["licence"], d["licence_url"], d["citation"], d["source"],
                                d["changes"], files)  # fmt: skip
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataUnavailable(f"{path}: data set {name!r} lacks {exc}") from None
    return out


def cache_dir() -> Path:
    """Where fetched files are kept: ``$GAIT_DATA_CACHE``, else the user cache folder + gait/datasets."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # the platform's cache folder (pooch's os_cache is the same)

    return platformdirs.user_cache_path("gait") / "datasets"


def mirror_dir() -> Path | None:
    env = os.environ.get(MIRROR_ENV)
    return Path(env).expanduser() if env else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(
    names: Iterable[str] | None = None,
    *,
    log: Log | None = _stderr,
    sets: dict[str, DataSet] | None = None,
    cache: Path | None = None,
) -> Path:
    """Make every file of the data sets ``names`` (all when None) present and verified; return the
    folder that holds them (layout: the registry's ``path`` values)."""
    sets = registry() if sets is None else sets
    wanted = select(sets, names)
    root = cache or cache_dir()
    mirror = mirror_dir()
    for name in wanted:
        for f in sets[name].files:
            _fetch_file(f, root, mirror, log)
    return root


def select(sets: dict[str, DataSet], names: Iterable[str] | None) -> list[str]:
    """``names`` (all when None or empty), each checked against the registry."""
    wanted = list(names or sets)
    unknown = [n for n in wanted if n not in sets]
    if unknown:
        raise DataUnavailable(f"unknown data set {', '.join(unknown)}; registered: {', '.join(sets)}")
    return wanted


def cached_mb(ds: DataSet, cache: Path | None = None) -> float:
    """How much of ``ds`` is in the cache, in MB."""
    root = cache or cache_dir()
    return sum((root / f.path).stat().st_size for f in ds.files if (root / f.path).is_file()) / 1e6


def dataset_dir(name: str, log: Log | None = _stderr) -> Path:
    """The folder of one data set, fetched if needed."""
    return fetch([name], log=log) / name


def attribution(names: Iterable[str], sets: dict[str, DataSet] | None = None) -> list[str]:
    sets = registry() if sets is None else sets
    return [sets[n].attribution() for n in names if n in sets]


def _fetch_file(f: DataFile, root: Path, mirror: Path | None, log: Log | None) -> Path:
    target = root / f.path
    if target.is_file() and sha256_of(target) == f.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)  # what a broken earlier fetch left
    if mirror is not None:
        src = mirror / f.path
        if log:
            log(f"copying {f.path} from the mirror {mirror} (${MIRROR_ENV})")
        if not src.is_file():
            raise DataUnavailable(
                f"{src}: not in the mirror ${MIRROR_ENV}={mirror}; put the file there (original: {f.url}) "
                f"or unset {MIRROR_ENV} to download it"
            )
        shutil.copyfile(src, partial)
    else:
        if log:
            log(f"downloading {f.path} from {f.url}")
        _download(f, partial)
    got = sha256_of(partial)
    if got != f.sha256:
        partial.unlink(missing_ok=True)
        where = mirror / f.path if mirror is not None else f.url
        raise DataUnavailable(f"{where}: SHA-256 {got} is not the registered {f.sha256}; the file is not the "
                              "published one (replace it, or report a moved original)")  # fmt: skip
    os.replace(partial, target)
    return target


def _download(f: DataFile, out: Path) -> None:
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # this module says what it fetches, once
    try:
        # known_hash=None: pooch writes the bytes; the check is ours (one message for mirror and web)
        pooch.retrieve(f.url, known_hash=None, fname=out.name, path=out.parent, progressbar=False)
    except (requests.RequestException, OSError, ValueError) as exc:
        out.unlink(missing_ok=True)
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            reason = f"HTTP {exc.response.status_code}"
        elif isinstance(exc, requests.ConnectionError):
            reason = "no connection"
        elif isinstance(exc, requests.Timeout):
            reason = "timed out"
        else:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise DataUnavailable(
            f"cannot download {f.path} from {f.url} ({reason}); without internet, set "
            f"{MIRROR_ENV}=FOLDER to a copy laid out as data/datasets.toml's paths"
        ) from None
