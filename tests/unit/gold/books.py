"""A small RateBook the gold unit tests share: EUR -> USD and EUR -> JPY on one Friday."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from makerates_lake.gold.convert import RateBook

FRIDAY = date(2026, 10, 30)


def friday_book(versions: list[int | None] | None = None, **kwargs: int) -> RateBook:
    """EUR -> USD and EUR -> JPY on FRIDAY, as gold.fact_rate holds them (38,18), with a
    ``transform_version`` per row when ``versions`` is given."""
    columns: dict[str, object] = {
        "rate_date": [FRIDAY, FRIDAY],
        "base_currency": ["EUR", "EUR"],
        "quote_currency": ["USD", "JPY"],
        "rate": pl.Series([Decimal("1.1172"), Decimal("175.68")], dtype=pl.Decimal(38, 18)),
        "is_derived": [False, False],
        "is_best": [True, True],
        "source_name": ["ecb-daily", "ecb-daily"],
        "extraction_id": ["id-0", "id-0"],
    }
    if versions is not None:
        columns["transform_version"] = pl.Series(versions, dtype=pl.Int32)
    return RateBook(pl.DataFrame(columns), **kwargs)
