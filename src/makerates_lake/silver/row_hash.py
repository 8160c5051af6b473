"""A 64-bit hash of a few columns, for finding candidate matches cheaply (pure).

Hashing each column on its own and mixing the hashes costs a fraction of hashing a
struct of the columns or joining on them (Polars row-encodes a multi-column key). The
hash is a function of the columns' values, so rows equal on them have equal hashes;
rows with equal hashes may still differ, so callers confirm on the columns themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import xor

import polars as pl

#: The golden-ratio constant of splitmix64: column ``i``'s hash is multiplied by its
#: ``2i + 1``-th multiple (odd, so no bits are lost), so that equal values in two
#: columns (a base and a quote swapped) do not cancel out in the xor.
_GOLDEN = 0x9E3779B97F4A7C15
_U64 = (1 << 64) - 1


def row_hash(columns: Sequence[str]) -> pl.Expr:
    """A ``UInt64`` hash of ``columns`` (nulls hash alike)."""
    # UInt64 products wrap around in Polars, as hashes should.
    return reduce(
        xor,
        (
            pl.col(name).hash() * pl.lit((_GOLDEN * (2 * index + 1)) & _U64, pl.UInt64)
            for index, name in enumerate(columns)
        ),
    )
