"""The pointer query a trace asks on every call reads exactly the catalog's own rows."""

from __future__ import annotations

from pathlib import Path

from pyiceberg.catalog.sql import SqlCatalog
from sqlalchemy import insert

from makerates_lake.store._pyiceberg import sql_catalog_engine, sql_catalog_tables
from makerates_lake.store.pointers import metadata_locations

_TABLES = sql_catalog_tables()


def _catalog(tmp_path: Path, name: str) -> SqlCatalog:
    return SqlCatalog(name, uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=str(tmp_path))


def test_only_this_catalogs_rows_for_the_asked_tables_are_read(tmp_path: Path) -> None:
    """Another catalog's row of the same name, and unasked tables, are left out; a name
    with a quote in it is matched as written (the literal is escaped, not cut)."""
    mine = _catalog(tmp_path, "it's mine")
    engine = sql_catalog_engine(mine)
    assert engine is not None
    rows = [
        ("it's mine", "silver", "rates", "file:///m/rates.json"),
        ("it's mine", "gold", "fact_rate", "file:///m/fact.json"),
        ("it's mine", "gold", "dim_date", "file:///m/dim.json"),
        ("other", "silver", "rates", "file:///o/rates.json"),
    ]
    with engine.begin() as connection:
        for catalog, namespace, name, location in rows:
            connection.execute(
                insert(_TABLES).values(
                    catalog_name=catalog,
                    table_namespace=namespace,
                    table_name=name,
                    metadata_location=location,
                )
            )
    found = metadata_locations(mine, ["silver.rates", "gold.fact_rate", "bronze.extractions"])
    assert found == {
        "silver.rates": "file:///m/rates.json",
        "gold.fact_rate": "file:///m/fact.json",
    }
    # Asked again: a moved pointer is seen at once.
    with engine.begin() as connection:
        connection.execute(
            _TABLES.__table__.update()  # type: ignore[attr-defined]
            .where(_TABLES.catalog_name == "it's mine", _TABLES.table_name == "rates")
            .values(metadata_location="file:///m/rates-2.json")
        )
    again = metadata_locations(mine, ["silver.rates", "gold.fact_rate", "bronze.extractions"])
    assert again is not None
    assert again["silver.rates"] == "file:///m/rates-2.json"
    assert metadata_locations(_catalog(tmp_path, "other"), ["silver.rates"]) == {
        "silver.rates": "file:///o/rates.json"
    }
