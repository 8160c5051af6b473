"""Run SQL over the lake and record the read in the access log.

Every statement run through :func:`run_sql` logs one access-log entry per lake table it
reads (action ``sql``, the statement as ``query_text``, the ``extraction_id`` values of
the result as record ids: those of every column of that name, so a join selecting the
gold and the silver ``extraction_id`` logs both). A statement whose tables cannot be
named (a raw ``iceberg_scan(...)`` path, say) is logged against the table ``*``.

The result's column names are made unique (``SELECT 1 AS a, 2 AS a`` gives ``a`` and
``a_1``, see :func:`~makerates_lake.federate.output.unique_names`): DuckDB keeps both
names, but a polars frame and JSON objects cannot, and a user expects to see every column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import duckdb
import pyarrow as pa

from makerates_lake.federate import sqltext
from makerates_lake.federate.connection import connect
from makerates_lake.federate.errors import QueryError
from makerates_lake.federate.output import unique_names
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf, AsOfLike, as_of_from, resolve_as_of
from makerates_lake.store.scrub import scrub
from makerates_lake.store.tables import ALL_TABLES

UNRESOLVED_TABLE: Final = "*"
SQL_ACTION: Final = "sql"
RECORD_ID_COLUMN: Final = "extraction_id"
_PG_PREFIX: Final = f"{sqltext.PG_ALIAS}."
_PG_RELATION: Final = re.compile(
    rf'(?<![\w"]){sqltext.PG_ALIAS}\s*\.\s*"?(\w+)"?\s*\.\s*"?(\w+)"?', re.IGNORECASE
)


def referenced_tables(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """Lake tables (``namespace.name``) and attached PostgreSQL relations ``query`` reads.

    Views and ``<table>_at(...)`` macros both count. DuckDB's parser names the tables;
    a text match adds any it could not (a statement that fails to bind, a macro call),
    erring towards logging a table too many rather than one too few.
    """
    try:
        parsed = con.get_table_names(query, qualified=True)
    except duckdb.Error:
        parsed = set()
    names = {_strip_alias(n).lower() for n in parsed}
    found: list[str] = []
    for spec in ALL_TABLES:
        ident = spec.identifier.lower()
        parsed_hit = ident in names or f"memory.{ident}" in names
        if parsed_hit or _mentions(query, spec.namespace, spec.name):
            found.append(spec.identifier)
    attached = {n for n in names if n.startswith(_PG_PREFIX)}
    attached |= {f"{_PG_PREFIX}{m[0]}.{m[1]}".lower() for m in _PG_RELATION.findall(query)}
    return found + sorted(attached)


def _strip_alias(name: str) -> str:
    return re.split(r"\s+as\s+", name, maxsplit=1, flags=re.IGNORECASE)[0].strip()


def _mentions(query: str, namespace: str, name: str) -> bool:
    """``namespace.name`` or ``namespace.name_at(`` appears in the text (quoted or not)."""
    pattern = (
        rf"(?<![\w\"]){_ident_pattern(namespace)}\s*\.\s*"
        rf"(?:{_ident_pattern(name)}(?![\w\"])|{_ident_pattern(name + sqltext.AT_SUFFIX)}\s*\()"
    )
    return re.search(pattern, query, re.IGNORECASE) is not None


def _ident_pattern(name: str) -> str:
    escaped = re.escape(name)
    return rf'(?:{escaped}|"{escaped}")'


def _record_ids(result: pa.Table) -> list[str]:
    """The distinct ``extraction_id`` values of every column so named, sorted."""
    ids: set[str] = set()
    for name, column in zip(result.column_names, result.columns, strict=True):
        if name == RECORD_ID_COLUMN:
            ids.update(str(v) for v in column.drop_null().unique().to_pylist())
    return sorted(ids)


def run_sql(
    lake: Lake,
    query: str,
    *,
    as_of: AsOfLike = None,
    con: duckdb.DuckDBPyConnection | None = None,
    parameters: Sequence[object] | None = None,
) -> pa.Table:
    """Run one statement and return its rows as Arrow, logging the read.

    Repeated column names in the result are made unique (``a``, ``a_1``, ...; see the
    module docstring) so every column survives into polars and JSON.

    Args:
        lake: The open lake.
        query: One SQL statement.
        as_of: Pin the views to a snapshot id, tag or aware datetime (an :class:`AsOf` or
            the text ``--as-of`` takes); only when ``con`` is None.
        con: A connection from :func:`connect` to reuse; default a new one.
        parameters: Values for ``?`` placeholders.

    Raises:
        QueryError: DuckDB refused or failed the statement (message scrubbed of secrets),
            or ``query`` holds no statement (empty, blank or only comments).
        AccessLogError: The read could not be logged; no rows are returned.
    """
    from makerates_lake.store.access_log import AccessLog, log_access

    own = con is None
    connection = connect(lake, as_of=as_of_from(as_of)) if con is None else con
    try:
        try:
            relation = connection.execute(query, parameters)
            # DuckDB returns None, not an error, when the text holds no statement at all.
            if relation is None:
                raise QueryError("no SQL statement to run: the query is empty or only comments")
            result = relation.to_arrow_table() if relation.description else pa.table({})
        except duckdb.Error as exc:
            raise QueryError(f"{type(exc).__name__}: {scrub(str(exc), lake)}") from None
        tables = referenced_tables(connection, query) or [UNRESOLVED_TABLE]
        ids = _record_ids(result)
        result = result.rename_columns(unique_names(result.column_names))
        pinned = as_of_from(as_of) if con is None else None
        # The entry says which snapshot was read, not just the statement.
        text = f"{query} -- as of {pinned.describe()}" if pinned is not None else query
        with AccessLog(lake):
            for table in tables:
                log_access(lake, action=SQL_ACTION, table=table, record_ids=ids, query_text=text)
        return result
    finally:
        if own:
            connection.close()


def as_of_view(
    con: duckdb.DuckDBPyConnection, lake: Lake, table: str, as_of: AsOf, view: str
) -> int | None:
    """Create temporary view ``view`` over ``table`` as of a snapshot id, tag or time.

    The snapshot is resolved exactly like ``--as-of`` (:func:`resolve_as_of`), so a tag or
    a point in time can be used next to current views in one statement.

    Returns:
        The snapshot id the view reads; None when the table was empty at that time.

    Raises:
        SnapshotNotFoundError: Unknown snapshot id or tag for this table.
    """
    iceberg = lake.table(table, refresh=True)
    snapshot = resolve_as_of(iceberg, as_of)
    snapshot_id = snapshot.snapshot_id if snapshot else None
    scan = sqltext.iceberg_scan(iceberg.metadata_location, snapshot_id)
    limit = " LIMIT 0" if snapshot is None else ""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {sqltext.identifier(view)} AS SELECT * FROM {scan}{limit}"
    )
    return snapshot_id
