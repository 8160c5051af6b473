"""Jump flags equal the rule written as a plain loop over each pair's days."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl

from makerates_lake.silver.columns import RATE_DTYPE
from makerates_lake.silver.flags import JUMP_WINDOW, _rate_as_float, _with_jumps
from makerates_lake.silver.sort_order import sort_silver

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
                                "rate_text": f"{rate:.6f}",
                                "rate_date": date(2020, 2, 20) + timedelta(days=day),
                            }
                        )
    return pl.DataFrame(rows).with_columns(pl.col("rate").cast(RATE_DTYPE))


def _reference_jumps(rates: pl.DataFrame, threshold: float) -> list[bool]:
    """The jump rule written plainly: per (source, base, quote), each row's rate against
    the last observation of the previous observed date, when that date is at most the
    jump window back."""
    last: dict[tuple[str, str, str, date], tuple[datetime, str, float]] = {}
    for row in rates.iter_rows(named=True):
        key = (row["source_name"], row["base_currency"], row["quote_currency"], row["rate_date"])
        seen = (row["extraction_timestamp"], row["extraction_id"], float(row["rate"]))
        if key not in last or seen[:2] > last[key][:2]:
            last[key] = seen
    flags = []
    for row in rates.iter_rows(named=True):
        pair = (row["source_name"], row["base_currency"], row["quote_currency"])
        earlier = [k[3] for k in last if k[:3] == pair and k[3] < row["rate_date"]]
        previous = max(earlier, default=None)
        if previous is None or row["rate_date"] - previous > JUMP_WINDOW:
            flags.append(False)
            continue
        flags.append(abs(float(row["rate"]) / last[(*pair, previous)][2] - 1) > threshold)
    return flags


def test_jump_flags_follow_the_rule_as_written() -> None:
    """Second extractions of a day, gaps inside and beyond the window: the vectorised
    flags equal a plain loop over each row and its pair's previous observed date."""
    rates = _rates(120, seed=5).with_columns(pl.lit(False).alias("is_jump"))
    flagged = mark_jumps_frame(rates)
    expected = _reference_jumps(flagged, 0.1)
    assert flagged.get_column("is_jump").to_list() == expected
    assert 0 < sum(expected) < flagged.height  # some jumps, not all


def mark_jumps_frame(rates: pl.DataFrame) -> pl.DataFrame:
    """The rows in silver order with ``is_jump`` set (the flags' internal entry point)."""
    return _with_jumps(sort_silver(rates), 0.1)


def test_a_rate_read_from_its_text_is_the_decimal_read_as_a_float() -> None:
    """The jump ratio reads each rate from its text: the same float as the decimal gives,
    in every written form the rules keep; a text Polars does not parse takes the
    decimal's float."""
    rng = random.Random(11)
    texts = [
        *(f"{rng.uniform(0, 5000):.{rng.randint(0, 18)}f}" for _ in range(5_000)),
        *(f"{rng.randint(0, 10**19)}.{rng.randint(0, 10**18):018d}" for _ in range(5_000)),
        *(f"{rng.uniform(0, 9):.6f}e{rng.randint(-10, 10)}" for _ in range(2_000)),
        "0.86720", "1E-5", "1.5E+3", "+2.5", "000123.450000000000000000",
        " 7.25 ",  # padded: Polars' parser leaves it, the decimal gives its float
    ]  # fmt: skip
    values = [Decimal(text.strip()) for text in texts]
    rows = pl.DataFrame({"rate_text": texts, "rate": values}).with_columns(
        pl.col("rate").cast(RATE_DTYPE)
    )
    # Only the rates decimal(38,18) holds exactly, as the rules keep only those.
    rows = rows.filter(pl.col("rate").is_not_null())
    kept = [Decimal(text.strip()) for text in rows.get_column("rate_text").to_list()]
    exact = rows.get_column("rate").to_list()
    rows = rows.filter(pl.Series([a == b for a, b in zip(kept, exact, strict=True)]))

    floats = _rate_as_float(rows)

    assert rows.height > 11_000
    assert floats.to_list() == [float(value) for value in rows.get_column("rate").to_list()]
    assert floats.to_list()[-1] == 7.25
