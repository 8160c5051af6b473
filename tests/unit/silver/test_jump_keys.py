"""Jump flags come out the same whether each pair's days are ordered by packed keys or
by sorting the text columns (the fallback for rows whose keys do not pack)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl

from makerates_lake.silver.columns import RATE_DTYPE
from makerates_lake.silver.flags import _with_jumps
from makerates_lake.silver.sort_order import date_last_key, packed_day_key, sorted_with_day_keys

QUOTES = ["AUD", "CHF", "EUR", "GBP", "JPY", "USD", "ZAR"]
SOURCES = ["ecb-daily", "exchangerate-api", "frankfurter"]


def _rates(days: int, seed: int) -> pl.DataFrame:
    """Rates of several sources, bases and quotes over ``days`` days with gaps and jumps."""
    rng = random.Random(seed)
    start = datetime(2020, 2, 20, tzinfo=UTC)
    rows = []
    for day in range(days):
        # Weekends and holidays, and a gap longer than the jump window.
        if rng.random() < 0.2 or 50 <= day < 64:
            continue
        for source in SOURCES:
            # Now and then a second extraction of the day: its rates are the day's last.
            for extraction in range(2 if rng.random() < 0.3 else 1):
                for base in ("EUR", "USD"):
                    for quote in rng.sample(QUOTES, 4):
                        level = 1 + QUOTES.index(quote) + (0.5 if rng.random() < 0.1 else 0)
                        rate = level * (1 + rng.uniform(-0.02, 0.02))
                        rows.append(
                            {
                                "extraction_id": f"{source}-{day}-{extraction}",
                                "extraction_timestamp": start
                                + timedelta(days=day, hours=1 + extraction),
                                "source_name": source,
                                "base_currency": base,
                                "quote_currency": quote,
                                "rate": Decimal(f"{rate:.6f}"),
                                "rate_date": date(2020, 2, 20) + timedelta(days=day),
                            }
                        )
    return pl.DataFrame(rows).with_columns(pl.col("rate").cast(RATE_DTYPE))


def test_packed_and_text_orders_give_the_same_jumps() -> None:
    rates = _rates(120, seed=5)
    ordered, keys = sorted_with_day_keys(rates)
    assert keys is not None  # these rows pack

    packed = _with_jumps(ordered, keys, 0.1)
    by_text = _with_jumps(ordered, None, 0.1)

    assert packed.equals(by_text)
    assert 0 < packed.get_column("is_jump").sum() < packed.height  # some jumps, not all


def test_date_last_key_orders_like_the_columns() -> None:
    key_columns = ["source_name", "base_currency", "quote_currency", "rate_date"]
    rates = _rates(40, seed=9).unique(key_columns)
    keys = packed_day_key(rates)
    assert keys is not None
    repacked = rates.select(date_last_key(pl.lit(keys)).alias("k")).to_series()
    expected = rates.sort(key_columns)
    assert rates[repacked.arg_sort()].equals(expected)
