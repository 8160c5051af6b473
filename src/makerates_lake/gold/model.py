"""The gold star schema as pure functions of silver rows (Polars in, Polars out).

Choosing a rate
    ``fact_rate`` has one row per (date, base, quote, source): the source's observation
    from the best tier (``primary`` > ``fallback`` > ``backfill`` > ``manual``), latest
    extraction first. ``is_best`` marks one row per (date, base, quote): direct before
    derived, then the same tier order, then the latest observation, then the more
    authoritative source (ECB first), then the source name, so ties are deterministic.

Cross rates (the precision rule)
    For each source and day with base ``P`` (the pivot) and each cross base ``A`` it
    quotes, ``A -> B = rate(P -> B) / rate(P -> A)`` and ``A -> P = 1 / rate(P -> A)``,
    computed with Python :mod:`decimal` at 40 significant digits, then rounded
    half-even to the transform version's ``cross_significant_digits`` and at most 18
    decimal places (decimal(38,18)). Derived rows are written only where the source has
    no direct rate for the pair, and carry ``is_derived`` and ``pivot_currency``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final

import polars as pl

from makerates_lake import source_names
from makerates_lake.silver.currencies import iso4217
from makerates_lake.silver.versions import TransformRules

TIER_PRIORITY: Final = {"primary": 0, "fallback": 1, "backfill": 2, "manual": 3}
#: Currencies whose cross rates gold materialises against every quote of a pivot source.
DEFAULT_CROSS_BASES: Final = ("EUR", "USD")
RATE_DTYPE: Final = pl.Decimal(38, 18)
DIVISION_DIGITS: Final = 40
MAX_SCALE: Final = 18


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
_SOURCE_RANK: Final = {s.source_name: i for i, s in enumerate(SOURCES)}

FACT_COLUMNS: Final = (
    "rate_date", "date_key", "base_currency", "quote_currency", "source_name", "source_tier",
    "rate", "rate_text", "is_derived", "pivot_currency", "is_best", "extraction_id",
    "base_extraction_id", "observed_at", "transform_version",
)  # fmt: skip


def round_rate(value: Decimal, significant_digits: int) -> Decimal:
    """Round half-even to ``significant_digits``, and to at most 18 decimal places."""
    if value.is_zero():
        return Decimal(0)
    exponent = max(value.adjusted() - significant_digits + 1, -MAX_SCALE)
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def divide(numerator: Decimal, denominator: Decimal, significant_digits: int) -> Decimal:
    """``numerator / denominator`` under the documented precision rule."""
    with localcontext() as ctx:
        ctx.prec = DIVISION_DIGITS
        return round_rate(numerator / denominator, significant_digits)


def _tier_rank() -> pl.Expr:
    return pl.col("source_tier").replace_strict(TIER_PRIORITY, default=len(TIER_PRIORITY))


def _source_rank() -> pl.Expr:
    return pl.col("source_name").replace_strict(_SOURCE_RANK, default=len(_SOURCE_RANK))


def direct_facts(silver: pl.DataFrame) -> pl.DataFrame:
    """One row per (date, base, quote, source): the source's best observation that day."""
    return (
        silver.filter(pl.col("base_currency") != pl.col("quote_currency"))
        .with_columns(_tier_rank().alias("_tier"))
        .sort(
            ["_tier", "extraction_timestamp", "extraction_id"],
            descending=[False, True, True],
        )
        .unique(
            ["rate_date", "base_currency", "quote_currency", "source_name"],
            keep="first",
            maintain_order=True,
        )
        .select(
            "rate_date",
            "base_currency",
            "quote_currency",
            "source_name",
            "source_tier",
            "rate",
            "rate_text",
            "extraction_id",
            "transform_version",
            pl.lit(None, pl.String).alias("base_extraction_id"),
            pl.col("extraction_timestamp").alias("observed_at"),
            pl.lit(False).alias("is_derived"),
            pl.lit(None, pl.String).alias("pivot_currency"),
        )
    )


def cross_facts(
    direct: pl.DataFrame, rules: TransformRules, cross_bases: Sequence[str] = DEFAULT_CROSS_BASES
) -> pl.DataFrame:
    """Derived rates ``A -> B`` for every cross base ``A`` a pivot source quotes."""
    legs = direct.select(
        "rate_date", "source_name", "source_tier", "transform_version",
        pl.col("base_currency").alias("pivot_currency"),
        "quote_currency", "rate", "extraction_id", "observed_at",
    )  # fmt: skip
    anchors = legs.filter(pl.col("quote_currency").is_in(list(cross_bases))).select(
        "rate_date", "source_name", "pivot_currency",
        pl.col("quote_currency").alias("base_currency"),
        pl.col("rate").alias("_base_rate"),
        pl.col("extraction_id").alias("base_extraction_id"),
        pl.col("observed_at").alias("_base_observed"),
    )  # fmt: skip
    pairs = anchors.join(legs, on=["rate_date", "source_name", "pivot_currency"])
    # Against every other quote, plus the way back to the pivot itself (1 / rate).
    to_pivot = anchors.join(
        legs.select(["rate_date", "source_name", "pivot_currency", "source_tier",
                     "transform_version"]).unique(),
        on=["rate_date", "source_name", "pivot_currency"],
    ).with_columns(
        pl.col("pivot_currency").alias("quote_currency"),
        pl.lit(1).cast(RATE_DTYPE).alias("rate"),
        pl.col("base_extraction_id").alias("extraction_id"),
        pl.col("_base_observed").alias("observed_at"),
    )  # fmt: skip
    candidates = pl.concat([pairs, to_pivot.select(pairs.columns)], how="vertical").filter(
        pl.col("quote_currency") != pl.col("base_currency")
    )
    existing = direct.select("rate_date", "source_name", "base_currency", "quote_currency")
    candidates = candidates.join(
        existing, on=["rate_date", "source_name", "base_currency", "quote_currency"], how="anti"
    )
    digits = rules.cross_significant_digits
    numerators = candidates.get_column("rate").to_list()
    denominators = candidates.get_column("_base_rate").to_list()
    derived = [divide(n, d, digits) for n, d in zip(numerators, denominators, strict=True)]
    return candidates.select(
        "rate_date", "base_currency", "quote_currency", "source_name", "source_tier",
        pl.Series("rate", derived, dtype=RATE_DTYPE),
        pl.lit(None, pl.String).alias("rate_text"),
        "extraction_id", pl.lit(rules.version, pl.Int32).alias("transform_version"),
        "base_extraction_id",
        pl.max_horizontal("observed_at", "_base_observed").alias("observed_at"),
        pl.lit(True).alias("is_derived"),
        "pivot_currency",
    )  # fmt: skip


def fact_rate(
    silver: pl.DataFrame,
    rules: TransformRules,
    cross_bases: Sequence[str] = DEFAULT_CROSS_BASES,
) -> pl.DataFrame:
    """``gold.fact_rate`` rows from silver rows, sorted for deterministic output."""
    direct = direct_facts(silver).with_columns(
        pl.lit(rules.version, pl.Int32).alias("transform_version")
    )
    facts = pl.concat([direct, cross_facts(direct, rules, cross_bases)], how="vertical_relaxed")
    ranked = facts.with_columns(
        pl.col("is_derived").cast(pl.Int8).alias("_derived"),
        _tier_rank().alias("_tier"),
        _source_rank().alias("_source"),
    ).sort(
        ["_derived", "_tier", "observed_at", "_source", "source_name"],
        descending=[False, False, True, False, False],
    )
    best = pl.int_range(pl.len()).over("rate_date", "base_currency", "quote_currency") == 0
    return (
        ranked.with_columns(
            best.alias("is_best"),
            (
                pl.col("rate_date").dt.year() * 10000
                + pl.col("rate_date").dt.month().cast(pl.Int32) * 100
                + pl.col("rate_date").dt.day().cast(pl.Int32)
            )
            .cast(pl.Int32)
            .alias("date_key"),
        )
        .select(FACT_COLUMNS)
        .sort("rate_date", "base_currency", "quote_currency", "source_name", "is_derived")
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
    seen = (
        pl.concat(
            [
                silver.select(pl.col("base_currency").alias("currency_code"), "rate_date"),
                silver.select(pl.col("quote_currency").alias("currency_code"), "rate_date"),
            ]
        )
        .group_by("currency_code")
        .agg(
            pl.col("rate_date").min().alias("first_rate_date"),
            pl.col("rate_date").max().alias("last_rate_date"),
        )
    )
    return iso4217().join(seen, on="currency_code", how="left").sort("currency_code")


def dim_source() -> pl.DataFrame:
    """Every source the extract stage knows."""
    return pl.DataFrame([vars(s) for s in SOURCES]).sort("source_name")
