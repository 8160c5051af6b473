"""Row order of ``silver.rates``."""

from __future__ import annotations

from dataclasses import dataclass

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
#: The keys a run of rows shares, ranked once per run (:func:`rank_runs`): its base,
#: then the keys after the quote.
RUN_KEYS = ("base_currency", *SILVER_ORDER[3:])
#: The keys that are a row's own when its run's are kept apart (:func:`sort_by_runs`).
OWN_KEYS = ("rate_date", "quote_currency")
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
    fields += [_text_rank(rates.get_column(name)) for name in _TEXTS]
    time = _offset(rates, "extraction_timestamp")
    packed_bits = sum(bits for _, bits in fields)
    if packed_bits + time[1] <= _KEY_BITS:
        return rates.sort([_packed([*fields, time]), pl.col("extraction_id")])
    if packed_bits <= _KEY_BITS:
        return rates.sort([_packed(fields), *SILVER_ORDER[4:]])
    return rates.sort(SILVER_ORDER)


@dataclass(frozen=True)
class RunRanks:
    """Where each run of rows stands in the keys its rows share, for
    :func:`sort_by_runs`. A run (see :class:`~makerates_lake.silver.spill.RateSpill`)
    is consecutive rows equal in every column the spill keeps per run, base, source,
    time and id among them.

    Attributes:
        base: Each run's base's rank among all runs' bases (``UInt64``, by run number).
        rest: Each run's rank by source, time and id (runs equal in all three share one;
            a null id ranks first, as Polars sorts it).
        base_bits: Bits the base's ranks need.
        rest_bits: Bits the other ranks need.
    """

    base: pl.Series
    rest: pl.Series
    base_bits: int
    rest_bits: int


def rank_runs(runs: pl.DataFrame) -> RunRanks | None:
    """The ranks of ``runs`` (one row per run: base, source, time, id, from 0), or None
    when a base, source or time is null (rows then go by :func:`sort_silver`)."""
    if any(runs.get_column(c).null_count() for c in RUN_KEYS[:-1]):  # all but the id
        return None
    keys = runs.select(SILVER_ORDER[3:])
    base = runs.get_column("base_currency").rank("dense").cast(pl.UInt64) - 1
    order = keys.with_row_index("_place").sort(SILVER_ORDER[3:])
    changes = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in SILVER_ORDER[3:])
    # The first run differs from the null before it: ranks count from 1, hence the - 1.
    ranks = order.select("_place", changes.cast(pl.UInt64).cum_sum() - 1)
    rest = pl.Series(dtype=pl.UInt64).extend_constant(0, runs.height)
    rest = rest.scatter(ranks.get_column("_place"), ranks.to_series(1))
    return RunRanks(base, rest, _bits(base), _bits(rest))


def sort_by_runs(rows: pl.DataFrame, ranks: RunRanks, run: str) -> pl.DataFrame | None:
    """``rows`` in :data:`SILVER_ORDER`, when they hold their own date and quote and
    their run's number (column ``run``) in place of the keys runs share; None when a key
    is null, the packed key would not fit, or there are fewer than two rows.

    A run's base and its source, time and id are ranked once per run
    (:func:`rank_runs`): the rows need only their date's offset and their quote's rank
    of their own, and the sort moves their few columns, not the runs'.
    """
    if rows.height < 2 or any(rows.get_column(c).null_count() for c in OWN_KEYS):
        return None
    numbers = rows.get_column(run)
    fields = [
        _offset(rows, "rate_date"),
        (pl.lit(ranks.base.gather(numbers)), ranks.base_bits),
        _text_rank(rows.get_column("quote_currency")),
        (pl.lit(ranks.rest.gather(numbers)), ranks.rest_bits),
    ]
    if sum(bits for _, bits in fields) > _KEY_BITS:
        return None
    return rows.sort(_packed(fields))


def _bits(ranks: pl.Series) -> int:
    """Bits the largest of ``ranks`` (from 0) needs."""
    return int(ranks.max() or 0).bit_length()  # type: ignore[arg-type]


def _text_rank(texts: pl.Series) -> tuple[pl.Expr, int]:
    """A text column as each row's lexical rank among the column's own values, and the
    bits that rank needs (none when there is one value: it orders nothing)."""
    if texts.min() == texts.max():
        return pl.lit(0, pl.UInt64), 0
    values = texts.unique().sort()
    rank = pl.col(texts.name).cast(pl.Enum(values)).to_physical().cast(pl.UInt64)
    return rank, (values.len() - 1).bit_length()


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
