"""storage.scan_files reads the same rows as Polars' Iceberg reader, or falls back to it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from pyiceberg.types import StringType

from makerates_lake import store as storage
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.silver.build import extraction_range
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS
from tests.silver_helpers import record, v6_latest

pytestmark = pytest.mark.integration

DAYS = [datetime(2024, 5, day, 9, tzinfo=UTC) for day in (1, 2, 3)]


def _three_days(lake: Lake) -> None:
    BronzeWriter(lake).append([record(v6_latest('"EUR":0.9'), when=when) for when in DAYS])


def test_reads_the_same_rows_as_the_iceberg_reader(lake: Lake) -> None:
    _three_days(lake)
    table = lake.table(BRONZE_EXTRACTIONS)

    plain = storage.scan_files(lake, table).collect()

    assert plain.equals(storage.scan_table(lake, table).collect())
    assert plain.height == len(DAYS)


def test_columns_come_in_the_order_asked_on_every_layout(lake: Lake) -> None:
    _three_days(lake)
    table = lake.table(BRONZE_EXTRACTIONS)
    asked = ("source_name", "extraction_id", "extraction_timestamp")

    read = storage.scan_files(lake, table, columns=asked).collect()

    assert tuple(read.columns) == asked
    everything = storage.scan_table(lake, table).select(asked).collect()
    assert read.sort("extraction_id").equals(everything.sort("extraction_id"))


def test_row_filter_prunes_files_only(embedded_lake: Lake) -> None:
    _three_days(embedded_lake)
    table = embedded_lake.table(BRONZE_EXTRACTIONS)

    day = DAYS[1].date()
    pruned = storage.scan_files(embedded_lake, table, row_filter=extraction_range(day, day))

    stamps = pruned.collect().get_column("extraction_timestamp").to_list()
    assert stamps == [DAYS[1]]


def test_an_evolved_schema_goes_through_the_iceberg_reader(embedded_lake: Lake) -> None:
    _three_days(embedded_lake)
    table = embedded_lake.table(BRONZE_EXTRACTIONS)
    with table.update_schema() as update:
        update.add_column("added_later", StringType())
    table = embedded_lake.table(BRONZE_EXTRACTIONS, refresh=True)

    read = storage.scan_files(embedded_lake, table).collect()

    assert read.equals(storage.scan_table(embedded_lake, table).collect())
    assert read.get_column("added_later").null_count() == len(DAYS)


@pytest.mark.parametrize("layout", ["pg_s3_lake", "rest_s3_lake"])
def test_object_store_reads_start_no_polars_control_loop(
    layout: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Polars' object-store reader starts a loop that calls getenv every 100 ms for the
    # life of the process, racing Python's setenv into a segfault (store/scan.py). With
    # this variable set, the loop prints a line each tick: none may appear after every
    # way the store reads an object-store table.
    lake: Lake = request.getfixturevalue(layout)
    _three_days(lake)
    monkeypatch.setenv("POLARS_LOG_CONCURRENCY", "1")
    table = lake.table(BRONZE_EXTRACTIONS)

    rows = [
        storage.scan_files(lake, table).collect().height,
        storage.scan_table(lake, table).collect().height,
        storage.read(lake, BRONZE_EXTRACTIONS, columns=["extraction_id"]).height,
        sum(
            batch.height
            for batch in storage.read_in_batches(
                lake, BRONZE_EXTRACTIONS, columns=["extraction_id"], max_rows=1
            )[1]
        ),
    ]
    time.sleep(0.5)  # several of the loop's 100 ms ticks

    assert rows == [len(DAYS)] * 4
    assert "InFlightConcurrency" not in capfd.readouterr().err
    # The detector works: Polars' own S3 reader, in a process of its own (the loop would
    # outlive the read in this one), prints the loop's line.
    [task] = list(table.scan().plan_files())[:1]
    polars_read = (
        "import json, sys, time, polars as pl\n"
        "pl.scan_parquet(sys.argv[1], storage_options=json.loads(sys.argv[2])).collect()\n"
        "time.sleep(0.5)\n"
    )
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            polars_read,
            task.file.file_path,
            json.dumps(lake.storage_options()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "InFlightConcurrency" in child.stderr
