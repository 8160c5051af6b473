"""Rendering query results as a text table, CSV and JSON (exact decimals everywhere)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from makerates_lake.federate.output import render

ROWS = pa.table(
    {
        "rate_date": pa.array([date(2026, 3, 2), None], pa.date32()),
        "pair": ["EUR/USD", "a,b"],
        "rate": pa.array([Decimal("0.86720"), Decimal("1.5")], pa.decimal128(10, 5)),
        "at": pa.array([datetime(2026, 3, 2, 15, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
    }
)


def test_json_keeps_decimals_and_dates_as_text() -> None:
    """0.86720 stays the string '0.86720' (never a float); nulls are null."""
    parsed = json.loads(render(ROWS, "json"))
    assert parsed[0] == {
        "rate_date": "2026-03-02",
        "pair": "EUR/USD",
        "rate": "0.86720",
        "at": "2026-03-02T15:00:00+00:00",
    }
    assert parsed[1]["rate_date"] is None


def test_csv_quotes_commas_and_writes_nulls_empty() -> None:
    """A header line, RFC 4180 quoting, and an empty field for null."""
    lines = render(ROWS, "csv").splitlines()
    assert lines[0] == "rate_date,pair,rate,at"
    assert lines[1] == "2026-03-02,EUR/USD,0.86720,2026-03-02T15:00:00+00:00"
    assert lines[2] == ',"a,b",1.50000,'


def test_table_aligns_columns_and_counts_rows() -> None:
    """Columns are padded to their widest cell; the footer counts rows (singular too)."""
    lines = render(ROWS, "table").splitlines()
    assert lines[0].split(" | ")[0] == "rate_date "
    assert len({len(line) for line in lines[:-1]}) == 1
    assert lines[-1] == "(2 rows)"
    assert render(ROWS.slice(0, 1), "table").splitlines()[-1] == "(1 row)"


def test_empty_result_renders_in_every_format() -> None:
    """No rows: header only, an empty JSON list, a zero-row footer."""
    empty = ROWS.slice(0, 0)
    assert render(empty, "json") == "[]"
    assert render(empty, "csv") == "rate_date,pair,rate,at"
    assert render(empty, "table").splitlines()[-1] == "(0 rows)"


def test_unknown_format_is_refused() -> None:
    """Anything but table/csv/json raises ValueError naming the choices."""
    with pytest.raises(ValueError, match="table, csv, json"):
        render(ROWS, "xml")
