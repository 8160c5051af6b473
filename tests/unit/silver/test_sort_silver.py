"""sort_silver puts rows in SILVER_ORDER whichever sort it takes."""

from __future__ import annotations

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
