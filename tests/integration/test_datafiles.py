"""datafiles.DataFileWriter records what PyIceberg's own writer records, on every table.

The writer replaces PyIceberg's ``_dataframe_to_data_files`` for bronze, silver, gold and
compaction: each comparison writes the same rows with both and compares the DataFile
entries a commit would record (partition, counts, bounds, locations) and the rows.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.maintenance import run_maintenance
from makerates_lake.pipeline import run_transform
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import overwrite_files, to_arrow
from makerates_lake.store.datafiles import write_data_files
from makerates_lake.store.layouts import SILVER_FEW_VALUED
from makerates_lake.store.scan import read
from makerates_lake.store.tables import (
    AUDIT_ACCESS_LOG,
    BRONZE_EXTRACTIONS,
    DEFAULT_PARQUET_LAYOUT,
    GOLD_DIM_CURRENCY,
    GOLD_FACT_RATE,
    SILVER_RATES,
    TableSpec,
)
from tests.audit_helpers import day_record

pytestmark = pytest.mark.integration

#: Days in three calendar years, so the year-partitioned tables get three partitions.
DAYS = [date(2022, 12, 30), date(2023, 1, 2), date(2023, 7, 3), date(2024, 5, 6)]


def _lake_over_three_years(lake: Lake) -> None:
    BronzeWriter(lake).append([day_record(day, i) for i, day in enumerate(DAYS)])
    run_transform(lake)


def _pyiceberg_files(table: Table, rows: pa.Table) -> list[DataFile]:
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    return list(_dataframe_to_data_files(table_metadata=table.metadata, df=rows, io=table.io))


def _entry(data_file: DataFile) -> dict[str, Any]:
    """What a manifest records of a file, minus its name (a fresh UUID per write)."""
    directory = data_file.file_path.rsplit("/", 1)[0]
    return {
        "directory": directory,
        "partition": tuple(data_file.partition[i] for i in range(len(data_file.partition))),
        "record_count": data_file.record_count,
        "value_counts": dict(data_file.value_counts or {}),
        "null_value_counts": dict(data_file.null_value_counts or {}),
        "lower_bounds": dict(data_file.lower_bounds or {}),
        "upper_bounds": dict(data_file.upper_bounds or {}),
        "columns_sized": sorted(data_file.column_sizes or {}),
        "split_offsets_given": bool(data_file.split_offsets),
        "format": data_file.file_format,
    }


def _rows(table: Table, files: list[DataFile]) -> list[dict[str, Any]]:
    """Every row of these files, in a fixed order whatever order the files came in."""
    read = [pq.read_table(table.io.new_input(f.file_path).open()) for f in files]
    return sorted(pa.concat_tables(read).to_pylist(), key=repr)


@pytest.mark.parametrize(
    "spec",
    [BRONZE_EXTRACTIONS, SILVER_RATES, GOLD_FACT_RATE, GOLD_DIM_CURRENCY],
    ids=lambda spec: spec.identifier,
)
def test_records_what_pyiceberg_records(embedded_lake: Lake, spec: TableSpec) -> None:
    _lake_over_three_years(embedded_lake)
    table = embedded_lake.table(spec)
    rows = table.scan().to_arrow()
    assert rows.num_rows >= len(DAYS)

    theirs = _pyiceberg_files(table, rows)
    ours = write_data_files(table.metadata, table.io, rows, DEFAULT_PARQUET_LAYOUT)

    assert sorted((_entry(f) for f in ours), key=lambda e: e["partition"]) == sorted(
        (_entry(f) for f in theirs), key=lambda e: e["partition"]
    )
    assert _rows(table, ours) == _rows(table, theirs)


def test_access_log_month_partitions_match(embedded_lake: Lake) -> None:
    table = embedded_lake.table(AUDIT_ACCESS_LOG)
    times = [datetime(2024, 1, 31, 23, tzinfo=UTC) + timedelta(days=15 * i) for i in range(6)]
    rows = pa.Table.from_pylist(
        [
            {
                "audit_id": f"id-{i}",
                "accessed_at": when,
                "principal": "auditor",
                "action": "trace",
                "table_name": "gold.fact_rate",
                "record_ids": [f"r{i}"],
                "host": "localhost",
                "ip_address": None,
                "query_text": None,
                "process_id": i,
            }
            for i, when in enumerate(times)
        ],
        AUDIT_ACCESS_LOG.schema.as_arrow(),
    )

    theirs = _pyiceberg_files(table, rows)
    ours = write_data_files(table.metadata, table.io, rows)

    months = {(when.year, when.month) for when in times}
    assert len(ours) == len(months)
    assert sorted((_entry(f) for f in ours), key=lambda e: e["partition"]) == sorted(
        (_entry(f) for f in theirs), key=lambda e: e["partition"]
    )


def test_rows_out_of_partition_order_are_grouped(embedded_lake: Lake) -> None:
    _lake_over_three_years(embedded_lake)
    table = embedded_lake.table(SILVER_RATES)
    rows = table.scan().to_arrow()
    shuffled = rows.take(random.Random(7).sample(range(rows.num_rows), rows.num_rows))

    ours = write_data_files(table.metadata, table.io, shuffled)

    assert len(ours) == len({day.year for day in DAYS})  # one file per year, not per run
    for data_file in ours:
        years = {row["rate_date"].year for row in _rows(table, [data_file])}
        assert years == {1970 + data_file.partition[0]}
    assert sum(f.record_count for f in ours) == rows.num_rows


def test_text_as_views_is_written_as_large_strings_are(embedded_lake: Lake) -> None:
    """Rows whose text is Arrow views (what ``store.to_arrow`` gives) and out of partition
    order (the sort, which needs PyArrow's ``take``) record the same entries and rows as
    the large strings do; the footers keep no Arrow schema naming the views."""
    _lake_over_three_years(embedded_lake)
    table = embedded_lake.table(SILVER_RATES)
    rows = table.scan().to_arrow()
    shuffled = rows.take(random.Random(11).sample(range(rows.num_rows), rows.num_rows))
    views = to_arrow(pl.from_arrow(shuffled), SILVER_RATES)  # type: ignore[arg-type]
    assert pa.string_view() in views.schema.types

    large = write_data_files(table.metadata, table.io, shuffled, SILVER_RATES.parquet)
    viewed = write_data_files(table.metadata, table.io, views, SILVER_RATES.parquet)

    assert sorted((_entry(f) for f in viewed), key=lambda e: e["partition"]) == sorted(
        (_entry(f) for f in large), key=lambda e: e["partition"]
    )
    assert _rows(table, viewed) == _rows(table, large)
    for data_file in viewed:
        footer = pq.ParquetFile(table.io.new_input(data_file.file_path).open()).metadata
        assert b"ARROW:schema" not in (footer.metadata or {})


def test_files_with_and_without_an_arrow_schema_read_together(embedded_lake: Lake) -> None:
    """Files written before the footers dropped Arrow's schema (large strings named
    there) and files written after it (views) read back together by every reader."""
    _lake_over_three_years(embedded_lake)
    table = embedded_lake.table(SILVER_RATES)
    rows = table.scan().to_arrow()
    earlier = dataclasses.replace(SILVER_RATES.parquet, arrow_schema=True)
    old = write_data_files(
        table.metadata, table.io, rows.cast(SILVER_RATES.schema.as_arrow()), earlier
    )
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    new = write_data_files(
        table.metadata, table.io, to_arrow(frame, SILVER_RATES), SILVER_RATES.parquet
    )
    overwrite_files(embedded_lake, SILVER_RATES, [*old, *new])
    table = embedded_lake.table(SILVER_RATES, refresh=True)

    expected = sorted(rows.column("rate_text").to_pylist() * 2)
    assert sorted(table.scan().to_arrow().column("rate_text").to_pylist()) == expected
    assert sorted(pl.scan_iceberg(table).collect().get_column("rate_text")) == expected
    assert sorted(read(embedded_lake, SILVER_RATES).get_column("rate_text")) == expected
    paths = ", ".join(f"'{_local(f.file_path)}'" for f in [*old, *new])
    by_duckdb = duckdb.sql(f"SELECT rate_text FROM read_parquet([{paths}])").fetchall()
    assert sorted(text for (text,) in by_duckdb) == expected


def test_rolls_files_at_the_target_size(embedded_lake: Lake) -> None:
    _lake_over_three_years(embedded_lake)
    table = embedded_lake.table(SILVER_RATES)
    rows = table.scan().to_arrow()
    small = table.metadata.model_copy(
        update={"properties": {**table.metadata.properties, "write.target-file-size-bytes": "1"}}
    )

    ours = write_data_files(small, table.io, rows)
    theirs = list(_pyiceberg_files_with(small, table, rows))

    assert len(ours) == len(theirs) == rows.num_rows  # one row a file at a 1-byte target
    assert sum(f.record_count for f in ours) == rows.num_rows


def _pyiceberg_files_with(metadata: Any, table: Table, rows: pa.Table) -> list[DataFile]:
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    return list(_dataframe_to_data_files(table_metadata=metadata, df=rows, io=table.io))


def test_no_rows_no_files(embedded_lake: Lake) -> None:
    table = embedded_lake.table(SILVER_RATES)
    empty = SILVER_RATES.schema.as_arrow().empty_table()

    assert write_data_files(table.metadata, table.io, empty) == []


def _bronze_files(lake: Lake) -> list[str]:
    table = lake.bronze(refresh=True)
    return [task.file.file_path for task in table.scan().plan_files()]


def _local(path: str) -> str:
    return path.removeprefix("file://")


def _assert_bronze_layout(path: str) -> None:
    meta = pq.ParquetFile(_local(path)).metadata
    encodings: dict[str, set[str]] = {}
    statistics: dict[str, bool] = {}
    for group in range(meta.num_row_groups):
        for i in range(meta.num_columns):
            chunk = meta.row_group(group).column(i)
            encodings.setdefault(chunk.path_in_schema, set()).update(chunk.encodings)
            statistics[chunk.path_in_schema] = chunk.is_stats_set
    for column, encoding in BRONZE_EXTRACTIONS.parquet.encodings.items():
        assert encoding in encodings[column], (column, encodings[column])
        assert not any("DICTIONARY" in e for e in encodings[column]), column
    assert statistics["raw_response"] is False
    assert statistics["extraction_id"] is True  # the trace prunes row groups on it
    assert (
        "RLE_DICTIONARY" in encodings["source_name"]
        or "PLAIN_DICTIONARY" in encodings["source_name"]
    )
    assert b"ARROW:schema" not in (meta.metadata or {})


def test_bronze_files_use_bronze_layout_and_read_back_everywhere(embedded_lake: Lake) -> None:
    records = [day_record(DAYS[0], i) for i in range(6)]
    BronzeWriter(embedded_lake).append(records)

    [path] = _bronze_files(embedded_lake)
    _assert_bronze_layout(path)
    [data_file] = [t.file for t in embedded_lake.bronze().scan().plan_files()]
    raw_id = BRONZE_EXTRACTIONS.schema.find_field("raw_response").field_id
    assert raw_id not in (data_file.lower_bounds or {})
    assert raw_id in (data_file.column_sizes or {})

    expected = {r.extraction_id: (r.raw_response, r.response_checksum) for r in records}
    by_pyiceberg = embedded_lake.bronze().scan().to_arrow()
    by_duckdb = duckdb.sql(
        f"SELECT extraction_id, raw_response, response_checksum FROM '{_local(path)}'"
    ).fetchall()
    assert {
        row["extraction_id"]: (row["raw_response"], row["response_checksum"])
        for row in by_pyiceberg.to_pylist()
    } == expected
    assert {eid: (bytes(raw), checksum) for eid, raw, checksum in by_duckdb} == expected


def test_compaction_keeps_the_bronze_layout(embedded_lake: Lake) -> None:
    day = DAYS[0]
    for i in range(4):  # four ingests of the same day: four files in one partition
        record = day_record(day, i)
        BronzeWriter(embedded_lake).append([record])
    assert len(_bronze_files(embedded_lake)) == 4

    run_maintenance(embedded_lake, tables=(BRONZE_EXTRACTIONS,))

    [path] = _bronze_files(embedded_lake)
    _assert_bronze_layout(path)
    assert pq.ParquetFile(_local(path)).metadata.num_rows == 4


def test_silver_few_valued_columns_are_uncompressed_and_read_back_everywhere(
    embedded_lake: Lake,
) -> None:
    _lake_over_three_years(embedded_lake)
    table = embedded_lake.table(SILVER_RATES)
    paths = [_local(task.file.file_path) for task in table.scan().plan_files()]
    assert paths

    for path in paths:
        group = pq.ParquetFile(path).metadata.row_group(0)
        codecs = {
            group.column(i).path_in_schema: group.column(i).compression
            for i in range(group.num_columns)
        }
        assert {codecs[name] for name in SILVER_FEW_VALUED} == {"UNCOMPRESSED"}
        others = set(codecs) - set(SILVER_FEW_VALUED)
        assert {codecs[name] for name in others} == {"ZSTD"}

    by_pyiceberg = table.scan().to_arrow().sort_by("quote_currency")
    by_duckdb = duckdb.sql(
        "SELECT * FROM read_parquet([" + ", ".join(f"'{p}'" for p in paths) + "])"
    ).to_arrow_table()
    assert by_pyiceberg.num_rows == by_duckdb.num_rows > 0
    assert sorted(by_duckdb.column("rate_text").to_pylist()) == sorted(
        by_pyiceberg.column("rate_text").to_pylist()
    )
    assert sorted(by_duckdb.column("source_name").to_pylist()) == sorted(
        by_pyiceberg.column("source_name").to_pylist()
    )
