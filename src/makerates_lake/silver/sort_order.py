"""Row order of ``silver.rates``, and the packed integer keys that sort it.

Validated rows have ISO codes and known sources, so (date, base, quote, source) packs
into one integer that sorts the same way as the text columns; sorting and telling runs
apart on that integer avoids comparing text. Rows whose keys do not pack (they did not
come through validation) fall back to sorting on the columns.
"""

from __future__ import annotations

import polars as pl

from makerates_lake import source_names
from makerates_lake.silver.currencies import known_codes

#: Row order of silver.rates: the table's sort order, then a unique tie-break.
SILVER_ORDER = (
    "rate_date",
    "base_currency",
    "quote_currency",
    "source_name",
    "extraction_timestamp",
    "extraction_id",
)


#: Values each part of a packed key can take: currency codes, sources, and days (2^25,
#: centred on 1970-01-01).
_CODES, _SOURCES, KEY_DAYS = 512, 16, 1 << 25


def packed_day_key(frame: pl.DataFrame) -> pl.Series | None:
    """(rate_date, base, quote, source) packed into one integer that sorts the same way.

    Sorting on text keys is slow; validated rows have ISO codes and known sources, so
    the four keys pack into one integer (codes and sources in alphabetical order, so the
    order is the same). None when a value does not fit (a row that did not come through
    validation): the caller sorts on the columns instead.
    """
    codes = pl.Enum(sorted(known_codes()))
    sources = pl.Enum(sorted(source_names.ALL_SOURCES))
    if len(codes.categories) > _CODES or len(sources.categories) > _SOURCES:
        return None
    days = pl.col("rate_date").cast(pl.Int64) + KEY_DAYS // 2
    base = pl.col("base_currency").cast(codes, strict=False).to_physical().cast(pl.Int64)
    quote = pl.col("quote_currency").cast(codes, strict=False).to_physical().cast(pl.Int64)
    source = pl.col("source_name").cast(sources, strict=False).to_physical().cast(pl.Int64)
    key = ((days * _CODES + base) * _CODES + quote) * _SOURCES + source
    keys = frame.select(key.alias("_k"), days.alias("_d"))
    in_range = keys.select(pl.col("_d").is_between(0, KEY_DAYS - 1).all()).item()
    packed = keys.get_column("_k")
    return packed if in_range and packed.null_count() == 0 else None


def date_last_key(day_first: pl.Expr) -> pl.Expr:
    """A :func:`packed_day_key` value repacked as (source, base, quote, date), which
    sorts each pair's days together: arithmetic, much cheaper than packing the text
    columns again. The date is the last :data:`KEY_DAYS` of the key."""
    per_day = _CODES * _CODES * _SOURCES
    days, pair_and_source = day_first // per_day, day_first % per_day
    pair, source = pair_and_source // _SOURCES, pair_and_source % _SOURCES
    return (source * (_CODES * _CODES) + pair) * KEY_DAYS + days


def sort_silver(rates: pl.DataFrame) -> pl.DataFrame:
    """Rows in :data:`SILVER_ORDER`, sorted on :func:`packed_day_key` when it fits."""
    return sorted_with_day_keys(rates)[0]


def sorted_with_day_keys(rates: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """:func:`sort_silver`, and the rows' :func:`packed_day_key` in their new order
    (None when it does not fit)."""
    packed = packed_day_key(rates)
    if packed is None or rates.height == 0:
        return rates.sort(SILVER_ORDER), None
    order = _silver_order(rates, packed)
    # Filters leave one chunk per thread, and gathering rows across chunks costs more
    # than the copy into one chunk plus the gather from it.
    return rates.rechunk()[order], packed.gather(order)


#: Bits of a non-negative Int64 sort key.
_KEY_BITS = 63


def _silver_order(rates: pl.DataFrame, packed: pl.Series) -> pl.Series:
    """Row indices that put ``rates`` (not empty) in :data:`SILVER_ORDER`.

    One integer sort when the day key (shifted to start at 0) and the rank of the
    extraction fit one Int64 together (five years of six daily extractions take 47
    bits): a sort on the key, the time and the id text costs much more.
    """
    ranks = _extraction_ranks(rates)
    if ranks is not None:
        low: int = packed.min()  # type: ignore[assignment]
        high: int = packed.max()  # type: ignore[assignment]
        rank_bits = max(int(ranks.max()), 1).bit_length()  # type: ignore[arg-type]
        if (high - low).bit_length() + rank_bits < _KEY_BITS:
            return ((packed - low) * (1 << rank_bits) + ranks).arg_sort()
    keys = rates.select("extraction_timestamp", "extraction_id").with_columns(packed)
    return keys.select(pl.arg_sort_by("_k", "extraction_timestamp", "extraction_id")).to_series()


#: Rows per run of one extraction below which :func:`_extraction_ranks` gives up.
_MIN_RUN = 8


def _extraction_ranks(rates: pl.DataFrame) -> pl.Series | None:
    """Each row's place among the batch's extractions in (timestamp, id) order (0, 1, ...).

    Parsed rows of one extraction lie together, so the extractions are ranked one row
    per run of equal ids (far fewer than rows); a run that reappears gets the same
    rank, since equal (timestamp, id) pairs rank equal. None when the runs are short
    (rows in another order, e.g. stored silver): ranking them would cost more than the
    sort it saves.
    """
    starts = (pl.col("extraction_id") != pl.col("extraction_id").shift(1)).fill_null(True)
    runs = rates.select("extraction_timestamp", "extraction_id", starts.alias("_start"))
    firsts = runs.filter("_start").select("extraction_timestamp", "extraction_id")
    if firsts.height * _MIN_RUN > rates.height:
        return None
    run_of_row = runs.select(pl.col("_start").cum_sum().cast(pl.Int64) - 1).to_series()
    order = firsts.select(pl.arg_sort_by("extraction_timestamp", "extraction_id")).to_series()
    ordered = firsts[order]
    changed = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in ordered.columns)
    dense = ordered.select(changed.fill_null(True).cum_sum().cast(pl.Int64) - 1).to_series()
    rank_of_run = pl.Series([0] * firsts.height, dtype=pl.Int64).scatter(order, dense)
    return rank_of_run.gather(run_of_row)
