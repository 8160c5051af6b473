"""Which bronze rows silver has not transformed yet, at a cost that does not grow with
the history.

Bronze's rows are counted (its snapshot summary) against the transform log's. Usually
the difference is exactly the rows appended since the last run: the newest appends are
read and, when they hold that many pending rows, those are the answer. Otherwise (a run
that crashed long ago, compaction in between) bronze is partitioned by extraction day
and the log holds each row's extraction time, so a day whose bronze rows (by the
manifests) number what the log holds for it has nothing pending: only the other days
are read. Counts could hide a pending row only if bronze lost as many logged rows (a
purge of rows past their retention) at the same time, in the same day. A bronze table
not partitioned by day falls back to comparing every id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from makerates_lake import store as storage
from makerates_lake.silver.parse import BRONZE_COLUMNS
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, any_of, at_least, below, is_in
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, SILVER_TRANSFORM_LOG


def pending_bronze(lake: Lake) -> pl.DataFrame:
    """Bronze rows silver has not transformed yet, found without reading all of bronze
    (see the module docstring)."""
    done = storage.read(
        lake, SILVER_TRANSFORM_LOG, columns=["extraction_id", "extraction_timestamp"]
    )
    if done.is_empty():  # a first run: every bronze row, in one scan
        return storage.read(lake, BRONZE_EXTRACTIONS, columns=BRONZE_COLUMNS)
    logged = done.get_column("extraction_id").unique()
    total = storage.total_rows(lake, BRONZE_EXTRACTIONS)
    if total is not None and total == logged.len():
        return pl.DataFrame(schema=_bronze_schema())
    if total is not None and total > logged.len():
        newest = storage.newest_appended_rows(
            lake, BRONZE_EXTRACTIONS, total - logged.len(), columns=BRONZE_COLUMNS
        )
        if newest is not None:
            pending = newest.filter(~pl.col("extraction_id").is_in(logged.implode()))
            if pending.height == total - logged.len():
                return pending
    days = _days_with_pending(lake, done)
    if days is None:
        return _pending_by_ids(lake, done.get_column("extraction_id").unique())
    if not days:
        return pl.DataFrame(schema=_bronze_schema())
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    row_filter = any_of(
        *(
            all_of(
                at_least("extraction_timestamp", (epoch + timedelta(days=day)).isoformat()),
                below("extraction_timestamp", (epoch + timedelta(days=day + 1)).isoformat()),
            )
            for day in days
        )
    )
    rows = storage.read(lake, BRONZE_EXTRACTIONS, row_filter=row_filter, columns=BRONZE_COLUMNS)
    return rows.filter(~pl.col("extraction_id").is_in(done.get_column("extraction_id").implode()))


def _days_with_pending(lake: Lake, done: pl.DataFrame) -> list[int] | None:
    """Bronze day partitions (days since 1970-01-01) whose row count differs from the
    log's, or None when bronze is not partitioned by one day number."""
    counts = storage.partition_rows(lake, BRONZE_EXTRACTIONS)
    if counts is None or any(len(key) != 1 or not isinstance(key[0], int) for key in counts):
        return None
    bronze: dict[int, int] = {}
    for key, rows in counts.items():
        day = key[0]
        if isinstance(day, int):
            bronze[day] = bronze.get(day, 0) + rows
    logged = (
        done.unique("extraction_id")
        .group_by(pl.col("extraction_timestamp").dt.date().cast(pl.Int32).alias("day"))
        .len()
    )
    held = dict(
        zip(logged.get_column("day").to_list(), logged.get_column("len").to_list(), strict=True)
    )
    return sorted(day for day, rows in bronze.items() if rows != held.get(day, 0))


def _pending_by_ids(lake: Lake, done: pl.Series) -> pl.DataFrame:
    """Bronze rows whose id is not in ``done``, found by reading every bronze id."""
    ids = storage.read(lake, BRONZE_EXTRACTIONS, columns=["extraction_id", "extraction_timestamp"])
    todo = ids.filter(~pl.col("extraction_id").is_in(done.implode()))
    if todo.height == 0:
        return pl.DataFrame(schema=_bronze_schema())
    if todo.height == ids.height:
        return storage.read(lake, BRONZE_EXTRACTIONS, columns=BRONZE_COLUMNS)
    first: datetime = todo.get_column("extraction_timestamp").min()  # type: ignore[assignment]
    last: datetime = todo.get_column("extraction_timestamp").max()  # type: ignore[assignment]
    # The time range prunes the scan to the bronze day partitions holding pending rows.
    row_filter = all_of(
        is_in("extraction_id", todo.get_column("extraction_id").to_list()),
        at_least("extraction_timestamp", first.isoformat()),
        below("extraction_timestamp", (last + timedelta(microseconds=1)).isoformat()),
    )
    return storage.read(lake, BRONZE_EXTRACTIONS, row_filter=row_filter, columns=BRONZE_COLUMNS)


def _bronze_schema() -> pl.Schema:
    empty = pl.from_arrow(BRONZE_EXTRACTIONS.schema.as_arrow().empty_table())
    if not isinstance(empty, pl.DataFrame):  # pragma: no cover - a Table always gives a frame
        raise TypeError("expected a table")
    return empty.select(BRONZE_COLUMNS).schema
