"""Reading a table in bounded batches of whole data files, for work that streams.

A reprocess reads every bronze row; reading them in one frame makes its memory grow
with the history. :func:`read_in_batches` plans the current snapshot's files once and
reads them a group at a time, each group at most ``max_rows`` rows by the manifests'
record counts (a file holding more is a group of its own), in the order of their
partitions, so a caller holds one group at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import polars as pl
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Operation

from makerates_lake.store.catalog import Lake
from makerates_lake.store.scan import (
    local_path,
    plain_files,
    read_files,
    read_plain_files,
    reads_through_polars,
)
from makerates_lake.store.tables import TableSpec


@dataclass(frozen=True)
class BatchPlan:
    """The files of one table snapshot, grouped.

    Attributes:
        rows: Rows in all the files, by the manifests (before ``row_filter``).
        groups: The file groups, in partition order.
    """

    rows: int
    groups: tuple[tuple[FileScanTask, ...], ...]


def plan_batches(
    table: Table, *, max_rows: int, row_filter: BooleanExpression | None = None
) -> BatchPlan:
    """Group the current snapshot's files (pruned by ``row_filter``) into batches."""
    tasks = sorted(
        table.scan(row_filter=row_filter or AlwaysTrue()).plan_files(),
        key=lambda task: (str(task.file.partition), task.file.file_path),
    )
    groups: list[tuple[FileScanTask, ...]] = []
    group: list[FileScanTask] = []
    rows = 0
    for task in tasks:
        count = task.file.record_count
        if group and rows + count > max_rows:
            groups.append(tuple(group))
            group, rows = [], 0
        group.append(task)
        rows += count
    if group:
        groups.append(tuple(group))
    return BatchPlan(sum(task.file.record_count for task in tasks), tuple(groups))


def partition_rows(lake: Lake, spec: TableSpec) -> dict[tuple[object, ...], int] | None:
    """Rows per partition of the table's current snapshot, by the manifests (a metadata
    read: no data file is opened); None when the table is unpartitioned.

    Row-level delete files are not subtracted: a partition with deletes counts more rows
    than it holds.
    """
    table = lake.table(spec, refresh=True)
    if table.metadata.spec().is_unpartitioned():
        return None
    counts: dict[tuple[object, ...], int] = {}
    for task in table.scan().plan_files():
        partition = task.file.partition
        key = tuple(partition[i] for i in range(len(partition)))
        counts[key] = counts.get(key, 0) + task.file.record_count
    return counts


def total_rows(lake: Lake, spec: TableSpec) -> int | None:
    """Rows in the table's current snapshot by its summary (no manifest is read); None
    for a table never written or a summary without the count. Rows removed by delete
    files are still counted."""
    snapshot = lake.table(spec, refresh=True).current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return None
    total = snapshot.summary.get("total-records")
    return None if total is None else int(total)


#: How many snapshots :func:`newest_appended_rows` looks back before giving up.
_APPENDS_IN_REACH = 100


def newest_appended_rows(
    lake: Lake, spec: TableSpec, rows: int, *, columns: Sequence[str]
) -> pl.DataFrame | None:
    """The rows of the newest append snapshots that together added at least ``rows`` rows.

    Reads the manifests those snapshots wrote and the data files they added, nothing
    older, so its cost is that of the newest commits, not of the history. None when the
    newest snapshots are not all appends (compaction, a delete) or more than
    ``_APPENDS_IN_REACH`` of them would be needed: the caller then looks another way.
    """
    table = lake.table(spec, refresh=True)
    snapshot = table.current_snapshot()
    newest: set[int] = set()
    added = 0
    while snapshot is not None and added < rows and len(newest) < _APPENDS_IN_REACH:
        summary = snapshot.summary
        if summary is None or summary.operation != Operation.APPEND:
            return None
        added += int(summary.get("added-records") or 0)
        newest.add(snapshot.snapshot_id)
        parent = snapshot.parent_snapshot_id
        snapshot = None if parent is None else table.snapshot_by_id(parent)
    current = table.current_snapshot()
    if added < rows or current is None:
        return None
    # A manifest holding files those snapshots added was written by one of them (a merge
    # by a later one would be one of them too): older manifests are not opened.
    tasks = [
        FileScanTask(entry.data_file)
        for manifest in current.manifests(table.io)
        if manifest.added_snapshot_id in newest
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        if entry.snapshot_id in newest
    ]
    if not tasks:
        return None
    plan = BatchPlan(sum(task.file.record_count for task in tasks), (tuple(tasks),))
    return pl.concat(list(_batches(lake, table, plan, columns)), how="vertical")


def read_in_batches(
    lake: Lake,
    spec: TableSpec,
    *,
    columns: Sequence[str],
    max_rows: int,
    row_filter: BooleanExpression | None = None,
) -> tuple[int, Iterator[pl.DataFrame]]:
    """The current snapshot of ``spec``'s table, a group of files at a time.

    ``row_filter`` prunes files only (as in :func:`~makerates_lake.store.scan.scan_files`):
    filter the rows themselves on each frame.

    Returns:
        The rows in all the files (by the manifests), and the batches, each one frame
        in one chunk.
    """
    table = lake.table(spec, refresh=True)
    plan = plan_batches(table, max_rows=max_rows, row_filter=row_filter)
    return plan.rows, _batches(lake, table, plan, columns)


def _batches(
    lake: Lake, table: Table, plan: BatchPlan, columns: Sequence[str]
) -> Iterator[pl.DataFrame]:
    # Files of one schema, plain Parquet without deletes: Polars' Parquet reader gives
    # the same rows faster when they are local (see scan_files), PyArrow's dataset reader
    # on an object store (see reads_through_polars); anything else goes through
    # PyIceberg's reader.
    plain = plain_files(table, (task for group in plan.groups for task in group))
    local = reads_through_polars(lake)
    for group in plan.groups:
        if plain and local:
            paths = [local_path(task.file.file_path) for task in group]
            lazy = pl.scan_parquet(paths, hive_partitioning=False)
            # One chunk per file otherwise, which every later operation pays for.
            yield lazy.select(columns).collect().rechunk()
            continue
        yield (
            read_plain_files(table, group, columns) if plain else read_files(table, group, columns)
        )
