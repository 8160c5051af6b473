"""Keep ``is_jump`` equal to a clean rebuild when rows are added to existing silver rows.

A jump flag compares a day with the previous observed date (within
:data:`~makerates_lake.silver.validate.JUMP_WINDOW`), so a new extraction can change
the flags of rows already stored: a late backfill of a Monday changes what Tuesday is
compared with. :func:`jump_revision` runs under the table's commit lock: it reads the
stored rows from ``JUMP_WINDOW`` before the first new date to ``JUMP_WINDOW`` after
the last, recomputes every flag over them and the new rows, and rewrites (in the same
commit) the stored rows whose flag changed. Rows outside that window cannot change:
their previous date is either unchanged or too far back to be compared.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from makerates_lake.silver.validate import JUMP_WINDOW, SILVER_COLUMNS, mark_jumps
from makerates_lake.store import Revision, read_table
from makerates_lake.store.expressions import all_of, at_least, at_most, is_in
from makerates_lake.store.types import RowFilter, Table

#: A stored row is identified by these (duplicates are rejected in validation).
_ROW_KEY = ("extraction_id", "base_currency", "quote_currency", "rate_date")


def jump_revision(jump_threshold: float, replaced: pl.Expr | None = None) -> Revision:
    """A :data:`~makerates_lake.store.Revision` that keeps jump flags exact.

    Args:
        jump_threshold: Relative change that counts as a jump.
        replaced: Stored rows the same commit deletes anyway (a reprocessed range), as a
            Polars predicate; they are left out of the neighbourhood.
    """

    def revise(table: Table, new: pl.DataFrame) -> tuple[pl.DataFrame, RowFilter | None]:
        dates = new.get_column("rate_date")
        if new.height == 0 or table.current_snapshot() is None:
            return new, None
        first: date = dates.min()  # type: ignore[assignment]
        last: date = dates.max()  # type: ignore[assignment]
        stored = _stored_rows(table, first, last)
        if replaced is not None:
            stored = stored.filter(~replaced)
        if stored.height == 0:
            return new, None
        new_ids = new.get_column("extraction_id").unique().implode()
        flagged = mark_jumps(
            pl.concat([stored, new.select(SILVER_COLUMNS)], how="vertical_relaxed"),
            jump_threshold=jump_threshold,
        )
        is_new = pl.col("extraction_id").is_in(new_ids)
        # Stored rows before the first new date are only context: their own previous
        # date may lie outside the window read, so their recomputed flag is not trusted.
        neighbours = flagged.filter(~is_new & (pl.col("rate_date") >= first))
        changed = neighbours.join(
            stored.select(*_ROW_KEY, pl.col("is_jump").alias("_was")), on=_ROW_KEY
        ).filter(pl.col("is_jump") != pl.col("_was"))
        if changed.height == 0:
            return flagged.filter(is_new), None
        ids = changed.get_column("extraction_id").unique()
        low: date = changed.get_column("rate_date").min()  # type: ignore[assignment]
        high: date = changed.get_column("rate_date").max()  # type: ignore[assignment]
        rewritten = neighbours.filter(
            pl.col("extraction_id").is_in(ids.implode()),
            pl.col("rate_date").is_between(low, high),
        )
        where = all_of(
            is_in("extraction_id", ids.to_list()),
            at_least("rate_date", low.isoformat()),
            at_most("rate_date", high.isoformat()),
        )
        return pl.concat([flagged.filter(is_new), rewritten]), where

    return revise


def _stored_rows(table: Table, first: date, last: date) -> pl.DataFrame:
    """Stored silver rows dated ``first - JUMP_WINDOW`` to ``last + JUMP_WINDOW``."""
    window = all_of(
        at_least("rate_date", (first - JUMP_WINDOW).isoformat()),
        at_most("rate_date", (last + JUMP_WINDOW).isoformat()),
    )
    return read_table(table, window, columns=SILVER_COLUMNS)
