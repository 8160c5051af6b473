"""Parquet data files of an Iceberg table, with the per-table work done once per write.

PyIceberg's public ``write_file`` passes only the table properties to its Parquet writer,
so it cannot apply a table's :class:`~makerates_lake.store.tables.ParquetLayout`: the
per-column encodings and statistics that bronze and silver are written with (they make
silver's files a fifth smaller). This writer does, and prepares what depends only on
the table (file schema, writer options, statistics plan, field-id map) once per write.

Rows of a table partitioned by one transform of one column (silver and gold by year,
bronze by day) are sorted by that column and sliced into one run per partition.
PyIceberg's splitter filters the whole table once per partition, which made it most of a
reprocess of five years of rates; ``benchmarks/README.md`` has both, measured in one run.
Any other spec goes through PyIceberg's splitter.

Everything else is PyIceberg's own: the same file names and locations, partition values,
field ids and Iceberg metrics as ``Table.append`` would record
(``tests/integration/test_datafiles.py`` compares the entries both writers record). The
PyIceberg internals it needs are in :mod:`makerates_lake.store._pyiceberg`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.transforms import (
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    YearTransform,
)
from pyiceberg.typedef import Record
from pyiceberg.utils.properties import property_as_int

from makerates_lake.store import _pyiceberg
from makerates_lake.store.arrow_types import without_views
from makerates_lake.store.tables import DEFAULT_PARQUET_LAYOUT, ParquetLayout

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.table.metadata import TableMetadata

#: Partition transforms whose value is a function of one column, so rows sorted by that
#: column lie in one run per partition.
_RUN_TRANSFORMS = (YearTransform, MonthTransform, DayTransform, HourTransform, IdentityTransform)

#: A partition's key (None when unpartitioned) and its rows.
Part = tuple[PartitionKey | None, pa.Table]


class DataFileWriter:
    """Writes rows as data files of one table (no commit), laid out by its partition spec.

    Args:
        metadata: The table's metadata; its properties set file size, row groups, codec.
        io: The table's FileIO.
        layout: Per-column Parquet choices (:class:`~makerates_lake.store.tables.ParquetLayout`).
    """

    def __init__(
        self, metadata: TableMetadata, io: FileIO, layout: ParquetLayout = DEFAULT_PARQUET_LAYOUT
    ) -> None:
        from pyiceberg.io.pyarrow import compute_statistics_plan, parquet_path_to_id_mapping
        from pyiceberg.schema import sanitize_column_names
        from pyiceberg.table import DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE, TableProperties
        from pyiceberg.table.locations import load_location_provider
        from pyiceberg.utils.config import Config

        self._metadata = metadata
        self._io = io
        self._schema = metadata.schema()
        sanitized = sanitize_column_names(self._schema)
        self._file_schema = sanitized if sanitized != self._schema else self._schema
        names = [field.name for field in self._file_schema.fields]
        self._writer_options = layout.writer_options(
            names, _pyiceberg.parquet_writer_options(metadata.properties)
        )
        self._row_group_size = property_as_int(
            metadata.properties,
            TableProperties.PARQUET_ROW_GROUP_LIMIT,
            TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT,
        )
        self._target_file_size = property_as_int(
            metadata.properties,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )
        self._locations = load_location_provider(metadata.location, metadata.properties)
        # Columns the layout writes without Parquet statistics get no Iceberg metrics
        # either (PyIceberg would otherwise warn that their statistics are missing).
        no_metrics = {
            f"{TableProperties.METRICS_MODE_COLUMN_CONF_PREFIX}.{name}": "none"
            for name in layout.without_statistics
        }
        self._statistics_plan = compute_statistics_plan(
            self._file_schema, {**metadata.properties, **no_metrics}
        )
        self._field_ids = parquet_path_to_id_mapping(self._file_schema)
        self._downcast_ns = Config().get_bool(DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE) or False
        self._write_uuid = uuid.uuid4()
        self._task_ids = itertools.count(0)

    def write(self, rows: pa.Table) -> list[DataFile]:
        """Write ``rows`` as data files: one or more per partition, none for no rows."""
        from pyiceberg.io.pyarrow import bin_pack_arrow_table
        from pyiceberg.utils.concurrent import ExecutorFactory

        if rows.num_rows == 0:
            return []
        target = self._target_file_size or 0
        tasks = [
            (next(self._task_ids), key, batches)
            for key, part in self._parts(rows)
            for batches in bin_pack_arrow_table(part, target)
        ]
        executor = ExecutorFactory.get_or_create()
        return list(executor.map(lambda task: self._write_file(*task), tasks))

    def _parts(self, rows: pa.Table) -> Iterator[Part]:
        """Rows in the file schema, split by partition."""
        spec = self._metadata.spec()
        if spec.is_unpartitioned():
            yield None, self._to_file_schema(rows)
            return
        runs = self._runs(rows)
        if runs is None:
            rows = without_views(rows)
            for key, part in _pyiceberg.partitions(spec, self._schema, rows):
                yield key, self._to_file_schema(part)
            return
        rows, bounds = runs
        converted = self._to_file_schema(rows)
        for key, first, length in bounds:
            yield key, converted.slice(first, length)

    def _runs(self, rows: pa.Table) -> tuple[pa.Table, list[tuple[PartitionKey, int, int]]] | None:
        """Each partition's key and (offset, length) in ``rows``, sorted by the partition
        column if its partitions are not contiguous; None when the spec is not one
        transform of one column (the generic per-partition filter handles that)."""
        spec = self._metadata.spec()
        if len(spec.fields) != 1 or not isinstance(spec.fields[0].transform, _RUN_TRANSFORMS):
            return None
        field = spec.fields[0]
        column = self._schema.find_column_name(field.source_id)
        if column is None or column not in rows.column_names or rows[column].null_count:
            return None
        source_type = self._schema.find_field(field.source_id).field_type
        transform = field.transform.pyarrow_transform(source_type)
        starts, values = _run_starts(transform(without_views(rows.select([column]))[column]))
        if len(set(values)) != len(values):  # a partition's rows are not contiguous
            # A stable sort by the source column keeps each partition's rows in order.
            rows = without_views(rows).sort_by([(column, "ascending")])
            starts, values = _run_starts(transform(rows[column]))
        ends = [*starts[1:], rows.num_rows]
        bounds = [
            (
                PartitionKey(
                    field_values=[PartitionFieldValue(field=field, value=value)],
                    partition_spec=spec,
                    schema=self._schema,
                ),
                first,
                end - first,
            )
            for value, first, end in zip(values, starts, ends, strict=True)
        ]
        return rows, bounds

    def _to_file_schema(self, rows: pa.Table) -> pa.Table:
        """``rows`` with the file schema's names, types and field ids."""
        return _pyiceberg.to_file_schema(
            rows,
            self._schema,
            self._file_schema,
            self._metadata.format_version,
            self._downcast_ns,
        )

    def _write_file(
        self, task_id: int, key: PartitionKey | None, batches: list[pa.RecordBatch]
    ) -> DataFile:
        from pyiceberg.io.pyarrow import data_file_statistics_from_parquet_metadata

        rows = pa.Table.from_batches(batches)
        path = self._locations.new_data_location(
            data_file_name=f"00000-{task_id}-{self._write_uuid}.parquet", partition_key=key
        )
        output = self._io.new_output(path)
        with (
            output.create(overwrite=True) as stream,
            pq.ParquetWriter(
                stream, schema=rows.schema, store_decimal_as_integer=True, **self._writer_options
            ) as writer,
        ):
            writer.write(rows, row_group_size=self._row_group_size)
        statistics = data_file_statistics_from_parquet_metadata(
            parquet_metadata=writer.writer.metadata,
            stats_columns=self._statistics_plan,
            parquet_column_mapping=self._field_ids,
        )
        data_file = DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=path,
            file_format=FileFormat.PARQUET,
            partition=key.partition if key else Record(),
            file_size_in_bytes=len(output),
            sort_order_id=None,
            equality_ids=None,
            key_metadata=None,
            **statistics.to_serialized_dict(),
        )
        # Not a field of the manifest entry, so from_args drops it; ArrowScan reads it,
        # e.g. when compaction scans the files it wrote before committing them.
        data_file.spec_id = self._metadata.default_spec_id
        return data_file


def _run_starts(values: pa.Array | pa.ChunkedArray) -> tuple[list[int], list[Any]]:
    """Offsets where each run of equal values starts, and each run's value."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    plain = array.to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(plain[1:] != plain[:-1]) + 1))
    first_values = array.take(pa.array(starts)).to_pylist()
    return [int(s) for s in starts], first_values


def write_data_files(
    metadata: TableMetadata,
    io: FileIO,
    rows: pa.Table,
    layout: ParquetLayout = DEFAULT_PARQUET_LAYOUT,
) -> list[DataFile]:
    """Write ``rows`` as data files of the table described by ``metadata`` (no commit)."""
    return DataFileWriter(metadata, io, layout).write(rows)
