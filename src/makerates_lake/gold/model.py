"""The gold star schema as pure functions of silver rows (Polars in, Polars out).

Choosing a rate
    ``fact_rate`` has one row per (date, base, quote, source): the source's observation
    from the best tier (``primary`` > ``fallback`` > ``backfill`` > ``manual``), latest
    extraction first. ``is_best`` marks one row per (date, base, quote): direct before
    derived, then the same tier order, then the latest observation, then the more
    authoritative source (ECB first), then the source name, so ties are deterministic.

Cross rates (the precision rule)
    For each source and day with base ``P`` (the pivot) and each cross base ``A`` it
    quotes, ``A -> B = rate(P -> B) / rate(P -> A)`` and ``A -> P = 1 / rate(P -> A)``:
    the exact quotient, rounded once, half-even, to the transform version's
    ``cross_significant_digits`` and to at most 18 decimal places (decimal(38,18)).
    Derived rows are written only where the source has no direct rate for the pair, and
    carry ``is_derived`` and ``pivot_currency``. :func:`divide` is the rule for one pair
    (exact integer arithmetic); :func:`divide_columns` applies the same rule to whole
    columns in Polars 128-bit integers, so a reprocess does no per-row Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import polars as pl
import pyarrow as pa

from makerates_lake import source_names
from makerates_lake.silver.currencies import iso4217
from makerates_lake.silver.validate import SILVER_ORDER, packed_day_key
from makerates_lake.silver.versions import TransformRules

TIER_PRIORITY: Final = {"primary": 0, "fallback": 1, "backfill": 2, "manual": 3}
#: Currencies whose cross rates gold materialises against every quote of a pivot source.
DEFAULT_CROSS_BASES: Final = ("EUR", "USD")
RATE_DTYPE: Final = pl.Decimal(38, 18)
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


def _round_scaled(quotient: int, remainder: int, divisor: int, digits: int) -> tuple[int, int]:
    """Round ``quotient + remainder/divisor`` (a value times 10**18) under the rule.

    Returns ``(coefficient, k)``: the rounded value times 10**18 is ``coefficient * 10**k``.
    """
    k = max(len(str(quotient)) - digits, 0) if quotient else 0
    power = 10**k
    kept, dropped = divmod(quotient, power)
    if k == 0:  # only the remainder is dropped
        up = 2 * remainder > divisor or (2 * remainder == divisor and kept % 2 == 1)
    else:
        up = 2 * dropped > power or (2 * dropped == power and (remainder > 0 or kept % 2 == 1))
    return kept + int(up), k


def divide(numerator: Decimal, denominator: Decimal, significant_digits: int) -> Decimal:
    """``numerator / denominator`` under the documented precision rule (exact, then rounded once).

    Raises:
        ZeroDivisionError: ``denominator`` is zero.
    """
    n1, d1 = numerator.as_integer_ratio()
    n2, d2 = denominator.as_integer_ratio()
    num, den = n1 * d2, d1 * n2
    if den == 0:
        raise ZeroDivisionError("cross rate over a zero rate")
    negative = (num < 0) != (den < 0)
    quotient, remainder = divmod(abs(num) * 10**MAX_SCALE, abs(den))
    coefficient, k = _round_scaled(quotient, remainder, abs(den), significant_digits)
    # A string keeps every digit: Decimal arithmetic would round to the context precision.
    return Decimal(f"{'-' if negative and coefficient else ''}{coefficient}E{k - MAX_SCALE}")


# Limits of the vectorised path: the remainder times 10 and the value times 10**18 must
# stay inside a signed 128-bit integer. Real rates are far below; rows beyond go through
# :func:`divide` one by one.
_MAX_DIVISOR = 10**37
_MAX_QUOTIENT = 10**19
#: Below this every divisor allows nine digits per long-division step: the remainder
#: (smaller than the divisor) times 10**9 stays under 10**38, inside 128 bits.
_MAX_NINE_DIGIT_DIVISOR = 10**29


def _i128(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.Int128)


def _scaled_or_none(numerator: int, denominator: int, significant_digits: int) -> int | None:
    """:func:`divide` of two scaled integers, scaled; None if zero or beyond decimal(38,18)."""
    if denominator == 0:
        return None
    value = divide(
        Decimal(numerator).scaleb(-MAX_SCALE),
        Decimal(denominator).scaleb(-MAX_SCALE),
        significant_digits,
    )
    scaled = int(value.scaleb(MAX_SCALE))
    return scaled if abs(scaled) < 10**38 else None


def divide_series(
    numerator: pl.Series, denominator: pl.Series, significant_digits: int
) -> pl.Series:
    """Element-wise :func:`divide` of two decimal columns, in 128-bit integer arithmetic.

    Both columns are read as integers scaled by 10**18 (decimal(38,18)'s physical form).
    Long division gives ``floor(q * 10**18)`` and the remainder, which decide the half-even
    rounding exactly, as :func:`divide` does with Python integers. A quotient that does
    not fit decimal(38,18), or a zero denominator, gives null.
    """
    n, d = pl.col("n"), pl.col("d")
    frame = pl.DataFrame(
        {
            "n": numerator.cast(RATE_DTYPE).to_physical(),
            "d": denominator.cast(RATE_DTYPE).to_physical(),
        }
    ).with_columns(
        fast=(
            (n >= 0)
            & (d > 0)
            & (d < _i128(_MAX_DIVISOR))
            & (n // pl.when(d > 0).then(d).otherwise(_i128(1)) < _i128(_MAX_QUOTIENT))
        ).fill_null(False)
    )
    # Rows outside the fast path divide 0 by 1 here and are filled in below.
    work = frame.select(
        pl.when("fast").then(n).otherwise(_i128(0)).alias("n"),
        pl.when("fast").then(d).otherwise(_i128(1)).alias("d"),
    ).select((n // d).alias("q"), (n % d).alias("r"), "d")
    q, r = pl.col("q"), pl.col("r")
    # Exact either way; two steps of nine digits cost a ninth of eighteen of one, and
    # every real rate allows them.
    nine = work.select((d < _i128(_MAX_NINE_DIGIT_DIVISOR)).all()).item()
    step = 9 if nine else 1
    base = _i128(10**step)
    for _ in range(MAX_SCALE // step):
        # Both new columns are computed from the old q and r (one with_columns).
        work = work.with_columns(q=q * base + (r * base) // d, r=(r * base) % d)
    length = pl.sum_horizontal(
        [(q >= _i128(10**p)).cast(pl.Int32) for p in range(MAX_SCALE * 2 + 2)]
    )
    work = work.with_columns(k=pl.max_horizontal(length - significant_digits, pl.lit(0)))
    power = pl.lit(0, dtype=pl.Int128)
    for exponent in range(MAX_SCALE * 2 + 2):
        power = pl.when(pl.col("k") == exponent).then(_i128(10**exponent)).otherwise(power)
    work = work.with_columns(p=power).with_columns(kept=q // pl.col("p"), dropped=q % pl.col("p"))
    kept, dropped, p = pl.col("kept"), pl.col("dropped"), pl.col("p")
    odd = (kept % _i128(2)) == _i128(1)
    up = (
        pl.when(pl.col("k") == 0)
        .then((r * 2 > d) | ((r * 2 == d) & odd))
        .otherwise((dropped * 2 > p) | ((dropped * 2 == p) & ((r > 0) | odd)))
    )
    scaled = work.select(((kept + up.cast(pl.Int128)) * p).alias("scaled")).get_column("scaled")
    slow = frame.with_row_index("i").filter(~pl.col("fast") & n.is_not_null() & d.is_not_null())
    if slow.height:
        values = [
            _scaled_or_none(a, b, significant_digits) for a, b in slow.select("n", "d").iter_rows()
        ]
        scaled = scaled.scatter(slow.get_column("i"), pl.Series(values, dtype=pl.Int128))
    scaled = pl.select(
        pl.when(frame.get_column("n").is_null() | frame.get_column("d").is_null())
        .then(None)
        .otherwise(scaled)
    ).to_series()
    # decimal(38,0) holding the scaled integers has decimal(38,18)'s bytes: reinterpret them.
    arrow = scaled.cast(pl.Decimal(38, 0)).to_arrow().view(pa.decimal128(38, MAX_SCALE))
    result = pl.from_arrow(arrow)
    assert isinstance(result, pl.Series)  # an Array always gives a Series
    return result.alias(numerator.name)


def _tier_rank() -> pl.Expr:
    return pl.col("source_tier").replace_strict(TIER_PRIORITY, default=len(TIER_PRIORITY))


def _source_rank() -> pl.Expr:
    return pl.col("source_name").replace_strict(_SOURCE_RANK, default=len(_SOURCE_RANK))


_MAX_MICROS = 1 << 52  # 2112-09-17: the composite rank below needs 0 <= time < this


def _runs(group: Sequence[str]) -> pl.Expr:
    """Run number of ``group`` in a frame sorted by it: one integer per group."""
    changed = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in group)
    return changed.fill_null(True).cum_sum().cast(pl.Int64)


def _best_in_runs(
    frame: pl.DataFrame, order: Sequence[tuple[str, bool]], *, keep: str
) -> pl.DataFrame:
    """Per run ``_run``: the rows best by ``order`` (column, descending), then one of them.

    ``frame`` is sorted so that each group is one run and, among rows equal on
    ``order``, the wanted one comes ``keep`` ("first" or "last") in its run. Each
    ``order`` column is one window over the integer run number, never a sort.
    """
    for column, descending in order:
        best = pl.col(column).max() if descending else pl.col(column).min()
        frame = frame.filter(pl.col(column) == best.over("_run"))
    neighbour = pl.col("_run").shift(1 if keep == "first" else -1)
    return frame.filter((pl.col("_run") != neighbour).fill_null(True))


def _micros_in_range(column: pl.Series) -> bool:
    micros = column.dt.epoch("us")
    low, high = micros.min(), micros.max()
    if low is None or high is None:
        return True
    return int(low) >= 0 and int(high) < _MAX_MICROS  # type: ignore[arg-type]


def direct_facts(silver: pl.DataFrame, *, presorted: bool = False) -> pl.DataFrame:
    """One row per (date, base, quote, source): the source's best observation that day.

    Best is the best tier, then the latest extraction, then the larger extraction_id.
    ``presorted`` says the rows are in ``SILVER_ORDER`` already (a silver build's
    output), which saves sorting 1.75 million rows again.
    """
    # In SILVER_ORDER each (date, base, quote, source) is one run, latest extraction
    # last: the best row is its tier's last row.
    rows = silver if presorted else silver.sort(SILVER_ORDER)
    rows = rows.with_columns(_runs(SILVER_ORDER[:4]).alias("_run"), (-_tier_rank()).alias("_tier"))
    order = [("_tier", True)] if rows.get_column("source_tier").n_unique() > 1 else []
    best = _best_in_runs(rows, order, keep="last")
    # A base quoted against itself is a run of its own, so dropping it from the winners
    # (one row per day and source) equals dropping it from every silver row first.
    return best.filter(pl.col("base_currency") != pl.col("quote_currency")).select(
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
        pl.col("source_tier").alias("_base_tier"),
        pl.col("transform_version").alias("_base_version"),
    )  # fmt: skip
    pairs = anchors.join(legs, on=["rate_date", "source_name", "pivot_currency"]).drop(
        "_base_tier", "_base_version"
    )
    # The way back to the pivot itself (1 / rate) rests on the anchor leg alone, so it
    # takes that leg's tier: one row per anchor, even when the source's legs that day
    # came in different tiers.
    to_pivot = anchors.select(
        "rate_date", "source_name",
        pl.col("_base_tier").alias("source_tier"),
        pl.col("_base_version").alias("transform_version"),
        "pivot_currency",
        pl.col("pivot_currency").alias("quote_currency"),
        pl.lit(1).cast(RATE_DTYPE).alias("rate"),
        pl.col("base_extraction_id").alias("extraction_id"),
        pl.col("_base_observed").alias("observed_at"),
        "base_currency", "_base_rate", "base_extraction_id", "_base_observed",
    )  # fmt: skip
    candidates = pl.concat([pairs, to_pivot.select(pairs.columns)], how="vertical").filter(
        pl.col("quote_currency") != pl.col("base_currency")
    )
    existing = direct.select("rate_date", "source_name", "base_currency", "quote_currency")
    candidates = candidates.join(
        existing, on=["rate_date", "source_name", "base_currency", "quote_currency"], how="anti"
    )
    derived = divide_series(
        candidates.get_column("rate"),
        candidates.get_column("_base_rate"),
        rules.cross_significant_digits,
    )
    return candidates.select(
        "rate_date", "base_currency", "quote_currency", "source_name", "source_tier",
        pl.lit(derived).alias("rate"),
        pl.lit(None, pl.String).alias("rate_text"),
        "extraction_id", pl.lit(rules.version, pl.Int32).alias("transform_version"),
        "base_extraction_id",
        pl.max_horizontal("observed_at", "_base_observed").alias("observed_at"),
        pl.lit(True).alias("is_derived"),
        "pivot_currency",
    ).filter(pl.col("rate").is_not_null())  # fmt: skip  # beyond decimal(38,18): not derived


def _sort_facts(facts: pl.DataFrame) -> pl.DataFrame:
    """Facts by date, base, quote, source, direct before derived, pivot."""
    pivot = pl.col("pivot_currency").fill_null("")
    packed = packed_day_key(facts)
    if packed is None:
        return facts.sort(
            "rate_date", "base_currency", "quote_currency", "source_name", "is_derived", pivot
        )
    keys = facts.select(packed, "is_derived", pivot)
    # One chunk first (see silver.validate.sort_silver): a gather across chunks is slower.
    return facts.rechunk()[keys.select(pl.arg_sort_by(keys.columns)).to_series()]


def fact_rate(
    silver: pl.DataFrame,
    rules: TransformRules,
    cross_bases: Sequence[str] = DEFAULT_CROSS_BASES,
    *,
    presorted: bool = False,
) -> pl.DataFrame:
    """``gold.fact_rate`` rows from silver rows, sorted for deterministic output.

    ``presorted``: see :func:`direct_facts`.
    """
    direct = direct_facts(silver, presorted=presorted).with_columns(
        pl.lit(rules.version, pl.Int32).alias("transform_version")
    )
    facts = pl.concat([direct, cross_facts(direct, rules, cross_bases)], how="vertical_relaxed")
    # The output order first: each (date, base, quote) is then one run, and among rows of
    # equal rank the first one has the smallest source name (then pivot).
    facts = _sort_facts(facts).with_row_index("_row").with_columns(
        _runs(("rate_date", "base_currency", "quote_currency")).alias("_run"),
        pl.col("is_derived").cast(pl.Int64).alias("_derived"),
        _tier_rank().cast(pl.Int64).alias("_tier"),
        _source_rank().cast(pl.Int64).alias("_source"),
    )  # fmt: skip
    order: list[tuple[str, bool]]
    if _micros_in_range(facts.get_column("observed_at")):
        # direct first, best tier, newest observation, source rank: one integer, smallest best.
        newest = _MAX_MICROS - 1 - pl.col("observed_at").dt.epoch("us")
        rank = ((pl.col("_derived") * 8 + pl.col("_tier")) * _MAX_MICROS + newest) * 8 + pl.col(
            "_source"
        )
        facts = facts.with_columns(rank.alias("_rank"))
        order = [("_rank", False)]
    else:
        order = [("_derived", False), ("_tier", False), ("observed_at", True), ("_source", False)]
    winners = _best_in_runs(
        facts.select("_row", "_run", *(c for c, _ in order)), order, keep="first"
    ).get_column("_row")
    best = pl.repeat(False, facts.height, eager=True).alias("is_best").scatter(winners, True)
    return facts.with_columns(
        best,
        (
            pl.col("rate_date").dt.year() * 10000
            + pl.col("rate_date").dt.month().cast(pl.Int32) * 100
            + pl.col("rate_date").dt.day().cast(pl.Int32)
        )
        .cast(pl.Int32)
        .alias("date_key"),
    ).select(FACT_COLUMNS)


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
