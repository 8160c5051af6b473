"""Compaction and expiry on both layouts: same rows, fewer files, tags survive."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.verify import verify_bronze
from makerates_lake.bronze.writer import BronzeWriter, records_to_arrow
from makerates_lake.maintenance import (
    MaintenancePolicy,
    compact_table,
    files_per_partition,
    run_maintenance,
)
from makerates_lake.maintenance.bronze_orphans import remove_bronze_orphans
from makerates_lake.maintenance.orphans import _normalise, referenced_files
from makerates_lake.maintenance.policy import AUTO_PROPERTY
from makerates_lake.pipeline import run_transform
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import overwrite_files, write_files
from makerates_lake.store.datafiles import write_data_files
from makerates_lake.store.files import live_data_files
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, SILVER_RATES
from tests.audit_helpers import day_record
from tests.s3_tools import boto3_client

DAY0 = datetime(2024, 3, 1, 6, tzinfo=UTC)


def _records(days: int, per_day: int) -> list[BronzeRecord]:
    return [
        BronzeRecord.create(
            source_name="frankfurter",
            source_version="v1",
            request_url="https://api.frankfurter.app/latest",
            raw_response=f'{{"base":"EUR","date":"d{d}","rates":{{"USD":1.{d}{r}}}}}'.encode(),
            http_status_code=200,
            extraction_timestamp=DAY0 + timedelta(days=d, hours=3 * r),
        )
        for d in range(days)
        for r in range(per_day)
    ]


def _fill(lake: Lake, days: int = 3, per_day: int = 4) -> list[BronzeRecord]:
    table = lake.bronze()
    with table.transaction() as transaction:
        transaction.set_properties({AUTO_PROPERTY: "false"})
    records = _records(days, per_day)
    writer = BronzeWriter(lake)
    for run in range(per_day):  # one commit per run, each touching every day
        writer.append([r for i, r in enumerate(records) if i % per_day == run])
    return records


def _pairs(lake: Lake) -> set[tuple[str, str]]:
    rows = lake.bronze().scan(selected_fields=("extraction_id", "response_checksum")).to_arrow()
    return set(
        zip(rows["extraction_id"].to_pylist(), rows["response_checksum"].to_pylist(), strict=True)
    )


def test_compaction_keeps_every_row_and_checksum(lake: Lake) -> None:
    """Compacting bronze leaves the same id/checksum pairs, full rows and a clean verify."""
    records = _fill(lake)
    before = lake.bronze().scan().to_arrow().sort_by("extraction_id")
    result = compact_table(lake, BRONZE_EXTRACTIONS)
    after = lake.bronze().scan().to_arrow().sort_by("extraction_id")
    assert result.files_removed == 12
    assert result.files_added == 3
    assert _pairs(lake) == {(r.extraction_id, r.response_checksum) for r in records}
    assert after.equals(before)
    report = verify_bronze(lake)
    assert report.ok
    assert report.rows_checked == 12


def test_compaction_leaves_one_file_per_day_partition(lake: Lake) -> None:
    """Each day partition drops from four files to one and keeps its day."""
    _fill(lake)
    assert sorted(files_per_partition(lake.bronze()).values()) == [4, 4, 4]
    compact_table(lake, BRONZE_EXTRACTIONS)
    counts = files_per_partition(lake.bronze())
    assert sorted(counts.values()) == [1, 1, 1]
    days = lake.bronze().scan(selected_fields=("extraction_timestamp",)).to_arrow()
    assert len({ts.date() for ts in days["extraction_timestamp"].to_pylist()}) == len(counts)


def test_original_bronze_files_stay_in_storage(lake: Lake) -> None:
    """Compaction deletes no object: every replaced file still exists and still reads."""
    _fill(lake)
    old = [f.file_path for f in live_data_files(lake.bronze())]
    compact_table(lake, BRONZE_EXTRACTIONS)
    table = lake.bronze()
    assert not set(old) & {f.file_path for f in live_data_files(table)}
    for path in old:
        assert table.io.new_input(path).exists()
    if lake.bronze_object_lock:  # on WORM the new files are locked as well
        from makerates_lake.store.worm import split_s3_uri

        bucket, key = split_s3_uri(live_data_files(table)[0].file_path)
        head = boto3_client(lake.settings).head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=365)


def test_time_travel_to_before_compaction_reads_the_same_rows(lake: Lake) -> None:
    """A snapshot taken before compaction still returns every row afterwards."""
    _fill(lake)
    table = lake.bronze()
    snapshot = table.current_snapshot()
    assert snapshot is not None
    compact_table(lake, BRONZE_EXTRACTIONS)
    old = lake.bronze().scan(snapshot_id=snapshot.snapshot_id).to_arrow()
    assert old.num_rows == 12


def test_expiry_keeps_tagged_snapshots(lake: Lake) -> None:
    """Maintenance expires untagged old snapshots but never a tagged one."""
    _fill(lake)
    table = lake.bronze()
    first = min(table.metadata.snapshots, key=lambda s: s.timestamp_ms).snapshot_id
    table.manage_snapshots().create_tag(first, "published-test").commit()
    policy = MaintenancePolicy(snapshot_window=timedelta(0), keep_last=1)
    report = run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,), policy=policy, orphans=False)
    ids = {s.snapshot_id for s in lake.bronze().metadata.snapshots}
    assert first in ids
    assert len(ids) == 2  # the tagged one and the current (compaction) snapshot
    assert report.expiry[0].expired == 3  # four appends + compaction, minus tag and head
    assert lake.bronze().scan(snapshot_id=first).to_arrow().num_rows == 3


def _refused(
    lake: Lake, monkeypatch: pytest.MonkeyPatch, read_back: Callable[[pa.Table], pa.Table]
) -> pytest.ExceptionInfo[Exception]:
    """Compact bronze with the read-back of the first rewritten partition passed through
    ``read_back``: the mismatch raised, after checking nothing was committed."""
    from makerates_lake.maintenance.errors import CompactionMismatchError
    from makerates_lake.store import files as store_files

    _fill(lake)
    real_read = store_files.read_files
    calls = {"n": 0}

    def changed_read(table: Table, files: Sequence[DataFile]) -> pa.Table:
        rows = real_read(table, files)
        calls["n"] += 1
        return read_back(rows) if calls["n"] == 2 else rows

    monkeypatch.setattr(store_files, "read_files", changed_read)
    snapshot_before = lake.bronze().current_snapshot()
    with pytest.raises(CompactionMismatchError) as raised:
        compact_table(lake, BRONZE_EXTRACTIONS)
    assert lake.bronze().current_snapshot() == snapshot_before
    return raised


def test_compaction_refuses_rows_that_changed(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the rewritten files differed from the originals, nothing would be committed."""

    def tampered(rows: pa.Table) -> pa.Table:
        bodies = rows["raw_response"].to_pylist()
        bodies[0] = b"tampered"
        index = rows.schema.get_field_index("raw_response")
        kind = rows.schema.field(index).type
        return rows.set_column(index, rows.schema.field(index), pa.array(bodies, kind))

    assert "different rows" in str(_refused(embedded_lake, monkeypatch, tampered).value)


def test_compaction_refuses_a_rewrite_of_other_column_types(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text read back in another form is the same rows; a number column read back as
    another type is not, and nothing is committed."""

    def retyped(rows: pa.Table) -> pa.Table:
        index = rows.schema.get_field_index("http_status_code")
        column = rows.column(index).cast(pa.int64())
        return rows.set_column(index, rows.schema.field(index).with_type(pa.int64()), column)

    raised = _refused(embedded_lake, monkeypatch, retyped)
    assert "other column types" in str(raised.value)


def test_compaction_commits_a_batch_of_day_partitions_at_a_time(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Consecutive days are committed together, so each new manifest covers few days.

    One commit for the whole history put every compacted file in one manifest, which
    every one-day read then had to decode whole.
    """
    from makerates_lake.maintenance import compact

    monkeypatch.setattr(compact, "PARTITIONS_PER_COMMIT", 2)
    _fill(embedded_lake, days=5, per_day=2)
    before = len(embedded_lake.bronze().metadata.snapshots)
    result = compact_table(embedded_lake, BRONZE_EXTRACTIONS)
    table = embedded_lake.bronze()
    assert (result.partitions, result.files_removed, result.files_added) == (5, 10, 5)
    assert len(table.metadata.snapshots) - before == 3  # days 0-1, 2-3, 4
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert snapshot.snapshot_id == result.snapshot_id
    for manifest in snapshot.manifests(table.io):
        days = {
            e.data_file.partition[0]
            for e in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
        }
        assert len(days) <= 2
    assert sorted(files_per_partition(table).values()) == [1] * 5


def _raw_response_bytes(lake: Lake) -> int:
    import pyarrow.parquet as pq

    total = 0
    for data_file in live_data_files(lake.bronze(refresh=True)):
        meta = pq.ParquetFile(data_file.file_path.removeprefix("file://")).metadata
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            for j in range(group.num_columns):
                if group.column(j).path_in_schema == "raw_response":
                    total += group.column(j).total_compressed_size
    return total


def test_bronze_compaction_rewrites_at_the_cold_zstd_level(tmp_path: Path) -> None:
    """Compacted bronze files use the policy's zstd level; rows and checksums unchanged."""
    from makerates_lake.maintenance.compact import rewrite_properties
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake
    from makerates_lake.store.tables import SILVER_RATES

    policy = MaintenancePolicy()
    assert rewrite_properties(BRONZE_EXTRACTIONS, policy)["write.parquet.compression-level"] == (
        str(policy.bronze_compression_level)
    )
    assert "write.parquet.compression-level" not in rewrite_properties(SILVER_RATES, policy)
    sizes = {}
    for level in (None, 19):
        lake = open_lake(load_settings(home=tmp_path / f"lake-{level}"))
        records = _fill(lake, days=1, per_day=6)
        compact_table(lake, BRONZE_EXTRACTIONS, MaintenancePolicy(bronze_compression_level=level))
        assert _pairs(lake) == {(r.extraction_id, r.response_checksum) for r in records}
        assert verify_bronze(lake).ok
        sizes[level] = _raw_response_bytes(lake)
    assert sizes[19] <= sizes[None]


def _stored(table: Table, path: str) -> bool:
    return table.io.new_input(path).exists()


def test_maintain_removes_a_dead_writers_bronze_files_but_keeps_compaction_originals(
    lake: Lake,
) -> None:
    """Orphan removal on bronze judges by content: uncommitted rows go, committed ones stay.

    Compaction and expiry leave the original files unreferenced (their rows live on in the
    compacted files); a killed ingest leaves files whose rows were never committed. Both
    are orphans by reference, and only the second may be deleted.
    """
    records = _fill(lake)
    originals = [f.file_path for f in live_data_files(lake.bronze())]
    expire_all_but_head = MaintenancePolicy(snapshot_window=timedelta(0), keep_last=1)
    run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,), policy=expire_all_but_head, orphans=False)
    # The compaction snapshot still lists the originals as deleted entries; the next
    # commit drops them, and expiring the compaction snapshot leaves them unreferenced.
    later = _records(days=1, per_day=1)
    BronzeWriter(lake).append(later)
    run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,), policy=expire_all_but_head, orphans=False)
    table = lake.bronze()
    assert len(table.metadata.snapshots) == 1
    assert not {_normalise(p) for p in originals} & referenced_files(table)

    # A writer killed after writing its data files: files on storage, nothing committed.
    uncommitted = _records(days=2, per_day=1)
    written = write_files(table, records_to_arrow(uncommitted), BRONZE_EXTRACTIONS)
    dead = [f.file_path for f in written]
    assert dead
    assert all(_stored(table, p) for p in dead)

    young = run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,), policy=expire_all_but_head)
    assert young.orphans_removed == 0, "the safety age keeps files a writer may still commit"
    assert all(_stored(table, p) for p in dead)

    no_safety_age = replace(expire_all_but_head, orphan_min_age=timedelta(0))
    report = run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,), policy=no_safety_age)
    assert not [p for p in dead if _stored(table, p)], "the dead writer's files must go"
    assert all(_stored(table, p) for p in originals), "compaction originals must stay"
    assert report.bronze_originals_kept == len(originals) == 12
    assert report.bronze_unclear_kept == {}
    assert report.orphans_failed == 0
    assert report.orphans_removed >= len(dead)
    committed = [*records, *later]
    assert _pairs(lake) == {(r.extraction_id, r.response_checksum) for r in committed}
    assert verify_bronze(lake).ok


def test_an_unreadable_bronze_orphan_is_kept_and_reported(lake: Lake) -> None:
    """A file maintenance cannot judge is evidence, not garbage: kept and named, with why."""
    _fill(lake, days=1, per_day=1)
    table = lake.bronze()
    path = f"{table.location()}/data/extraction_day=2024-03-01/truncated.parquet"
    with table.io.new_output(path).create() as stream:
        stream.write(b"PAR1 not really parquet")
    report = remove_bronze_orphans(lake, older_than=timedelta(0))
    assert [uri for uri in report.kept_unclear if uri.endswith("truncated.parquet")]
    assert "unreadable" in next(iter(report.kept_unclear.values()))
    assert report.removed.removed == []
    assert _stored(table, path)


def test_silver_files_with_arrow_schema_footers_compact(embedded_lake: Lake) -> None:
    """Silver files written while footers still held Arrow's schema (their text reads
    back as large strings; the rewrite's as plain strings) compact into the same rows."""
    days = [date(2023, 1, 2), date(2023, 1, 3), date(2024, 5, 6)]
    BronzeWriter(embedded_lake).append([day_record(day, i) for i, day in enumerate(days)])
    run_transform(embedded_lake)
    table = embedded_lake.table(SILVER_RATES)
    rows = table.scan().to_arrow().cast(SILVER_RATES.schema.as_arrow())
    earlier = replace(SILVER_RATES.parquet, arrow_schema=True)
    files = [
        data_file
        for first in (0, 1)  # every other row: two files in each year
        for part in [rows.take(list(range(first, rows.num_rows, 2)))]
        for data_file in write_data_files(table.metadata, table.io, part, earlier)
    ]
    overwrite_files(embedded_lake, SILVER_RATES, files)
    before = embedded_lake.table(SILVER_RATES, refresh=True)
    assert sorted(files_per_partition(before).values()) == [2, 2]

    result = compact_table(embedded_lake, SILVER_RATES)

    after = embedded_lake.table(SILVER_RATES, refresh=True)
    assert (result.partitions, result.rows) == (2, rows.num_rows)
    assert sorted(files_per_partition(after).values()) == [1, 1]
    text = sorted(rows.column("rate_text").to_pylist())
    assert sorted(after.scan().to_arrow().column("rate_text").to_pylist()) == text
