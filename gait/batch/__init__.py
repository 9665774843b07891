"""Batch analysis: many recordings (CSV recordings and capture files) into one Parquet dataset of
steps and a summary table, on a local Dask cluster, an existing one, or one process.

`gait.batch.analysis` analyses one file (what `gait analyze PATH` runs), `gait.batch.run` runs
many and writes the outputs, `gait.batch.command` is `gait analyze` with many inputs or ``--out``.
Dask and pyarrow are imported only when a batch runs.
"""
