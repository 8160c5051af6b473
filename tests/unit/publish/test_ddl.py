"""The publish DDL: sql/ files match the library's constants; identifiers are quoted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg import sql

from makerates_lake.publish import ddl
from makerates_lake.publish.frame import (
    COLUMNS,
    PROVENANCE_SCHEMA,
    RATE_SCHEMA,
    TABLE_COLUMNS,
)

SQL_DIR = Path(__file__).resolve().parents[3] / "sql"
STAMP = datetime(2026, 3, 1, 12, 30, 45, 123, tzinfo=UTC)


@pytest.mark.parametrize(
    ("file", "constant"),
    [("publish_schema.sql", ddl.SCHEMA_SQL), ("publish_reader_role.sql", ddl.READER_ROLE_SQL)],
)
def test_sql_files_are_the_library_constants(file: str, constant: str) -> None:
    """What a DBA applies by hand is byte for byte what `makerates publish` applies."""
    assert (SQL_DIR / file).read_text(encoding="utf-8") == constant


def _text(statement: sql.Composable) -> str:
    return statement.as_string(None)


def test_hostile_table_names_stay_identifiers() -> None:
    """A name with quotes and semicolons is one quoted identifier in every statement."""
    name = 'x"; DROP TABLE makerates.publishes; --'
    quoted = '"makerates"."x""; DROP TABLE makerates.publishes; --"'
    provenance = '"makerates"."x""; DROP TABLE makerates.publishes; --_provenance"'
    assert _text(ddl.create_tables(name)).startswith(
        f"DROP TABLE IF EXISTS {quoted}, {provenance}; CREATE TABLE {quoted} ("
    )
    assert f"; CREATE TABLE {provenance} (" in _text(ddl.create_tables(name))
    assert _text(ddl.drop_tables(name)) == f"DROP TABLE IF EXISTS {quoted}, {provenance}"
    assert all(quoted in _text(s) for s in ddl.create_indexes(name))
    view = _text(ddl.replace_view(name, published_at=STAMP, gold_snapshot_id=1))
    join = f'FROM {quoted} AS "r" LEFT JOIN {provenance} AS "p" USING ("provenance_key")'
    assert view.endswith(join)


def test_indexes_cover_make_com_lookups() -> None:
    """A unique (date, base, quote) index, a pair-over-time one and a quote-by-date one."""
    statements = [_text(s) for s in ddl.create_indexes("rates_s1_d90")]
    assert statements[0].startswith('CREATE UNIQUE INDEX "rates_s1_d90_date_pair"')
    assert '("rate_date", "base_currency", "quote_currency")' in statements[0]
    assert '("base_currency", "quote_currency", "rate_date")' in statements[1]
    assert '("quote_currency", "rate_date")' in statements[2]


def test_tables_store_the_view_columns_but_the_per_publish_ones() -> None:
    """The two CREATE TABLEs list the rate columns and the provenance columns, each with
    the key, all NOT NULL: together COLUMNS less published_at and gold_snapshot_id."""
    _, rates, provenance = _text(ddl.create_tables("t")).split("; CREATE TABLE ")
    columns = []
    for body in (rates, provenance):
        lines = [line.strip().rstrip(",") for line in body.split("(", 1)[1].splitlines()]
        lines = [line for line in lines if line not in ("", ")")]
        assert all("NOT NULL" in line or "PRIMARY KEY" in line for line in lines)
        columns.append([line.split()[0] for line in lines])
    assert columns == [RATE_SCHEMA.names, PROVENANCE_SCHEMA.names]
    assert set(TABLE_COLUMNS) | {"provenance_key"} == {*columns[0], *columns[1]}
    assert (*TABLE_COLUMNS, "published_at", "gold_snapshot_id") == COLUMNS
    assert "extraction_id UUID NOT NULL" in provenance
    assert "provenance_key INTEGER PRIMARY KEY" in provenance


def test_view_selects_named_columns_and_grant_names_the_role() -> None:
    """The view names every column of COLUMNS in order (no SELECT *), the publish's stamp
    and snapshot as typed constants; the grant goes to the reader role."""
    view = _text(ddl.replace_view("rates_s1_d90", published_at=STAMP, gold_snapshot_id=-(2**63)))
    assert view.startswith('CREATE OR REPLACE VIEW "makerates"."rates_last_90_days" AS SELECT')
    assert "*" not in view
    select = view.split(" AS SELECT ", 1)[1].rsplit(" FROM ", 1)[0]
    names = [
        item.rsplit(" AS ", 1)[-1].rsplit(".", 1)[-1].strip('"') for item in select.split(", ")
    ]
    assert names == list(COLUMNS)
    assert 'CAST("p"."extraction_id" AS text)' in select
    assert '"r"."rate"' in select
    assert '"p"."source_name"' in select
    assert "CAST('2026-03-01 12:30:45.000123+00:00'::timestamptz AS timestamptz)" in select
    assert "CAST( -9223372036854775808 AS bigint)" in select
    assert '"makerates_reader"' in _text(ddl.grant_reader())
