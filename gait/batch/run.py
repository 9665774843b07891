"""Many recordings analysed: one process, a local Dask cluster, or an existing one.

    report = run_batch([AnalysisRequest(p) for p in paths], out_dir="out/batch")
    report.results[0].records      # the analysis-contract records of the first file

Every file is one task running `gait.batch.analysis.analyse_file` (the function `gait analyze`
runs on one file), so a batch gives what `gait analyze PATH --jsonl` gives, file by file. A file
that fails is a row with its error, never the end of the batch.

Where the tasks run: ``scheduler`` (an address) is an existing `dask.distributed` cluster; else,
with the ``cluster`` extra installed, a local cluster of ``jobs`` worker processes (default: one
per core) started for the batch; ``jobs=1``, a single pending file, or no Dask: one after another
in this process. Dask is imported only here, and only then.

With ``out_dir``: ``steps/recording=<id>/part-0.parquet``, one Parquet partition per recording
(the contract's columns plus ``placement``, ``device`` and ``config_hash``; the recording id is
the partition's name; the file's path, SHA-256 and the config hash in the schema metadata
``gait.batch``), and ``summary.parquet``, one row per recording. A recording whose partition holds
the same config hash and file content is skipped (status ``skipped``); a partition is written
whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gait.batch.analysis import (
    CAPTURE_SUFFIX,
    RECORDING_SUFFIXES,
    AnalysisRequest,
    analyse_file,
    analysis_version,
    file_digest,
    is_capture,
    planned_hash,
)
from gait.core import step_fields
from gait.core.errors import GaitError

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"

STEPS_DIR = "steps"
PARTITION_FILE = "part-0.parquet"
SUMMARY_FILE = "summary.parquet"
META_KEY = b"gait.batch"
EXTRA_COLUMNS = ("placement", "device", "config_hash")  # beside the contract's, in every partition
SUMMARY_COLUMNS = ("recording", "path", "kind", "placement", "steps", "cadence_spm", "gct_ms", "vo_cm",
                   "quality_ok_pct", "status", "error", "config_hash", "seconds")  # fmt: skip
CLUSTER_INSTALL = "pip install -e '.[cluster]'"
MAX_ERROR = 300


class BatchSetupError(GaitError):
    """The batch cannot run at all (no Dask for --scheduler, the scheduler unreachable)."""


@dataclass(frozen=True)
class Job:
    index: int  # the request's position
    recording_id: str
    request: AnalysisRequest


@dataclass
class FileResult:
    """One recording's outcome, as a worker returns it (small and picklable)."""

    index: int
    recording_id: str
    path: str
    status: str
    error: str = ""
    kind: str = ""
    config_hash: str = ""
    records: list[dict] = field(default_factory=list)
    placements: list[str] = field(default_factory=list)
    devices: list[str | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class BatchReport:
    results: list[FileResult]
    mode: str  # how it ran: "one process", "local cluster, 2 workers", "scheduler tcp://..."
    seconds: float
    out_dir: Path | None = None

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, GaitError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text[:MAX_ERROR]


def analyse_job(job: Job) -> FileResult:
    """A worker's task: one file through `analyse_file`; a failure is a result, never raised."""
    path = job.request.path
    try:
        fa = analyse_file(job.request)
    except Exception as exc:  # noqa: BLE001 - one failing file is a row of the summary
        kind = "capture" if str(path).lower().endswith(CAPTURE_SUFFIX) else "csv"
        return FileResult(job.index, job.recording_id, path, FAILED, one_line(exc), kind)
    return FileResult(job.index, job.recording_id, path, OK, "", fa.kind, fa.config_hash, fa.records(),
                      fa.placements, fa.devices, fa.warnings, fa.seconds)  # fmt: skip


# ------------------------------------------------------------------------------ recording ids
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def recording_name(path: str | Path) -> str:
    """A file's name without its recording suffix, safe as a folder name."""
    name = Path(path).name
    for suffix in RECORDING_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _UNSAFE.sub("_", name).strip("._") or "recording"


def _absolute(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def assign_ids(requests: Sequence[AnalysisRequest], out_dir: Path | None, names: Sequence[str | None] = ()) -> list[str]:
    """Each request's recording id: its file name (without suffix), or ``names[i]`` when given;
    made unique with a digest of the file's path when the name is taken in this batch, or in
    ``out_dir`` by another file."""
    ids: list[str] = []
    claimed: set[str] = set()
    for i, req in enumerate(requests):
        given = names[i] if i < len(names) else None
        rid = _UNSAFE.sub("_", given) if given else recording_name(req.path)
        path = _absolute(req.path)
        taken = rid in claimed
        if not taken and out_dir is not None and not given:
            meta = partition_meta(out_dir, rid)
            taken = meta is not None and meta.get("path") != path
        if taken:
            key = f"{path}#{i}" if given else path
            rid = f"{rid}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
        claimed.add(rid)
        ids.append(rid)
    return ids


# ------------------------------------------------------------------------------ Parquet output
def _pa() -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def steps_schema() -> Any:
    """The partition's columns: the contract's keys (`gait.core.step_fields`) and `EXTRA_COLUMNS`."""
    pa, _ = _pa()
    types = {step_fields.TIME: pa.float64(), step_fields.FLOAT: pa.float64(), step_fields.TEXT: pa.string(),
             step_fields.CLASS: pa.string(), step_fields.FLAGS: pa.list_(pa.string())}  # fmt: skip
    fields = [
        pa.field(k, types[step_fields.FIELD_BY_NAME[k].kind], nullable=step_fields.FIELD_BY_NAME[k].kind != step_fields.TIME)
        for k in step_fields.CONTRACT_KEYS
    ]
    fields += [pa.field("placement", pa.string(), nullable=False), pa.field("device", pa.string()),
               pa.field("config_hash", pa.string(), nullable=False)]  # fmt: skip
    return pa.schema(fields)


def partition_path(out_dir: Path, recording_id: str) -> Path:
    return Path(out_dir) / STEPS_DIR / f"recording={recording_id}" / PARTITION_FILE


def partition_meta(out_dir: Path, recording_id: str) -> dict | None:
    """The ``gait.batch`` metadata of a recording's partition (None: none, or unreadable)."""
    p = partition_path(out_dir, recording_id)
    if not p.is_file():
        return None
    _, pq = _pa()
    try:
        meta = pq.read_schema(p).metadata or {}
        return json.loads(meta[META_KEY])
    except Exception:  # noqa: BLE001 - a broken partition is analysed again
        return None


def write_partition(out_dir: Path, res: FileResult, sha256: str) -> Path:
    pa, pq = _pa()
    schema = steps_schema()
    columns: dict[str, list] = {k: [r.get(k) for r in res.records] for k in step_fields.CONTRACT_KEYS}
    columns["placement"] = list(res.placements)
    columns["device"] = list(res.devices)
    columns["config_hash"] = [res.config_hash] * len(res.records)
    meta = {"recording": res.recording_id, "path": _absolute(res.path), "kind": res.kind, "sha256": sha256,
            "config_hash": res.config_hash, "version": analysis_version()}  # fmt: skip
    table = pa.table(columns, schema=schema).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    final = partition_path(out_dir, res.recording_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{PARTITION_FILE}.{os.getpid()}.tmp")  # dot files are not part of the dataset
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, final)
    return final


def read_partition(out_dir: Path, recording_id: str) -> tuple[list[dict], list[str], list[str | None]]:
    """A partition's contract records, placements and devices."""
    _, pq = _pa()
    rows = pq.read_table(partition_path(out_dir, recording_id)).to_pylist()
    keys = step_fields.CONTRACT_KEYS
    return [{k: r[k] for k in keys} for r in rows], [r["placement"] for r in rows], [r["device"] for r in rows]


def read_steps(out_dir: str | Path) -> Any:
    """The steps dataset of ``out_dir`` as one pyarrow Table (``recording`` read as text)."""
    import pyarrow.dataset as ds

    pa, _ = _pa()
    part = ds.partitioning(pa.schema([("recording", pa.string())]), flavor="hive")
    return ds.dataset(Path(out_dir) / STEPS_DIR, format="parquet", partitioning=part).to_table()


def summary_row(res: FileResult) -> dict[str, Any]:
    def median(key: str) -> float | None:
        vals = [r[key] for r in res.records if r.get(key) is not None]
        return float(statistics.median(vals)) if vals else None

    n = len(res.records)
    return {
        "recording": res.recording_id,
        "path": res.path,
        "kind": res.kind,
        "placement": "+".join(dict.fromkeys(res.placements)) or None,
        "steps": n,
        "cadence_spm": median("cadence_spm"),
        "gct_ms": median("gct_ms"),
        "vo_cm": median("vo_cm"),
        "quality_ok_pct": 100.0 * sum(not r.get("quality") for r in res.records) / n if n else None,
        "status": res.status,
        "error": res.error or None,
        "config_hash": res.config_hash or None,
        "seconds": round(res.seconds, 3),
    }


def write_summary(out_dir: Path, results: Sequence[FileResult]) -> Path:
    pa, pq = _pa()
    rows = [summary_row(r) for r in results]
    types = {"steps": pa.int64(), "cadence_spm": pa.float64(), "gct_ms": pa.float64(), "vo_cm": pa.float64(),
             "quality_ok_pct": pa.float64(), "seconds": pa.float64()}  # fmt: skip
    schema = pa.schema([pa.field(c, types.get(c, pa.string())) for c in SUMMARY_COLUMNS])
    table = pa.table({c: [r[c] for r in rows] for c in SUMMARY_COLUMNS}, schema=schema)
    path = Path(out_dir) / SUMMARY_FILE
    tmp = path.with_name(f".{SUMMARY_FILE}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def summary_text(report: BatchReport) -> str:
    def f(v: Any, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    rows = [summary_row(r) for r in report.results]
    width = max([9, *(len(r["recording"]) for r in rows)])
    lines = [f"{'recording':<{width}} {'placement':<9} {'steps':>5} {'cad spm':>7} {'GCT ms':>6} {'VO cm':>5} "
             f"{'ok %':>5}  status"]  # fmt: skip
    for r in rows:
        status = r["status"] + (f": {r['error']}" if r["error"] else "")
        lines.append(
            f"{r['recording']:<{width}} {(r['placement'] or '-'):<9} {r['steps']:>5} {f(r['cadence_spm'], '7.1f')} "
            f"{f(r['gct_ms'], '6.0f')} {f(r['vo_cm'], '5.1f')} {f(r['quality_ok_pct'], '5.0f')}  {status}"
        )
    steps = sum(r["steps"] for r in rows if r["status"] == OK)
    lines.append(
        f"{len(rows)} recordings: {report.count(OK)} analysed ({steps} steps), {report.count(SKIPPED)} skipped "
        f"(done before with the same config), {report.count(FAILED)} failed; {report.seconds:.1f} s, {report.mode}"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------ progress
class FileProgress:
    """Recordings done out of the batch's, on stderr: a bar redrawn in place on a terminal,
    else a line at every tenth of the batch."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30):
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.t0 = time.perf_counter()
        self.done = self.failed = 0
        self._tenth = 0
        self._drawn = False

    def update(self, res: FileResult) -> None:
        self.done += 1
        self.failed += res.status == FAILED
        if res.status == FAILED:
            self.say(f"gait: warning: {res.path}: failed, skipped: {res.error}")
        elapsed = time.perf_counter() - self.t0
        text = f"{self.done}/{self.total} recordings, {self.failed} failed, {elapsed:.1f} s"
        if self.tty:
            fill = int(round(self.width * self.done / self.total))
            self.stream.write(f"\r[{'#' * fill}{'-' * (self.width - fill)}] {text}")
            self._drawn = True
        elif self.done * 10 // self.total > self._tenth or self.done == self.total:
            self._tenth = self.done * 10 // self.total
            self.stream.write(f"gait: {text}\n")
        self.stream.flush()

    def say(self, line: str) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


# ------------------------------------------------------------------------------ where it runs
def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _sequential(jobs: Sequence[Job]) -> Iterator[FileResult]:
    for job in jobs:
        yield analyse_job(job)


def _on_dask(jobs: Sequence[Job], scheduler: str | None, workers: int) -> Iterator[FileResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler is not None:
            client = Client(scheduler, timeout="15s")
        else:
            # on this machine only; no dashboard, and the scheduler's HTTP endpoint on a free port (not 8787)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.CRITICAL)  # fmt: skip
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        where = f"the dask scheduler at {scheduler}" if scheduler else "a local dask cluster"
        raise BatchSetupError(f"cannot reach {where}: {one_line(exc)}") from exc
    try:
        futures = client.map(analyse_job, list(jobs), pure=False)
        job_of = {f.key: j for f, j in zip(futures, jobs)}
        for fut in as_completed(futures):
            job = job_of[fut.key]
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died on it, or could not run it
                yield FileResult(job.index, job.recording_id, job.request.path, FAILED, one_line(exc))
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_batch(
    requests: Sequence[AnalysisRequest],
    *,
    out_dir: str | Path | None = None,
    scheduler: str | None = None,
    jobs: int | None = None,
    redo: bool = False,
    names: Sequence[str | None] = (),
    progress: TextIO | None | bool = None,
    say: Callable[[str], None] | None = None,
) -> BatchReport:
    """Analyse ``requests`` (see the module's text); the results in the requests' order.
    ``redo``: analyse every recording again, even one done before with the same config and file
    and code (e.g. after upgrading a numerical library). ``names``: recording ids to use
    instead of the file names. ``progress``: the stream for the
    progress bar (None: stderr; False: none). ``say``: where notes go (default: stderr).
    Raises `BatchSetupError` when the batch cannot run at all."""
    t0 = time.perf_counter()
    say = say or (lambda line: print(line, file=sys.stderr))
    out = Path(out_dir) if out_dir is not None else None
    ids = assign_ids(requests, out, names)
    results: list[FileResult | None] = [None] * len(requests)
    digests: dict[int, str] = {}
    pending: list[Job] = []
    for i, (req, rid) in enumerate(zip(requests, ids)):
        job = Job(i, rid, req)
        if out is None:
            pending.append(job)
            continue
        try:
            digests[i] = file_digest(req.path)
            meta = partition_meta(out, rid)
            done = not redo and meta is not None and meta.get("sha256") == digests[i] and meta.get("config_hash") == planned_hash(req)
        except Exception as exc:  # noqa: BLE001 - unreadable, or a config that cannot be: the file fails
            results[i] = FileResult(i, rid, req.path, FAILED, one_line(exc), "capture" if is_capture(req.path) else "csv")
            say(f"gait: warning: {req.path}: failed, skipped: {results[i].error}")
            continue
        if done:
            records, placements, devices = read_partition(out, rid)
            results[i] = FileResult(i, rid, req.path, SKIPPED, "", meta.get("kind", ""), meta["config_hash"], records,
                                    placements, devices)  # fmt: skip
        else:
            pending.append(job)

    workers = max(1, min(jobs or os.cpu_count() or 1, len(pending)))
    if not pending:
        mode, stream = "nothing to analyse", _sequential(())
    elif scheduler is not None:
        if not dask_available():
            raise BatchSetupError(f"--scheduler needs dask.distributed: {CLUSTER_INSTALL}")
        mode, stream = f"scheduler {scheduler}", _on_dask(pending, scheduler, workers)
    elif workers > 1 and dask_available():
        mode, stream = f"local cluster, {workers} worker processes", _on_dask(pending, None, workers)
    else:
        if workers > 1:
            say(f"gait: note: dask is not installed ({CLUSTER_INSTALL}): the recordings are analysed one after another")
        mode, stream = "one process", _sequential(pending)

    bar_to = progress if not isinstance(progress, bool) else None
    bar = None if progress is False or not pending else FileProgress(len(pending), bar_to)
    try:
        for res in stream:
            if out is not None and res.status == OK:
                try:
                    write_partition(out, res, digests[res.index])
                except Exception as exc:  # noqa: BLE001 - a disk error on one partition fails that file
                    res.status, res.error = FAILED, f"writing its partition: {one_line(exc)}"
            results[res.index] = res
            if bar is not None:
                bar.update(res)
    finally:
        if bar is not None:
            bar.close()
    final = [r for r in results if r is not None]
    report = BatchReport(final, mode, time.perf_counter() - t0, out)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_summary(out, final)
    return report
