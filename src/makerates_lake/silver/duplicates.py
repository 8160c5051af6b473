"""The ``duplicate_quote`` rule: one extraction gave the same base, quote and date more
than once. Every copy is rejected, because there is no telling which one is right."""

from __future__ import annotations

from functools import reduce
from operator import xor

import polars as pl

_DUPLICATE_KEY = ("extraction_id", "base_currency", "quote_currency", "rate_date")
#: Odd 64-bit multipliers (splitmix64's and xxHash's primes), one per key column: each
#: column's hash is multiplied by its own before they are combined, so that equal values
#: in two columns (a base and a quote swapped) do not cancel out.
_MIXERS = (1, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)


def duplicate_rows(frame: pl.DataFrame) -> pl.Series:
    """Rows whose (extraction, base, quote, date) occurs more than once.

    A 64-bit hash of the key finds the candidates in one cheap pass over every row;
    only those (in practice none or a handful) are compared on the real key, so a
    hash collision never rejects a row.
    """
    # Each column hashed on its own and the hashes mixed (wrapping u64 arithmetic) cost
    # a fraction of hashing a struct of the four columns; any function of the key will
    # do, since the candidates are confirmed on the key itself.
    hashes = frame.select(
        reduce(
            xor,
            (
                pl.col(name).hash() * pl.lit(mixer, pl.UInt64)
                for name, mixer in zip(_DUPLICATE_KEY, _MIXERS, strict=True)
            ),
        )
    ).to_series()
    # Counting distinct hashes is cheaper than marking the duplicated ones, and in
    # practice there are none to mark.
    if hashes.n_unique() == hashes.len():
        return pl.repeat(False, frame.height, eager=True)
    maybe = hashes.is_duplicated()
    candidates = frame.with_row_index("_i").filter(maybe)
    confirmed = candidates.filter(pl.len().over(_DUPLICATE_KEY) > 1).get_column("_i")
    return pl.repeat(False, frame.height, eager=True).scatter(confirmed, True)
