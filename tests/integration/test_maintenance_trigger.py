"""Automatic trigger, bounded table size and orphan clean-up safety (embedded lake)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.maintenance import MaintenancePolicy, run_maintenance, table_stats
from makerates_lake.maintenance.policy import LAST_RUN_PROPERTY, TRIGGER_SNAPSHOTS_PROPERTY
from makerates_lake.maintenance.run import maybe_maintain
from makerates_lake.pipeline import backfill_bronze, sample_ecb_history
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, SILVER_RATES

DAY0 = datetime(2024, 5, 1, tzinfo=UTC)


def _record(i: int) -> BronzeRecord:
    return BronzeRecord.create(
        source_name="frankfurter",
        request_url="https://api.frankfurter.app/latest",
        raw_response=f'{{"base":"EUR","rates":{{"USD":1.{i}}}}}'.encode(),
        http_status_code=200,
        extraction_timestamp=DAY0 + timedelta(hours=4 * (i % 6), minutes=i),
    )


def test_trigger_keeps_files_and_manifests_bounded(embedded_lake: Lake) -> None:
    """With the trigger every 5 snapshots, 30 one-row appends (each followed by the
    pipeline's maintenance check) never pile up files."""
    table = embedded_lake.bronze()
    with table.transaction() as transaction:
        transaction.set_properties({TRIGGER_SNAPSHOTS_PROPERTY: "5"})
    writer = BronzeWriter(embedded_lake)
    peak_files = peak_manifests = 0
    for i in range(30):
        writer.append([_record(i)])
        maybe_maintain(embedded_lake, BRONZE_EXTRACTIONS)
        stats = table_stats(embedded_lake, BRONZE_EXTRACTIONS)
        peak_files = max(peak_files, stats.max_files_per_partition)
        peak_manifests = max(peak_manifests, stats.manifests)
    stats = table_stats(embedded_lake, BRONZE_EXTRACTIONS)
    assert stats.data_files <= 6  # one partition: compacted file(s) plus the latest runs
    assert peak_files <= 6
    assert peak_manifests <= 8
    assert embedded_lake.bronze().scan().to_arrow().num_rows == 30


def test_without_trigger_files_grow_with_every_commit(embedded_lake: Lake) -> None:
    """The baseline of the test above: with the trigger off, every append adds a file."""
    table = embedded_lake.bronze()
    with table.transaction() as transaction:
        transaction.set_properties({"makerates.maintenance.auto": "false"})
    writer = BronzeWriter(embedded_lake)
    for i in range(12):
        writer.append([_record(i)])
        maybe_maintain(embedded_lake, BRONZE_EXTRACTIONS)
    stats = table_stats(embedded_lake, BRONZE_EXTRACTIONS)
    assert stats.max_files_per_partition == 12
    assert stats.snapshots == 12


def test_a_pipeline_backfill_maintains_bronze_when_due(embedded_lake: Lake) -> None:
    """The pipeline, not the bronze writer, runs the trigger after a bronze commit."""
    table = embedded_lake.bronze()
    with table.transaction() as transaction:
        transaction.set_properties({TRIGGER_SNAPSHOTS_PROPERTY: "1"})
    BronzeWriter(embedded_lake).append([_record(1)])
    assert LAST_RUN_PROPERTY not in embedded_lake.bronze().properties  # the writer alone
    backfill_bronze(embedded_lake, path=sample_ecb_history())
    done_at = embedded_lake.bronze().properties.get(LAST_RUN_PROPERTY)
    assert done_at is not None
    current = embedded_lake.bronze().current_snapshot()
    assert current is not None
    assert done_at == str(current.snapshot_id)


def _age(path: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


def test_orphan_cleanup_spares_referenced_young_and_unreadable_bronze_files(
    embedded_lake: Lake,
) -> None:
    """Old unreferenced silver files go; young, referenced and unjudgeable bronze ones stay."""
    BronzeWriter(embedded_lake).append([_record(1)])
    silver_dir = Path(embedded_lake.location_of(SILVER_RATES).removeprefix("file://"))
    bronze_dir = Path(embedded_lake.location_of(BRONZE_EXTRACTIONS).removeprefix("file://"))
    (silver_dir / "data").mkdir(parents=True, exist_ok=True)
    old_orphan = silver_dir / "data" / "old-orphan.parquet"
    young_orphan = silver_dir / "data" / "young-orphan.parquet"
    bronze_orphan = bronze_dir / "data" / "old-bronze-orphan.parquet"
    for path in (old_orphan, young_orphan, bronze_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not referenced")
    _age(old_orphan, 10)
    _age(bronze_orphan, 10)
    referenced = [p for p in bronze_dir.rglob("*") if p.is_file() and p != bronze_orphan]
    for path in referenced:
        _age(path, 10)
    report = run_maintenance(embedded_lake, policy=MaintenancePolicy(), compact=False,
                             expire=False)
    assert not old_orphan.exists()
    assert young_orphan.exists()
    assert bronze_orphan.exists()
    assert all(p.exists() for p in referenced)
    assert report.orphans_removed == 1
    assert list(report.bronze_unclear_kept) == [bronze_orphan.as_uri()]
    assert embedded_lake.bronze().scan().to_arrow().num_rows == 1


def test_maintaining_an_unchanged_table_again_commits_nothing(embedded_lake: Lake) -> None:
    """Bronze keeps every metadata.json, so a no-op pass must not write another one."""
    BronzeWriter(embedded_lake).append([_record(1)])
    run_maintenance(embedded_lake, tables=(BRONZE_EXTRACTIONS,))
    maintained = embedded_lake.bronze(refresh=True).metadata_location

    run_maintenance(embedded_lake, tables=(BRONZE_EXTRACTIONS,))

    assert embedded_lake.bronze(refresh=True).metadata_location == maintained
