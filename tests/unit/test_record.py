"""BronzeRecord: checksums over exact bytes, status rules, redaction on creation."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from makerates_lake.bronze.record import (
    BronzeRecord,
    new_extraction_id,
    parse_retention_policy,
    retain_until,
)
from makerates_lake.errors import InvalidRecordError

KEY = "abcdef0123456789abcdef01"


def _create(**overrides: object) -> BronzeRecord:
    values: dict[str, object] = {
        "source_name": "exchangerate-api",
        "request_url": f"https://v6.exchangerate-api.com/v6/{KEY}/latest/USD",
        "raw_response": b'{"result":"success","conversion_rates":{"EUR":0.86720}}',
        "http_status_code": 200,
        "secrets": [KEY],
    }
    values.update(overrides)
    return BronzeRecord.create(**values)  # type: ignore[arg-type]


def test_checksum_is_sha256_of_the_exact_bytes() -> None:
    """The checksum is over the bytes as received, trailing zeros and spacing included."""
    body = b'{ "EUR": 0.86720 }\n'
    record = _create(raw_response=body)
    assert record.response_checksum == hashlib.sha256(body).hexdigest()
    assert record.raw_response == body
    assert record.response_size_bytes == len(body)


def test_key_is_redacted_from_url_headers_params_and_errors() -> None:
    """The API key's bytes appear in no field of the record."""
    record = _create(
        request_headers={"Authorization": f"Bearer {KEY}"},
        request_params={"note": f"k={KEY}"},
        error_message=f"failed for {KEY}",
        error_code="invalid-key",
    )
    for value in dataclasses.asdict(record).values():
        if isinstance(value, str):
            assert KEY not in value
    assert "[REDACTED]" in record.request_url


@pytest.mark.parametrize("status", [99, 600, 0, -1])
def test_status_outside_100_599_is_rejected(status: int) -> None:
    """An HTTP status outside 100-599 cannot be stored."""
    with pytest.raises(InvalidRecordError, match="100 and 599"):
        _create(http_status_code=status)


def test_failed_request_is_a_record_without_status() -> None:
    """A request that got no response is stored with status null and its error."""
    record = _create(
        http_status_code=None,
        raw_response=b"",
        error_code="timeout",
        error_message="read timed out",
    )
    assert record.http_status_code is None
    assert record.response_checksum == hashlib.sha256(b"").hexdigest()
    assert not record.succeeded


def test_no_status_and_no_error_is_rejected() -> None:
    """A record must say either what came back or what failed."""
    with pytest.raises(InvalidRecordError, match="error_message"):
        _create(http_status_code=None, raw_response=b"")


def test_naive_timestamp_is_rejected() -> None:
    """Timestamps must carry a timezone: bronze partitions by UTC day."""
    with pytest.raises(InvalidRecordError, match="timezone"):
        _create(extraction_timestamp=datetime(2026, 1, 1))


def test_tampered_checksum_is_rejected_on_construction() -> None:
    """A record whose checksum does not match its body cannot be built."""
    record = _create()
    with pytest.raises(InvalidRecordError, match="checksum"):
        dataclasses.replace(record, raw_response=b"other")


def test_create_validates_every_field() -> None:
    """create goes through the validating constructor: bad fields are refused."""
    with pytest.raises(InvalidRecordError, match="retention_policy"):
        _create(retention_policy="forever")
    with pytest.raises(InvalidRecordError, match="retry_attempt"):
        _create(retry_attempt=-1)
    with pytest.raises(InvalidRecordError, match="http_status_code"):
        _create(http_status_code=99)


def test_a_created_record_is_frozen() -> None:
    """A record cannot change after it is built."""
    record = _create()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.source_name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "extraction_id",
    [
        "not-a-uuid",
        "3F2504E0-4F89-41D3-9A0C-0305E82C3301",  # upper case: would never join
        "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
        "3f2504e04f8941d39a0c0305e82c3301",
        "3f2504e0-4f89-41d3-9a0c-0305e82c3301'; DROP TABLE x;--",
    ],
)
def test_extraction_id_must_be_a_canonical_uuid(extraction_id: str) -> None:
    """Ids join the layers as text: anything but the canonical spelling is a typed error."""
    with pytest.raises(InvalidRecordError, match="extraction_id"):
        _create(extraction_id=extraction_id)


def test_canonical_uuid_extraction_id_is_kept() -> None:
    """A caller's canonical id is stored as given."""
    record = _create(extraction_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301")
    assert record.extraction_id == "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def test_unknown_tier_is_rejected() -> None:
    """source_tier is one of a fixed set."""
    with pytest.raises(InvalidRecordError, match="source_tier"):
        _create(source_tier="tertiary")


def test_retention_policy_parsing() -> None:
    """keep-N-years/days parse to durations; other text is an error."""
    assert parse_retention_policy("keep-90-days") == timedelta(days=90)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert retain_until(start, "keep-5-years") - start == timedelta(days=5 * 365.25)
    with pytest.raises(InvalidRecordError):
        parse_retention_policy("forever")
    with pytest.raises(InvalidRecordError):
        _create(retention_policy="keep-a-while")


def test_defaults_fill_compliance_and_infrastructure() -> None:
    """Classification, retention, host, user and pipeline version are filled in."""
    record = _create()
    assert record.data_classification == "internal"
    assert record.retention_policy == "keep-5-years"
    assert record.extraction_host
    assert record.extraction_user
    assert record.pipeline_version
    assert record.retry_attempt == 0
    assert record.extraction_timestamp.tzinfo is not None


def test_repeated_headers_are_redacted_per_record_not_per_cache_entry() -> None:
    """The same headers give the same JSON; a known secret is scrubbed only where known.

    Header JSON is memoised on the redacted values, so a record built with the key as a
    secret and one built without it cannot be served each other's text.
    """
    headers = {"X-Trace": f"t {KEY}", "Accept": "application/json"}
    scrubbed = _create(request_headers=headers)
    unknown = _create(request_headers=headers, secrets=[])
    again = _create(request_headers=dict(reversed(headers.items())))
    assert scrubbed.request_headers == '{"Accept": "application/json", "X-Trace": "t [REDACTED]"}'
    assert unknown.request_headers == f'{{"Accept": "application/json", "X-Trace": "t {KEY}"}}'
    assert again.request_headers == scrubbed.request_headers


def test_content_type_is_read_from_the_header_whatever_its_case() -> None:
    """response_content_type comes from Content-Type when not given explicitly."""
    record = _create(response_headers={"CONTENT-TYPE": "application/json; charset=utf-8"})
    assert record.response_content_type == "application/json; charset=utf-8"
    assert record.response_headers == '{"CONTENT-TYPE": "application/json; charset=utf-8"}'
    assert _create(response_headers={"Server": "x"}).response_content_type is None


def test_new_ids_are_version_7_uuids_carrying_the_start_millisecond() -> None:
    started = datetime(2026, 11, 26, 9, 30, 15, 123_456, tzinfo=UTC)
    ids = [new_extraction_id(started) for _ in range(2_000)]

    assert len(set(ids)) == len(ids)  # 74 random bits apart within one millisecond
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # canonical spelling, as the record requires
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == _unix_millis(started)


def test_new_ids_sort_by_their_start_time() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    times = [start + timedelta(milliseconds=3 * i) for i in range(500)]

    ids = [new_extraction_id(when) for when in times]

    assert ids == sorted(ids)


def test_create_gives_a_time_ordered_id_of_the_extraction_timestamp() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    record = BronzeRecord.create(
        source_name="ecb",
        request_url="https://example.test/",
        raw_response=b"{}",
        http_status_code=200,
        extraction_timestamp=when,
    )

    assert uuid.UUID(record.extraction_id).int >> 80 == _unix_millis(when)


def _unix_millis(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_a_secret_echoed_in_the_body_is_masked_and_counted() -> None:
    """The body keeps every byte but the key's; both checksums and the count are recorded."""
    body = f"<html>404: /v6/{KEY}/latest/USD and again {KEY}</html>".encode()
    record = _create(raw_response=body, http_status_code=404)
    stored = body.replace(KEY.encode(), b"[REDACTED]")
    assert record.raw_response == stored
    assert record.response_masked_count == 2
    assert record.response_received_checksum == hashlib.sha256(body).hexdigest()
    assert record.response_checksum == hashlib.sha256(stored).hexdigest()
    assert record.response_size_bytes == len(stored)
    assert record.response_received_bytes == len(body)


def test_an_unmasked_body_has_one_checksum_and_no_marker() -> None:
    """Nothing masked: the two checksums agree, count 0, complete unless told otherwise."""
    record = _create()
    assert record.response_masked_count == 0
    assert record.response_received_checksum == record.response_checksum
    assert record.response_incomplete_reason is None
    partial = _create(raw_response=b'{"res', incomplete_reason="connection-closed",
                      received_bytes=5)  # fmt: skip
    assert (partial.response_incomplete_reason, partial.response_received_bytes) == (
        "connection-closed",
        5,
    )


def test_an_unmasked_record_with_another_received_checksum_is_refused() -> None:
    """A received checksum that differs without any masking would be a lie: refused."""
    record = _create()
    with pytest.raises(InvalidRecordError, match="checksums must agree"):
        dataclasses.replace(record, response_received_checksum="0" * 64)
    with pytest.raises(InvalidRecordError, match="masked_count"):
        dataclasses.replace(record, response_masked_count=-1)
