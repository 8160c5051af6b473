"""The bronze row: one HTTP attempt (or file read), its bytes, and everything around it."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from makerates_lake import provenance
from makerates_lake.errors import InvalidRecordError
from makerates_lake.redact import (
    mask_bytes,
    redact_mapping,
    redact_text,
    redact_url,
    scrub_order,
)

_RETENTION = re.compile(r"^keep-(\d+)-(day|days|month|months|year|years)$")
_TIERS = ("primary", "fallback", "backfill", "manual")
#: An extraction id as ``str(uuid.UUID(...))`` writes it. Ids join bronze to silver and gold
#: as text, so one spelling only: ``uuid.UUID`` would also take upper case, braces or no
#: hyphens, which would then never match the same id spelt canonically.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


def new_extraction_id(started: datetime) -> str:
    """A version 7 UUID (RFC 9562) for an attempt that started at ``started``.

    The first 48 bits are ``started`` in Unix milliseconds and the remaining 74 free bits
    are random: a million attempts in one millisecond share an id with odds of about 3 in
    10^11. Ids sort by their millisecond, as bronze's rows sort by extraction_timestamp,
    so neighbouring ids share their leading digits, which bronze's DELTA_BYTE_ARRAY
    encoding stores once.
    """
    # A naive time (read as UTC here) is rejected by the record itself, not here.
    moment = started if started.tzinfo else started.replace(tzinfo=UTC)
    millis = max(0, (moment - _EPOCH) // _MILLISECOND) & (1 << 48) - 1
    random = int.from_bytes(os.urandom(10), "big")
    value = (
        millis << 80
        | 0x7 << 76  # version
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62  # RFC 9562 variant
        | random & (1 << 62) - 1
    )
    text = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, without its checks
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def checksum(body: bytes) -> str:
    """SHA-256 hex of ``body`` (``raw_response`` as stored)."""
    return hashlib.sha256(body).hexdigest()


# Cached: every record validates its policy, and a batch repeats the same few policies
# thousands of times. The function is pure and a timedelta is immutable.
@functools.lru_cache(maxsize=64)
def parse_retention_policy(policy: str) -> timedelta:
    """``keep-5-years`` -> a duration (years are 365.25 days, months 30.44).

    Raises:
        InvalidRecordError: The policy does not have the form ``keep-<n>-<days|months|years>``.
    """
    match = _RETENTION.match(policy)
    if not match:
        raise InvalidRecordError(
            "retention_policy must look like keep-<n>-<days|months|years>",
            retention_policy=policy,
        )
    count, unit = int(match.group(1)), match.group(2)
    days_per_unit = {"day": 1.0, "month": 30.44, "year": 365.25}[unit.rstrip("s")]
    return timedelta(days=count * days_per_unit)


def retain_until(extraction_timestamp: datetime, policy: str) -> datetime:
    """When a bronze row may first be removed under its retention policy."""
    return extraction_timestamp + parse_retention_policy(policy)


# The OS user cannot change under a running process in practice, and looking it up
# (environment, then the passwd database) cost a third of building a record. The host
# name is fixed for a process's life the same way (a container keeps its hostname).
_current_user = functools.cache(provenance.current_user)
_current_host = functools.cache(provenance.current_host)

# One encoder for every record: json.dumps builds a new JSONEncoder on each call that
# passes options, which cost more than the encoding of a two-header dict.
_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


# Cached on the *redacted* items, so no secret is ever held by the cache: a batch sends
# and receives the same few header dicts thousands of times.
@functools.lru_cache(maxsize=256)
def _items_json(items: tuple[tuple[str, str], ...]) -> str:
    return _ENCODER.encode(dict(items))


def _json_text(redacted: Mapping[str, str] | None) -> str | None:
    return None if redacted is None else _items_json(tuple(redacted.items()))


def _content_type(response_headers: Mapping[str, str]) -> str | None:
    """The Content-Type header, whatever its case (the last one wins, as in a dict)."""
    found = None
    for name, value in response_headers.items():
        if name.lower() == "content-type":
            found = value
    return found


@dataclass(frozen=True, kw_only=True)
class BronzeRecord:
    """One row of ``bronze.extractions``.

    Build it with :meth:`create`, which redacts secrets and computes the checksums;
    the constructor only validates.

    ``raw_response`` is the bytes received, except that a known secret echoed in them is
    replaced by ``[REDACTED]``: ``response_masked_count`` says how many were, and
    ``response_received_checksum`` is the SHA-256 of the bytes as received, beside
    ``response_checksum`` of the bytes as stored (what verify recomputes). A body cut
    short has ``response_incomplete_reason``; ``response_received_bytes`` counts what
    arrived (more than was kept when the body passed ``max_response_bytes``). The four
    are null in rows written before they existed.
    """

    extraction_id: str
    extraction_timestamp: datetime
    source_name: str
    source_version: str | None
    source_tier: str
    request_url: str
    request_method: str
    request_headers: str | None
    request_params: str | None
    request_body: str | None
    http_status_code: int | None
    response_headers: str | None
    raw_response: bytes = field(repr=False)
    response_content_type: str | None
    extraction_duration_ms: float | None
    response_size_bytes: int
    error_message: str | None
    error_code: str | None
    retry_attempt: int
    data_classification: str
    retention_policy: str
    extraction_host: str
    extraction_user: str
    pipeline_version: str
    response_checksum: str
    parent_extraction_id: str | None
    run_id: str | None
    response_received_checksum: str | None = None
    response_masked_count: int | None = None
    response_received_bytes: int | None = None
    response_incomplete_reason: str | None = None

    def __post_init__(self) -> None:
        """Raise :class:`InvalidRecordError` for a field out of its range."""
        context = {"extraction_id": self.extraction_id, "source": self.source_name}
        if self.http_status_code is not None and not 100 <= self.http_status_code <= 599:
            raise InvalidRecordError(
                "http_status_code must be between 100 and 599",
                status=self.http_status_code,
                **context,
            )
        if self.http_status_code is None and not (self.error_message or self.error_code):
            raise InvalidRecordError(
                "a record without an HTTP status must say what failed (error_message/error_code)",
                **context,
            )
        if self.extraction_timestamp.tzinfo is None:
            raise InvalidRecordError("extraction_timestamp must be timezone-aware", **context)
        if self.retry_attempt < 0:
            raise InvalidRecordError("retry_attempt must be >= 0", **context)
        if self.source_tier not in _TIERS:
            raise InvalidRecordError(
                f"source_tier must be one of {', '.join(_TIERS)}",
                source_tier=self.source_tier,
                **context,
            )
        if self.response_checksum != checksum(self.raw_response):
            raise InvalidRecordError("response_checksum does not match raw_response", **context)
        if (self.response_masked_count or 0) < 0:
            raise InvalidRecordError("response_masked_count must be >= 0", **context)
        if not self.response_masked_count and self.response_received_checksum not in (
            None,
            self.response_checksum,
        ):
            raise InvalidRecordError(
                "an unmasked body was stored as received: its two checksums must agree",
                **context,
            )
        parse_retention_policy(self.retention_policy)
        if not _CANONICAL_UUID.fullmatch(self.extraction_id):
            raise InvalidRecordError(
                "extraction_id must be a lower-case hyphenated UUID", **context
            )

    @classmethod
    def create(
        cls,
        *,
        source_name: str,
        request_url: str,
        raw_response: bytes,
        source_tier: str = "primary",
        source_version: str | None = None,
        request_method: str = "GET",
        request_headers: Mapping[str, str] | None = None,
        request_params: Mapping[str, Any] | None = None,
        request_body: str | None = None,
        http_status_code: int | None = None,
        response_headers: Mapping[str, str] | None = None,
        response_content_type: str | None = None,
        extraction_duration_ms: float | None = None,
        error_message: str | None = None,
        error_code: str | None = None,
        retry_attempt: int = 0,
        data_classification: str = "internal",
        retention_policy: str = "keep-5-years",
        parent_extraction_id: str | None = None,
        run_id: str | None = None,
        extraction_id: str | None = None,
        extraction_timestamp: datetime | None = None,
        secrets: Iterable[str] = (),
        incomplete_reason: str | None = None,
        received_bytes: int | None = None,
    ) -> BronzeRecord:
        """Build a record from what was sent and received, redacting every secret.

        Args:
            raw_response: The exact bytes received (after content decoding); stored
                verbatim but for the secrets in it, which are masked and counted.
            secrets: Known secret values (API keys, tokens) to scrub from URL, headers,
                parameters, error text and body, in the forms a provider may echo them
                (:func:`~makerates_lake.redact.secret_forms`). Names that look secret
                are masked regardless.
            incomplete_reason: Why ``raw_response`` is not the whole body, if it is not.
            received_bytes: Body bytes that arrived; default ``len(raw_response)``.
        """
        # Ordered once here rather than once per field redacted.
        secrets = scrub_order(secrets)
        received_checksum = checksum(raw_response)
        stored, masked = mask_bytes(raw_response, secrets)
        params = None
        if request_params is not None:
            params = redact_mapping({k: str(v) for k, v in request_params.items()}, secrets)
        if response_content_type is None and response_headers:
            response_content_type = _content_type(response_headers)
        started = extraction_timestamp or datetime.now(UTC)
        return cls(
            extraction_id=extraction_id or new_extraction_id(started),
            extraction_timestamp=started,
            source_name=source_name,
            source_version=source_version,
            source_tier=source_tier,
            request_url=redact_url(request_url, secrets),
            request_method=request_method.upper(),
            request_headers=_json_text(
                redact_mapping(request_headers, secrets) if request_headers else None
            ),
            request_params=_json_text(params),
            request_body=redact_text(request_body, secrets) if request_body else None,
            http_status_code=http_status_code,
            response_headers=_json_text(
                redact_mapping(response_headers, secrets) if response_headers else None
            ),
            raw_response=stored,
            response_content_type=response_content_type,
            extraction_duration_ms=extraction_duration_ms,
            response_size_bytes=len(stored),
            error_message=redact_text(error_message, secrets) if error_message else None,
            error_code=error_code,
            retry_attempt=retry_attempt,
            data_classification=data_classification,
            retention_policy=retention_policy,
            extraction_host=_current_host(),
            extraction_user=_current_user(),
            pipeline_version=provenance.pipeline_version(),
            response_checksum=checksum(stored) if masked else received_checksum,
            parent_extraction_id=parent_extraction_id,
            run_id=run_id,
            response_received_checksum=received_checksum,
            response_masked_count=masked,
            response_received_bytes=len(raw_response) if received_bytes is None else received_bytes,
            response_incomplete_reason=incomplete_reason,
        )

    def as_row(self) -> dict[str, Any]:
        """The record as a dict keyed by column name."""
        # Shallow on purpose: every field is an immutable scalar (str, bytes, int, float,
        # datetime, None), so dataclasses.asdict's deep copy only cost time.
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @property
    def succeeded(self) -> bool:
        """True when a response arrived with a 2xx status and no error was recorded."""
        return (
            self.http_status_code is not None
            and 200 <= self.http_status_code < 300
            and self.error_code is None
        )


#: Column order of :meth:`BronzeRecord.as_row`, the dataclass field order.
_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(BronzeRecord))
