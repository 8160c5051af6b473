"""The ``duplicate_quote`` rule: one extraction gave the same base, quote and date more
than once. Every copy is rejected, because there is no telling which one is right."""

from __future__ import annotations

import polars as pl

from makerates_lake.silver.row_hash import row_hash

_DUPLICATE_KEY = ("extraction_id", "base_currency", "quote_currency", "rate_date")


def duplicate_rows(frame: pl.DataFrame) -> pl.Series:
    """Rows whose (extraction, base, quote, date) occurs more than once.

    A 64-bit hash of the key (:func:`~makerates_lake.silver.row_hash.row_hash`) finds
    the candidates in one cheap pass over every row; only those (in practice none or a
    handful) are compared on the real key, so a hash collision never rejects a row.
    """
    hashes = frame.select(row_hash(_DUPLICATE_KEY)).to_series()
    # Counting distinct hashes is cheaper than marking the duplicated ones, and in
    # practice there are none to mark.
    if hashes.n_unique() == hashes.len():
        return pl.repeat(False, frame.height, eager=True)
    maybe = hashes.is_duplicated()
    candidates = frame.with_row_index("_i").filter(maybe)
    confirmed = candidates.filter(pl.len().over(_DUPLICATE_KEY) > 1).get_column("_i")
    return pl.repeat(False, frame.height, eager=True).scatter(confirmed, True)
