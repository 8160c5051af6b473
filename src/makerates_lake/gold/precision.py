"""The precision rule for cross rates: an exact quotient, rounded once.

``A -> B = rate(P -> B) / rate(P -> A)`` is computed exactly, then rounded once,
half-even, to the transform version's ``cross_significant_digits`` and to at most 18
decimal places (decimal(38,18)). :func:`divide` is the rule for one pair (exact integer
arithmetic); :func:`divide_series` applies the same rule to whole columns in Polars
128-bit integers, so a reprocess does no per-row Python.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import polars as pl
import pyarrow as pa

RATE_DTYPE: Final = pl.Decimal(38, 18)
MAX_SCALE: Final = 18


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
    # Exact either way; two steps of nine digits are far cheaper than eighteen of one,
    # and every real rate allows them.
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
