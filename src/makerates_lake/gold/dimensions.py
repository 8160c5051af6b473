"""The dimensions of the gold star schema: ``dim_date``, ``dim_currency`` and
``dim_source`` (with :data:`SOURCES`, every source the extract stage knows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import polars as pl

from makerates_lake import source_names
from makerates_lake.silver.currencies import iso4217


@dataclass(frozen=True)
class SourceInfo:
    """A row of ``gold.dim_source``."""

    source_name: str
    provider: str
    description: str
    needs_api_key: bool
    is_authoritative: bool


SOURCES: Final = (
    SourceInfo(source_names.ECB_DAILY, "European Central Bank", "eurofxref daily XML", False, True),
    SourceInfo(
        source_names.ECB_HISTORY, "European Central Bank", "eurofxref history CSV", False, True
    ),
    SourceInfo(
        source_names.FRANKFURTER, "Frankfurter", "ECB data via api.frankfurter.dev", False, False
    ),
    SourceInfo(
        source_names.EXCHANGERATE_API, "ExchangeRate-API", "v6 API (key required)", True, False
    ),
    SourceInfo(
        source_names.OPEN_ER_API, "ExchangeRate-API", "open.er-api.com free endpoint", False, False
    ),
)


def dim_date(first: date, last: date) -> pl.DataFrame:
    """One row per calendar day from ``first`` to ``last``."""
    days = pl.date_range(first, last, "1d", eager=True).alias("date")
    return pl.DataFrame(days).select(
        (pl.col("date").dt.strftime("%Y%m%d").cast(pl.Int32)).alias("date_key"),
        "date",
        pl.col("date").dt.year().cast(pl.Int32).alias("year"),
        pl.col("date").dt.quarter().cast(pl.Int32).alias("quarter"),
        pl.col("date").dt.month().cast(pl.Int32).alias("month"),
        pl.col("date").dt.day().cast(pl.Int32).alias("day"),
        pl.col("date").dt.week().cast(pl.Int32).alias("iso_week"),
        pl.col("date").dt.weekday().cast(pl.Int32).alias("iso_weekday"),
        (pl.col("date").dt.weekday() >= 6).alias("is_weekend"),
    )


def dim_currency(silver: pl.DataFrame) -> pl.DataFrame:
    """The ISO 4217 list with the first and last date silver has a rate in each code."""
    # One pass over silver per pair of codes (a few hundred groups), then per code.
    pairs = silver.group_by("base_currency", "quote_currency").agg(
        pl.col("rate_date").min().alias("first_rate_date"),
        pl.col("rate_date").max().alias("last_rate_date"),
    )
    seen = (
        pl.concat(
            [
                pairs.select(
                    pl.col(side).alias("currency_code"), "first_rate_date", "last_rate_date"
                )
                for side in ("base_currency", "quote_currency")
            ]
        )
        .group_by("currency_code")
        .agg(pl.col("first_rate_date").min(), pl.col("last_rate_date").max())
    )
    return iso4217().join(seen, on="currency_code", how="left").sort("currency_code")


def dim_source() -> pl.DataFrame:
    """Every source the extract stage knows."""
    return pl.DataFrame([vars(s) for s in SOURCES]).sort("source_name")
