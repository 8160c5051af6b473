"""divide_series (vectorised, 128-bit) agrees with divide (Python integers) on every pair."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from makerates_lake.gold.model import MAX_SCALE, RATE_DTYPE, divide, divide_series

# decimal(38,18): up to 20 integer digits. Divisors of 10**11 and more take the
# digit-at-a-time long division, smaller ones nine digits a step.
LARGEST = Decimal("99999999999999999999")
rates = st.one_of(
    st.decimals(min_value=Decimal("1e-18"), max_value=Decimal(10**11), places=MAX_SCALE),
    st.decimals(min_value=-LARGEST, max_value=LARGEST, places=MAX_SCALE),
    st.sampled_from([Decimal(0), Decimal(1), Decimal("1e-18"), LARGEST]),
)


def _expected(numerator: Decimal, denominator: Decimal, digits: int) -> Decimal | None:
    if denominator == 0:
        return None
    value = divide(numerator, denominator, digits)
    return value if abs(value.scaleb(MAX_SCALE)) < 10**38 else None


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(rates, rates), min_size=1, max_size=20), digits=st.integers(1, 20))
def test_divide_series_matches_divide(pairs: list[tuple[Decimal, Decimal]], digits: int) -> None:
    numerators = pl.Series([n for n, _ in pairs], dtype=RATE_DTYPE)
    denominators = pl.Series([d for _, d in pairs], dtype=RATE_DTYPE)

    got = divide_series(numerators, denominators, digits).to_list()

    assert got == [_expected(n, d, digits) for n, d in pairs]
