"""sort_silver puts rows in SILVER_ORDER whichever sort it takes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from makerates_lake.silver.validate import SILVER_ORDER, sort_silver

QUOTES = ["EUR", "GBP", "JPY", "AUD", "CHF", "CAD", "NZD", "SEK", "NOK", "PLN"]


def _rows(extractions: int) -> pl.DataFrame:
    """Rows grouped by extraction, as parsing leaves them; some timestamps tie."""
    start = datetime(2024, 5, 1, tzinfo=UTC)
    rows = [
        {
            # Ids out of time order, and pairs of extractions at the same instant.
            "extraction_id": f"id-{(7 * n) % extractions:04d}",
            "extraction_timestamp": start + timedelta(hours=n // 2),
            "source_name": ("exchangerate-api", "open-er-api")[n % 2],
            "base_currency": ("USD", "EUR")[n % 3 == 0],
            "quote_currency": quote,
            "rate_date": date(2024, 5, 1) + timedelta(days=(n // 4) % 3),
        }
        for n in range(extractions)
        for quote in QUOTES
    ]
    return pl.DataFrame(rows).with_row_index("original")


@pytest.mark.parametrize("arrangement", ["grouped", "split run", "shuffled"])
def test_same_order_as_sorting_on_the_columns(arrangement: str) -> None:
    rows = _rows(40)
    if arrangement == "split run":  # one extraction's rows in two runs
        rows = pl.concat([rows.slice(0, 5), rows.slice(10), rows.slice(5, 5)])
    elif arrangement == "shuffled":
        rows = rows.sample(fraction=1.0, shuffle=True, seed=3)

    got = sort_silver(rows)

    assert got.equals(rows.sort(SILVER_ORDER))


def test_empty_rows() -> None:
    empty = _rows(1).clear()
    assert sort_silver(empty).equals(empty)


# Texts whose byte order differs from any naive order: accents, lower case, empty, long.
_TEXTS = ["USD", "EUR", "JPY", "ÉUR", "usd", "AAA", "Z", "ZZZZ", "€", ""]


def _random_rows(count: int, texts: list[str], *, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame(
        {
            # Dates before 1970 too: the packed key shifts them to stay non-negative.
            "rate_date": [
                date(1950, 1, 1) + timedelta(days=rng.randint(0, 40_000)) for _ in range(count)
            ],
            "base_currency": [rng.choice(texts) for _ in range(count)],
            "quote_currency": [rng.choice(texts) for _ in range(count)],
            "source_name": [rng.choice(["ecb", "exchangerate-api", "b"]) for _ in range(count)],
            "extraction_timestamp": [
                datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 50))
                for _ in range(count)
            ],
            # Unique ids: no two rows tie on every key, so the order is fully defined.
            "extraction_id": [f"{rng.randint(0, 20)}-{n}" for n in range(count)],
            "original": range(count),
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_packed_order_equals_the_key_by_key_order(seed: int) -> None:
    rows = _random_rows(20_000, _TEXTS, seed=seed)

    assert sort_silver(rows).equals(rows.sort(SILVER_ORDER))


def test_many_texts_leave_the_time_out_of_the_packed_key() -> None:
    # 40,000 distinct codes need 16 bits each: with the dates and sources there is no
    # room left for the times, which are then a key of their own.
    codes = [f"C{number:05d}" for number in range(40_000)]
    rows = _random_rows(60_000, codes, seed=4)

    assert sort_silver(rows).equals(rows.sort(SILVER_ORDER))


def test_extraction_times_years_apart_leave_the_time_out_of_the_packed_key() -> None:
    # Times over 30 years need 50 bits: more than the dates and texts leave.
    rows = _random_rows(20_000, _TEXTS, seed=7).with_columns(
        (
            pl.col("extraction_timestamp")
            + pl.duration(days=pl.col("original") % 11_000)
            + pl.duration(microseconds=pl.col("original") % 997)
        ).alias("extraction_timestamp")
    )

    assert sort_silver(rows).equals(rows.sort(SILVER_ORDER))


def test_null_keys_sort_first_as_polars_sorts_them() -> None:
    rows = _random_rows(1_000, _TEXTS, seed=5).with_columns(
        pl.when(pl.col("original") % 7 == 0)
        .then(None)
        .otherwise(pl.col("quote_currency"))
        .alias("quote_currency")
    )

    assert sort_silver(rows).equals(rows.sort(SILVER_ORDER))


def test_one_base_and_one_source_are_left_out_of_the_packed_key() -> None:
    # As in a month of one provider: a single base and source, many quotes and days.
    rows = _random_rows(20_000, _TEXTS, seed=6).with_columns(
        pl.lit("USD").alias("base_currency"), pl.lit("exchangerate-api").alias("source_name")
    )

    assert sort_silver(rows).equals(rows.sort(SILVER_ORDER))


def test_rows_equal_on_every_key_but_the_id_are_ordered_by_it() -> None:
    # Two extractions of one pair at the same instant: every packed field is one value.
    rows = pl.DataFrame(
        {
            "rate_date": [date(2024, 1, 2)] * 3,
            "base_currency": ["USD"] * 3,
            "quote_currency": ["EUR"] * 3,
            "source_name": ["ecb"] * 3,
            "extraction_timestamp": [datetime(2024, 1, 2, tzinfo=UTC)] * 3,
            "extraction_id": ["b", "c", "a"],
        }
    )

    assert sort_silver(rows).get_column("extraction_id").to_list() == ["a", "b", "c"]
