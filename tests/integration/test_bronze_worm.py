"""WORM bronze on S3 Object Lock, and tamper detection through a side door."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from mypy_boto3_s3.type_defs import ObjectLockRetentionTypeDef

from makerates_lake.bronze import BronzeWriter, verify_bronze
from makerates_lake.bronze.record import retain_until
from makerates_lake.store.catalog import Lake
from makerates_lake.store.worm import split_s3_uri
from tests.integration.bronze_helpers import make_record
from tests.s3_tools import boto3_client


def _data_files(lake: Lake) -> list[str]:
    return [task.file.file_path for task in lake.bronze().scan().plan_files()]


def test_every_bronze_object_is_compliance_locked_until_its_retention(pg_s3_lake: Lake) -> None:
    """Data, manifest and metadata objects carry COMPLIANCE retention from retention_policy."""
    record = make_record(retention_policy="keep-7-years")
    BronzeWriter(pg_s3_lake).append([record])
    table = pg_s3_lake.bronze()
    snapshot = table.current_snapshot()
    assert snapshot is not None
    objects = [table.metadata_location, snapshot.manifest_list, *_data_files(pg_s3_lake)]
    objects += [m.manifest_path for m in snapshot.manifests(table.io)]
    expected = retain_until(record.extraction_timestamp, "keep-7-years")
    client = boto3_client(pg_s3_lake.settings)
    for uri in objects:
        bucket, key = split_s3_uri(uri)
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE", uri
        assert abs(head["ObjectLockRetainUntilDate"] - expected) < timedelta(seconds=1), uri


def test_deleting_a_locked_data_file_version_is_refused(pg_s3_lake: Lake) -> None:
    """S3 refuses to delete a locked bronze data file version, even with the bypass flag."""
    BronzeWriter(pg_s3_lake).append([make_record()])
    bucket, key = split_s3_uri(_data_files(pg_s3_lake)[0])
    client = boto3_client(pg_s3_lake.settings)
    version = client.head_object(Bucket=bucket, Key=key)["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(
            Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
        )
    assert client.head_object(Bucket=bucket, Key=key, VersionId=version)["VersionId"] == version
    assert verify_bronze(pg_s3_lake).ok


def test_locked_retention_cannot_be_shortened_or_downgraded(pg_s3_lake: Lake) -> None:
    """The server refuses to shorten a bronze object's COMPLIANCE date or to switch it to
    GOVERNANCE (which a privileged user could bypass); the lock is unchanged after."""
    record = make_record(retention_policy="keep-7-years")
    BronzeWriter(pg_s3_lake).append([record])
    bucket, key = split_s3_uri(_data_files(pg_s3_lake)[0])
    client = boto3_client(pg_s3_lake.settings)
    before = client.head_object(Bucket=bucket, Key=key)
    until = before["ObjectLockRetainUntilDate"]
    attempts: list[ObjectLockRetentionTypeDef] = [
        {"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(days=30)},  # shorter
        {"Mode": "GOVERNANCE", "RetainUntilDate": until},  # bypassable
    ]
    for retention in attempts:
        with pytest.raises(ClientError, match="AccessDenied"):
            client.put_object_retention(
                Bucket=bucket,
                Key=key,
                VersionId=before["VersionId"],
                Retention=retention,
                BypassGovernanceRetention=True,
            )
    after = client.head_object(Bucket=bucket, Key=key)
    assert (after["ObjectLockMode"], after["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)


def _tampered(original: bytes, extraction_id: str) -> bytes:
    """The same Parquet file with one row's body changed (a digit flipped)."""
    table = pq.read_table(pa.BufferReader(original))
    bodies = table.column("raw_response").to_pylist()
    ids = table.column("extraction_id").to_pylist()
    index = ids.index(extraction_id)
    bodies[index] = bodies[index].replace(b"0.86720", b"0.96720")
    position = table.schema.get_field_index("raw_response")
    field = table.schema.field(position)
    table = table.set_column(position, field, pa.array(bodies, field.type))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def test_verify_flags_a_body_altered_in_s3(pg_s3_lake: Lake) -> None:
    """Overwriting a bronze object through S3 (a new version) is caught by verify, by row."""
    records = [make_record(i) for i in range(3)]
    BronzeWriter(pg_s3_lake).append(records)
    victim = records[1].extraction_id
    bucket, key = split_s3_uri(_data_files(pg_s3_lake)[0])
    client = boto3_client(pg_s3_lake.settings)
    first = client.get_object(Bucket=bucket, Key=key)
    original = first["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=_tampered(original, victim))

    report = verify_bronze(pg_s3_lake)
    assert not report.ok
    assert [m.extraction_id for m in report.mismatches] == [victim]
    assert report.rows_checked == 3
    # The overwrite is a new version; the locked original is still there, byte for byte.
    versions = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 2
    kept = client.get_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])
    assert kept["Body"].read() == original


def test_verify_flags_altered_and_missing_local_files(embedded_lake: Lake) -> None:
    """On the embedded layout a rewritten file is caught by row and a deleted one by path."""
    writer = BronzeWriter(embedded_lake)
    first = [make_record(i) for i in range(2)]
    writer.append(first)
    second_file_before = set(_data_files(embedded_lake))
    writer.append([make_record(7)])
    altered_path = next(iter(second_file_before))
    missing_path = next(p for p in _data_files(embedded_lake) if p not in second_file_before)

    local = Path(urlsplit(altered_path).path)
    local.write_bytes(_tampered(local.read_bytes(), first[0].extraction_id))
    Path(urlsplit(missing_path).path).unlink()

    report = verify_bronze(embedded_lake)
    assert [m.extraction_id for m in report.mismatches] == [first[0].extraction_id]
    problems = {p.file_path: p.problem for p in report.file_problems}
    assert problems[missing_path] == "file is missing"


def test_verify_respects_the_time_range(embedded_lake: Lake) -> None:
    """Rows outside [start, end) are not checked."""
    record = make_record()
    BronzeWriter(embedded_lake).append([record])
    stamp = record.extraction_timestamp
    assert verify_bronze(embedded_lake, stamp, stamp + timedelta(seconds=1)).rows_checked == 1
    assert verify_bronze(embedded_lake, stamp + timedelta(seconds=1)).rows_checked == 0


def test_verify_names_a_bronze_object_whose_lock_is_too_short(pg_s3_lake: Lake) -> None:
    """The same bytes put back through a side door are a new version under the bucket's
    one-day default only: the checksums still match, but verify reads the lock back and
    names the file whose rows need years."""
    record = make_record(retention_policy="keep-7-years")
    BronzeWriter(pg_s3_lake).append([record])
    assert verify_bronze(pg_s3_lake).ok
    path = _data_files(pg_s3_lake)[0]
    bucket, key = split_s3_uri(path)
    client = boto3_client(pg_s3_lake.settings)
    original = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=original)

    report = verify_bronze(pg_s3_lake)
    assert report.mismatches == []
    assert [p.file_path for p in report.file_problems] == [path]
    assert "its rows need" in report.file_problems[0].problem
