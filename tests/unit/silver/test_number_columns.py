"""The number rules settle plain decimal rate texts in two checks, with the same outcome
as checking every text rule by rule."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from makerates_lake.silver.date_rules import parse_dates
from makerates_lake.silver.number_rules import _numbers_rule_by_rule as _rule_by_rule
from makerates_lake.silver.number_rules import number_columns

# Texts near the plain-decimal boundary: digits (zeros, leading or not), one or two dots,
# signs, exponents, spaces, and digit runs around the 18- and 20-digit limits.
_PIECES = st.sampled_from(
    ["0", "1", "9", "00", "5" * 18, "7" * 19, "3" * 20, "8" * 21, ".", "-", "+", "e", "E5",
     "e-3", " ", "\t", "\u0663", "x"]
)  # fmt: skip
_DIGITS = st.text("0123456789", max_size=22)
_TEXTS = st.one_of(
    st.none(),
    st.tuples(_DIGITS, st.sampled_from(["", "."]), _DIGITS).map("".join),
    st.lists(_PIECES, min_size=0, max_size=6).map("".join),
    st.integers(0, 22).flatmap(
        lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places)
    ).map(str),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXTS, min_size=1, max_size=40))
def test_plain_decimals_settled_in_two_checks_match_every_rule(texts: list[str | None]) -> None:
    column = pl.Series("rate_text", texts, dtype=pl.String)
    assert number_columns(column).equals(_rule_by_rule(column))


def test_the_shortcut_takes_plain_decimals_and_leaves_the_rest() -> None:
    """Cases either side of the plain-decimal pattern (the property above checks them
    all against the rules; this one that both sides are reached)."""
    texts = ["0.5", "12345678901234567890", "1.123456789012345678", "0", "00.5", " 1.5",
             "1.5e3", "123456789012345678901", "1.1234567890123456789", "-1", None]  # fmt: skip
    column = pl.Series("rate_text", texts, dtype=pl.String)
    got = number_columns(column)
    assert got.equals(_rule_by_rule(column))
    broken = got.select(pl.any_horizontal(pl.col("^_n[0-9]$")).alias("broken"))["broken"]
    assert broken.to_list() == [False] * 3 + [True, False, False, False, True, True, True, True]


_DATE_TEXTS = st.sampled_from(["2024-01-02", " 2024-01-02", "2024-02-30", "x", None])


@given(st.lists(_DATE_TEXTS, max_size=30))
def test_dates_parsed_once_per_run_equal_parsed_row_by_row(texts: list[str | None]) -> None:
    column = pl.Series("rate_date", texts, dtype=pl.String)
    expected = column.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    assert parse_dates(column).equals(expected)
