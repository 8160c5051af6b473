"""Row order of ``silver.rates``."""

from __future__ import annotations

import polars as pl

#: Row order of silver.rates: the table's sort order, then a unique tie-break.
SILVER_ORDER = (
    "rate_date",
    "base_currency",
    "quote_currency",
    "source_name",
    "extraction_timestamp",
    "extraction_id",
)
#: The leading keys :func:`sort_silver` packs into one integer: a date and three texts of
#: few distinct values (currency codes, source names).
_PACKED_TEXTS = SILVER_ORDER[1:4]
#: Bits of the packed key below the date (the date takes the 32 above them).
_TEXT_BITS = 32


def sort_silver(rates: pl.DataFrame) -> pl.DataFrame:
    """Rows in :data:`SILVER_ORDER`.

    Polars compares rows key by key, and a batch of silver shares its dates, bases and
    sources, so most comparisons fell through to byte comparisons of currency codes
    (benchmarks/README.md, session 11). The date and the lexical rank of each code and
    source among the batch's own values are packed into one unsigned integer instead,
    then the rows sorted by it and the extraction's time and id: the same order, as
    every rank keeps the byte order of its texts. Rows with a null key, or with more
    distinct texts than the packed key holds, are sorted key by key.
    """
    if rates.height < 2 or any(rates.get_column(c).null_count() for c in SILVER_ORDER[:4]):
        return rates.sort(SILVER_ORDER)
    ranks: list[pl.Expr] = []
    widths: list[int] = []
    for name in _PACKED_TEXTS:
        texts = rates.get_column(name)
        if texts.min() == texts.max():
            continue  # one value (a batch's base and source usually): nothing to order
        values = texts.unique().sort()
        ranks.append(pl.col(name).cast(pl.Enum(values)).to_physical().cast(pl.UInt64))
        widths.append((values.len() - 1).bit_length())
    if sum(widths) > _TEXT_BITS:
        return rates.sort(SILVER_ORDER)
    # Days since 1970 shifted to be non-negative, above the ranks' bits.
    key = (pl.col("rate_date").cast(pl.Int32).cast(pl.Int64) + 2**31).cast(pl.UInt64)
    for rank, width in zip(ranks, widths, strict=True):
        key = key * (1 << width) + rank
    return rates.sort([key, pl.col(SILVER_ORDER[4]), pl.col(SILVER_ORDER[5])])
