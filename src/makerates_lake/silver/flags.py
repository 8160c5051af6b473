"""Flags that keep a valid row but mark it: ``is_jump`` and ``is_stale``.

``is_jump``: the day-over-day change within one source, base and quote is above a
threshold, against the previous observed date within :data:`JUMP_WINDOW`. ``is_stale``:
a *latest* answer whose provider time is older than a threshold at extraction; history
and backfills are old on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import polars as pl

from makerates_lake.silver.columns import SILVER_COLUMNS
from makerates_lake.silver.sort_order import sort_silver

_KEY = ("source_name", "base_currency", "quote_currency")
_DAY = (*_KEY, "rate_date")

#: A jump compares a day with the previous observed date only when that date is at most
#: this far back: a gap longer than a holiday is not "day over day". The bound also
#: keeps incremental runs exact: new rows can change flags only within this window.
JUMP_WINDOW = timedelta(days=10)


def flag_suspicious(
    rates: pl.DataFrame,
    *,
    jump_threshold: float,
    stale_after: timedelta,
    on_sorted: Callable[[pl.DataFrame], object] | None = None,
    in_order: bool = False,
) -> pl.DataFrame:
    """Set ``is_jump`` and ``is_stale`` on valid rows.

    A jump compares a day's rows (per source, base and quote) with the previous date's
    last observation, when that date is within :data:`JUMP_WINDOW`. The flag is a
    function of the set of rows alone, never of the order they arrived in: incremental
    runs recompute it with :func:`mark_jumps` over the rows around the new ones. The
    ratio is computed in float: a flag is a heuristic, the stored rate stays exact.

    Args:
        rates: Valid rows from :func:`~makerates_lake.silver.validate.validate` (with
            ``is_stale`` holding ``is_latest``).
        jump_threshold: Relative change that counts as a jump (0.1 = 10 %).
        stale_after: Age of a latest answer's provider time (or rate date, when the
            provider sends no time) at extraction beyond which it is stale.
        on_sorted: Called with the rows in
            :data:`~makerates_lake.silver.sort_order.SILVER_ORDER` before the flags are
            set (their other columns are final), so a caller can start on them
            meanwhile, e.g. gold on another thread.
        in_order: The rows are in that order already (not checked): no sort.

    Returns:
        The rows in :data:`~makerates_lake.silver.sort_order.SILVER_ORDER`, silver
        column order.
    """
    provider_time = pl.coalesce(
        pl.col("provider_updated_at"),
        pl.col("rate_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    )
    ordered = rates if in_order else sort_silver(rates)
    if on_sorted is not None:
        on_sorted(ordered)
    flagged = _with_jumps(ordered, jump_threshold).with_columns(
        (pl.col("is_stale") & ((pl.col("extraction_timestamp") - provider_time) > stale_after))
        .fill_null(False)
        .alias("is_stale"),
    )
    return flagged.select(SILVER_COLUMNS)


def mark_jumps(rows: pl.DataFrame, *, jump_threshold: float) -> pl.DataFrame:
    """Recompute ``is_jump`` of silver rows (any order; ``is_stale`` is kept as it is).

    Returns:
        The rows in :data:`~makerates_lake.silver.sort_order.SILVER_ORDER`, silver
        column order.
    """
    return _with_jumps(sort_silver(rows), jump_threshold).select(SILVER_COLUMNS)


def _with_jumps(rows: pl.DataFrame, jump_threshold: float) -> pl.DataFrame:
    """``is_jump`` for rows already in
    :data:`~makerates_lake.silver.sort_order.SILVER_ORDER`.

    Each (date, base, quote, source) is one run of rows, latest last: the day's last
    observation closes its run, found without a group-by or a join.
    """
    new_day = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in _DAY)
    rows, days = _day_closes(rows, new_day, *_DAY)
    ordered = days.sort(*_KEY, "rate_date")
    same_key = pl.all_horizontal(pl.col(c) == pl.col(c).shift(1) for c in _KEY)
    near = (pl.col("rate_date") - pl.col("rate_date").shift(1)) <= JUMP_WINDOW
    return _flag_jumps(rows, ordered, same_key & near, jump_threshold)


def _day_closes(
    rows: pl.DataFrame, new_day: pl.Expr, *keys: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``rows`` with each run of one day's rows numbered (``_day``) and its rate as a
    float (``_float``), and one row per run, its last: ``_day``, ``keys`` and that float
    (``_day_rate``)."""
    rows = rows.with_columns(
        new_day.fill_null(True).cum_sum().cast(pl.Int64).sub(1).alias("_day"),
        _rate_as_float(rows).alias("_float"),
    )
    closes = (pl.col("_day") != pl.col("_day").shift(-1)).fill_null(True)
    # Lazily, so only these columns are filtered (not all of silver's); in one chunk
    # for the callers' reordering of the days (a gather or a sort).
    days = (
        rows.lazy()
        .filter(closes)
        .select("_day", pl.col("_float").alias("_day_rate"), *keys)
        .collect()
        .rechunk()
    )
    return rows, days


def _rate_as_float(rows: pl.DataFrame) -> pl.Series:
    """Each row's rate as the nearest float, read from its text.

    The text is the rate's own digits (the rules keep only texts the decimal holds
    exactly), so both give the same float; Polars turns a decimal into a float by
    printing and parsing it again, several times the cost of parsing the text. A text
    Polars' parser does not read (one the rules kept after stripping its spaces, say)
    takes the decimal's float.
    """
    floats = rows.get_column("rate_text").cast(pl.Float64, strict=False)
    if floats.null_count():
        floats = floats.fill_null(rows.get_column("rate").cast(pl.Float64))
    return floats


def _flag_jumps(
    rows: pl.DataFrame, ordered_days: pl.DataFrame, follows: pl.Expr, jump_threshold: float
) -> pl.DataFrame:
    """``is_jump`` from the days in key-then-date order: a day is compared with the one
    before it where ``follows`` (same key, within the window)."""
    compared = ordered_days.select(
        pl.when(follows.fill_null(False)).then(pl.col("_day_rate").shift(1))
    ).to_series()
    # Back in day order: the days are numbered 0, 1, ..., so each one's place is its
    # number (a scatter, where sorting by the number cost a sort of every day).
    previous = pl.repeat(None, compared.len(), dtype=pl.Float64, eager=True).scatter(
        ordered_days.get_column("_day"), compared
    )
    jump = ((pl.col("_float") / pl.col("_prev")) - 1).abs() > jump_threshold
    return (
        rows.with_columns(previous.gather(rows.get_column("_day")).alias("_prev"))
        .with_columns(jump.fill_null(False).alias("is_jump"))
        .drop("_day", "_prev", "_float")
    )
