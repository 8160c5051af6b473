"""Accounting rates of a period over a :class:`~makerates_lake.gold.convert.RateBook` (pure).

* **Closing rate** of a period: the last rate available on or before the period's end
  (a period ending on a weekend closes at the Friday's rate), looked back at most
  ``max_lookback_days``.
* **Average rate** of a period: the mean of the daily rates of every date in the period
  that has one (no fill-forward: a weekend is not a day of the average), computed exactly
  in decimal and rounded half-even to :data:`AVERAGE_DECIMALS` places, the scale of
  silver's rates.

Both refuse a period that has not ended: on the calendar (today, UTC, is on or before its
last day) or in gold's data (its end more than ``max_lookback_days`` after the newest
date with rates, the allowance for a period that ends on a weekend or holiday). Its
closing rate is not known yet, and its average would be of the days so far, a different
number from the period's once it ends.

Periods are written ``2026`` (a year), ``2026-Q3`` (a quarter) or ``2026-09`` (a month).
For ECB data every pair that is not against the euro goes through EUR, as EU Regulation
1103/97 describes for the euro's conversion rates: the book's pivot rule does that.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final

from makerates_lake.errors import ConfigError
from makerates_lake.gold.convert import Quote, RateBook
from makerates_lake.gold.errors import NoRateError

#: Decimal places of an average rate (silver's rates are decimal(38, 18)).
AVERAGE_DECIMALS: Final = 18

_PERIOD: Final = re.compile(r"^([1-9]\d{3})(?:-(?:Q([1-4])|(0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class Period:
    """A closed range of dates, both ends included."""

    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026``, ``2026-Q3`` or ``2026-09`` as its first and last day.

        Raises:
            ConfigError: Not one of those forms.
        """
        found = _PERIOD.fullmatch(text.strip())
        if found is None:
            raise ConfigError(
                "a period is YYYY, YYYY-Qn or YYYY-MM", period=text, examples="2026, 2026-Q3"
            )
        year, quarter, month = int(found[1]), found[2], found[3]
        if quarter:
            first = 3 * int(quarter) - 2
            return cls(date(year, first, 1), date(year, first + 2, monthrange(year, first + 2)[1]))
        if month:
            number = int(month)
            return cls(date(year, number, 1), date(year, number, monthrange(year, number)[1]))
        return cls(date(year, 1, 1), date(year, 12, 31))


@dataclass(frozen=True)
class AverageRate:
    """The average rate of a period and what it is made of.

    Attributes:
        rate: Mean of the daily rates, rounded half-even to :data:`AVERAGE_DECIMALS`.
        period: The period asked for.
        days: The dates whose rates were averaged.
        extraction_ids: Every bronze row behind those rates.
    """

    rate: Decimal
    period: Period
    days: tuple[date, ...]
    extraction_ids: tuple[str, ...]


def _require_ended(
    book: RateBook, source: str, target: str, period: Period, max_lookback_days: int
) -> None:
    """Refuse a period that has not ended (today, UTC, is on or before its last day: its
    rates so far are not its closing or average rate), or whose end is past gold's newest
    date beyond the lookback.

    Raises:
        NoRateError: The period has not ended, or not closed in gold's data yet.
    """
    dates = book.dates()
    if not dates or period.end > dates[-1] + timedelta(days=max_lookback_days):
        raise NoRateError(
            "the period has not closed in gold's data yet",
            pair=f"{source}/{target}",
            period_end=period.end.isoformat(),
            newest=dates[-1].isoformat() if dates else "none",
        )
    if period.end >= datetime.now(UTC).date():
        raise NoRateError(
            "the period has not ended yet",
            pair=f"{source}/{target}",
            period_end=period.end.isoformat(),
        )


def closing_rate(
    book: RateBook, source: str, target: str, period: Period, *, max_lookback_days: int = 7
) -> Quote:
    """The last rate on or before the period's end; its ``rate_date`` says which day.

    Raises:
        NoRateError: The period has not ended on the calendar, or ends more than
            ``max_lookback_days`` after the newest date with rates (it has not closed in
            the data yet), or no rate for the pair within ``max_lookback_days`` before its
            end.
    """
    _require_ended(book, source, target, period, max_lookback_days)
    return book.rate(
        source, target, period.end, fallback="previous", max_lookback_days=max_lookback_days
    )


def average_rate(
    book: RateBook, source: str, target: str, period: Period, *, max_lookback_days: int = 7
) -> AverageRate:
    """The mean of the daily rates of the period's dates that have one.

    Raises:
        NoRateError: The period has not ended (as for :func:`closing_rate`), or no date
            of the period has a rate for the pair.
    """
    _require_ended(book, source, target, period, max_lookback_days)
    quotes: list[Quote] = []
    for day in book.dates():
        if period.start <= day <= period.end:
            try:
                quotes.append(book.rate(source, target, day))
            except NoRateError:
                continue  # a date with rates, but none for this pair
    if not quotes:
        raise NoRateError(
            "no rate for this pair in the period",
            pair=f"{source}/{target}",
            start=period.start.isoformat(),
            end=period.end.isoformat(),
        )
    with localcontext() as context:
        context.prec = 60  # the sum of years of 38-digit rates, exactly
        mean = sum((q.rate for q in quotes), Decimal(0)) / len(quotes)
        rate = mean.quantize(Decimal(1).scaleb(-AVERAGE_DECIMALS), rounding=ROUND_HALF_EVEN)
    return AverageRate(
        rate,
        period,
        tuple(q.rate_date for q in quotes),
        tuple(dict.fromkeys(e for q in quotes for e in q.extraction_ids)),
    )
