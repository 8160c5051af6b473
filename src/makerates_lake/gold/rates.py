"""Rates for people: a day's rates, conversions, closing and average rates of a period.

Each call reads gold's best rates once (at a snapshot, tag or time with ``as_of``),
writes one access-log entry for that read, and answers from a
:class:`~makerates_lake.gold.convert.RateBook`. Every answer carries the sources and
bronze extraction ids it came from, so ``makerates audit trace`` can follow it.

Derived rates follow the precision rule of the transform version the gold rows read carry
(after ``makerates reprocess --transform-version 1``, version 1's), as gold's own stored
rates and ``audit trace`` do. Bad arguments are :class:`~makerates_lake.errors.ConfigError`
naming the argument, raised before gold is read: a date is a ``date``, a ``datetime``
(its date) or ISO text, as :func:`makerates_lake.trace` takes it; a currency is a code;
``quotes`` is a list of codes or one code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from makerates_lake.errors import ConfigError
from makerates_lake.gold.accounting import AverageRate, Period, average_rate, closing_rate
from makerates_lake.gold.convert import (
    Fallback,
    Quote,
    RateBook,
    amount_of,
    checked_fallback,
    exact_product,
)
from makerates_lake.gold.errors import NoRateError
from makerates_lake.store.access_log import log_access
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import equal
from makerates_lake.store.refs import AsOfLike, as_of_from, resolve_as_of
from makerates_lake.store.scan import read_table
from makerates_lake.store.tables import GOLD_FACT_RATE

#: How far back ``fallback="previous"`` looks (the RateBook's default).
_LOOKBACK_DAYS = 7

_BOOK_COLUMNS = (
    "rate_date", "base_currency", "quote_currency", "rate", "is_derived", "is_best",
    "source_name", "extraction_id", "transform_version",
)  # fmt: skip


def day_of(value: date | str, name: str) -> date:
    """``value`` (the argument ``name``) as a date: a ``datetime`` gives its own date,
    text is read as ISO.

    Raises:
        ConfigError: Text that is not an ISO date, or another type.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ConfigError("not an ISO date (YYYY-MM-DD)", **{name: value}) from None
    raise ConfigError(f"{name} must be a date, a datetime or ISO text, not {type(value).__name__}")


def _code(value: object, name: str) -> str:
    """A currency argument as its upper-case code.

    Raises:
        ConfigError: Not text, or blank.
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} must be a currency code such as 'USD'", **{name: repr(value)})
    return value.strip().upper()


def _codes(quotes: Iterable[str] | str | None) -> list[str] | None:
    """``quotes`` as a list of codes: one code given as text is one code, not letters.

    Raises:
        ConfigError: Not a code or a list of codes.
    """
    if quotes is None:
        return None
    if isinstance(quotes, str):
        return [_code(quotes, "quotes")]
    if not isinstance(quotes, Iterable):
        raise ConfigError("quotes must be a list of currency codes", quotes=type(quotes).__name__)
    return [_code(quote, "quotes") for quote in quotes]


def rate_book(lake: Lake, *, as_of: AsOfLike = None, action: str = "rates") -> RateBook:
    """Gold's best rates (now or ``as_of``) as a book; the read is logged as ``action``.

    Raises:
        SnapshotNotFoundError: Unknown snapshot id or tag.
        NoRateError: Gold holds no rates at that point.
        AccessLogError: The read could not be logged (nothing is answered).
    """
    wanted = as_of_from(as_of)
    table = lake.table(GOLD_FACT_RATE, refresh=True)
    snapshot = resolve_as_of(table, wanted)
    if snapshot is None and wanted is not None and table.current_snapshot() is not None:
        # Gold has rates now, only none at that point: transforming would not help.
        raise NoRateError(f"gold had no rates yet at {wanted.describe()}")
    if snapshot is None:
        raise NoRateError("gold holds no rates yet: run makerates transform")
    facts = read_table(
        table, equal("is_best", True), columns=_BOOK_COLUMNS, snapshot_id=snapshot.snapshot_id
    )
    if facts.height == 0:
        raise NoRateError("gold holds no rates at this point", snapshot_id=snapshot.snapshot_id)
    log_access(
        lake,
        action=action,
        table=GOLD_FACT_RATE.identifier,
        query_text=f"{action}: best rates as of {wanted.describe() if wanted else 'now'} "
        f"(snapshot {snapshot.snapshot_id}), {facts.height} rows",
    )
    return RateBook(facts)  # each row's precision rule is its own transform_version's


def rates(
    lake: Lake,
    *,
    on: date | str | None = None,
    base: str = "EUR",
    quotes: list[str] | str | None = None,
    fallback: Fallback = "error",
    as_of: AsOfLike = None,
) -> pl.DataFrame:
    """The rates of ``base`` into each of ``quotes`` on ``on``.

    Args:
        on: The date (a ``datetime`` gives its date, text is ISO); default the newest
            date gold has.
        base: The currency one unit of which is priced.
        quotes: Target currencies (one code alone is one code); default every currency
            with a rate that day.
        fallback: ``"previous"`` takes the last rate before a date without one (up to a
            week back); ``rate_date`` then says which day was used.
        as_of: Gold at a snapshot id, tag or time; default now.

    Returns:
        One row per quote: ``base_currency``, ``quote_currency``, ``rate_date``, ``rate``,
        ``method``, ``sources``, ``extraction_ids``.

    Raises:
        NoRateError: A quote has no rate on that date (with the fallback: in the week
            before); the message names the pair and the date. The base as its own quote
            (rate 1) needs a rate in it that day too: an unknown code or a date gold
            does not cover is not an identity.
        ConfigError: A bad argument (a date, code or fallback that is none), named.
        MixedTransformVersionsError: A rate would combine rows of two transform versions.

    Example:
        >>> mr.rates(lake, on=date(2026, 10, 30), quotes=["USD", "JPY"])  # doctest: +SKIP
    """
    asked, base = None if on is None else day_of(on, "on"), _code(base, "base")
    wanted_codes, fallback = _codes(quotes), checked_fallback(fallback)
    book = rate_book(lake, as_of=as_of)
    day = asked or book.dates()[-1]
    if wanted_codes:
        wanted = wanted_codes
    else:
        # Every currency the base can be priced in on the day that answers (with the
        # fallback, the last day with rates within the lookback).
        lookback = _LOOKBACK_DAYS if fallback == "previous" else 0
        answering = book.latest_on_or_before(day, max_lookback_days=lookback)
        wanted = book.quotes_of(base, answering) if answering is not None else []
        if not wanted:
            raise NoRateError(
                "no rates for this base on this date", base=base, date=day.isoformat(),
                fallback=fallback,
            )  # fmt: skip
    found = [book.rate(base, quote, day, fallback=fallback) for quote in wanted]
    return _frame(base, wanted, found)


@dataclass(frozen=True)
class Conversion:
    """An amount converted: the result (exact, not rounded) and the rate used."""

    amount: Decimal
    source: str
    target: str
    result: Decimal
    quote: Quote


def convert(
    lake: Lake,
    amount: Decimal | int | str,
    source: str,
    target: str,
    *,
    on: date | str | None = None,
    fallback: Fallback = "error",
    as_of: AsOfLike = None,
) -> Conversion:
    """``amount`` of ``source`` in ``target`` on ``on`` (default the newest date; a
    ``datetime`` gives its date, text is ISO).

    The result is the exact product; round it to the target's minor units for display.

    Raises:
        NoRateError: No rate for the pair on that date (see :func:`rates`), also for a
            currency into itself.
        ConfigError: ``amount`` is not a number, not finite, or out of range (see
            :func:`~makerates_lake.gold.convert.amount_of`); the message names it. Also
            a bad date, currency code or fallback.
        MixedTransformVersionsError: The rate would combine rows of two transform versions.

    Example:
        >>> mr.convert(lake, "100", "USD", "JPY", on=date(2026, 10, 30))  # doctest: +SKIP
    """
    value = amount_of(amount)
    source, target = _code(source, "source"), _code(target, "target")
    asked = None if on is None else day_of(on, "on")
    fallback = checked_fallback(fallback)
    book = rate_book(lake, as_of=as_of, action="convert")
    quote = book.rate(source, target, asked or book.dates()[-1], fallback=fallback)
    return Conversion(value, source, target, exact_product(value, quote.rate), quote)


def closing_rates(
    lake: Lake, period: str, *, base: str = "EUR", quotes: list[str] | str, as_of: AsOfLike = None
) -> pl.DataFrame:
    """Closing rates of ``period`` (``2026``, ``2026-Q3``, ``2026-09``): the last rate on
    or before its end, per quote; ``rate_date`` says which day that was.

    Example: ``mr.closing_rates(lake, "2026-09", base="EUR", quotes=["USD", "JPY"])``.
    """
    span = Period.parse(period)
    base, wanted = _code(base, "base"), _codes(quotes) or []
    book = rate_book(lake, as_of=as_of, action="closing rates")
    return _frame(base, wanted, [closing_rate(book, base, q, span) for q in wanted])


def average_rates(
    lake: Lake, period: str, *, base: str = "EUR", quotes: list[str] | str, as_of: AsOfLike = None
) -> pl.DataFrame:
    """Average rates of ``period``: the exact mean of the daily rates of its dates that
    have one, rounded half-even to 18 places (:mod:`makerates_lake.gold.accounting`).
    A period that has not ended, on the calendar or in gold's data, is refused, as for
    closing rates.

    Example: ``mr.average_rates(lake, "2026-Q3", base="USD", quotes=["JPY"])``.

    Raises:
        NoRateError: The period has not ended, or a pair has no rate in it.
    """
    span = Period.parse(period)
    base, wanted = _code(base, "base"), _codes(quotes) or []
    book = rate_book(lake, as_of=as_of, action="average rates")
    found: list[AverageRate] = [average_rate(book, base, q, span) for q in wanted]
    return pl.DataFrame(
        {
            "base_currency": [base] * len(wanted),
            "quote_currency": wanted,
            "period_start": [span.start] * len(wanted),
            "period_end": [span.end] * len(wanted),
            "rate": [a.rate for a in found],
            "days": [len(a.days) for a in found],
            "extraction_ids": [list(a.extraction_ids) for a in found],
        },
        schema={
            "base_currency": pl.String, "quote_currency": pl.String, "period_start": pl.Date,
            "period_end": pl.Date, "rate": pl.Decimal(38, 18), "days": pl.Int64,
            "extraction_ids": pl.List(pl.String),
        },
    )  # fmt: skip


def _frame(base: str, wanted: list[str], found: list[Quote]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "base_currency": [base] * len(wanted),
            "quote_currency": wanted,
            "rate_date": [q.rate_date for q in found],
            "rate": [q.rate for q in found],
            "method": [q.method for q in found],
            "sources": [list(q.sources) for q in found],
            "extraction_ids": [list(q.extraction_ids) for q in found],
        },
        schema={
            "base_currency": pl.String, "quote_currency": pl.String, "rate_date": pl.Date,
            "rate": pl.Decimal(38, 18), "method": pl.String, "sources": pl.List(pl.String),
            "extraction_ids": pl.List(pl.String),
        },
    )  # fmt: skip
