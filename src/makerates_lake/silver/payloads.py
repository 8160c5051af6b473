"""Per-source payload readers (pure): bytes in, rate rows or a reject out.

Each reader appends to a :class:`Collector`, a set of column lists, so that parsing
11,000 payloads of 160 rates costs one ``json.loads`` and a few C-level ``list.extend``
calls per payload, and the columns become one Polars frame at the end. Numbers are
read with ``parse_float=str``/``parse_int=str``: the rate text is exactly what the
provider wrote (no float round trip), ``0.86720`` stays ``0.86720``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import polars as pl

# A zip whose CSV inflates beyond this is refused (a zip bomb, not a rate file).
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024
OFFENDING_MAX_CHARS = 200

RAW_RATE_SCHEMA: dict[str, Any] = {
    "row": pl.UInt32,
    "base_currency": pl.String,
    "quote_currency": pl.String,
    "rate_text": pl.String,
    "rate_date": pl.String,
    "provider_updated_unix": pl.Int64,
    "schema_version": pl.String,
    "requested_base": pl.String,
    "is_latest": pl.Boolean,
}
RAW_REJECT_SCHEMA: dict[str, Any] = {
    "row": pl.UInt32,
    "rule": pl.String,
    "field": pl.String,
    "offending_value": pl.String,
    "detail": pl.String,
}

#: The endpoint and requested base in a v6 URL path (shared with the vectorised reader).
V6_PATH = re.compile(r"/(latest|pair|history)/([^/?#]+)", re.IGNORECASE)


class PayloadRejected(Exception):  # noqa: N818 - control flow inside this module, never raised out
    """A whole payload is rejected with one rule; caught by the parse loop."""

    def __init__(self, rule: str, value: object, detail: str, field: str = "payload") -> None:
        super().__init__(detail)
        self.rule = rule
        self.value = value
        self.detail = detail
        self.field = field


class _DupDict(dict[str, Any]):
    """A JSON object that had a key more than once; ``pairs`` keeps every occurrence."""

    pairs: list[tuple[str, Any]]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    dup = _DupDict(result)
    dup.pairs = pairs
    return dup


class JsonNumber(str):
    """A JSON number kept as its exact text (``0.86720`` stays ``0.86720``).

    A distinct type so a rate sent as a JSON *string* (``"0.92"``) is not mistaken for a
    number: see :func:`rate_text`.
    """

    __slots__ = ()


def load_json(body: bytes) -> Any:
    """Decode JSON keeping every number as its exact text and every duplicate key."""
    return json.loads(
        body,
        parse_float=JsonNumber,
        parse_int=JsonNumber,
        parse_constant=JsonNumber,  # NaN/Infinity stay text and fail the number rule
        object_pairs_hook=_pairs_hook,
    )


def rate_text(value: object) -> str | None:
    """A rate value as text for validation.

    Numbers keep their exact text. A JSON string keeps its quotes (``"0.92"`` becomes
    ``'"0.92"'``), so it fails the number rule and the reject shows what was sent: a
    provider that starts quoting its rates has changed its schema, and we flag it rather
    than guess.
    """
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return as_text(value)


def as_text(value: object) -> str | None:
    """A JSON value as text for a rate or code column (numbers are already text)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)[:OFFENDING_MAX_CHARS]


def preview(body: bytes) -> str:
    """The start of a payload, for the offending_value of a payload-level reject."""
    return body[:OFFENDING_MAX_CHARS].decode("utf-8", errors="replace")


@dataclass
class Collector:
    """Column lists of rate rows and rejects, plus frames from vectorised readers."""

    row: list[int] = field(default_factory=list)
    base: list[str | None] = field(default_factory=list)
    quote: list[str | None] = field(default_factory=list)
    text: list[str | None] = field(default_factory=list)
    rate_date: list[str | None] = field(default_factory=list)
    updated: list[int | None] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    requested: list[str | None] = field(default_factory=list)
    latest: list[bool] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)
    rejects: list[tuple[int, str, str, str | None, str]] = field(default_factory=list)

    def add(
        self,
        row: int,
        quotes: list[str | None],
        texts: list[str | None],
        *,
        base: str | list[str | None] | None,
        rate_date: str | list[str | None] | None,
        updated: int | None,
        version: str,
        requested: str | None,
        latest: bool,
    ) -> None:
        """Append the rates of one payload; scalars are repeated for every rate."""
        n = len(quotes)
        self.row.extend([row] * n)
        self.quote.extend(quotes)
        self.text.extend(texts)
        self.base.extend(base if isinstance(base, list) else [base] * n)
        self.rate_date.extend(rate_date if isinstance(rate_date, list) else [rate_date] * n)
        self.updated.extend([updated] * n)
        self.version.extend([version] * n)
        self.requested.extend([requested] * n)
        self.latest.extend([latest] * n)

    def reject(self, row: int, rule: str, field: str, value: object, detail: str) -> None:
        """Record one reject for a whole payload."""
        shown = value if isinstance(value, str) else as_text(value)
        self.rejects.append((row, rule, field, None if shown is None else shown[:200], detail))

    def mark(self) -> tuple[int, int]:
        """A point to roll back to if a reader fails half-way through a payload."""
        return len(self.row), len(self.frames)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget rows added since ``mark``."""
        size, frames = mark
        for column in (
            self.row,
            self.base,
            self.quote,
            self.text,
            self.rate_date,
            self.updated,
            self.version,
            self.requested,
            self.latest,
        ):
            del column[size:]
        del self.frames[frames:]

    def rates_frame(self) -> pl.DataFrame:
        """All rate rows collected so far."""
        listed = pl.DataFrame(
            {
                "row": self.row,
                "base_currency": self.base,
                "quote_currency": self.quote,
                "rate_text": self.text,
                "rate_date": self.rate_date,
                "provider_updated_unix": self.updated,
                "schema_version": self.version,
                "requested_base": self.requested,
                "is_latest": self.latest,
            },
            schema=RAW_RATE_SCHEMA,
        )
        return pl.concat([listed, *self.frames], how="vertical") if self.frames else listed

    def rejects_frame(self) -> pl.DataFrame:
        """All payload-level rejects."""
        return pl.DataFrame(self.rejects, schema=RAW_REJECT_SCHEMA, orient="row")


@dataclass(frozen=True)
class Request:
    """What silver needs to know about the request a payload answered."""

    source_name: str
    source_version: str | None
    url: str
    params: str | None
    content_type: str | None

    def query(self) -> dict[str, str]:
        """Query parameters from the stored params (JSON) and the URL, lower-cased keys."""
        found = {k.lower(): v for k, v in parse_qsl(urlsplit(self.url).query)}
        if self.params:
            try:
                stored = json.loads(self.params)
            except ValueError:
                stored = None
            if isinstance(stored, dict):
                found.update({str(k).lower(): str(v) for k, v in stored.items()})
        return found


def rate_items(rates: Mapping[str, Any]) -> tuple[list[str | None], list[str | None], bool]:
    """Quotes and rate texts of a rates object, flat (``{"EUR": 0.92}``) or nested
    (``{"EUR": {"rate": 0.92, ...}}``); the flag says whether the nested shape was seen."""
    if isinstance(rates, _DupDict):
        quotes: list[str | None] = [k for k, _ in rates.pairs]
        values = [v for _, v in rates.pairs]
    else:
        quotes = list(rates.keys())
        values = list(rates.values())
    if all(type(v) is JsonNumber for v in values):  # the common flat shape: no per-rate work
        return quotes, values, False
    texts: list[str | None] = []
    nested = False
    for value in values:
        if isinstance(value, Mapping):
            nested = True
            texts.append(rate_text(value.get("rate")))
        else:
            texts.append(rate_text(value))
    return quotes, texts, nested


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


def parse_ecb_xml(collector: Collector, row: int, request: Request, body: bytes) -> None:
    """ECB eurofxref XML: ``Cube time=`` holding ``Cube currency= rate=`` (base EUR)."""
    try:
        # The stdlib expat parser never fetches external entities and refuses
        # entity-expansion bombs (expat >= 2.4), which is what S314 warns about.
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise PayloadRejected("unparseable", preview(body), f"not XML: {exc}") from None
    quotes: list[str | None] = []
    texts: list[str | None] = []
    dates: list[str | None] = []
    for cube in root.iter():
        if not cube.tag.endswith("Cube") or "time" not in cube.attrib:
            continue
        for child in cube:
            if "currency" in child.attrib or "rate" in child.attrib:
                quotes.append(child.attrib.get("currency"))
                texts.append(child.attrib.get("rate"))
                dates.append(cube.attrib["time"])
    collector.add(
        row,
        quotes,
        texts,
        base="EUR",
        rate_date=dates,
        updated=None,
        version="ecb-xml",
        requested="EUR",
        latest="daily" in request.url,
    )


def _csv_bytes(body: bytes) -> bytes:
    if not body.startswith(b"PK\x03\x04"):
        return body
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv")]
            if not members:
                raise PayloadRejected("unparseable", preview(body), "zip holds no .csv file")
            if members[0].file_size > MAX_UNZIPPED_BYTES:
                raise PayloadRejected(
                    "unparseable", members[0].filename, "csv inside the zip is too large"
                )
            with archive.open(members[0]) as handle:
                return handle.read(MAX_UNZIPPED_BYTES + 1)[:MAX_UNZIPPED_BYTES]
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise PayloadRejected("unparseable", preview(body), f"bad zip: {exc}") from None


def parse_ecb_csv(collector: Collector, row: int, request: Request, body: bytes) -> None:
    """ECB history CSV (or the zip holding it): wide, ``N/A`` where there is no rate.

    ``N/A`` and empty cells mean "no rate that day" (legacy currencies after the euro
    changeover, currencies not yet quoted) and produce no row and no reject.
    """
    del request
    try:
        wide = pl.read_csv(io.BytesIO(_csv_bytes(body)), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise PayloadRejected("unparseable", preview(body), f"not CSV: {exc}") from None
    wide = wide.rename({c: c.strip() for c in wide.columns})
    if "Date" not in wide.columns:
        raise PayloadRejected("unparseable", preview(body), "no Date column")
    # The trailing comma on every line makes an unnamed, empty last column.
    currencies = [c for c in wide.columns if c != "Date" and c and not c.startswith("_")]
    long = (
        wide.select("Date", *currencies)
        .unpivot(index="Date", variable_name="quote_currency", value_name="rate_text")
        .with_columns(pl.col("rate_text").str.strip_chars(), pl.col("Date").str.strip_chars())
        .filter(pl.col("rate_text").is_not_null() & ~pl.col("rate_text").is_in(["N/A", ""]))
    )
    if long.is_empty():
        # Nothing appended, so parse_payload records the payload as a ``no_rates`` reject.
        return
    collector.frames.append(
        long.select(
            pl.lit(row, pl.UInt32).alias("row"),
            pl.lit("EUR").alias("base_currency"),
            "quote_currency",
            "rate_text",
            pl.col("Date").alias("rate_date"),
            pl.lit(None, pl.Int64).alias("provider_updated_unix"),
            pl.lit("ecb-csv").alias("schema_version"),
            pl.lit("EUR").alias("requested_base"),
            pl.lit(False).alias("is_latest"),
        )
    )
