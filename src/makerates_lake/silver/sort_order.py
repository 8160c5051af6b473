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
#: The texts among the keys: currency codes and source names, a few values per batch.
_TEXTS = SILVER_ORDER[1:4]
#: Bits of the packed key: 63, so that no multiplier is 2**64, which UInt64 cannot hold.
_KEY_BITS = 63


def sort_silver(rates: pl.DataFrame) -> pl.DataFrame:
    """Rows in :data:`SILVER_ORDER`.

    Polars compares rows key by key, and a batch of silver shares its dates, bases and
    sources, so most comparisons fell through to byte comparisons of currency codes
    (benchmarks/README.md, session 11). Each key but the id becomes a small unsigned
    integer instead (the date and time as offsets from the batch's first, each text as
    its lexical rank among the batch's own values; a text with one value is left out),
    and they are packed, most significant first, into one ``UInt64``: the rows are
    sorted by it and the id, in the same order, as every rank and offset keeps the order
    of its key. When all of them do not fit in the key the time stays a key of its own;
    rows with a null key, or too many distinct values to pack, are sorted key by key.
    """
    if rates.height < 2 or any(rates.get_column(c).null_count() for c in SILVER_ORDER[:5]):
        return rates.sort(SILVER_ORDER)
    fields = [_offset(rates, "rate_date")]
    for name in _TEXTS:
        texts = rates.get_column(name)
        if texts.min() == texts.max():
            continue  # one value (a batch's base and source usually): nothing to order
        values = texts.unique().sort()
        rank = pl.col(name).cast(pl.Enum(values)).to_physical().cast(pl.UInt64)
        fields.append((rank, (values.len() - 1).bit_length()))
    time = _offset(rates, "extraction_timestamp")
    packed_bits = sum(bits for _, bits in fields)
    if packed_bits + time[1] <= _KEY_BITS:
        return rates.sort([_packed([*fields, time]), pl.col("extraction_id")])
    if packed_bits <= _KEY_BITS:
        return rates.sort([_packed(fields), *SILVER_ORDER[4:]])
    return rates.sort(SILVER_ORDER)


def _offset(rates: pl.DataFrame, name: str) -> tuple[pl.Expr, int]:
    """A date or time column as its distance from the batch's first value, in its own
    unit (days, or the time's unit: exact), and the bits that distance needs."""
    physical = rates.get_column(name).to_physical()
    low, high = int(physical.min()), int(physical.max())  # type: ignore[arg-type]
    return (pl.col(name).to_physical().cast(pl.Int64) - low).cast(pl.UInt64), (
        high - low
    ).bit_length()


def _packed(fields: list[tuple[pl.Expr, int]]) -> pl.Expr:
    """``fields`` (non-negative integers and their bits, most significant first, at most
    :data:`_KEY_BITS` in all) as one unsigned integer; a field of 0 bits is one value and orders
    nothing."""
    # A column, not a literal: with every field one value, the key is all zeros.
    key: pl.Expr = pl.repeat(0, pl.len(), dtype=pl.UInt64)
    for value, bits in fields:
        if bits:
            key = key * pl.lit(1 << bits, pl.UInt64) + value
    return key
