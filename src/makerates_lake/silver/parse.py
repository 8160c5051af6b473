"""Parse bronze rows into long rate rows (pure: Polars in, Polars out, no I/O).

Dispatch is on ``source_name`` (see :mod:`makerates_lake.source_names`). Every bronze
row ends up in exactly one of two places, which is what makes incremental runs work
(a row is "transformed" when its extraction_id is in ``silver.rates`` or
``silver.rejects``):

* its rates (later validated), or
* one payload-level reject: ``extraction_failed`` (HTTP status not 2xx or an
  ``error_code`` set; the failure itself is already in bronze, the reject row only
  accounts for it), ``provider_error`` (e.g. HTTP 200 with ``{"result":"error"}``),
  ``unparseable`` (any payload no reader understands, including a reader crash), or
  ``no_rates`` (a well-formed answer with no rates in it).

No payload can stop a run: a reader's exception becomes an ``unparseable`` reject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from makerates_lake import source_names
from makerates_lake.silver.fast_frankfurter import parse_frankfurter_days
from makerates_lake.silver.fast_v6 import parse_canonical
from makerates_lake.silver.payloads import (
    Collector,
    PayloadRejected,
    Request,
    load_json,
    parse_ecb_csv,
    parse_ecb_xml,
    parse_frankfurter,
    parse_v6,
    preview,
)

#: Bronze columns silver reads (everything but headers and compliance fields).
BRONZE_COLUMNS = (
    "extraction_id",
    "extraction_timestamp",
    "source_name",
    "source_version",
    "source_tier",
    "request_url",
    "request_params",
    "http_status_code",
    "error_code",
    "raw_response",
    "response_content_type",
)
#: Bronze columns copied onto every silver and reject row.
META_COLUMNS = (
    "extraction_id",
    "extraction_timestamp",
    "source_name",
    "source_version",
    "source_tier",
)

_JsonReader = Callable[[Collector, int, Request, Any], None]
_BytesReader = Callable[[Collector, int, Request, bytes], None]
_JSON_READERS: dict[str, _JsonReader] = {
    source_names.EXCHANGERATE_API: parse_v6,
    source_names.OPEN_ER_API: parse_v6,
    source_names.FRANKFURTER: parse_frankfurter,
}
_BYTES_READERS: dict[str, _BytesReader] = {
    source_names.ECB_DAILY: parse_ecb_xml,
    source_names.ECB_HISTORY: parse_ecb_csv,
}


@dataclass(frozen=True)
class ParsedBatch:
    """What parsing a batch of bronze rows produced.

    Attributes:
        rates: One row per rate found, not yet validated, with the bronze metadata
            (:data:`META_COLUMNS`) and the raw columns of
            :data:`~makerates_lake.silver.payloads.RAW_RATE_SCHEMA`.
        rejects: One row per payload that yielded no rates, with ``rule``, ``field``,
            ``offending_value`` and ``detail``.
    """

    rates: pl.DataFrame
    rejects: pl.DataFrame


def parse_payload(collector: Collector, row: int, request: Request, body: bytes) -> None:
    """Read one payload into ``collector``; a payload it cannot use becomes one reject."""
    mark = collector.mark()
    try:
        bytes_reader = _BYTES_READERS.get(request.source_name)
        if bytes_reader is not None:
            bytes_reader(collector, row, request, body)
        else:
            json_reader = _JSON_READERS.get(request.source_name)
            if json_reader is None:
                raise PayloadRejected(
                    "unparseable", request.source_name, "unknown source", "source_name"
                )
            try:
                obj = load_json(body)
            except (ValueError, RecursionError) as exc:
                raise PayloadRejected(
                    "unparseable", preview(body), f"not JSON: {type(exc).__name__}"
                ) from None
            json_reader(collector, row, request, obj)
    except PayloadRejected as rejected:
        collector.rollback(mark)
        collector.reject(row, rejected.rule, rejected.field, rejected.value, rejected.detail)
        return
    except Exception as exc:  # by contract no payload may stop the run
        collector.rollback(mark)
        collector.reject(
            row, "unparseable", "payload", preview(body), f"reader failed: {type(exc).__name__}"
        )
        return
    if collector.mark() == mark:
        collector.reject(row, "no_rates", "payload", preview(body), "the answer holds no rates")


def _failed(status: int | None, error_code: str | None) -> bool:
    return status is None or not 200 <= status < 300 or error_code is not None


def parse_bronze(bronze: pl.DataFrame) -> ParsedBatch:
    """Parse bronze rows (columns :data:`BRONZE_COLUMNS`) into rate rows and rejects.

    Args:
        bronze: Bronze rows; ``raw_response`` is Binary.

    Returns:
        The rates and payload-level rejects, each carrying the bronze metadata.
    """
    collector = Collector()
    status_ok = pl.col("http_status_code").is_between(200, 299) & pl.col("error_code").is_null()
    readable = status_ok & pl.col("raw_response").is_not_null()
    v6, frankfurter = bronze.select(
        (pl.col("source_name").is_in([source_names.EXCHANGERATE_API, source_names.OPEN_ER_API]))
        .and_(readable)
        .fill_null(False)
        .alias("v6"),
        (pl.col("source_name") == source_names.FRANKFURTER).and_(readable).fill_null(False),
    ).get_columns()
    fast_v6, handled_v6 = parse_canonical(bronze, v6)
    fast_days, handled_days = parse_frankfurter_days(bronze, frankfurter)
    handled = handled_v6 | handled_days
    # Only the rows the vectorised reader did not take go through Python one by one.
    rest = bronze.with_row_index("_row").filter(~handled)
    columns = [rest.get_column(name).to_list() for name in ("_row", *BRONZE_COLUMNS[2:])]
    for row, name, version, tier, url, params, status, error, body, ctype in zip(
        *columns, strict=True
    ):
        del tier
        if _failed(status, error):
            collector.reject(
                row,
                "extraction_failed",
                "http_status_code",
                f"http_status_code={status} error_code={error}",
                "the request failed; bronze keeps the response",
            )
            continue
        request = Request(name, version, url or "", params, ctype)
        parse_payload(collector, row, request, body or b"")
    meta = bronze.select(META_COLUMNS).with_row_index("row")
    collector.frames.extend(frame for frame in (fast_v6, fast_days) if frame.height)
    rates = collector.rates_frame().join(meta, on="row", how="left").drop("row")
    rejects = collector.rejects_frame().join(meta, on="row", how="left").drop("row")
    return ParsedBatch(rates=rates, rejects=rejects)
