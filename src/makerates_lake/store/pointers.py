"""Current tables for a trace, re-reading metadata only when the catalog moved on.

``Lake.table(refresh=True)`` asks the catalog for the metadata pointer and then reads
and parses the whole metadata file, every time: most of a warm trace's cost with three
tables. The pointer alone says whether anything changed (every commit writes a new
metadata file and swaps the pointer), so for a SQL catalog one query fetches the
pointers of all the tables a trace reads, and a table whose pointer equals the one
already loaded is used as it is. Otherwise, and for catalogs with no such cheap
query (REST), the table is refreshed as before. Only metadata is reused; data files are
always read as they are now.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from sqlalchemy import bindparam, select

from makerates_lake.store._pyiceberg import sql_catalog_engine, sql_catalog_tables
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import TableSpec

_ICEBERG_TABLES: Final = sql_catalog_tables()

# Built once, with bound parameters: SQLAlchemy then reuses the compiled statement from its
# cache instead of building and compiling a new one per trace. ``names`` expands to the IN
# list at execution.
_POINTERS: Final = select(
    _ICEBERG_TABLES.table_namespace,
    _ICEBERG_TABLES.table_name,
    _ICEBERG_TABLES.metadata_location,
).where(
    _ICEBERG_TABLES.catalog_name == bindparam("catalog"),
    _ICEBERG_TABLES.table_name.in_(bindparam("names", expanding=True)),
)


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
    names = sorted({name for _, name in split})
    with engine.connect() as connection:
        result = connection.execute(_POINTERS, {"catalog": catalog.name, "names": names})
        rows = [(namespace, name, location) for namespace, name, location in result]
    found: dict[str, str] = {}
    for namespace, name, location in rows:
        identifier = split.get((namespace, name))
        if identifier is not None and location:
            found[identifier] = location
    return found
