"""A table's data files: which are live, how many per partition, and their rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.table import FileScanTask, Table
from pyiceberg.transforms import IdentityTransform

#: A partition as (spec id, partition values).
PartitionKey = tuple[int, tuple[Any, ...]]

__all__ = [
    "DataFile",
    "PartitionKey",
    "files_per_partition",
    "is_data_file",
    "live_data_files",
    "partition_key",
    "read_files",
    "sort_columns",
]


def live_data_files(table: Table) -> list[DataFile]:
    """Every data and delete file of the table's current snapshot."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    return [
        entry.data_file
        for manifest in snapshot.manifests(table.io)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
    ]


def is_data_file(data_file: DataFile) -> bool:
    """True for a data file, False for a delete file."""
    return bool(data_file.content == DataFileContent.DATA)


def partition_key(data_file: DataFile) -> PartitionKey:
    """The file's partition as (spec id, partition values)."""
    partition = data_file.partition
    return data_file.spec_id, tuple(partition[i] for i in range(len(partition)))


def files_per_partition(table: Table) -> dict[PartitionKey, int]:
    """Live data files per (spec id, partition values)."""
    counts: dict[PartitionKey, int] = defaultdict(int)
    for data_file in live_data_files(table):
        if is_data_file(data_file):
            counts[partition_key(data_file)] += 1
    return dict(counts)


def read_files(table: Table, files: Sequence[DataFile]) -> pa.Table:
    """The rows of these data files, in the table's current schema.

    ArrowScan projects every file onto the current schema by field id, so files written
    before a schema change come back with the same columns as new ones.
    """
    scan = ArrowScan(table.metadata, table.io, table.schema(), row_filter=AlwaysTrue())
    return scan.to_table([FileScanTask(f) for f in files])


def sort_columns(table: Table) -> list[str]:
    """Column names of the table's identity sort fields (what its writers sort by)."""
    names = []
    for sort_field in table.sort_order().fields:
        if isinstance(sort_field.transform, IdentityTransform):
            name = table.schema().find_column_name(sort_field.source_id)
            if name is not None:
                names.append(name)
    return names


def data_file_paths(table: Table, row_filter: BooleanExpression) -> list[str]:
    """The current snapshot's data files that may hold rows matching ``row_filter``
    (partition and column-bound pruning: a file is named when it might match)."""
    return sorted({task.file.file_path for task in table.scan(row_filter=row_filter).plan_files()})


def metadata_file_problem(table: Table) -> str | None:
    """What is wrong with the table's current metadata file, or None when it reads back
    as valid table metadata. A SQL catalog fails to load a table whose file is damaged;
    a REST catalog serves metadata from its own state, so the file is checked here."""
    from pyiceberg.serializers import FromInputFile

    try:
        FromInputFile.table_metadata(table.io.new_input(table.metadata_location))
    except FileNotFoundError:
        return "metadata file is missing"
    except Exception as exc:  # any parse or read failure is the finding, named by path
        return f"metadata file cannot be read: {type(exc).__name__}: {exc}"
    return None
