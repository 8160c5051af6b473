"""The rows of one Parquet data file whose key columns equal given values.

A point lookup in silver or gold reads one row group of 8,192 rows for the one or two it
wants; what it can avoid is everything around that read, which used to cost as much again:

* The footer is parsed once per file and kept, with what is derived from it (column
  names by Iceberg field id, row-group min/max per column, which string columns are worth
  decoding as dictionaries). At every open the file's size and its footer bytes, read
  from storage again, must equal the kept ones, or the footer is parsed afresh: a file
  rewritten behind Iceberg's back is read exactly as it is now, and what is saved is
  only the parsing. The rows themselves are read from storage every time. What the
  schema alone gives (names, leaves) is kept per distinct schema, so a file met for the
  first time (bronze keeps one per day) needs only its footer parsed.
* Rows are matched on the dictionary (a few hundred values) and the integer codes instead
  of decoding 8,192 strings per key column, and only the matching rows are turned into
  Python values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.io import FileIO

#: Footers kept. Silver and gold hold a few files per year; bronze one per day, which a
#: session tracing many numbers revisits only for the same days.
MAX_FOOTERS: Final = 512
#: A string column whose chunks hold at most this many bytes per value is mostly dictionary
#: codes: decoding it as an Arrow dictionary is cheaper. Above it (unique text that fell
#: back to plain encoding, such as ``rate_text``) the dictionary would have to be built by
#: hashing every value, which costs more than plain strings.
DICTIONARY_BYTES_PER_VALUE: Final = 4
#: Files with fewer rows than this read their strings plain.
DICTIONARY_MIN_ROWS: Final = 1024
#: Distinct schemas kept (a table has one or a few; every table a trace reads is covered).
MAX_SHAPES: Final = 16
#: String arrays up to this long are compared in Python (see ``_text_equal``).
SHORT: Final = 512
_FIELD_ID: Final = b"PARQUET:field_id"


class MissingFieldError(Exception):
    """The file lacks a column the lookup needs (written before a schema change)."""


@dataclass
class Footer:
    """A parsed footer and what the lookups derive from it.

    Attributes:
        size: File size in bytes when the footer was read (checked at every open).
        tail: The file's last bytes: the serialized footer, its length and the magic
            (compared with the file at every open).
        metadata: The Parquet footer.
        names: Top-level column name per Iceberg field id.
        leaves: Leaf column index per top-level column name.
        dictionary_strings: String columns to decode as dictionaries.
    """

    size: int
    tail: bytes
    metadata: pq.FileMetaData
    names: dict[int, str]
    leaves: dict[str, int]
    dictionary_strings: tuple[str, ...]
    _bounds: dict[int, list[tuple[Any, Any] | None]] = field(default_factory=dict)

    @classmethod
    def parse(cls, metadata: pq.FileMetaData, size: int, tail: bytes) -> Footer:
        """Derive names, leaves and dictionary columns from a footer."""
        shape = SHAPES.of(metadata)
        # A small file decodes as quickly either way; only big row groups are worth a look.
        big = metadata.num_rows >= DICTIONARY_MIN_ROWS
        strings = tuple(
            name for name in shape.texts if big and _mostly_codes(metadata, shape.leaves[name])
        )
        return cls(size, tail, metadata, shape.names, shape.leaves, strings)

    def bounds(self, leaf: int) -> list[tuple[Any, Any] | None]:
        """(min, max) of a leaf column per row group; None where there are no statistics."""
        known = self._bounds.get(leaf)
        if known is None:
            known = []
            for group in range(self.metadata.num_row_groups):
                stats = self.metadata.row_group(group).column(leaf).statistics
                usable = stats is not None and stats.has_min_max
                known.append((stats.min, stats.max) if usable else None)
            self._bounds[leaf] = known
        return known


@dataclass(frozen=True)
class Shape:
    """What a footer's schema alone says, the same for every file written with it.

    Attributes:
        schema: The Parquet schema (field ids included).
        key_value: The footer's key-value metadata (the Arrow schema Arrow reads back).
        names: Top-level column name per Iceberg field id.
        leaves: Leaf column index per top-level column name.
        texts: String columns that are leaves (candidates for dictionary decoding).
    """

    schema: pq.ParquetSchema
    key_value: dict[bytes, bytes] | None
    names: dict[int, str]
    leaves: dict[str, int]
    texts: tuple[str, ...]

    @classmethod
    def derive(cls, metadata: pq.FileMetaData) -> Shape:
        """Work the shape out from a footer (an Arrow schema conversion)."""
        arrow_schema = metadata.schema.to_arrow_schema()
        names: dict[int, str] = {}
        for arrow_field in arrow_schema:
            meta = arrow_field.metadata or {}
            if _FIELD_ID in meta:
                names[int(meta[_FIELD_ID])] = arrow_field.name
        leaves = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
        texts = tuple(
            f.name
            for f in arrow_schema
            if _is_text(f.type) and f.name in leaves
        )
        return cls(metadata.schema, metadata.metadata, names, leaves, texts)


class ShapeCache:
    """Shapes by schema, bounded and thread-safe.

    Bronze keeps a file per day, so a trace usually meets its bronze file for the first
    time; deriving the shape again for it costs more than comparing the file's schema and
    key-value metadata with the few kept (exact: field ids and types are part of the
    comparison).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shapes: list[Shape] = []

    def of(self, metadata: pq.FileMetaData) -> Shape:
        """The shape of ``metadata``'s schema, derived only when no kept one equals it."""
        schema, key_value = metadata.schema, metadata.metadata
        with self._lock:
            for known in self._shapes:
                if known.key_value == key_value and known.schema.equals(schema):
                    return known
        made = Shape.derive(metadata)
        with self._lock:
            self._shapes.insert(0, made)
            del self._shapes[MAX_SHAPES:]
        return made

    def clear(self) -> None:
        """Forget every shape."""
        with self._lock:
            self._shapes.clear()


SHAPES: Final = ShapeCache()


def _mostly_codes(metadata: pq.FileMetaData, leaf: int) -> bool:
    """Whether a text column is dictionary-encoded in every row group, with values small
    enough that decoding them as dictionary codes pays. A column written with another
    encoding (bronze's DELTA_BYTE_ARRAY ids) cannot be decoded as a dictionary at all."""
    for group in range(metadata.num_row_groups):
        chunk = metadata.row_group(group).column(leaf)
        if not chunk.has_dictionary_page:
            return False
        if chunk.num_values and chunk.total_uncompressed_size > (
            DICTIONARY_BYTES_PER_VALUE * chunk.num_values
        ):
            return False
    return True


class FooterCache:
    """Bounded, thread-safe footers by path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._footers: OrderedDict[str, Footer] = OrderedDict()

    def get(self, path: str) -> Footer | None:
        """The kept footer of ``path``, if any (the caller checks it against the file)."""
        with self._lock:
            footer = self._footers.get(path)
            if footer is not None:
                self._footers.move_to_end(path)
            return footer

    def put(self, path: str, footer: Footer) -> None:
        """Keep ``footer`` for ``path``, forgetting the least recently used beyond the bound."""
        with self._lock:
            self._footers[path] = footer
            self._footers.move_to_end(path)
            while len(self._footers) > MAX_FOOTERS:
                self._footers.popitem(last=False)

    def clear(self) -> None:
        """Forget every footer."""
        with self._lock:
            self._footers.clear()


FOOTERS: Final = FooterCache()


def _size(stream: Any) -> int:
    """The size of an open file: ``size()`` on Arrow files, ``size`` on fsspec ones."""
    size = stream.size
    return int(size() if callable(size) else size)


def _tail(stream: Any, size: int, length: int) -> bytes:
    """The last ``length`` bytes of the file (the whole file when shorter)."""
    stream.seek(max(0, size - length))
    tail: bytes = stream.read(length)
    return tail


def _still_valid(stream: Any, size: int, kept: Footer | None) -> bool:
    """True when the file has the kept footer's size and ends in its very bytes."""
    return (
        kept is not None and kept.size == size and _tail(stream, size, len(kept.tail)) == kept.tail
    )


def read_matching(
    io: FileIO, path: str, columns: Mapping[int, str], keys: Mapping[int, object]
) -> pa.Table | None:
    """Rows of one data file where every key column equals its value.

    Args:
        io: The table's FileIO.
        path: The data file.
        columns: Field id -> name (in the table schema) of the columns to return.
        keys: Field id -> value each matching row holds.

    Returns:
        The matching rows with the table's column names, or None when no row group can
        hold them.

    Raises:
        MissingFieldError: The file lacks a needed field id.
    """
    # Pre-buffering coalesces the column reads into few requests, which pays on object
    # stores; on a local disk it only hands every read to the I/O threads and back.
    pre_buffer = "://" in path and not path.startswith("file:")
    with io.new_input(path).open(seekable=True) as stream:
        size = _size(stream)
        kept = FOOTERS.get(path)
        if kept is not None and _still_valid(stream, size, kept):
            parquet = pq.ParquetFile(
                stream,
                metadata=kept.metadata,
                read_dictionary=kept.dictionary_strings,
                pre_buffer=pre_buffer,
            )
            return _read(parquet, kept, columns, keys)
        # First sight of this file (or it changed): strings come back plain this once.
        parquet = pq.ParquetFile(stream, pre_buffer=pre_buffer)
        # Serialized footer, its 4-byte length and the 4-byte magic end every Parquet file.
        tail = _tail(stream, size, parquet.metadata.serialized_size + 8)
        footer = Footer.parse(parquet.metadata, size, tail)
        FOOTERS.put(path, footer)
        return _read(parquet, footer, columns, keys)


def _read(
    parquet: pq.ParquetFile, footer: Footer, columns: Mapping[int, str], keys: Mapping[int, object]
) -> pa.Table | None:
    names = footer.names
    if any(fid not in names for fid in (*columns, *keys)):
        raise MissingFieldError("the file lacks field ids the lookup needs")
    groups = _groups(footer, keys)
    if not groups:
        return None
    wanted = list(dict.fromkeys([*(names[f] for f in columns), *(names[f] for f in keys)]))
    rows = parquet.read_row_groups(groups, columns=wanted, use_threads=False)
    rows = matching(rows, {names[fid]: value for fid, value in keys.items()})
    return rows.select([names[f] for f in columns]).rename_columns(list(columns.values()))


def matching(rows: pa.Table, equals: Mapping[str, object]) -> pa.Table:
    """The rows of ``rows`` where each named column equals its value (all rows for none)."""
    mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    for name, value in equals.items():
        hits = _equal(rows.column(name), value)
        mask = hits if mask is None else np.logical_and(mask, hits, out=mask)
    if mask is None:
        return rows
    found = np.flatnonzero(mask)
    if not len(found):
        return rows.slice(0, 0)
    first = int(found[0])
    if int(found[-1]) - first + 1 == len(found):
        # One run of rows, as files sorted by the keys give: a slice copies nothing.
        return rows.slice(first, len(found))
    return rows.take(pa.array(found))


def _groups(footer: Footer, keys: Mapping[int, object]) -> list[int]:
    """Row groups whose min/max statistics do not rule the keys out."""
    count = footer.metadata.num_row_groups
    if count == 1:
        # The file's bounds in the manifest already let it through; its one group is read
        # and filtered exactly, so statistics would rarely save anything here.
        return [0]
    checks = [
        (footer.bounds(footer.leaves[footer.names[fid]]), value)
        for fid, value in keys.items()
        if footer.names[fid] in footer.leaves and isinstance(value, (date, str))
    ]
    out = []
    for group in range(count):
        for bounds, value in checks:
            span = bounds[group]
            if span is None:
                continue
            low, high = span
            if type(low) is not type(value) or type(high) is not type(value):
                continue  # statistics in another representation: no pruning on them
            if value < low or value > high:  # type: ignore[operator]
                break
        else:
            out.append(group)
    return out


def _equal(column: pa.ChunkedArray, value: object) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Where ``column`` equals ``value``, as a NumPy mask (null never equals)."""
    parts = [_chunk_equal(chunk, value) for chunk in column.chunks]
    if not parts:
        return np.zeros(0, dtype=np.bool_)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _text_equal(values: pa.Array, value: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Where a short string array equals ``value`` (null never equals).

    For a few hundred values, comparing Python strings takes a third of the time of a
    compute kernel plus the null fill and the conversion to NumPy (about 9 against 30
    microseconds for 151 currencies), and a trace makes a dozen such comparisons.
    """
    # An object array of Python strings (None for null); NumPy compares them one by one.
    return np.asarray(values.to_numpy(zero_copy_only=False) == value, dtype=np.bool_)


def _chunk_equal(chunk: pa.Array, value: object) -> np.ndarray[Any, np.dtype[np.bool_]]:
    kind = chunk.type
    if pa.types.is_dictionary(kind) and chunk.null_count == 0:
        # Compare the few dictionary values, then the integer codes with the hits.
        dictionary = chunk.dictionary
        if isinstance(value, str) and _is_text(kind.value_type) and len(dictionary) <= SHORT:
            hits = _text_equal(dictionary, value)
        else:
            wanted = pa.scalar(value, type=kind.value_type)
            hits = pc.fill_null(pc.equal(dictionary, wanted), False).to_numpy(zero_copy_only=False)
        codes = np.flatnonzero(hits)
        if len(codes) == 1:  # the usual case: a dictionary holds each value once
            return np.asarray(chunk.indices.to_numpy() == codes[0])
        return np.asarray(hits[chunk.indices.to_numpy()])
    if isinstance(value, str) and _is_text(kind) and len(chunk) <= SHORT:
        return _text_equal(chunk, value)
    if isinstance(value, bool) and pa.types.is_boolean(kind) and chunk.null_count == 0:
        return np.asarray(chunk.to_numpy(zero_copy_only=False) == value)
    if (pa.types.is_date32(kind) or pa.types.is_timestamp(kind)) and chunk.null_count == 0:
        # Days or ticks since the epoch: compare the integers without building a mask array.
        scalar = pa.scalar(value, type=kind)
        storage = pa.int32() if pa.types.is_date32(kind) else pa.int64()
        return np.asarray(chunk.view(storage).to_numpy() == scalar.value)
    if pa.types.is_dictionary(kind):
        chunk = chunk.dictionary_decode()
    hit = pc.fill_null(pc.equal(chunk, pa.scalar(value, type=chunk.type)), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False))
