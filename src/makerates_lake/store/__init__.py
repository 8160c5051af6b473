"""The storage core: catalogs, table specs, data files, the one commit path, refs, scans.

Every stage reads and writes its tables through this package, and only this package
imports PyIceberg's internals (all of them in :mod:`makerates_lake.store._pyiceberg`).

* :mod:`~makerates_lake.store.catalog`: :func:`open_lake` and :class:`Lake` (SQLite,
  PostgreSQL or REST catalog; local or S3 warehouse).
* :mod:`~makerates_lake.store.tables`: every table's schema, partitioning and layout.
* :mod:`~makerates_lake.store.datafiles`: writing Parquet data files (no commit).
* :mod:`~makerates_lake.store.commit`: ``commit.commit``, the one commit path (retry
  policy, commit lock, WORM locking of what was written), and the appends and
  overwrites built on it.
* :mod:`~makerates_lake.store.refs`: snapshots, as-of, ancestry, tags.
* :mod:`~makerates_lake.store.scan`: Polars scans and filtered reads;
  :mod:`~makerates_lake.store.batches`: reading a table a bounded group of files at a time.
"""

from makerates_lake.store.batches import (
    newest_appended_rows,
    partition_rows,
    read_in_batches,
    total_rows,
)
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.commit import (
    Revision,
    append_new,
    commit_files,
    discard_files,
    overwrite,
    overwrite_files,
    set_properties,
    to_arrow,
    write_files,
)
from makerates_lake.store.refs import AsOf, SnapshotNotFoundError, move_tag, resolve_as_of
from makerates_lake.store.scan import (
    current_snapshot_id,
    read,
    read_table,
    scan_files,
    scan_table,
)
from makerates_lake.store.tables import TableSpec

__all__ = [
    "AsOf",
    "Lake",
    "Revision",
    "SnapshotNotFoundError",
    "TableSpec",
    "append_new",
    "commit_files",
    "current_snapshot_id",
    "discard_files",
    "move_tag",
    "newest_appended_rows",
    "open_lake",
    "overwrite",
    "overwrite_files",
    "partition_rows",
    "read",
    "read_in_batches",
    "read_table",
    "resolve_as_of",
    "scan_files",
    "scan_table",
    "set_properties",
    "to_arrow",
    "total_rows",
    "write_files",
]
