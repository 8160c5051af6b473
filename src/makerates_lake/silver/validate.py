"""Validation of parsed rate rows (pure, vectorised Polars): the public entry points.

Rules, checked in this order; a row that breaks several gets one reject naming the
first (the ``rule`` column of ``silver.rejects``):

=========================  ===========================================================
``invalid_currency_code``  base or quote is not an ISO 4217 code (historical included)
``rate_not_a_number``      the rate text is not a decimal number (``NaN``, ``"abc"``)
``rate_not_positive``      zero or negative
``rate_precision_exceeded`` more than 18 decimal places: it would not survive exactly
``rate_out_of_range``      more than 20 integer digits (beyond decimal(38,18))
``base_to_base_not_one``   quote == base with a rate other than 1
``base_mismatch``          the payload's base differs from the base that was requested
``invalid_rate_date``      no date, or not a calendar date
``future_rate_date``       more than one day after the extraction (UTC); one day of
                           slack because providers east of UTC date rates ahead of it
``duplicate_quote``        one extraction gave the same base/quote/date more than once;
                           every copy is rejected because we cannot tell which is right
=========================  ===========================================================

The number rules live in :mod:`~makerates_lake.silver.number_rules`, the date rules in
:mod:`~makerates_lake.silver.date_rules` and ``duplicate_quote`` in
:mod:`~makerates_lake.silver.duplicates`; this module applies them in the order above.

Flags keep the row: ``is_jump`` and ``is_stale``
(:func:`~makerates_lake.silver.flags.flag_suspicious`). Rows come out in
:data:`~makerates_lake.silver.sort_order.SILVER_ORDER`. Both, and the column layouts,
are importable from here too, where the rest of the package has always found them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from makerates_lake.silver.columns import RATE_DTYPE, REJECT_COLUMNS, SILVER_COLUMNS
from makerates_lake.silver.currencies import known_codes
from makerates_lake.silver.date_rules import FUTURE_SLACK, parse_dates
from makerates_lake.silver.duplicates import duplicate_rows
from makerates_lake.silver.flags import JUMP_WINDOW, flag_suspicious, mark_jumps
from makerates_lake.silver.number_rules import (
    MAX_INTEGER_DIGITS,
    MAX_SCALE,
    NUMBER_RULES,
    number_columns,
)
from makerates_lake.silver.parse import META_COLUMNS
from makerates_lake.silver.sort_order import SILVER_ORDER, sort_silver

__all__ = [
    "FUTURE_SLACK",
    "JUMP_WINDOW",
    "MAX_INTEGER_DIGITS",
    "MAX_SCALE",
    "RATE_DTYPE",
    "REJECT_COLUMNS",
    "SILVER_COLUMNS",
    "SILVER_ORDER",
    "Validated",
    "flag_suspicious",
    "mark_jumps",
    "payload_rejects",
    "sort_silver",
    "validate",
]


@dataclass(frozen=True)
class Validated:
    """Rows that passed (``rates``, silver column order) and rows that did not."""

    rates: pl.DataFrame
    rejects: pl.DataFrame


def validate(rates: pl.DataFrame, *, transform_version: int) -> Validated:
    """Apply every rule to parsed rate rows.

    Args:
        rates: :attr:`ParsedBatch.rates <makerates_lake.silver.parse.ParsedBatch.rates>`.
        transform_version: Stored on every output row.

    Returns:
        Valid rows in silver column order (flags still False: see :func:`flag_suspicious`)
        and rejected rows in reject column order.
    """
    frame = rates.with_columns(parse_dates(rates.get_column("rate_date")).alias("_date"))
    version = pl.lit(transform_version, pl.Int32).alias("transform_version")
    passed, failed = _rule_columns(frame)
    good = passed.with_columns(version).select(
        *META_COLUMNS,
        "base_currency",
        "quote_currency",
        # Computed once for the rules; every valid text fits decimal(38,18), so there is
        # no null here (the rules reject what would not fit).
        pl.col("_rate").alias("rate"),
        "rate_text",
        pl.col("_date").alias("rate_date"),
        pl.from_epoch("provider_updated_unix", time_unit="s")
        .dt.replace_time_zone("UTC")
        .alias("provider_updated_at"),
        "schema_version",
        "transform_version",
        pl.lit(False).alias("is_jump"),
        pl.col("is_latest").alias("is_stale"),  # replaced by flag_suspicious
    )
    bad = failed.with_columns(version).select(
        *META_COLUMNS,
        "rule",
        "field",
        "offending_value",
        pl.lit("row failed validation").alias("detail"),
        "base_currency",
        "quote_currency",
        pl.col("_date").alias("rate_date"),
        "transform_version",
    )
    if good.get_column("rate").null_count():  # the rules above make this impossible
        raise AssertionError("a validated rate does not fit decimal(38,18)")
    return Validated(rates=good, rejects=bad)


def payload_rejects(rejects: pl.DataFrame, *, transform_version: int) -> pl.DataFrame:
    """Payload-level rejects from parsing, in reject column order."""
    return rejects.with_columns(
        pl.lit(None, pl.String).alias("base_currency"),
        pl.lit(None, pl.String).alias("quote_currency"),
        pl.lit(None, pl.Date).alias("rate_date"),
        pl.lit(transform_version, pl.Int32).alias("transform_version"),
    ).select(REJECT_COLUMNS)


def _rule_columns(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows that pass every rule, and the others with ``rule``, ``field`` and
    ``offending_value`` (the first rule each breaks)."""
    codes = list(known_codes())
    numbers = [
        (pl.col(f"_n{i}"), rule, "rate", pl.col("rate_text"))
        for i, rule in enumerate(NUMBER_RULES)
    ]
    checks: list[tuple[pl.Expr, str, str, pl.Expr]] = [
        (
            ~pl.col("base_currency").is_in(codes).fill_null(False),
            "invalid_currency_code",
            "base_currency",
            pl.col("base_currency"),
        ),
        (
            ~pl.col("quote_currency").is_in(codes).fill_null(False),
            "invalid_currency_code",
            "quote_currency",
            pl.col("quote_currency"),
        ),
        *numbers,
        (
            (pl.col("base_currency") == pl.col("quote_currency"))
            & (pl.col("_rate") != pl.lit(1).cast(RATE_DTYPE)),
            "base_to_base_not_one",
            "rate",
            pl.col("rate_text"),
        ),
        (
            pl.col("requested_base").is_not_null()
            & (pl.col("base_currency") != pl.col("requested_base")),
            "base_mismatch",
            "base_currency",
            pl.col("base_currency"),
        ),
        (pl.col("_date").is_null(), "invalid_rate_date", "rate_date", pl.col("rate_date")),
        (
            pl.col("_date") > (pl.col("extraction_timestamp") + FUTURE_SLACK).dt.date(),
            "future_rate_date",
            "rate_date",
            pl.col("rate_date"),
        ),
        (
            pl.col("_duplicate"),
            "duplicate_quote",
            "quote_currency",
            pl.col("quote_currency"),
        ),
    ]
    frame = frame.hstack(number_columns(frame.get_column("rate_text")))
    frame = frame.with_columns(
        pl.col("_plain").cast(RATE_DTYPE, strict=False).alias("_rate"),
        duplicate_rows(frame).alias("_duplicate"),
    )
    # Each condition is computed once, as a column: the three when/then chains below
    # would otherwise evaluate every regex and window three times.
    frame = frame.with_columns(
        condition.fill_null(False).alias(f"_c{i}") for i, (condition, *_) in enumerate(checks)
    )
    flags = [pl.col(f"_c{i}") for i in range(len(checks))]
    broken = pl.any_horizontal(flags)
    good = frame.filter(~broken).drop([f"_c{i}" for i in range(len(checks))])
    # The chains below visit every rule for every row they see: they see only the
    # rejected rows (few or none), not the good ones.
    frame = frame.filter(broken)
    # when/then chains change type after the first link; Any keeps the loop simple.
    rule: Any = pl.when(flags[0]).then(pl.lit(checks[0][1]))
    field: Any = pl.when(flags[0]).then(pl.lit(checks[0][2]))
    value: Any = pl.when(flags[0]).then(checks[0][3])
    for flag, (_, name, column, offending) in zip(flags[1:], checks[1:], strict=True):
        rule = rule.when(flag).then(pl.lit(name))
        field = field.when(flag).then(pl.lit(column))
        value = value.when(flag).then(offending)
    bad = frame.with_columns(
        rule.otherwise(None).alias("rule"),
        field.otherwise(None).alias("field"),
        value.otherwise(None).str.slice(0, 200).alias("offending_value"),
    ).drop([f"_c{i}" for i in range(len(checks))])
    return good, bad
