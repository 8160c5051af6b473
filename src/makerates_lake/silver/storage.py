"""Iceberg I/O shared by silver and gold: read to Polars, append, overwrite, tag.

Every write is one commit per table. PyIceberg's SQL catalog does not retry a commit
that lost a race, so each write refreshes and retries; appends drop extraction_ids
that a concurrent writer committed meanwhile, so a race never duplicates rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TypeVar

import polars as pl
import pyarrow as pa
import stamina
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import (
    AlwaysTrue,
    BooleanExpression,
    Or,
)
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from makerates_lake.commit_lock import table_commit_lock
from makerates_lake.datafiles import write_data_files
from makerates_lake.errors import CommitConflictError
from makerates_lake.lake import Lake
from makerates_lake.tables import TableSpec
from makerates_lake.transaction import open_transaction

T = TypeVar("T")

#: Called under the commit lock with the refreshed table and the rows about to be
#: written; returns the rows to write instead and a filter of the existing rows they
#: replace (None: none). Silver uses it to recompute flags that depend on neighbouring
#: rows against what the table holds at commit time, not at read time.
Revision = Callable[[Table, pl.DataFrame], tuple[pl.DataFrame, BooleanExpression | None]]


def to_arrow(frame: pl.DataFrame, spec: TableSpec) -> pa.Table:
    """A frame as Arrow in the table's schema (names, types, required columns)."""
    schema = spec.schema.as_arrow()
    return frame.select(schema.names).to_arrow().cast(schema)


def scan(lake: Lake, spec: TableSpec, *, snapshot_id: int | None = None) -> pl.LazyFrame:
    """A lazy Polars scan of a table (now or at a snapshot).

    PyIceberg plans the files (partition and statistics pruning for the filters Polars
    pushes down); Polars reads them in parallel with projection. Reading the 1,826 day
    files of five years of bronze this way takes about a sixth of ``scan().to_arrow()``.
    """
    return scan_table(lake, lake.table(spec), snapshot_id=snapshot_id)


def scan_table(lake: Lake, table: Table, *, snapshot_id: int | None = None) -> pl.LazyFrame:
    """:func:`scan` of a table object already loaded (e.g. refreshed under a lock)."""
    return pl.scan_iceberg(
        table, snapshot_id=snapshot_id, storage_options=lake.storage_options() or None
    )


def scan_files(
    lake: Lake, table: Table, *, row_filter: BooleanExpression | None = None
) -> pl.LazyFrame:
    """:func:`scan_table` of the current snapshot, reading its Parquet files by name.

    Polars' Iceberg reader maps every column of every file by field id, which costs
    about a third of a second over the 1,826 day files of five years of bronze. A table
    that has only ever had one schema, whose files are all Parquet without delete
    files, holds exactly the columns and names of that schema, so Polars' plain
    Parquet reader gives the same rows. Any other table goes through
    :func:`scan_table`. ``row_filter`` only prunes files (partitions and statistics):
    filter the rows themselves on the frame.
    """
    from pyiceberg.manifest import FileFormat

    if len(table.metadata.schemas) != 1:
        return scan_table(lake, table)
    tasks = list(table.scan(row_filter=row_filter or AlwaysTrue()).plan_files())
    plain = tasks and all(
        not task.delete_files and task.file.file_format == FileFormat.PARQUET for task in tasks
    )
    if not plain:
        return scan_table(lake, table)
    return pl.scan_parquet(
        [_local_path(task.file.file_path) for task in tasks],
        hive_partitioning=False,
        storage_options=lake.storage_options() or None,
    )


def _local_path(location: str) -> str:
    """A ``file://`` location as a plain path: Polars then reads the file directly, where
    a URI goes through its object-store client (about three times slower for small files)."""
    return location.removeprefix("file://") if location.startswith("file:///") else location


def read(
    lake: Lake,
    spec: TableSpec,
    *,
    row_filter: BooleanExpression | None = None,
    columns: Sequence[str] | None = None,
    snapshot_id: int | None = None,
) -> pl.DataFrame:
    """Rows of a table (optionally filtered, projected or at a snapshot) as Polars."""
    if row_filter is None:
        lazy = scan(lake, spec, snapshot_id=snapshot_id)
        return (lazy.select(columns) if columns else lazy).collect()
    return read_table(lake.table(spec), row_filter, columns=columns, snapshot_id=snapshot_id)


def read_table(
    table: Table,
    row_filter: BooleanExpression,
    *,
    columns: Sequence[str] | None = None,
    snapshot_id: int | None = None,
) -> pl.DataFrame:
    """Rows of a table object matching ``row_filter``, read by PyIceberg, as Polars."""
    scan_ = table.scan(
        row_filter=row_filter,
        selected_fields=tuple(columns) if columns else ("*",),
        snapshot_id=snapshot_id,
    )
    frame = pl.from_arrow(scan_.to_arrow())
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a Table always gives a frame
        raise TypeError("expected a table")
    return frame


def write_files(table: Table, rows: pa.Table, spec: TableSpec) -> list[DataFile]:
    """Write ``rows`` as data files of ``table`` (no commit), with ``spec``'s Parquet layout.

    Silver and gold are partitioned by the year of a date column; rows sorted by that
    date are one run per year, written as zero-copy slices (see
    :mod:`makerates_lake.datafiles`).
    """
    return write_data_files(table.metadata, table.io, rows, spec.parquet)


def _commit_files(
    table: Table,
    files: list[DataFile],
    *,
    where: BooleanExpression | None,
    properties: dict[str, str],
) -> None:
    """One snapshot: drop the rows matching ``where`` (None: none) and add ``files``."""
    with open_transaction(table) as transaction:
        if where is not None and table.current_snapshot() is not None:
            with warnings.catch_warnings():
                # Replacing rows that are not there (a first build of a date range) is
                # normal here, not the mistake PyIceberg warns about.
                warnings.filterwarnings("ignore", "Delete operation did not match any records")
                transaction.delete(delete_filter=where, snapshot_properties=properties)
        if files:
            with transaction.update_snapshot(snapshot_properties=properties).fast_append() as add:
                for data_file in files:
                    add.append_data_file(data_file)


def append_new(
    lake: Lake, spec: TableSpec, frame: pl.DataFrame, *, revise: Revision | None = None
) -> int:
    """Append rows whose extraction_id the table does not hold yet, in one commit.

    The check and the commit happen under the table's commit lock, so two processes
    transforming the same bronze rows at once store them once: the second one sees the
    first one's ids and writes nothing. ``revise`` (see :data:`Revision`) may rewrite
    existing rows in the same commit.

    Returns:
        Rows written.

    Raises:
        CommitConflictError: Other writers won every attempt.
    """

    def attempt() -> int:
        table = lake.table(spec, refresh=True)
        present = _present_ids(lake, table, frame.get_column("extraction_id"))
        fresh = frame.join(present, on="extraction_id", how="anti") if present.height else frame
        if fresh.height:
            rows, replaced = revise(table, fresh) if revise is not None else (fresh, None)
            files = write_files(table, to_arrow(rows, spec), spec)
            _commit_files(table, files, where=replaced, properties={})
        return fresh.height

    if frame.height == 0:
        return 0
    return _commit(lake, spec, attempt)


def _present_ids(lake: Lake, table: Table, ids: pl.Series) -> pl.DataFrame:
    """The ``ids`` the table holds at its current snapshot (one ``extraction_id`` column).

    Silver's files are years of rate dates, and a batch's ids (time-ordered, or random
    version 4 ids in lakes from before) span them all, so min/max pruning would keep
    nearly every file anyway: Polars reads the id columns in parallel and matches with a
    hash set, where an Iceberg ``IN`` filter of thousands of literals costs a second to
    bind and evaluate.
    """
    snapshot = table.current_snapshot()
    if snapshot is None:  # a first write: nothing to look for (nor to make ids unique for)
        return pl.DataFrame(schema={"extraction_id": pl.String})
    stored = scan_table(lake, table, snapshot_id=snapshot.snapshot_id)
    return (
        stored.select("extraction_id")
        .filter(pl.col("extraction_id").is_in(ids.unique().implode()))
        .unique()
        .collect()
    )


def overwrite(
    lake: Lake,
    spec: TableSpec,
    frame: pl.DataFrame,
    *,
    where: BooleanExpression | None = None,
    properties: dict[str, str] | None = None,
    revise: Revision | None = None,
) -> int | None:
    """Replace the rows matching ``where`` (default: all) by ``frame``, in one commit.

    Without ``revise`` the data files are written once, before the commit lock is
    taken, and a lost race only repeats the (cheap) commit. With it (see
    :data:`Revision`) they are written under the lock, from the revised rows.

    Returns:
        The table's snapshot id after the commit.
    """
    replace = where if where is not None else AlwaysTrue()
    files = (
        None if revise else write_files(lake.table(spec, refresh=True), to_arrow(frame, spec), spec)
    )

    def attempt() -> int | None:
        table = lake.table(spec, refresh=True)
        condition = replace
        written = files
        if written is None:
            assert revise is not None  # files are only deferred for a revision
            rows, also = revise(table, frame)
            written = write_files(table, to_arrow(rows, spec), spec)
            condition = replace if also is None else Or(replace, also)
        _commit_files(table, written, where=condition, properties=properties or {})
        snapshot = table.current_snapshot()
        return None if snapshot is None else snapshot.snapshot_id

    return _commit(lake, spec, attempt)


def _commit(lake: Lake, spec: TableSpec, attempt: Callable[[], T]) -> T:
    tries = 0
    try:
        for retry in stamina.retry_context(
            on=CommitFailedException,
            attempts=lake.settings.commit_retry_attempts,
            wait_initial=0.05,
            wait_max=2.0,
            wait_jitter=0.5,
        ):
            # Our own writers queue on the lock instead of racing; the retry loop is
            # for writers that do not take it.
            with retry, table_commit_lock(lake, spec.identifier):
                tries += 1
                return attempt()
    except CommitFailedException as exc:
        raise CommitConflictError(
            "commit kept losing to concurrent writers",
            table=spec.identifier,
            attempts=tries,
            cause=str(exc),
        ) from None
    raise CommitConflictError("no commit attempt was made", table=spec.identifier)


def tag_snapshot(lake: Lake, spec: TableSpec, name: str, snapshot_id: int | None = None) -> None:
    """Point tag ``name`` at a snapshot (default: the current one), moving it if it exists.

    A tag is a commit like any other: it takes the table's commit lock, or a writer
    committing meanwhile (a transform, ``maintain``) would lose its race to it.
    """

    def attempt() -> None:
        table = lake.table(spec, refresh=True)
        target = snapshot_id
        if target is None:
            current = table.current_snapshot()
            if current is None:
                return
            target = current.snapshot_id
        manage = table.manage_snapshots()
        if name in table.metadata.refs:
            manage = manage.remove_tag(name)
        manage.create_tag(target, name).commit()  # moved in one commit

    _commit(lake, spec, attempt)


def current_snapshot_id(lake: Lake, spec: TableSpec) -> int | None:
    """The table's current snapshot id, or None when it was never written."""
    snapshot = lake.table(spec, refresh=True).current_snapshot()
    return None if snapshot is None else snapshot.snapshot_id
