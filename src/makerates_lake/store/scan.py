"""Reading tables: lazy Polars scans (now or at a snapshot) and filtered reads.

PyIceberg plans the files (partition and statistics pruning). On local files Polars
reads them in parallel with projection; on an object store PyArrow does, through its
dataset reader or PyIceberg's (see :func:`reads_through_polars`). Every stage reads
through here, so that choice and the plain-Parquet shortcut below are decided in one
place.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence

import polars as pl
import pyarrow as pa
import pyarrow.dataset
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io.pyarrow import ArrowScan, PyArrowFileIO
from pyiceberg.manifest import FileFormat
from pyiceberg.table import FileScanTask, Table

from makerates_lake.store.arrow_types import with_large_types
from makerates_lake.store.branches import MAIN, ref_snapshot_id
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import TableSpec

# PyIceberg plans Polars' Iceberg scans, as the docstring above says, not the polars-iceberg
# plugin: with the plugin, three full test runs died of a segfault in a tokio worker thread
# inside libpython (dmesg: "tokio-rt-worker ... segfault ... in libpython3.11.so"), at
# random points of a long session. A user's own choice of planner is kept.
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")


def reads_through_polars(lake: Lake) -> bool:
    """Whether data files are read by Polars' own reader: only on local files.

    Polars' object-store reader starts a control loop on its first read that calls C's
    ``getenv`` every 100 ms for the life of the process, without the lock Python's
    ``os.environ`` writes take. A notebook or test that sets a variable after an S3 read
    then races it, and a ``setenv`` that grows the environment frees the array the loop
    is reading: the process dies of a segfault (benchmarks/README.md, "Root cause"). So
    object-store files are read by PyArrow, which has no such loop. Its AWS client still
    reads the environment during a request, so a thread that sets variables while
    another reads S3 can race it; a write between reads cannot.
    """
    return not lake.storage_options()


def reading_io(table: Table) -> PyArrowFileIO:
    """The FileIO that object-store data files are read with: PyArrow's, on the table's
    own properties (endpoint, credentials). The table's own FileIO on S3 is fsspec's,
    chosen for writes (store/catalog.py), which reads each file through Python: half as
    fast on a year of small bronze files (benchmarks/README.md, session 11)."""
    # Only the storage settings: the table's other properties (its own, a catalog's URI)
    # would make a cache entry per table and keep more than the FileIO needs.
    storage = {k: v for k, v in table.io.properties.items() if k.startswith(_STORAGE_PREFIXES)}
    return _pyarrow_io(tuple(sorted(storage.items())))


#: Prefixes of the FileIO properties PyArrow's FileIO reads (PyIceberg's ``pyiceberg.io``).
_STORAGE_PREFIXES = ("s3.", "client.", "gcs.", "adls.", "hdfs.", "hf.")


@functools.lru_cache(maxsize=8)
def _pyarrow_io(properties: tuple[tuple[str, str], ...]) -> PyArrowFileIO:
    # One per set of storage settings: each keeps its S3 clients for the next read.
    return PyArrowFileIO(dict(properties))


def scan(lake: Lake, spec: TableSpec, *, snapshot_id: int | None = None) -> pl.LazyFrame:
    """A lazy Polars scan of a table (now or at a snapshot)."""
    return scan_table(lake, lake.table(spec), snapshot_id=snapshot_id)


def scan_table(lake: Lake, table: Table, *, snapshot_id: int | None = None) -> pl.LazyFrame:
    """:func:`scan` of a table object already loaded (e.g. refreshed under a lock)."""
    current = table.current_snapshot()
    if (
        snapshot_id is None
        and current is not None
        and current.snapshot_id != ref_snapshot_id(table, MAIN)
    ):
        # On a run's branch (store/branches.py) the snapshot is named: Polars would read
        # main. Only there: a named snapshot is read with its own schema, not the table's.
        snapshot_id = current.snapshot_id
    if reads_through_polars(lake):
        return pl.scan_iceberg(table, snapshot_id=snapshot_id)
    # PyIceberg reads, with the projection and the filters Polars pushes down to it, and
    # with PyArrow's FileIO (reading_io): the same table and snapshot, another reader.
    reading = Table(
        table.name(), table.metadata, table.metadata_location, reading_io(table), table.catalog
    )
    return pl.scan_iceberg(reading, snapshot_id=snapshot_id, reader_override="pyiceberg")


def scan_files(
    lake: Lake,
    table: Table,
    *,
    row_filter: BooleanExpression | None = None,
    columns: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """:func:`scan_table` of the current snapshot, reading its Parquet files by name.

    Polars' Iceberg reader maps every column of every file by field id, which is a
    large share of reading many small day files. A table that has only ever had one
    schema, whose files are all Parquet without delete files, holds exactly the columns
    and names of that schema, so Polars' plain Parquet reader gives the same rows; on an
    object store :func:`read_plain_files` reads them, at once. Any other table goes
    through :func:`scan_table`. ``row_filter`` only prunes
    files (partitions and statistics): filter the rows themselves on the frame.
    ``columns`` (all when None) are the columns the frame holds.
    """
    if len(table.metadata.schemas) != 1:
        return _projected(scan_table(lake, table), columns)
    tasks = list(table.scan(row_filter=row_filter or AlwaysTrue()).plan_files())
    schema = table.schema() if columns is None else table.schema().select(*columns)
    if not tasks and table.current_snapshot() is not None:
        # Nothing matches: no rows, rather than every row for the caller to filter out.
        empty = pl.from_arrow(schema.as_arrow().empty_table())
        if isinstance(empty, pl.DataFrame):
            return empty.lazy()
    if not (tasks and plain_files(table, tasks)):
        return _projected(scan_table(lake, table), columns)
    if not reads_through_polars(lake):
        # The pruned files only: the row filter stays the caller's, as on local files.
        names = list(columns) if columns is not None else [f.name for f in schema.fields]
        return read_plain_files(table, tasks, names).lazy()
    paths = [local_path(task.file.file_path) for task in tasks]
    return _projected(pl.scan_parquet(paths, hive_partitioning=False), columns)


def plain_files(table: Table, tasks: Iterable[FileScanTask]) -> bool:
    """Whether ``tasks`` are Parquet files without deletes of a table that has only ever
    had one schema: such files hold exactly that schema's columns and names, so a plain
    Parquet reader gives the rows an Iceberg reader would."""
    return len(table.metadata.schemas) == 1 and all(
        not task.delete_files and task.file.file_format == FileFormat.PARQUET for task in tasks
    )


def read_plain_files(
    table: Table, tasks: Sequence[FileScanTask], columns: Sequence[str]
) -> pl.DataFrame:
    """``columns`` of data files that are plain Parquet in the table's only schema (as
    :func:`scan_files` checks), read at once and in one chunk.

    PyArrow's dataset reader fetches many files at a time: on an object store about
    twice as fast as PyIceberg's reader on a year of small bronze files (both with
    PyArrow's S3 client, :func:`reading_io`; benchmarks/README.md, session 11). Files
    of more than one scheme or bucket go through PyIceberg's reader.
    """
    io = reading_io(table)
    located = [PyArrowFileIO.parse_location(task.file.file_path) for task in tasks]
    places = {(scheme, netloc) for scheme, netloc, _ in located}
    if len(places) != 1:
        return read_files(table, tasks, columns)
    [(scheme, netloc)] = places
    dataset = pyarrow.dataset.dataset(
        [path for _, _, path in located],
        filesystem=io.fs_by_scheme(scheme, netloc),
        format="parquet",
    )
    rows = dataset.to_table(columns=list(columns), fragment_readahead=_FILES_AT_ONCE)
    return _one_chunk(rows, columns)


def read_files(table: Table, tasks: Sequence[FileScanTask], columns: Sequence[str]) -> pl.DataFrame:
    """``columns`` of any data files of the table, by PyIceberg's reader (field ids,
    deletes, evolved schemas) with :func:`reading_io`, in one chunk."""
    schema = table.schema().select(*columns)
    return _one_chunk(
        ArrowScan(table.metadata, reading_io(table), schema, AlwaysTrue()).to_table(tasks), columns
    )


def _one_chunk(rows: pa.Table, columns: Sequence[str]) -> pl.DataFrame:
    frame = pl.from_arrow(rows)
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a Table gives a frame
        raise TypeError("expected a table")
    return frame.select(columns).rechunk()


#: Files PyArrow's dataset reader reads at a time (its default, 4, leaves an object
#: store's latency unhidden on many small files).
_FILES_AT_ONCE = 32


def _projected(frame: pl.LazyFrame, columns: Sequence[str] | None) -> pl.LazyFrame:
    return frame if columns is None else frame.select(columns)


def local_path(location: str) -> str:
    """A ``file://`` location as a plain path: Polars then reads the file directly, where
    a URI goes through its object-store client (slower for small files)."""
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


def current_snapshot_id(lake: Lake, spec: TableSpec) -> int | None:
    """The table's current snapshot id, or None when it was never written."""
    snapshot = lake.table(spec, refresh=True).current_snapshot()
    return None if snapshot is None else snapshot.snapshot_id


def scan_at(
    table: Table,
    snapshot_id: int | None,
    row_filter: BooleanExpression | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Rows of ``table`` at ``snapshot_id`` (an empty table in its schema when None),
    text, bytes and lists in Arrow's large types whatever the files were written with.

    Not logged: callers log one entry for the read they perform as a whole.
    """
    if snapshot_id is None:
        schema = table.schema().as_arrow()
        if columns:
            schema = pa.schema([schema.field(c) for c in columns])
        return schema.empty_table()
    scan = table.scan(
        row_filter=row_filter if row_filter is not None else AlwaysTrue(),
        selected_fields=tuple(columns) if columns else ("*",),
        snapshot_id=snapshot_id,
    )
    rows = scan.to_arrow()
    return rows.cast(with_large_types(rows.schema))
