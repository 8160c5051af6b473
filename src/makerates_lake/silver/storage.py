"""Iceberg I/O shared by silver and gold: read to Polars, append, overwrite, tag.

Every write is one commit per table. PyIceberg's SQL catalog does not retry a commit
that lost a race, so each write refreshes and retries; appends drop extraction_ids
that a concurrent writer committed meanwhile, so a race never duplicates rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import polars as pl
import pyarrow as pa
import stamina
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    In,
    LessThan,
)
from pyiceberg.table import Table

from makerates_lake.errors import CommitConflictError
from makerates_lake.lake import Lake
from makerates_lake.tables import TableSpec

T = TypeVar("T")


# PyIceberg's expression classes are pydantic models whose positional constructors
# (the documented way to build them) confuse mypy; these wrappers hold the one ignore.
def is_in(column: str, values: Sequence[object]) -> BooleanExpression:
    """``column IN values``."""
    return In(column, list(values))  # type: ignore[call-arg, arg-type]


def at_least(column: str, value: object) -> BooleanExpression:
    """``column >= value``."""
    return GreaterThanOrEqual(column, value)  # type: ignore[call-arg, arg-type]


def below(column: str, value: object) -> BooleanExpression:
    """``column < value``."""
    return LessThan(column, value)  # type: ignore[call-arg, arg-type]


def all_of(*parts: BooleanExpression) -> BooleanExpression:
    """Every condition (AlwaysTrue for none)."""
    if not parts:
        return AlwaysTrue()
    result = parts[0]
    for part in parts[1:]:
        result = And(result, part)
    return result


def to_arrow(frame: pl.DataFrame, spec: TableSpec) -> pa.Table:
    """A frame as Arrow in the table's schema (names, types, required columns)."""
    schema = spec.schema.as_arrow()
    return frame.select(schema.names).to_arrow().cast(schema)


def read(
    lake: Lake,
    spec: TableSpec,
    *,
    row_filter: BooleanExpression | None = None,
    columns: Sequence[str] | None = None,
    snapshot_id: int | None = None,
) -> pl.DataFrame:
    """Rows of a table (optionally filtered, projected or at a snapshot) as Polars."""
    scan = lake.table(spec).scan(
        row_filter=row_filter if row_filter is not None else AlwaysTrue(),
        selected_fields=tuple(columns) if columns else ("*",),
        snapshot_id=snapshot_id,
    )
    frame = pl.from_arrow(scan.to_arrow())
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a Table always gives a frame
        raise TypeError("expected a table")
    return frame


def append_new(lake: Lake, spec: TableSpec, frame: pl.DataFrame) -> int:
    """Append rows whose extraction_id the table does not hold yet, in one commit.

    Returns:
        Rows written.

    Raises:
        CommitConflictError: Other writers won every attempt.
    """

    def attempt() -> int:
        table = lake.table(spec, refresh=True)
        ids = frame.get_column("extraction_id").unique().to_list()
        present = _present_ids(table, ids)
        fresh = frame.filter(~pl.col("extraction_id").is_in(present)) if present else frame
        if fresh.height:
            table.append(to_arrow(fresh, spec))
        return fresh.height

    if frame.height == 0:
        return 0
    return _commit(lake, spec, attempt)


def _present_ids(table: Table, ids: list[str]) -> list[str]:
    if table.current_snapshot() is None:
        return []
    found = table.scan(row_filter=is_in("extraction_id", ids), selected_fields=("extraction_id",))
    return list(set(found.to_arrow().column("extraction_id").to_pylist()))


def overwrite(
    lake: Lake,
    spec: TableSpec,
    frame: pl.DataFrame,
    *,
    where: BooleanExpression | None = None,
    properties: dict[str, str] | None = None,
) -> int | None:
    """Replace the rows matching ``where`` (default: all) by ``frame``, in one commit.

    Returns:
        The table's snapshot id after the commit.
    """

    def attempt() -> int | None:
        table = lake.table(spec, refresh=True)
        table.overwrite(
            to_arrow(frame, spec),
            overwrite_filter=where if where is not None else AlwaysTrue(),
            snapshot_properties=properties or {},
        )
        snapshot = table.current_snapshot()
        return None if snapshot is None else snapshot.snapshot_id

    return _commit(lake, spec, attempt)


def _commit(lake: Lake, spec: TableSpec, attempt: Callable[[], T]) -> T:
    tries = 0
    try:
        for retry in stamina.retry_context(
            on=CommitFailedException,
            attempts=lake.settings.commit_retry_attempts,
            wait_initial=0.05,
            wait_max=2.0,
            wait_jitter=0.5,
        ):
            with retry:
                tries += 1
                return attempt()
    except CommitFailedException as exc:
        raise CommitConflictError(
            "commit kept losing to concurrent writers",
            table=spec.identifier,
            attempts=tries,
            cause=str(exc),
        ) from None
    raise CommitConflictError("no commit attempt was made", table=spec.identifier)


def tag_snapshot(lake: Lake, spec: TableSpec, name: str, snapshot_id: int | None = None) -> None:
    """Point tag ``name`` at a snapshot (default: the current one), moving it if it exists."""
    table = lake.table(spec, refresh=True)
    if snapshot_id is None:
        current = table.current_snapshot()
        if current is None:
            return
        snapshot_id = current.snapshot_id
    if name in table.metadata.refs:
        table.manage_snapshots().remove_tag(name).commit()
    table.manage_snapshots().create_tag(snapshot_id, name).commit()


def current_snapshot_id(lake: Lake, spec: TableSpec) -> int | None:
    """The table's current snapshot id, or None when it was never written."""
    snapshot = lake.table(spec, refresh=True).current_snapshot()
    return None if snapshot is None else snapshot.snapshot_id
