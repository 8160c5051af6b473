"""Bronze on both layouts: append, de-duplication, redaction, verification."""

from __future__ import annotations

import pytest

from makerates_lake.bronze import BronzeRecord, BronzeWriter, verify_bronze
from makerates_lake.errors import DuplicateExtractionError
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS
from tests.integration.bronze_helpers import all_stored_bytes, make_record


def test_append_then_read_back_verbatim(lake: Lake) -> None:
    """Appended rows come back with the exact bytes and the checksum of those bytes."""
    records = [make_record(i) for i in range(5)]
    result = BronzeWriter(lake).append(records)
    assert result.written == 5
    rows = lake.bronze().scan().to_arrow().sort_by("extraction_id").to_pylist()
    expected = sorted(records, key=lambda r: r.extraction_id)
    assert [r["raw_response"] for r in rows] == [r.raw_response for r in expected]
    assert [r["response_checksum"] for r in rows] == [r.response_checksum for r in expected]
    assert verify_bronze(lake).ok


def test_one_batch_is_one_snapshot(lake: Lake) -> None:
    """A batch of many records commits exactly one snapshot."""
    before = len(lake.bronze().snapshots())
    BronzeWriter(lake).append([make_record(i) for i in range(20)])
    assert len(lake.bronze().snapshots()) == before + 1


def test_writing_the_same_extraction_twice_is_a_no_op(lake: Lake) -> None:
    """Re-appending stored extraction_ids writes nothing and reports them as skipped."""
    records = [make_record(i) for i in range(3)]
    writer = BronzeWriter(lake)
    writer.append(records)
    again = writer.append([*records, make_record(99)])
    assert again.written == 1
    assert set(again.skipped) == {r.extraction_id for r in records}
    assert lake.bronze().scan().to_arrow().num_rows == 4


def test_strict_mode_refuses_duplicates(lake: Lake) -> None:
    """With on_duplicate='error', a stored extraction_id raises DuplicateExtractionError."""
    record = make_record()
    BronzeWriter(lake).append([record])
    with pytest.raises(DuplicateExtractionError) as info:
        BronzeWriter(lake, on_duplicate="error").append([record])
    assert record.extraction_id in str(info.value)


def test_a_batch_holding_two_different_rows_with_one_id_is_refused(lake: Lake) -> None:
    """Two different records sharing an extraction_id are an error, not a silent pick."""
    first = make_record(1)
    second = make_record(2, extraction_id=first.extraction_id)
    with pytest.raises(DuplicateExtractionError):
        BronzeWriter(lake).append([first, second])
    assert lake.bronze().scan().to_arrow().num_rows == 0


def test_failed_request_is_stored_with_null_status(lake: Lake) -> None:
    """A request that got no response is a bronze row too."""
    failed = BronzeRecord.create(
        source_name="frankfurter",
        source_version="v1",
        request_url="https://api.frankfurter.dev/v1/latest",
        raw_response=b"",
        error_code="connect-timeout",
        error_message="connect timed out after 5 s",
        retry_attempt=2,
        source_tier="fallback",
    )
    BronzeWriter(lake).append([failed])
    row = lake.bronze().scan().to_arrow().to_pylist()[0]
    assert row["http_status_code"] is None
    assert row["error_code"] == "connect-timeout"
    assert row["retry_attempt"] == 2
    assert row["source_tier"] == "fallback"


def test_table_is_partitioned_by_day(lake: Lake) -> None:
    """bronze.extractions is partitioned by day(extraction_timestamp)."""
    spec = lake.bronze().spec()
    assert [(f.name, str(f.transform)) for f in spec.fields] == [("extraction_day", "day")]


def test_opening_twice_is_idempotent(lake: Lake) -> None:
    """Opening an existing lake creates nothing new and keeps the data."""
    BronzeWriter(lake).append([make_record()])
    again = open_lake(lake.settings)
    assert again.table(BRONZE_EXTRACTIONS).scan().to_arrow().num_rows == 1


def test_api_key_bytes_are_nowhere_in_storage(lake: Lake) -> None:
    """After storing requests that carried a key, its bytes are in no file or catalog row."""
    key = "live-key-5f0c9a1b2c3d4e5f6a7b8c9d"
    records = [
        BronzeRecord.create(
            source_name="exchangerate-api",
            source_version="v6",
            request_url=f"https://v6.exchangerate-api.com/v6/{key}/latest/USD?apikey={key}",
            request_headers={"Authorization": f"Bearer {key}", "User-Agent": "makerates"},
            raw_response=b'{"result":"error","error-type":"invalid-key"}',
            http_status_code=403,
            error_code="invalid-key",
            error_message=f"key {key} was refused",
            secrets=[key],
        )
    ]
    BronzeWriter(lake).append(records)
    stored = all_stored_bytes(lake)
    assert b"[REDACTED]" in stored  # the scan does see decoded row contents
    assert key.encode() not in stored
