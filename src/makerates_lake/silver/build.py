"""Build silver from bronze (I/O): incremental runs and reprocessing.

* :func:`transform` reads the bronze rows whose extraction_id is not in
  ``silver.transform_log`` yet, and appends one commit per table. Appends skip
  extraction_ids a table already holds, so a run repeated after a crash between its
  commits writes only what is missing. The caller (:func:`~makerates_lake.gold.build.
  run_transform`) records the rows in the log with :func:`mark_transformed` once gold
  is built too.
* :func:`reprocess_silver` rebuilds the silver rows of the bronze rows extracted in a
  date range (or all), reading only bronze: zero API calls. Each table is replaced in
  one overwrite commit, so a reader sees the old or the new version, never a mix, and
  the old one stays readable by snapshot id (time travel).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

import polars as pl

from makerates_lake import store as storage
from makerates_lake.progress import StageProgress
from makerates_lake.silver.jump_window import jump_revision
from makerates_lake.silver.parse import BRONZE_COLUMNS
from makerates_lake.silver.pending import pending_bronze
from makerates_lake.silver.transform import SilverBatch, transform_bronze
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, at_least, at_most, below
from makerates_lake.store.tables import (
    BRONZE_EXTRACTIONS,
    SILVER_RATES,
    SILVER_REJECTS,
    SILVER_TRANSFORM_LOG,
)
from makerates_lake.store.types import RowFilter

T = TypeVar("T")

#: What :func:`transform` and :func:`rebuild_silver` count for ``on_progress``.
PROGRESS_STEP = "silver: bronze rows"

#: Columns of :attr:`SilverResult.done`.
_DONE_SCHEMA: dict[str, pl.DataType] = {
    "extraction_id": pl.String(),
    "extraction_timestamp": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class SilverResult:
    """What one silver build did.

    Attributes:
        extractions: Bronze rows transformed.
        rates: Rows written to ``silver.rates``.
        rejects: Rows written to ``silver.rejects``.
        first_date: Earliest rate date written (None when no rates).
        last_date: Latest rate date written.
        done: extraction_id and extraction_timestamp of the bronze rows transformed, for
            :func:`mark_transformed` once gold is built from them.
    """

    extractions: int
    rates: int
    rejects: int
    first_date: date | None
    last_date: date | None
    done: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=_DONE_SCHEMA), compare=False, repr=False
    )


def _result(bronze: pl.DataFrame, batch: SilverBatch, rates: int, rejects: int) -> SilverResult:
    dates = batch.rates.get_column("rate_date")
    return SilverResult(
        extractions=bronze.height,
        rates=rates,
        rejects=rejects,
        first_date=dates.min() if dates.len() else None,  # type: ignore[arg-type]
        last_date=dates.max() if dates.len() else None,  # type: ignore[arg-type]
        done=bronze.select(*_DONE_SCHEMA),
    )


def extraction_range(start: date | None, end: date | None) -> RowFilter | None:
    """Rows extracted from ``start`` (inclusive) to ``end`` (inclusive), UTC days."""
    parts: list[RowFilter] = []
    if start is not None:
        since = datetime.combine(start, time(), UTC).isoformat()
        parts.append(at_least("extraction_timestamp", since))
    if end is not None:
        until = datetime.combine(end + timedelta(days=1), time(), UTC).isoformat()
        parts.append(below("extraction_timestamp", until))
    return all_of(*parts) if parts else None


def transformed_ids(lake: Lake) -> pl.Series:
    """extraction_ids carried through silver and gold (in ``silver.transform_log``)."""
    logged = storage.read(lake, SILVER_TRANSFORM_LOG, columns=["extraction_id"])
    return logged.get_column("extraction_id").unique()


def mark_transformed(lake: Lake, done: pl.DataFrame, *, transform_version: int) -> int:
    """Record bronze rows as carried through silver and gold: the last commit of a run.

    Args:
        done: :attr:`SilverResult.done` of the run.
        transform_version: The version the run applied.

    Returns:
        Rows added to the log (rows already there are skipped).
    """
    if done.height == 0:
        return 0
    log = done.with_columns(
        pl.lit(transform_version, pl.Int32).alias("transform_version"),
        pl.lit(datetime.now(UTC)).dt.cast_time_unit("us").alias("transformed_at"),
        pl.lit(str(uuid.uuid4())).alias("run_id"),
    )
    return storage.append_new(
        lake,
        SILVER_TRANSFORM_LOG,
        log,
        within=_extracted_in(done.get_column("extraction_timestamp")),
    )


def _extracted_in(stamps: pl.Series) -> RowFilter:
    """Rows extracted from the first to the last of ``stamps``: where stored rows of the
    same bronze rows can only be (an extraction_id has one extraction_timestamp)."""
    first: datetime = stamps.min()  # type: ignore[assignment]
    last: datetime = stamps.max()  # type: ignore[assignment]
    return all_of(
        at_least("extraction_timestamp", first.isoformat()),
        at_most("extraction_timestamp", last.isoformat()),
    )


def _dated_in(dates: pl.Series) -> RowFilter:
    """Rows dated from the first to the last of ``dates``: where stored rows of the same
    bronze rows can only be (a bronze row's rates and their dates are a function of its
    bytes under one transform version)."""
    first: date = dates.min()  # type: ignore[assignment]
    last: date = dates.max()  # type: ignore[assignment]
    return all_of(at_least("rate_date", first.isoformat()), at_most("rate_date", last.isoformat()))


def _batch(
    lake: Lake,
    bronze: pl.DataFrame,
    transform_version: int,
    on_sorted: Callable[[pl.DataFrame], object] | None = None,
) -> SilverBatch:
    settings = lake.settings
    return transform_bronze(
        bronze,
        transform_version=transform_version,
        jump_threshold=settings.jump_threshold,
        stale_after=timedelta(hours=settings.stale_after_hours),
        on_sorted=on_sorted,
    )


def transform(
    lake: Lake,
    *,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    on_progress: StageProgress | None = None,
) -> SilverResult:
    """Transform the bronze rows not in the transform log; one append commit per table.

    The rows stay pending until :func:`mark_transformed` logs them (after gold).
    ``on_progress`` gets :data:`PROGRESS_STEP` with 0 of the pending rows once they are
    read, and all of them once both tables are committed.

    Raises:
        UnknownTransformVersionError: The version is not implemented.
        CommitConflictError: Concurrent writers won every commit attempt.
    """
    rules_for(transform_version)
    bronze = pending_bronze(lake)
    _report(on_progress, 0, bronze.height)
    if bronze.height == 0:
        return SilverResult(0, 0, 0, None, None)
    batch = _batch(lake, bronze, transform_version)
    revise = jump_revision(lake.settings.jump_threshold)
    rates = storage.append_new(
        lake,
        SILVER_RATES,
        batch.rates,
        revise=revise,
        within=_dated_in(batch.rates.get_column("rate_date")) if batch.rates.height else None,
    )
    rejects = storage.append_new(
        lake,
        SILVER_REJECTS,
        batch.rejects,
        within=(
            _extracted_in(batch.rejects.get_column("extraction_timestamp"))
            if batch.rejects.height
            else None
        ),
    )
    _report(on_progress, bronze.height, bronze.height)
    return _result(bronze, batch, rates, rejects)


def _report(on_progress: StageProgress | None, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(PROGRESS_STEP, done, total)


def _extracted_between(start: date | None, end: date | None) -> pl.Expr:
    """Polars twin of :func:`extraction_range` (always true without bounds)."""
    stamp = pl.col("extraction_timestamp")
    condition = pl.lit(True)
    if start is not None:
        condition &= stamp >= datetime.combine(start, time(), UTC)
    if end is not None:
        condition &= stamp < datetime.combine(end + timedelta(days=1), time(), UTC)
    return condition


def _bronze_in_range(lake: Lake, start: date | None, end: date | None) -> pl.DataFrame:
    """Bronze rows extracted ``start..end`` (UTC days), silver's columns only, in one scan."""
    lazy = storage.scan_files(
        lake,
        lake.table(BRONZE_EXTRACTIONS),
        row_filter=extraction_range(start, end),
        columns=BRONZE_COLUMNS,
    )
    if start is not None or end is not None:
        lazy = lazy.filter(_extracted_between(start, end))
    # One chunk per file otherwise (1,826 for five years), which makes every filter,
    # gather and string operation of the parse pay per chunk: copying once is cheaper.
    return lazy.collect().rechunk()


def rebuild_silver(
    lake: Lake,
    *,
    start: date | None = None,
    end: date | None = None,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    meanwhile: Callable[[pl.DataFrame], T] | None = None,
    on_progress: StageProgress | None = None,
) -> tuple[SilverResult, T | None]:
    """:func:`reprocess_silver`; ``meanwhile`` gets the new rates while they are written.

    ``on_progress`` is reported to as by :func:`transform`: none of the bronze rows in
    range once read, all of them once both tables are replaced.

    Gold is built from these rows (after a full rebuild they are all of silver) instead
    of reading 1.75 million rows back. ``meanwhile`` runs on a worker thread from the
    moment the rows are sorted, while the jump flags are computed and the Parquet files
    written: Polars and PyArrow release the GIL, so on two cores one overlaps the other.
    The rows it gets lack the flags (``is_jump`` is False, ``is_stale`` holds
    ``is_latest``); every other column is final.

    Returns:
        What silver did, and what ``meanwhile`` returned (None without it).
    """
    rules_for(transform_version)
    where = extraction_range(start, end)
    bronze = _bronze_in_range(lake, start, end)
    _report(on_progress, 0, bronze.height)
    properties = {"makerates.transform-version": str(transform_version)}
    # A full rebuild replaces every row, so its flags are already those of the whole
    # table; a range must agree with the rows around it that it does not replace.
    revise = (
        None
        if where is None
        else jump_revision(lake.settings.jump_threshold, replaced=_extracted_between(start, end))
    )

    def write(batch: SilverBatch) -> SilverResult:
        storage.overwrite(
            lake, SILVER_RATES, batch.rates, where=where, properties=properties, revise=revise
        )
        storage.overwrite(lake, SILVER_REJECTS, batch.rejects, where=where, properties=properties)
        _report(on_progress, bronze.height, bronze.height)
        return _result(bronze, batch, batch.rates.height, batch.rejects.height)

    if meanwhile is None:
        return write(_batch(lake, bronze, transform_version)), None
    with ThreadPoolExecutor(1, thread_name_prefix="silver-meanwhile") as pool:
        started: list[Future[T]] = []
        result = write(
            _batch(
                lake,
                bronze,
                transform_version,
                on_sorted=lambda rows: started.append(pool.submit(meanwhile, rows)),
            )
        )  # on an error, leaving the block still waits for meanwhile
        (extra,) = [future.result() for future in started]  # re-raises its error
    return result, extra


def reprocess_silver(
    lake: Lake,
    *,
    start: date | None = None,
    end: date | None = None,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
) -> SilverResult:
    """Rebuild silver for bronze rows extracted between ``start`` and ``end`` (default all).

    Reads bronze only; each table is replaced by one overwrite commit.

    Raises:
        UnknownTransformVersionError: The version is not implemented.
        CommitConflictError: Concurrent writers won every commit attempt.
    """
    result, _ = rebuild_silver(
        lake, start=start, end=end, transform_version=transform_version, meanwhile=None
    )
    return result
