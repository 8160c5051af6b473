"""Point lookups that open only the files, and read only the row groups, that can match.

A trace asks each table for a handful of rows by equality on a few columns. A PyIceberg
scan would plan from scratch every time (manifest list plus every manifest: tens of
milliseconds per table) and then read each matching file whole, and silver and gold keep
one file per year. Here:

* Snapshots and manifests are immutable, so the data files of a snapshot with their
  partition values and column bounds are listed once and kept (keyed by table UUID and
  snapshot id; manifests by path, so a new snapshot re-reads only its new manifests).
* Each lookup prunes files by partition and column bounds in memory, then opens only the
  candidate files and reads only the row groups whose Parquet statistics can match
  (:mod:`makerates_lake.store.parquet_rows`, which also keeps each file's parsed footer
  while the file still ends in the same bytes).
* Data files themselves are never cached: a file rewritten behind Iceberg's back must be
  read as it is now, because catching exactly that is what a trace's checksum is for.

Anything this reader does not handle (delete files, a file without field ids, a column
missing from an older file) falls back to an ordinary filtered PyIceberg scan, so the
answer is always the one a scan would give.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import pyarrow as pa
from pyiceberg.conversions import from_bytes
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile, ManifestContent, ManifestFile
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, IdentityTransform, MonthTransform, YearTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    IcebergType,
    PrimitiveType,
    StringType,
    TimestampType,
    TimestamptzType,
)
from pyiceberg.utils.datetime import date_to_days, datetime_to_micros

from makerates_lake.store.expressions import all_equal
from makerates_lake.store.parquet_rows import (
    FOOTERS,
    SHAPES,
    MissingFieldError,
    matching,
    read_matching,
)
from makerates_lake.store.scan import scan_at

#: Snapshot file lists kept; a trace touches three tables, as-of traces a few more.
MAX_SNAPSHOTS: Final = 64
#: Parsed manifests kept (a manifest is shared by every later snapshot that keeps it).
MAX_MANIFESTS: Final = 4096
_PRUNABLE: Final = (DateType, StringType, TimestamptzType, TimestampType, BooleanType)


class _UnsupportedError(Exception):
    """This lookup needs the general scan (raised before anything is returned)."""


@dataclass(frozen=True)
class _File:
    """One live data file of a snapshot."""

    path: str
    spec_id: int
    partition: tuple[Any, ...]
    lower: Mapping[int, bytes]
    upper: Mapping[int, bytes]


@dataclass
class _Snapshot:
    """The live data files of one snapshot, grouped by partition for the spec in force."""

    files: tuple[_File, ...]
    by_partition: dict[tuple[int, tuple[Any, ...]], list[_File]] = field(default_factory=dict)
    #: The spec ids of the files (worked out once: bronze keeps a file per day).
    spec_ids: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        for item in self.files:
            self.by_partition.setdefault((item.spec_id, item.partition), []).append(item)
        self.spec_ids = frozenset(item.spec_id for item in self.files)


class _Cache:
    """Bounded, thread-safe caches of immutable metadata."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[tuple[str, int], _Snapshot | None] = OrderedDict()
        self._manifests: OrderedDict[str, tuple[_File, ...]] = OrderedDict()

    def snapshot(self, table: Table, snapshot_id: int) -> _Snapshot | None:
        """The file list of a snapshot, None when it has delete files (not handled here)."""
        key = (str(table.metadata.table_uuid), snapshot_id)
        with self._lock:
            if key in self._snapshots:
                self._snapshots.move_to_end(key)
                return self._snapshots[key]
        built = self._build(table, snapshot_id)
        with self._lock:
            self._snapshots[key] = built
            while len(self._snapshots) > MAX_SNAPSHOTS:
                self._snapshots.popitem(last=False)
        return built

    def _build(self, table: Table, snapshot_id: int) -> _Snapshot | None:
        snapshot = table.snapshot_by_id(snapshot_id)
        if snapshot is None:
            raise _UnsupportedError(f"snapshot {snapshot_id} is not in the table metadata")
        manifests = snapshot.manifests(table.io)
        if any(m.content != ManifestContent.DATA for m in manifests):
            return None
        files: list[_File] = []
        for manifest in manifests:
            files.extend(self._manifest(table.io, manifest))
        return _Snapshot(tuple(files))

    def _manifest(self, io: FileIO, manifest: ManifestFile) -> tuple[_File, ...]:
        with self._lock:
            cached = self._manifests.get(manifest.manifest_path)
            if cached is not None:
                self._manifests.move_to_end(manifest.manifest_path)
                return cached
        entries = manifest.fetch_manifest_entry(io, discard_deleted=True)
        parsed = tuple(_file(entry.data_file) for entry in entries)
        with self._lock:
            self._manifests[manifest.manifest_path] = parsed
            while len(self._manifests) > MAX_MANIFESTS:
                self._manifests.popitem(last=False)
        return parsed

    def clear(self) -> None:
        """Forget everything (tests; never needed for correctness)."""
        with self._lock:
            self._snapshots.clear()
            self._manifests.clear()
        FOOTERS.clear()
        SHAPES.clear()


def _file(data_file: DataFile) -> _File:
    return _File(
        path=data_file.file_path,
        spec_id=data_file.spec_id,
        # Record is iterable at runtime but not typed as such in PyIceberg 0.11.
        partition=tuple(data_file.partition),  # type: ignore[arg-type]
        lower=dict(data_file.lower_bounds or {}),
        upper=dict(data_file.upper_bounds or {}),
    )


CACHE: Final = _Cache()


def _internal(value: object, kind: IcebergType) -> Any:
    """``value`` in Iceberg's internal form for ``kind`` (what bounds decode to)."""
    if isinstance(kind, DateType) and isinstance(value, date) and not isinstance(value, datetime):
        return date_to_days(value)
    if isinstance(kind, (TimestamptzType, TimestampType)) and isinstance(value, datetime):
        return datetime_to_micros(value)
    if isinstance(kind, StringType) and isinstance(value, str):
        return value
    if isinstance(kind, BooleanType) and isinstance(value, bool):
        return value
    raise _UnsupportedError(f"no pruning for {type(value).__name__} against {kind}")


def _partition_of(
    spec: PartitionSpec, schema: Schema, keys: Mapping[int, Any]
) -> tuple[Any, ...] | None:
    """The partition the keys pin down under ``spec``, or None if they do not."""
    values = []
    for part in spec.fields:
        transform = part.transform
        if part.source_id not in keys or not isinstance(
            transform, (IdentityTransform, YearTransform, MonthTransform, DayTransform)
        ):
            return None
        source_type = schema.find_field(part.source_id).field_type
        values.append(transform.transform(source_type)(keys[part.source_id]))
    return tuple(values)


def _may_hold(item: _File, kinds: Mapping[int, PrimitiveType], keys: Mapping[int, Any]) -> bool:
    """False when the file's column bounds rule the keys out."""
    for field_id, value in keys.items():
        kind = kinds[field_id]
        low, high = item.lower.get(field_id), item.upper.get(field_id)
        if low is not None and value < from_bytes(kind, low):
            return False
        if high is not None and value > from_bytes(kind, high):
            return False
    return True


def _candidates(
    table: Table, index: _Snapshot, kinds: Mapping[int, PrimitiveType], keys: Mapping[int, Any]
) -> list[_File]:
    files: list[_File] | tuple[_File, ...] = index.files
    spec = table.spec()
    partition = _partition_of(spec, table.schema(), keys)
    if partition is not None and index.spec_ids <= {spec.spec_id}:
        files = index.by_partition.get((spec.spec_id, partition), [])
    return [f for f in files if _may_hold(f, kinds, keys)]


@dataclass(frozen=True)
class _Columns:
    """What a lookup needs from the schema, worked out once per schema and column set.

    Attributes:
        returned: Field id -> name of each column returned.
        keys: Name -> (field id, type) of each key column.
    """

    returned: dict[int, str]
    keys: dict[str, tuple[int, PrimitiveType]]


_COLUMNS: dict[tuple[str, int, tuple[str, ...], tuple[str, ...]], _Columns] = {}


def _columns(table: Table, names: Sequence[str], key_names: Sequence[str]) -> _Columns:
    schema = table.schema()
    cache_key = (str(table.metadata.table_uuid), schema.schema_id, tuple(names), tuple(key_names))
    known = _COLUMNS.get(cache_key)
    if known is not None:
        return known
    keys: dict[str, tuple[int, PrimitiveType]] = {}
    for name in key_names:
        found = schema.find_field(name)
        if not isinstance(found.field_type, _PRUNABLE):
            raise _UnsupportedError(f"no lookup by {name}")
        keys[name] = (found.field_id, found.field_type)
    made = _Columns({schema.find_field(name).field_id: name for name in names}, keys)
    if len(_COLUMNS) >= MAX_SNAPSHOTS:  # a handful of shapes in practice; never grows unbounded
        _COLUMNS.clear()
    _COLUMNS[cache_key] = made
    return made


def find_tables(
    table: Table,
    snapshot_id: int | None,
    equals: Mapping[str, object],
    columns: Sequence[str] | None = None,
) -> list[pa.Table]:
    """Rows of ``table`` at ``snapshot_id`` where each column equals its value, in Arrow.

    Values are Python values of the column's type (``date`` for dates, ``datetime`` for
    timestamps, ``str``, ``bool``). The rows are those a filtered scan of that snapshot
    returns, as one table per data file read (string columns may come back as Arrow
    dictionaries, so the tables need not share a schema: see :func:`rows_where`).
    """
    if snapshot_id is None:
        return []
    schema = table.schema()
    names = list(columns) if columns else [f.name for f in schema.fields]
    try:
        index = CACHE.snapshot(table, snapshot_id)
        if index is None:
            raise _UnsupportedError("the snapshot has delete files")
        shape = _columns(table, names, list(equals))
        keys: dict[int, object] = {}
        internal: dict[int, Any] = {}
        kinds: dict[int, PrimitiveType] = {}
        for name, value in equals.items():
            field_id, kind = shape.keys[name]
            keys[field_id] = value
            internal[field_id] = _internal(value, kind)
            kinds[field_id] = kind
        return [
            rows
            for item in _candidates(table, index, kinds, internal)
            if (rows := read_matching(table.io, item.path, shape.returned, keys)) is not None
        ]
    except (_UnsupportedError, MissingFieldError):
        expression = all_equal(*((name, _literal(value)) for name, value in equals.items()))
        return [scan_at(table, snapshot_id, expression, names)]


def find_rows(
    table: Table,
    snapshot_id: int | None,
    equals: Mapping[str, object],
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """:func:`find_tables` as dicts; the order of rows is not defined."""
    return rows_where(find_tables(table, snapshot_id, equals, columns), {})


def rows_where(parts: Sequence[pa.Table], equals: Mapping[str, object]) -> list[dict[str, Any]]:
    """The rows of ``parts`` where each column equals its value, as dicts, in order.

    Lets a caller read a wider set of rows once (say all of one day) and pick several
    narrower sets from it without reading again.
    """
    out: list[dict[str, Any]] = []
    for part in parts:
        out.extend(matching(part, equals).to_pylist())
    return out


def _literal(value: object) -> object:
    """A value PyIceberg's expressions accept (dates and times as ISO text)."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value
