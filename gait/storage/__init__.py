"""Storage: the embedded local store (SQLite), its non-blocking sink, and export/import.

Storage sits above the pipeline and the coach in the one-way data flow: it imports the core
records only, never a pipeline stage, a device or a dashboard. Export (CSV, Parquet, FIT) lives
in `gait.storage.export` and imports its optional libraries (pyarrow, garmin-fit-sdk) lazily.
"""

from gait.storage.local import (
    RawFileRef,
    RunInfo,
    RunSummary,
    SpeedSample,
    Split,
    StepColumns,
    Store,
    TrendPoint,
    default_data_dir,
)
from gait.storage.schema import (
    QUALITY_BITS,
    RUN_CLOSED,
    RUN_INTERRUPTED,
    RUN_OPEN,
    SCHEMA_VERSION,
    SchemaError,
    migrate,
)
from gait.storage.sink import SinkStats, StoreSink

__all__ = [
    "QUALITY_BITS",
    "RUN_CLOSED",
    "RUN_INTERRUPTED",
    "RUN_OPEN",
    "SCHEMA_VERSION",
    "RawFileRef",
    "RunInfo",
    "RunSummary",
    "SchemaError",
    "SinkStats",
    "SpeedSample",
    "Split",
    "StepColumns",
    "Store",
    "StoreSink",
    "TrendPoint",
    "default_data_dir",
    "migrate",
]
