"""``duplicate_rows``: the candidates a hash finds are confirmed on the key itself."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest

from makerates_lake.silver import duplicates
from makerates_lake.silver.duplicates import duplicate_rows
from makerates_lake.silver.row_hash import row_hash


def _rows(*keys: tuple[str | None, str, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        keys,
        schema=["extraction_id", "base_currency", "quote_currency", "rate_date"],
        orient="row",
    )


_KEYS = (
    ("a", "USD", "EUR", "2024-01-02"),
    ("a", "EUR", "USD", "2024-01-02"),  # the first's base and quote swapped
    ("a", "USD", "GBP", "2024-01-02"),
    ("b", "USD", "EUR", "2024-01-02"),  # another extraction
    ("a", "USD", "EUR", "2024-01-03"),  # another date
    ("a", "USD", "EUR", " 2024-01-02"),  # another date text: not the same key
)


def test_distinct_keys_are_not_duplicates() -> None:
    assert duplicate_rows(_rows(*_KEYS)).to_list() == [False] * len(_KEYS)


def test_every_copy_of_a_repeated_key_is_marked() -> None:
    rows = _rows(*_KEYS, _KEYS[2], (None, "USD", "EUR", None), (None, "USD", "EUR", None))
    marked = [False, False, True, False, False, False, True, True, True]
    assert duplicate_rows(rows).to_list() == marked


@pytest.mark.parametrize("repeat", [False, True])
def test_colliding_hashes_reject_nothing_the_key_does_not(
    monkeypatch: pytest.MonkeyPatch, repeat: bool
) -> None:
    """With every row's hash zero, every row is a candidate: only rows equal on the
    whole key are marked."""
    hashed: list[Sequence[str]] = []

    def zero(columns: Sequence[str]) -> pl.Expr:
        hashed.append(columns)
        return pl.repeat(0, pl.len(), dtype=pl.UInt64)

    monkeypatch.setattr(duplicates, "row_hash", zero)
    keys = (*_KEYS, _KEYS[4]) if repeat else _KEYS
    expected = [repeat and key == _KEYS[4] for key in keys]
    assert duplicate_rows(_rows(*keys)).to_list() == expected
    assert hashed == [duplicates._DUPLICATE_KEY]  # every hash was zero: every row a candidate


def test_row_hash_is_equal_for_equal_rows_and_tells_swapped_columns_apart() -> None:
    rows = _rows(_KEYS[0], _KEYS[0], _KEYS[1]).with_columns(
        row_hash(["base_currency", "quote_currency"]).alias("hash")
    )
    first, again, swapped = rows.get_column("hash").to_list()
    assert first == again
    assert first != swapped
