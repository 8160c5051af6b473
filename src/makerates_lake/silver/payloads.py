"""Per-source payload readers (pure): bytes in, rate rows or a reject out.

Each reader appends to a :class:`~makerates_lake.silver.reader_contract.Collector`
(what readers take, fill and raise is in :mod:`~makerates_lake.silver.reader_contract`),
so that a payload costs one ``json.loads`` and a few C-level ``list.extend`` calls, and
the columns become one Polars frame at the end. JSON is decoded by
:mod:`~makerates_lake.silver.exact_json`: the rate text is exactly what the provider
wrote (no float round trip), ``0.86720`` stays ``0.86720``.

This module holds the readers of the JSON APIs (ExchangeRate-API v6 and open.er-api,
Frankfurter); the ECB's XML and CSV readers are in
:mod:`~makerates_lake.silver.ecb_payloads`. Every name the package imports from here
stays importable from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from makerates_lake.silver.ecb_payloads import MAX_UNZIPPED_BYTES, parse_ecb_csv, parse_ecb_xml
from makerates_lake.silver.exact_json import (
    OFFENDING_MAX_CHARS,
    JsonNumber,
    as_text,
    load_json,
    preview,
    rate_items,
    rate_text,
)
from makerates_lake.silver.reader_contract import (
    RAW_RATE_SCHEMA,
    RAW_REJECT_SCHEMA,
    Collector,
    PayloadRejected,
    Request,
)

__all__ = [
    "MAX_UNZIPPED_BYTES",
    "OFFENDING_MAX_CHARS",
    "RAW_RATE_SCHEMA",
    "RAW_REJECT_SCHEMA",
    "V6_PATH",
    "Collector",
    "JsonNumber",
    "PayloadRejected",
    "Request",
    "as_text",
    "load_json",
    "parse_ecb_csv",
    "parse_ecb_xml",
    "parse_frankfurter",
    "parse_v6",
    "per_unit",
    "preview",
    "rate_items",
    "rate_text",
]

#: The endpoint and requested base in a v6 URL path (shared with the vectorised reader).
V6_PATH = re.compile(r"/(latest|pair|history)/([^/?#]+)", re.IGNORECASE)


def _int(value: object) -> int | None:
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return None


def _unix_date(unix: int | None) -> str | None:
    if unix is None:
        return None
    try:
        return datetime.fromtimestamp(unix, UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def parse_v6(collector: Collector, row: int, request: Request, obj: Any) -> None:
    """ExchangeRate-API v6 latest/pair/history and open.er-api ``latest``."""
    if not isinstance(obj, dict):
        raise PayloadRejected("unparseable", obj, "expected a JSON object")
    error = obj.get("error-type") or obj.get("error")
    if obj.get("result") == "error" or error is not None:
        raise PayloadRejected("provider_error", error or "error", "provider answered result=error")
    match = V6_PATH.search(urlsplit(request.url).path)
    endpoint = match.group(1).lower() if match else "latest"
    requested = match.group(2).upper() if match else None
    base = as_text(obj.get("base_code"))
    updated = _int(obj.get("time_last_update_unix"))
    if all(key in obj for key in ("year", "month", "day")):
        y, m, d = (_int(obj[k]) for k in ("year", "month", "day"))
        try:
            rate_date = date(y, m, d).isoformat() if y and m and d else None
        except ValueError:
            rate_date = None
    else:
        rate_date = _unix_date(updated)
    version = request.source_version or "v6"
    prefix = f"{version}-open" if "rates" in obj and "conversion_rates" not in obj else version
    if "conversion_rate" in obj and "target_code" in obj:
        quotes: list[str | None] = [as_text(obj["target_code"])]
        texts: list[str | None] = [rate_text(obj["conversion_rate"])]
        shape = "pair"
    elif isinstance(obj.get("conversion_amounts"), Mapping):
        quotes, texts = _amounts(obj)
        shape = f"{endpoint}-amounts"
    else:
        rates = obj.get("conversion_rates", obj.get("rates"))
        if not isinstance(rates, Mapping):
            raise PayloadRejected("unparseable", rates, "no conversion_rates/rates object")
        quotes, texts, nested = rate_items(rates)
        shape = f"{endpoint}-{'nested' if nested else 'flat'}"
    collector.add(
        row,
        quotes,
        texts,
        base=base,
        rate_date=rate_date,
        updated=updated,
        version=f"{prefix}-{shape}",
        requested=requested,
        latest=endpoint != "history",
    )


def _amounts(obj: Mapping[str, Any]) -> tuple[list[str | None], list[str | None]]:
    """History with an amount: rate = amount / requested_amount, exact when the amount is 1."""
    quotes, texts, _ = rate_items(obj["conversion_amounts"])
    return quotes, per_unit(texts, obj.get("requested_amount", "1"), "requested_amount")


def per_unit(texts: list[str | None], amount_value: object, field: str) -> list[str | None]:
    """Rates for one unit of the base, from rates an answer gives for ``amount_value`` units.

    An amount of 1 (the usual case) leaves the texts exactly as sent; any other positive
    amount divides them, rounded half-even to 18 places (decimal(38,18)).

    Raises:
        PayloadRejected: The amount is not a positive finite number.
    """
    from decimal import Decimal, InvalidOperation, localcontext

    try:
        amount = Decimal(str(amount_value))
    except InvalidOperation:
        raise PayloadRejected("unparseable", amount_value, f"{field} is not a number") from None
    if amount == 1:
        return texts
    if amount <= 0 or not amount.is_finite():
        raise PayloadRejected("unparseable", str(amount), f"{field} must be positive")
    divided: list[str | None] = []
    with localcontext() as ctx:
        ctx.prec = 40
        for text in texts:
            try:
                rate = (Decimal(text or "") / amount).quantize(Decimal("1e-18"))
                divided.append(format(rate.normalize(), "f"))
            except InvalidOperation:
                divided.append(text)  # left as sent: the number rule rejects it
    return divided


def parse_frankfurter(collector: Collector, row: int, request: Request, obj: Any) -> None:
    """Frankfurter v1 (one day or a series) and v2 (an array of rate objects)."""
    query = request.query()
    requested = (query.get("base") or query.get("from") or "EUR").upper()
    latest = "latest" in urlsplit(request.url).path
    if isinstance(obj, list):
        items = [item if isinstance(item, Mapping) else {} for item in obj]
        collector.add(
            row,
            [as_text(item.get("quote")) for item in items],
            [rate_text(item.get("rate")) for item in items],
            base=[as_text(item.get("base")) for item in items],
            rate_date=[as_text(item.get("date")) for item in items],
            updated=None,
            version="frankfurter-v2",
            requested=query.get("base", "EUR").upper(),
            latest=latest,
        )
        return
    if not isinstance(obj, dict):
        raise PayloadRejected("unparseable", obj, "expected a JSON object or array")
    if "rates" not in obj:
        if "message" in obj:
            raise PayloadRejected("provider_error", obj["message"], "provider answered an error")
        raise PayloadRejected("unparseable", obj, "no rates object")
    rates = obj["rates"]
    if not isinstance(rates, Mapping):
        raise PayloadRejected("unparseable", rates, "rates is not an object")
    base = as_text(obj.get("base"))
    version = request.source_version or "v1"
    # Frankfurter answers for ``amount`` units of the base (default 1).
    amount = obj.get("amount", "1")
    if rates and all(isinstance(v, Mapping) for v in rates.values()):
        for day, day_rates in rates.items():
            quotes, texts, _ = rate_items(day_rates)
            collector.add(
                row,
                quotes,
                per_unit(texts, amount, "amount"),
                base=base,
                rate_date=day,
                updated=None,
                version=f"frankfurter-{version}-series",
                requested=requested,
                latest=False,
            )
        return
    quotes, texts, _ = rate_items(rates)
    collector.add(
        row,
        quotes,
        per_unit(texts, amount, "amount"),
        base=base,
        rate_date=as_text(obj.get("date")),
        updated=None,
        version=f"frankfurter-{version}-day",
        requested=requested,
        latest=latest,
    )
