"""What a table is made of: :class:`TableSpec` and its writer's :class:`ParquetLayout`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder


@dataclass(frozen=True)
class ParquetLayout:
    """Per-column Parquet choices of a table's writer (:mod:`makerates_lake.store.datafiles`).

    Iceberg table properties set a codec, a level and page sizes for every column alike;
    PyIceberg passes nothing per column to Arrow. These choices are the writer's, not the
    table's: files written by any other engine are read the same, and old files keep
    theirs.

    Attributes:
        encodings: Column name to Parquet encoding (``DELTA_BINARY_PACKED``,
            ``DELTA_LENGTH_BYTE_ARRAY``, ``DELTA_BYTE_ARRAY``, ``PLAIN``); these columns
            are never dictionary-encoded.
        without_statistics: Columns whose min/max are not written.
        arrow_schema: Store Arrow's own copy of the schema in the footer. Parquet's schema
            already holds every name, type and field id that Iceberg readers use; Arrow's
            would name the string views :func:`~makerates_lake.store.commit.to_arrow`
            writes text from, which not every reader takes.
        uncompressed: Columns written without the table's codec (each column chunk
            names its own codec, which every Parquet reader follows).
    """

    encodings: Mapping[str, str] = field(default_factory=dict)
    without_statistics: frozenset[str] = frozenset()
    arrow_schema: bool = False
    uncompressed: frozenset[str] = frozenset()

    def writer_options(
        self, columns: Sequence[str], table_options: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for ``pyarrow.parquet.ParquetWriter`` over ``columns``: the
        ``table_options`` (from the table's properties) with this layout's choices."""
        options: dict[str, Any] = {**(table_options or {}), "store_schema": self.arrow_schema}
        if self.uncompressed:
            codec = options.get("compression") or "none"
            level = options.get("compression_level")
            options["compression"] = {
                c: "none" if c in self.uncompressed else codec for c in columns
            }
            options["compression_level"] = (
                None if level is None else {c: level for c in columns if c not in self.uncompressed}
            )
        if self.encodings:
            options["column_encoding"] = dict(self.encodings)
            options["use_dictionary"] = [c for c in columns if c not in self.encodings]
        if self.without_statistics:
            options["write_statistics"] = [c for c in columns if c not in self.without_statistics]
        return options


DEFAULT_PARQUET_LAYOUT: Final = ParquetLayout()


@dataclass(frozen=True)
class TableSpec:
    """How to create one table.

    Attributes:
        namespace: Iceberg namespace (a pipeline stage).
        name: Table name inside the namespace.
        schema: Iceberg schema with stable field ids.
        partition_spec: Partitioning; bronze by day, silver/gold coarser.
        sort_order: Sort order of written files.
        properties: Table properties.
        in_bronze_bucket: True for tables that live in the WORM bronze location.
        parquet: Per-column Parquet choices of our writer.
    """

    namespace: str
    name: str
    schema: Schema
    partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC
    sort_order: SortOrder = UNSORTED_SORT_ORDER
    properties: dict[str, str] = field(default_factory=dict)
    in_bronze_bucket: bool = False
    parquet: ParquetLayout = DEFAULT_PARQUET_LAYOUT

    @property
    def identifier(self) -> str:
        """``namespace.name``."""
        return f"{self.namespace}.{self.name}"
