"""As-of reads of any table, in Arrow, Polars and DuckDB; each read is logged once.

Every as-of read resolves its snapshot through :func:`makerates_lake.store.refs.resolve_as_of`
so audit, federation and publish agree on what "as of" means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import polars as pl
import pyarrow as pa

from makerates_lake.errors import LakeError
from makerates_lake.store.access_log import log_access
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOfLike, as_of_from, resolve_as_of
from makerates_lake.store.scan import scan_at, scan_table
from makerates_lake.store.tables import TableSpec, spec_named
from makerates_lake.store.types import RowFilter

if TYPE_CHECKING:
    import duckdb

#: A read returning more distinct extraction ids than this logs the count, not the list:
#: an entry per read stays small, and the query text still says exactly what was read.
MAX_LOGGED_IDS: Final = 1000


@dataclass(frozen=True)
class AsOfRead:
    """Rows of one table at one snapshot.

    Attributes:
        table: ``namespace.name``.
        snapshot_id: The snapshot read; None when the table was empty then.
        rows: The rows, in the table's Arrow schema.
    """

    table: str
    snapshot_id: int | None
    rows: pa.Table

    def to_polars(self) -> pl.DataFrame:
        """The rows as a Polars frame."""
        return pl.DataFrame(self.rows)


def identifier(spec: TableSpec | str) -> str:
    """``namespace.name`` of a spec or a name (short names, ``fact_rate``, too).

    Raises:
        LakeError: No table has that name; the message lists the tables there are.
    """
    return spec.identifier if isinstance(spec, TableSpec) else spec_named(spec).identifier


def logged_ids(rows: pa.Table) -> tuple[list[str], str]:
    """The extraction ids to log for ``rows`` and a note for the query text."""
    if "extraction_id" not in rows.column_names:
        return [], f"{rows.num_rows} rows"
    ids = sorted({str(i) for i in rows.column("extraction_id").to_pylist() if i is not None})
    if len(ids) > MAX_LOGGED_IDS:
        return [], f"{rows.num_rows} rows, {len(ids)} extraction ids (too many to list)"
    return ids, f"{rows.num_rows} rows"


def read_as_of(
    lake: Lake,
    table: TableSpec | str,
    as_of: AsOfLike = None,
    *,
    row_filter: RowFilter | None = None,
    columns: Sequence[str] | None = None,
) -> AsOfRead:
    """Read a table as it was at a snapshot id, tag or time (default: now).

    Logs one access-log entry (action ``read``).

    Args:
        lake: The open lake.
        table: A spec or ``namespace.name``.
        as_of: Which snapshot (an :class:`AsOf`, a snapshot id, a tag or an aware
            datetime); None for the current one.
        row_filter: Optional PyIceberg filter (it prunes partitions and files).
        columns: Columns to read; default all.

    Raises:
        LakeError: Unknown table, or a column it does not have.
        SnapshotNotFoundError: Unknown snapshot id or tag.
        AccessLogError: The read could not be logged (the read fails).
    """
    name = identifier(table)
    as_of = as_of_from(as_of)
    iceberg = lake.table(name, refresh=True)
    snapshot = resolve_as_of(iceberg, as_of)
    snapshot_id = snapshot.snapshot_id if snapshot else None
    # The entry names the extraction ids read even when the caller did not ask for them.
    wanted = list(columns) if columns else None
    known = iceberg.schema().column_names
    unknown = [c for c in wanted or () if c not in known]
    if unknown:
        raise LakeError("no such column", table=name, columns=unknown, known=", ".join(known))
    has_ids = "extraction_id" in known
    extra = wanted is not None and has_ids and "extraction_id" not in wanted
    read_columns = [*wanted, "extraction_id"] if wanted is not None and extra else wanted
    rows = scan_at(iceberg, snapshot_id, row_filter, read_columns)
    ids, note = logged_ids(rows)
    if extra:
        rows = rows.drop_columns(["extraction_id"])
    query = (
        f"read {name} as of {as_of.describe() if as_of else 'now'} "
        f"(snapshot {snapshot_id}) filter={row_filter if row_filter is not None else 'none'} "
        f"columns={','.join(wanted) if wanted else 'all'}; {note}"
    )
    log_access(lake, action="read", table=name, record_ids=ids, query_text=query)
    return AsOfRead(name, snapshot_id, rows)


def read_polars(
    lake: Lake,
    table: TableSpec | str,
    as_of: AsOfLike = None,
    *,
    row_filter: RowFilter | None = None,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """:func:`read_as_of` as a Polars frame."""
    return read_as_of(lake, table, as_of, row_filter=row_filter, columns=columns).to_polars()


def scan_as_of(lake: Lake, table: TableSpec | str, as_of: AsOfLike = None) -> pl.LazyFrame:
    """A lazy Polars scan of a table as it was at a snapshot id, tag or time (default now).

    Logs one access-log entry (action ``scan``) when the scan is made: the snapshot is
    fixed then, and which rows a lazy query will pull is not known yet, so the entry
    names the table and snapshot rather than record ids.

    Raises:
        SnapshotNotFoundError: Unknown snapshot id or tag.
        AccessLogError: The scan could not be logged (no frame is returned).
    """
    name = identifier(table)
    wanted = as_of_from(as_of)
    iceberg = lake.table(name, refresh=True)
    snapshot = resolve_as_of(iceberg, wanted)
    if snapshot is None:  # nothing committed yet: an empty frame in the table's schema
        frame = pl.DataFrame(scan_at(iceberg, None)).lazy()
    else:
        frame = scan_table(lake, iceberg, snapshot_id=snapshot.snapshot_id)
    snapshot_id = snapshot.snapshot_id if snapshot else None
    query = f"scan {name} as of {wanted.describe() if wanted else 'now'} (snapshot {snapshot_id})"
    log_access(lake, action="scan", table=name, query_text=query)
    return frame


def register_as_of(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    table: TableSpec | str,
    as_of: AsOfLike = None,
    *,
    view: str | None = None,
    row_filter: RowFilter | None = None,
) -> str:
    """Make a table as of a snapshot queryable in DuckDB SQL; returns the view name.

    The rows are read through PyIceberg (so as-of resolution is the shared one) and
    registered as an Arrow-backed view; no DuckDB extension is needed. The federation
    layer can offer the same through ``iceberg_scan``; this works without it.

    Args:
        con: A DuckDB connection.
        lake: The open lake.
        table: A spec or ``namespace.name``.
        as_of: Which snapshot; None for the current one.
        view: View name; default ``<namespace>_<name>``.
        row_filter: Optional filter applied while reading.

    Raises:
        ValueError: ``view`` is not a plain identifier.
    """
    name = identifier(table)
    view = view or name.replace(".", "_")
    if not view.replace("_", "").isalnum():
        raise ValueError(f"view name must be a plain identifier, got {view!r}")
    read = read_as_of(lake, name, as_of, row_filter=row_filter)
    con.register(view, read.rows)
    return view
