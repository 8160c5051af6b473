"""The pure parts behind ``mr.rates``/``convert``/``average_rates``: a book derives rates
by the precision rule of its rows' transform version, a bad fallback is a ConfigError, and
an average of a period that has not ended is refused as a closing rate is."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from makerates_lake.errors import ConfigError, MakeratesError
from makerates_lake.gold.accounting import Period, average_rate, closing_rate
from makerates_lake.gold.convert import RateBook
from makerates_lake.gold.errors import NoRateError
from tests.unit.gold.books import FRIDAY, friday_book

#: The module, not the package's ``convert`` function (a name the old code lacks fails
#: only the test that uses it).
CONVERT = importlib.import_module("makerates_lake.gold.convert")


def test_a_book_of_version_1_rows_derives_by_version_1s_rule() -> None:
    """157.25 (6 significant digits) from v1 rows; 157.250268528 (12) from v2 rows."""
    assert friday_book([1, 1]).rate("USD", "JPY", FRIDAY).rate == Decimal("157.250")
    assert friday_book([2, 2]).rate("USD", "JPY", FRIDAY).rate == Decimal("157.250268528")
    assert friday_book([1, 1]).transform_versions() == [1]
    # No column, or an explicit version, as before.
    assert friday_book(None).rate("USD", "JPY", FRIDAY).rate == Decimal("157.250268528")
    explicit = friday_book([2, 2], transform_version=1)
    assert explicit.rate("USD", "JPY", FRIDAY).rate == Decimal("157.250")


def test_legs_of_two_versions_are_refused_with_a_typed_error() -> None:
    """No one precision rule fits legs of versions 1 and 2; direct rates still answer."""
    book = friday_book([1, 2])
    with pytest.raises(CONVERT.MixedTransformVersionsError, match="transform versions") as caught:
        book.rate("USD", "JPY", FRIDAY)
    assert isinstance(caught.value, MakeratesError)
    assert book.rate("EUR", "JPY", FRIDAY).rate == Decimal("175.68")


def test_a_bad_fallback_is_a_config_error() -> None:
    """Not a plain ValueError: the notebook API's errors are all MakeratesErrors."""
    with pytest.raises(ConfigError, match="fallback"):
        friday_book([2, 2]).rate("EUR", "USD", FRIDAY, fallback="next")  # type: ignore[arg-type]


def test_an_average_of_a_period_not_yet_ended_is_refused_like_a_closing_rate() -> None:
    """Q4 2026 ends on Dec 31, long after gold's newest date: neither rate exists yet."""
    book, quarter = friday_book([2, 2]), Period.parse("2026-Q4")
    with pytest.raises(NoRateError, match="not closed"):
        closing_rate(book, "EUR", "USD", quarter)
    with pytest.raises(NoRateError, match="not closed"):
        average_rate(book, "EUR", "USD", quarter)
    october = average_rate(book, "EUR", "USD", Period.parse("2026-10"))  # ends on a Saturday
    assert october.rate == Decimal("1.1172")


def test_a_period_still_under_way_is_refused_whatever_the_data() -> None:
    """The current month has not ended: no closing or average rate, even when gold's data
    reach its last days (the seven-day rule alone let its days so far through)."""
    month = Period.parse(f"{datetime.now(UTC).date():%Y-%m}")
    book = RateBook(
        pl.DataFrame(
            {
                "rate_date": [month.end - timedelta(days=1)],
                "base_currency": ["EUR"],
                "quote_currency": ["USD"],
                "rate": pl.Series([Decimal("1.1")], dtype=pl.Decimal(38, 18)),
                "is_derived": [False],
                "is_best": [True],
                "source_name": ["ecb-daily"],
                "extraction_id": ["id-0"],
            }
        )
    )
    for rule in (average_rate, closing_rate):
        with pytest.raises(NoRateError, match="has not ended yet"):
            rule(book, "EUR", "USD", month)
