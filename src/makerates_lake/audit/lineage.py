"""The pieces of a trace: bronze evidence, the provider's value, and the comparisons.

Re-reading the provider's value uses silver's own parser on the stored bytes, so "what
the provider sent" means exactly what the current code reads from the payload. For one
successful answer that is silver's per-payload reader
(:func:`~makerates_lake.silver.parse.parse_payload`, the reader every payload the
vectorised v6 reader does not take goes through, and the reference that reader is tested
against), searched in plain Python rather than through a one-row batch for
:func:`~makerates_lake.silver.parse.parse_bronze`, which costs a couple of dozen Polars
collects. Anything else (a failed request, a source silver does not read, a reader
crash) goes through ``parse_bronze`` itself, so the answer is the full parser's by
construction.

A body is read once per piece of evidence, whatever the number of legs asking: a zip is
inflated once (:attr:`BronzeEvidence.unpacked`), and that CSV member is what both silver's
reader and :mod:`~makerates_lake.audit.provider_context` look at.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from makerates_lake import source_names
from makerates_lake.audit.provider_context import ProviderContext, Unpacked, is_zip, locate, unpack
from makerates_lake.gold.model import divide
from makerates_lake.silver.parse import BRONZE_COLUMNS, parse_bronze, parse_payload
from makerates_lake.silver.payloads import Collector, Request
from makerates_lake.silver.versions import rules_for
from makerates_lake.store.lookup import find_rows
from makerates_lake.store.types import Table

if TYPE_CHECKING:
    from makerates_lake.audit.trace import LegTrace

_EVIDENCE_COLUMNS = (
    *BRONZE_COLUMNS,
    "response_checksum",
    "retention_policy",
    "extraction_host",
    "pipeline_version",
)


@dataclass(frozen=True)
class BronzeEvidence:
    """A bronze row as stored, with its checksum recomputed from the stored bytes.

    Attributes:
        row: The bronze columns read (``raw_response`` included, as bytes).
        stored_checksum: ``response_checksum`` as stored.
        recomputed_checksum: SHA-256 of ``raw_response`` as read now.
    """

    row: dict[str, Any] = field(repr=False)
    stored_checksum: str
    recomputed_checksum: str

    @property
    def tampered(self) -> bool:
        """True when the stored bytes no longer match the stored checksum."""
        return self.stored_checksum != self.recomputed_checksum

    @property
    def raw_response(self) -> bytes:
        """The exact bytes stored."""
        body: bytes = self.row["raw_response"] or b""
        return body

    @cached_property
    def unpacked(self) -> Unpacked | None:
        """The bytes the values are written in: a zip's CSV member (inflated once), or the
        body; None for a zip silver cannot read."""
        return unpack(self.raw_response)

    @cached_property
    def reading(self) -> object:
        """Silver's per-payload reading of the body (see :func:`read_payload`), done once."""
        return read_payload(self.row, self.unpacked)

    def to_dict(self, body_chars: int | None = 2000) -> dict[str, Any]:
        """JSON-ready form; the body as text cut to ``body_chars`` (None: whole).

        A body that is not UTF-8 is base64, and only whole: the first characters of an
        encoded zip tell a reader nothing, so a cut one is left out (``raw_response``
        None, ``raw_response_truncated`` true); the provider's context says what it holds.
        """
        meta = {k: v for k, v in self.row.items() if k != "raw_response"}
        body = self.raw_response
        try:
            text, encoding = body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(body).decode("ascii"), "base64"
        cut = body_chars is not None and len(text) > body_chars
        shown: str | None = text[:body_chars]
        if encoding == "base64" and body_chars is not None:
            shown, cut = None, bool(body)
        return {
            **jsonable(meta),
            "stored_checksum": self.stored_checksum,
            "recomputed_checksum": self.recomputed_checksum,
            "tampered": self.tampered,
            "raw_response_size": len(body),
            "raw_response_encoding": encoding,
            "raw_response_kind": "zip" if is_zip(body) else encoding,
            "raw_response": shown,
            "raw_response_truncated": cut,
        }


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A row with dates, times and decimals as strings (JSON has no such types)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, (date, datetime)):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = format(value, "f")
        elif isinstance(value, bytes):
            out[key] = base64.b64encode(value).decode("ascii")
        else:
            out[key] = value
    return out


def bronze_evidence(
    bronze: Table, snapshot_id: int | None, extraction_id: str, stamp: datetime | None
) -> BronzeEvidence | None:
    """Read one bronze row, pruned to its day partition when its timestamp is known."""
    keys: dict[str, object] = {"extraction_id": extraction_id}
    if stamp is not None:
        keys["extraction_timestamp"] = stamp
    rows = find_rows(bronze, snapshot_id, keys, _EVIDENCE_COLUMNS)
    if not rows:
        return None
    row = rows[0]
    recomputed = hashlib.sha256(row["raw_response"] or b"").hexdigest()
    return BronzeEvidence(row, row["response_checksum"], recomputed)


def provider_text(evidence: BronzeEvidence, day: date, base: str, quote: str) -> str | None:
    """The rate for ``day`` and ``base``/``quote`` as the stored payload holds it."""
    found = text_in(evidence.reading, day.isoformat(), base, quote)
    if found is not UNSURE:
        return found if isinstance(found, str) else None
    return full_parser_text(evidence.row, day, base, quote)


def provider_context(
    evidence: BronzeEvidence, day: date, quote: str, text: str | None
) -> ProviderContext | None:
    """Where the stored bytes write ``text``, the rate of ``quote`` on ``day``."""
    unpacked = evidence.unpacked
    if unpacked is None:
        return None
    return locate(unpacked, evidence.row.get("source_name"), day.isoformat(), quote, text)


#: What :func:`payload_text` answers when only the full parser can say.
UNSURE: Final = object()


def payload_text(row: dict[str, Any], day: str, base: str, quote: str) -> object:
    """The rate via silver's per-payload reader (None: no such rate), or :data:`UNSURE`.

    Only a successful answer of a source silver reads takes this path; for it
    ``parse_bronze`` calls ``parse_payload`` (or the vectorised v6 reader, which gives the
    same rows) and nothing else, and the first matching row of the payload is the answer.
    """
    return text_in(read_payload(row), day, base, quote)


def read_payload(row: dict[str, Any], unpacked: Unpacked | None = None) -> object:
    """Silver's per-payload reader run on ``row``'s body: its :class:`Collector`, None
    when it rejects the payload, or :data:`UNSURE` when only the full parser can say.

    An ECB zip is read through its CSV member, ``unpacked`` when given (silver's reader
    takes the zip's CSV member exactly so, and a CSV passes through it unchanged).
    """
    status, body = row.get("http_status_code"), row.get("raw_response")
    if (
        status is None
        or not 200 <= status < 300
        or row.get("error_code") is not None
        or body is None
        or row.get("source_name") not in source_names.ALL_SOURCES
    ):
        return UNSURE
    if row.get("source_name") == source_names.ECB_HISTORY and is_zip(body):
        unpacked = unpacked or unpack(body)
        if unpacked is None:
            return UNSURE  # a zip silver's reader refuses: let the full parser say how
        body = unpacked.data
    collector = Collector()
    request = Request(
        row["source_name"],
        row.get("source_version"),
        row.get("request_url") or "",
        row.get("request_params"),
        row.get("response_content_type"),
    )
    try:
        parse_payload(collector, 0, request, body)
    except Exception:  # parse_payload turns reader failures into rejects; be safe anyway
        return UNSURE
    if collector.rejects:
        return None  # a rejected payload holds no rates for silver
    return collector


def text_in(reading: object, day: str, base: str, quote: str) -> object:
    """The rate in a :func:`read_payload` result (None: no such rate), or :data:`UNSURE`."""
    if not isinstance(reading, Collector):
        return reading  # UNSURE, or None for a rejected payload
    collector = reading
    # Rows a reader appended as columns (JSON and XML readers), in order...
    for at, (b, q, d) in enumerate(
        zip(collector.base, collector.quote, collector.rate_date, strict=True)
    ):
        if b == base and q == quote and d == day:
            text = collector.text[at]
            return None if text is None else str(text)  # JsonNumber -> plain str
    # ...then frames (the ECB CSV reader), as Collector.rates_frame concatenates them.
    for frame in collector.frames:
        hits = frame.filter(
            (pl.col("rate_date") == day)
            & (pl.col("base_currency") == base)
            & (pl.col("quote_currency") == quote)
        )
        if hits.height:
            first: str | None = hits.get_column("rate_text")[0]
            return first
    return None


def full_parser_text(row: dict[str, Any], day: date, base: str, quote: str) -> str | None:
    """The rate as :func:`~makerates_lake.silver.parse.parse_bronze` reads it from ``row``."""
    frame = pl.DataFrame(
        {name: [row.get(name)] for name in BRONZE_COLUMNS},
        schema={
            name: pl.Binary if name == "raw_response" else _dtype(name) for name in BRONZE_COLUMNS
        },
    )
    rates = parse_bronze(frame).rates.filter(
        (pl.col("rate_date") == day.isoformat())
        & (pl.col("base_currency") == base)
        & (pl.col("quote_currency") == quote)
    )
    if rates.is_empty():
        return None
    text: str | None = rates.get_column("rate_text")[0]
    return text


def _dtype(name: str) -> pl.DataType:
    if name == "extraction_timestamp":
        return pl.Datetime("us", "UTC")
    if name == "http_status_code":
        return pl.Int32()
    return pl.String()


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def compare_to_provider(provider: str | None, silver_row: dict[str, Any]) -> str | None:
    """A description of how silver differs from the provider's value, or None."""
    stored, stored_text = silver_row["rate"], silver_row["rate_text"]
    if provider is None:
        return f"the stored payload holds no such rate; silver stores {stored_text} ({stored})"
    sent = _decimal(provider)
    if sent is None or sent != stored:
        return f"provider sent {provider}, silver stores {format(stored, 'f')}"
    if provider != stored_text:
        return f"provider sent {provider!r}, silver's rate_text is {stored_text!r}"
    return None


def check_fact(fact: dict[str, Any], legs: Sequence[LegTrace]) -> list[str]:
    """How the gold fact differs from what its silver rows imply (empty when it agrees)."""
    if any(leg.silver is None for leg in legs):
        return []  # the legs already say what is missing
    rate: Decimal = fact["rate"]
    if not fact["is_derived"]:
        silver = legs[0].silver
        if silver is not None and rate != silver["rate"]:
            return [f"gold stores {format(rate, 'f')}, silver {format(silver['rate'], 'f')}"]
        return []
    by_role = {leg.role: leg.stored_rate for leg in legs}
    numerator = by_role.get("quote_leg") or Decimal(1)
    denominator = by_role["base_leg"]
    if denominator is None or denominator == 0:
        return ["the base leg of the cross rate is zero or missing"]
    digits = rules_for(fact["transform_version"]).cross_significant_digits
    expected = divide(numerator, denominator, digits)
    if expected != rate:
        return [f"gold stores {format(rate, 'f')}, the silver legs give {format(expected, 'f')}"]
    return []
