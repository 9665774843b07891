"""`gait analyze` with many inputs or ``--out DIR``: the batch on the command line.

Inputs are files, folders (every ``.csv``, ``.csv.gz`` and ``.gcap`` below them, in name order)
and glob patterns (``'runs/**/*.csv'``, quoted so the shell leaves them); each file once.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path
from typing import TextIO

from gait.batch.analysis import RECORDING_SUFFIXES, AnalysisOptions, AnalysisRequest
from gait.batch.run import FAILED, BatchSetupError, run_batch, summary_text

GLOB_CHARS = "*?["


def options_from_args(args: argparse.Namespace) -> AnalysisOptions:
    return AnalysisOptions(
        placement=args.placement,
        side=args.side,
        speed_mps=args.speed_mps,
        calibration=getattr(args, "calibration", None),
        acc_range_g=getattr(args, "acc_range_g", None),
        config=getattr(args, "config", None),
    )


def _is_pattern(text: str) -> bool:
    return any(c in text for c in GLOB_CHARS) and not Path(text).exists()


def is_many(text: str) -> bool:
    """An input that names many files: a folder or a glob pattern."""
    return Path(text).is_dir() or _is_pattern(text)


def _recordings_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.name.lower().endswith(RECORDING_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )  # fmt: skip


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files in the order given (a folder's and a pattern's sorted), each once; an input that
    matches nothing stays as given (its analysis then fails and says so)."""
    out: list[str] = []
    seen: set[Path] = set()

    def add(p: Path | str) -> None:
        key = Path(p).expanduser().resolve()
        if key not in seen:
            seen.add(key)
            out.append(str(p))

    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            for p in _recordings_in(path):
                add(p)
        elif _is_pattern(text):
            matches = sorted(glob.glob(str(path), recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            for m in files or [text]:
                add(m)
        else:
            add(text)
    return out


def batch_analyze(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """The batch for ``gait analyze``: 0 when every recording was analysed (or skipped as done),
    1 when one failed (reported, the others analysed), 2 when the batch cannot run."""
    out = out if out is not None else sys.stdout
    if args.jsonl:
        what = "a folder" if len(args.paths) == 1 and Path(args.paths[0]).is_dir() else "many recordings"
        print(f"gait: error: {' '.join(args.paths)}: {what}; --jsonl takes one recording, many go to --out DIR "
              "(a Parquet dataset of steps)", file=sys.stderr)  # fmt: skip
        return 2
    paths = expand_inputs(args.paths)
    if not paths:
        print("gait: error: no recordings found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    options = options_from_args(args)
    try:
        report = run_batch([AnalysisRequest(p, options) for p in paths], out_dir=args.out,
                           scheduler=args.scheduler, jobs=args.jobs, redo=getattr(args, "redo", False))  # fmt: skip
    except BatchSetupError as exc:
        print(f"gait: error: {exc}", file=sys.stderr)
        return 2
    print(summary_text(report), file=out)
    if args.out is not None:
        print(f"steps: {Path(args.out) / 'steps'}  summary: {Path(args.out) / 'summary.parquet'}", file=out)
    return 1 if report.count(FAILED) else 0
