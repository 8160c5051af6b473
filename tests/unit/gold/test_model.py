"""Gold model: best-rate choice, cross rates under the precision rule, dims, convert."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from makerates_lake.gold.convert import RateBook
from makerates_lake.gold.errors import NoRateError
from makerates_lake.gold.model import dim_date, divide, fact_rate, round_rate
from makerates_lake.silver.validate import SILVER_ORDER
from makerates_lake.silver.versions import rules_for

DAY = date(2026, 10, 30)


def _silver(rows: list[tuple[str, str, str, str, str, int]]) -> pl.DataFrame:
    """(source, tier, base, quote, rate, hour) rows on DAY."""
    return pl.DataFrame(
        {
            "extraction_id": [f"id-{i}" for i in range(len(rows))],
            "extraction_timestamp": [datetime(2026, 10, 30, r[5], tzinfo=UTC) for r in rows],
            "source_name": [r[0] for r in rows],
            "source_tier": [r[1] for r in rows],
            "base_currency": [r[2] for r in rows],
            "quote_currency": [r[3] for r in rows],
            "rate": pl.Series([Decimal(r[4]) for r in rows], dtype=pl.Decimal(38, 18)),
            "rate_text": [r[4] for r in rows],
            "rate_date": [DAY] * len(rows),
            "transform_version": pl.Series([2] * len(rows), dtype=pl.Int32),
        }
    )


ECB = [
    ("ecb-daily", "primary", "EUR", "USD", "1.1172", 15),
    ("ecb-daily", "primary", "EUR", "JPY", "175.68", 15),
]


def test_cross_rate_through_pivot_is_exact_under_rule() -> None:
    """USD->JPY from EUR rates is JPY/USD rounded half-even to the version's digits."""
    facts = fact_rate(_silver(ECB), rules_for(2), ("USD",))
    row = facts.filter((pl.col("base_currency") == "USD") & (pl.col("quote_currency") == "JPY"))
    assert row["is_derived"].to_list() == [True]
    assert row["pivot_currency"].to_list() == ["EUR"]
    assert row["rate"][0] == Decimal("157.250268528")  # 175.68 / 1.1172 at 12 digits
    back = facts.filter((pl.col("base_currency") == "USD") & (pl.col("quote_currency") == "EUR"))
    assert back["rate"][0] == Decimal("0.895094880057")  # 1 / 1.1172 = 0.8950948800572860...


def test_precision_rule_differs_between_versions() -> None:
    """Version 1 keeps 6 significant digits, version 2 keeps 12."""
    assert divide(Decimal("175.68"), Decimal("1.1172"), rules_for(1).cross_significant_digits) == (
        Decimal("157.250")
    )
    assert round_rate(Decimal("0.0000123456789"), 3) == Decimal("0.0000123")
    assert round_rate(Decimal("1E-30"), 6) == Decimal(0)


def test_best_prefers_primary_tier_then_latest() -> None:
    """is_best picks primary over fallback, and the latest primary observation of the day."""
    rows = [
        ("exchangerate-api", "fallback", "USD", "EUR", "0.91", 20),
        ("open-er-api", "primary", "USD", "EUR", "0.92", 8),
        ("open-er-api", "primary", "USD", "EUR", "0.93", 12),
    ]
    facts = fact_rate(_silver(rows), rules_for(2), ())
    assert facts.height == 2  # one row per source
    best = facts.filter(pl.col("is_best"))
    assert best.select("source_name", "rate_text").row(0) == ("open-er-api", "0.93")


def test_direct_beats_derived() -> None:
    """A direct USD->JPY row from another source is best over the derived cross rate."""
    rows = [*ECB, ("open-er-api", "fallback", "USD", "JPY", "157.3", 9)]
    facts = fact_rate(_silver(rows), rules_for(2), ("USD",))
    best = facts.filter(
        pl.col("is_best") & (pl.col("base_currency") == "USD") & (pl.col("quote_currency") == "JPY")
    )
    assert best["is_derived"].to_list() == [False]


def test_fact_rate_is_deterministic() -> None:
    """The same silver rows in another order give identical fact rows."""
    silver = _silver([*ECB, ("open-er-api", "primary", "USD", "EUR", "0.9", 3)])
    one = fact_rate(silver, rules_for(2))
    two = fact_rate(silver.reverse(), rules_for(2))
    assert one.equals(two)


def test_presorted_silver_gives_the_same_facts() -> None:
    """Rows already in SILVER_ORDER skip the sort and give the facts a sort would give."""
    rows = [
        *ECB,
        ("open-er-api", "primary", "USD", "EUR", "0.9", 3),
        ("open-er-api", "primary", "USD", "EUR", "0.95", 7),
        ("open-er-api", "fallback", "USD", "JPY", "157.3", 9),
    ]
    silver = _silver(rows)
    ordered = silver.sort(SILVER_ORDER)
    assert not silver.equals(ordered), "the input must start out of order to prove anything"
    expected = fact_rate(silver.reverse(), rules_for(2))
    assert fact_rate(ordered, rules_for(2), presorted=True).equals(expected)


def test_one_fact_per_key_when_a_source_has_two_tiers_in_a_day() -> None:
    """The way back to the pivot is one row with the anchor's tier, not one per tier seen."""
    rows = [
        ("open-er-api", "primary", "USD", "EUR", "0.95", 7),
        ("open-er-api", "fallback", "USD", "JPY", "157.3", 9),
    ]
    facts = fact_rate(_silver(rows), rules_for(2), ("EUR",))
    key = ["rate_date", "base_currency", "quote_currency", "source_name", "pivot_currency"]
    assert not facts.select(pl.struct(key).is_duplicated().any()).item()
    back = facts.filter((pl.col("base_currency") == "EUR") & (pl.col("quote_currency") == "USD"))
    assert back.select("source_tier", "is_derived").rows() == [("primary", True)]


def test_dim_date_flags_weekends() -> None:
    """dim_date has a yyyymmdd key and marks Saturday and Sunday."""
    days = dim_date(date(2026, 10, 30), date(2026, 11, 2))
    assert days["date_key"].to_list() == [20261030, 20261031, 20261101, 20261102]
    assert days["is_weekend"].to_list() == [False, True, True, False]


def test_convert_rule_for_missing_dates() -> None:
    """A weekend raises NoRateError by default and uses Friday's rate when asked."""
    book = RateBook(fact_rate(_silver(ECB), rules_for(2), ("USD",)))
    assert book.convert(Decimal(100), "EUR", "USD", DAY) == Decimal("111.72")
    saturday = date(2026, 10, 31)
    with pytest.raises(NoRateError):
        book.convert(Decimal(100), "EUR", "USD", saturday)
    quote = book.rate("EUR", "USD", saturday, fallback="previous")
    assert (quote.rate, quote.rate_date) == (Decimal("1.1172"), DAY)


def test_convert_via_pivot_and_inverse() -> None:
    """JPY->USD without a direct row comes from the inverse or the EUR pivot."""
    book = RateBook(fact_rate(_silver(ECB), rules_for(2), ()))
    assert book.rate("JPY", "EUR", DAY).method == "inverse"
    pivot = book.rate("USD", "JPY", DAY)
    assert (pivot.method, pivot.rate) == ("pivot:EUR", Decimal("157.250268528"))
