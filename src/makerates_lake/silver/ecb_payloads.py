"""Readers of the ECB's own files: the eurofxref XML and the history CSV (or its zip).

A history backfill keeps the whole file in bronze and records the days asked for in its
request parameters (``backfill_start`` / ``backfill_end``, both inclusive, ISO dates):
the CSV reader takes only the rows of those days. A date that is not an ISO date is
kept whatever the window, so validation rejects it with its reason.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

import polars as pl

from makerates_lake.silver.exact_json import preview
from makerates_lake.silver.reader_contract import Collector, PayloadRejected, Request

# A zip whose CSV inflates beyond this is refused (a zip bomb, not a rate file).
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024


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


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def _in_backfill_window(request: Request) -> pl.Expr:
    """Rows whose ``Date`` lies in the backfill window the request recorded (all rows
    when it recorded none). Bounds that are not ISO dates are not applied."""
    query = request.query()
    keep = pl.lit(True)
    date = pl.col("Date")
    is_iso = date.str.contains(f"^{_ISO_DATE}$")
    start, end = query.get("backfill_start"), query.get("backfill_end")
    if start and re.fullmatch(_ISO_DATE, start):
        keep = keep & (~is_iso | (date >= start))
    if end and re.fullmatch(_ISO_DATE, end):
        keep = keep & (~is_iso | (date <= end))
    return keep


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
        .filter(_in_backfill_window(request))
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
