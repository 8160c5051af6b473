"""What changed in a table between two snapshots: rows added, removed and changed, by key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from makerates_lake.audit.errors import DiffKeyError
from makerates_lake.audit.reading import identifier, logged_ids
from makerates_lake.errors import ConfigError
from makerates_lake.store.access_log import log_access
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOfLike, as_of_from, resolve_as_of
from makerates_lake.store.scan import scan_at
from makerates_lake.store.tables import TableSpec

#: The natural key of each table: what identifies "the same row" in two versions.
DEFAULT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "bronze.extractions": ("extraction_id",),
    "silver.rates": ("extraction_id", "rate_date", "base_currency", "quote_currency"),
    "silver.rejects": ("extraction_id", "rule", "field", "quote_currency", "rate_date"),
    "gold.fact_rate": ("rate_date", "base_currency", "quote_currency", "source_name"),
    "gold.dim_currency": ("currency_code",),
    "gold.dim_date": ("date_key",),
    "gold.dim_source": ("source_name",),
    "audit.access_log": ("audit_id",),
}


@dataclass(frozen=True)
class SnapshotDiff:
    """Rows that differ between two snapshots of one table.

    Attributes:
        table: ``namespace.name``.
        keys: Columns identifying a row.
        from_snapshot: The older snapshot id (None: the table was empty).
        to_snapshot: The newer snapshot id.
        added: Rows only in ``to``.
        removed: Rows only in ``from``.
        changed: One row per changed key: the keys, then ``<column>_from`` and
            ``<column>_to`` for every column that differs in at least one changed row.
    """

    table: str
    keys: tuple[str, ...]
    from_snapshot: int | None
    to_snapshot: int | None
    added: pl.DataFrame
    removed: pl.DataFrame
    changed: pl.DataFrame

    @property
    def is_empty(self) -> bool:
        """True when both snapshots hold the same rows."""
        return self.added.is_empty() and self.removed.is_empty() and self.changed.is_empty()


def diff_frames(
    before: pl.DataFrame, after: pl.DataFrame, keys: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Added, removed and changed rows between two frames with the same columns (pure).

    Raises:
        DiffKeyError: A key column is missing, or a key is not unique in either frame.
    """
    keys = list(keys)
    for name, frame in (("from", before), ("to", after)):
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DiffKeyError("key columns missing", side=name, columns=missing)
        if frame.select(keys).is_duplicated().any():
            raise DiffKeyError("the key does not identify one row", side=name, keys=keys)
    common = [c for c in after.columns if c in before.columns and c not in keys]
    added = after.join(before.select(keys), on=keys, how="anti", nulls_equal=True)
    removed = before.join(after.select(keys), on=keys, how="anti", nulls_equal=True)
    both = before.select(keys + common).join(
        after.select(keys + common), on=keys, how="inner", suffix="_to", nulls_equal=True
    )
    differs = {c: both.get_column(c).ne_missing(both.get_column(f"{c}_to")) for c in common}
    if not differs:
        return added, removed, both.select(keys).clear()
    mask = pl.Series([False] * both.height, dtype=pl.Boolean)  # typed when empty too
    for column_differs in differs.values():
        mask = mask | column_differs
    changed_rows = both.filter(mask)
    shown = [c for c in common if differs[c].any()]
    changed = changed_rows.select(
        *keys,
        *[e for c in shown for e in (pl.col(c).alias(f"{c}_from"), pl.col(f"{c}_to"))],
    )
    return added, removed, changed


def diff_snapshots(
    lake: Lake,
    table: TableSpec | str,
    from_as_of: AsOfLike,
    to_as_of: AsOfLike = None,
    *,
    keys: Sequence[str] | None = None,
) -> SnapshotDiff:
    """Compare a table at two points in time (snapshot ids, tags or timestamps).

    Logs one access-log entry (action ``diff``) naming the extraction ids that differ.

    Example: ``mr.diff(lake, "gold.fact_rate", "transform-v1", "transform-v2").changed``.

    Args:
        lake: The open lake.
        table: A spec or ``namespace.name``.
        from_as_of: The older point: a snapshot id, a tag, an aware datetime or an
            :class:`~makerates_lake.store.refs.AsOf`.
        to_as_of: The newer point, the same kinds; default now.
        keys: Key columns; default :data:`DEFAULT_KEYS` for the table.

    Raises:
        ConfigError: ``from_as_of`` is None.
        DiffKeyError: No key is known for the table, or it is not unique.
        SnapshotNotFoundError: Unknown snapshot id or tag.
        AccessLogError: The diff could not be logged.
    """
    name = identifier(table)
    older = as_of_from(from_as_of)
    if older is None:
        raise ConfigError("a diff needs the older point: from_as_of", table=name)
    newer = as_of_from(to_as_of)
    key_columns = tuple(keys) if keys else DEFAULT_KEYS.get(name)
    if not key_columns:
        raise DiffKeyError("no key known for this table; pass keys", table=name)
    iceberg = lake.table(name, refresh=True)
    old = resolve_as_of(iceberg, older)
    new = resolve_as_of(iceberg, newer)
    old_id = old.snapshot_id if old else None
    new_id = new.snapshot_id if new else None
    before = pl.DataFrame(scan_at(iceberg, old_id))
    after = pl.DataFrame(scan_at(iceberg, new_id))
    added, removed, changed = diff_frames(before, after, key_columns)
    parts = [
        f.select("extraction_id") for f in (added, removed, changed) if "extraction_id" in f.columns
    ]
    empty = pl.DataFrame(schema={"extraction_id": pl.String})
    ids, note = logged_ids(pl.concat(parts or [empty]).to_arrow())
    log_access(
        lake,
        action="diff",
        table=name,
        record_ids=ids,
        query_text=(
            f"diff {name} {older.describe()} (snapshot {old_id}) -> "
            f"{newer.describe() if newer else 'now'} (snapshot {new_id}); "
            f"{added.height} added, {removed.height} removed, {changed.height} changed; {note}"
        ),
    )
    return SnapshotDiff(name, key_columns, old_id, new_id, added, removed, changed)
