"""Current tables for a trace, re-reading metadata only when the catalog moved on.

``Lake.table(refresh=True)`` asks the catalog for the metadata pointer and then reads
and parses the whole metadata file, every time: most of a warm trace's cost with three
tables. The pointer alone says whether anything changed (every commit writes a new
metadata file and swaps the pointer), so for a SQL catalog one query fetches the
pointers of all the tables a trace reads, and a table whose pointer equals the one
already loaded is used as it is. Otherwise, and for catalogs with no such cheap
query (REST), the table is refreshed as before. Only metadata is reused; data files are
always read as they are now.

The query is asked on every trace, so it is compiled once per catalog and table set and
sent on a pooled DBAPI connection: SQLAlchemy's per-execution work (expanding the IN
list, building a result) costs several times the query itself. A failure is the
driver's own error (``sqlite3.Error``, psycopg's), which the store's failure
classification names as the catalog database like SQLAlchemy's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Final

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine

from makerates_lake.store._pyiceberg import sql_catalog_engine, sql_catalog_tables
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import TableSpec

_ICEBERG_TABLES: Final = sql_catalog_tables()

#: Compiled pointer queries kept (one per catalog and table set; a trace uses one).
MAX_QUERIES: Final = 32
_LOCK: Final = threading.Lock()
_QUERIES: dict[tuple[type, str, tuple[str, ...]], str] = {}


def _query(engine: Engine, catalog: str, names: tuple[str, ...]) -> str:
    """The pointer query for ``names`` in ``catalog``, as SQL text for ``engine``'s driver.

    The values are rendered as literals by the dialect (quoted and escaped as it quotes
    any string), so the text needs no parameters and no paramstyle of its own.
    """
    key = (type(engine.dialect), catalog, names)
    with _LOCK:
        known = _QUERIES.get(key)
    if known is not None:
        return known
    statement = select(
        _ICEBERG_TABLES.table_namespace,
        _ICEBERG_TABLES.table_name,
        _ICEBERG_TABLES.metadata_location,
    ).where(
        _ICEBERG_TABLES.catalog_name == catalog,
        _ICEBERG_TABLES.table_name.in_(names),
    )
    text = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with _LOCK:
        if len(_QUERIES) >= MAX_QUERIES:
            _QUERIES.clear()
        _QUERIES[key] = text
    return text


def current_tables(lake: Lake, specs: Sequence[TableSpec]) -> dict[str, Table]:
    """Each table as the catalog has it now, keyed by identifier."""
    pointers = metadata_locations(lake.catalog, [spec.identifier for spec in specs])
    out: dict[str, Table] = {}
    for spec in specs:
        if pointers is not None:
            known = lake.table(spec, refresh=False)
            if known.metadata_location == pointers.get(spec.identifier):
                out[spec.identifier] = known
                continue
        out[spec.identifier] = lake.table(spec, refresh=True)
    return out


def metadata_locations(catalog: Catalog, identifiers: Sequence[str]) -> dict[str, str] | None:
    """The current metadata file of each table, or None when the catalog has no cheap way.

    Reads the SQL catalog's own ``iceberg_tables`` rows, exactly what ``load_table``
    reads before it fetches the file. Tables it does not find are left out (the caller's
    refresh then raises the usual error).
    """
    engine = sql_catalog_engine(catalog)
    if engine is None:
        return None
    split = {tuple(identifier.rsplit(".", 1)): identifier for identifier in identifiers}
    query = _query(engine, catalog.name, tuple(sorted({name for _, name in split})))
    connection = engine.raw_connection()  # from the pool; close() returns it there
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(query)
            rows = [(namespace, name, location) for namespace, name, location in cursor.fetchall()]
        finally:
            cursor.close()
    finally:
        connection.close()
    found: dict[str, str] = {}
    for namespace, name, location in rows:
        identifier = split.get((namespace, name))
        if identifier is not None and location:
            found[identifier] = location
    return found
