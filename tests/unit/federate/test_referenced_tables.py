"""Which lake tables and attached PostgreSQL relations a statement reads (for the access log)."""

from __future__ import annotations

import duckdb
import pytest

from makerates_lake.federate.query import referenced_tables


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A bare DuckDB connection: the parser needs no tables to exist."""
    return duckdb.connect()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM gold.fact_rate", ["gold.fact_rate"]),
        ('SELECT * FROM "gold"."fact_rate" AS f', ["gold.fact_rate"]),
        ("SELECT * FROM gold.fact_rate_at(123)", ["gold.fact_rate"]),
        ("SELECT * FROM GOLD.FACT_RATE", ["gold.fact_rate"]),
        (
            "SELECT * FROM pg.makerates.rates_last_90_days p JOIN gold.fact_rate g USING (x)",
            ["gold.fact_rate", "pg.makerates.rates_last_90_days"],
        ),
        ("SELECT 1", []),
        ("SELECT * FROM iceberg_scan('/lake/gold/fact_rate/metadata/v1.json')", []),
        ("SELECT * FROM gold.fact_rates", []),
    ],
)
def test_referenced_tables(con: duckdb.DuckDBPyConnection, query: str, expected: list[str]) -> None:
    """Views, _at macros and pg relations count; look-alikes and raw scans do not."""
    assert referenced_tables(con, query) == expected


def test_unparsable_statement_still_names_its_tables(con: duckdb.DuckDBPyConnection) -> None:
    """A statement DuckDB cannot parse falls back to the text match (log one too many)."""
    assert referenced_tables(con, "SELECT * FROM gold.fact_rate WHERE") == ["gold.fact_rate"]


def test_text_mentions_err_towards_logging(con: duckdb.DuckDBPyConnection) -> None:
    """A table named only inside a string literal is still logged (too many, never too few)."""
    assert referenced_tables(con, "SELECT 'gold.fact_rate' AS label") == ["gold.fact_rate"]
