"""Rendering edge cases: repeated column names and DuckDB types plain JSON cannot hold."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, time

import duckdb
import pyarrow as pa
import pytest

from makerates_lake.federate import output
from makerates_lake.federate.output import render


def _strict_json(text: str) -> object:
    """Parse ``text`` refusing the NaN/Infinity tokens Python's json writes by default."""

    def refuse(token: str) -> object:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _duckdb(query: str) -> pa.Table:
    return duckdb.connect().execute(query).to_arrow_table()


def test_unique_names_keeps_first_and_skips_taken_suffixes() -> None:
    """Repeats get the lowest free ``_n``; names already present are never reused."""
    assert output.unique_names(["a", "b"]) == ["a", "b"]
    assert output.unique_names(["a", "a", "a"]) == ["a", "a_1", "a_2"]
    assert output.unique_names(["a", "a", "a_1"]) == ["a", "a_2", "a_1"]


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_same_named_columns_each_show_their_own_values(fmt: str) -> None:
    """SELECT 1 AS a, 2 AS a shows 1 and 2 (it printed 2,2), under distinct headers."""
    result = _duckdb("SELECT 1 AS a, 2 AS a")
    assert result.column_names == ["a", "a"]
    lines = render(result, fmt).splitlines()
    cells = [c.strip() for c in lines[0].replace(" | ", ",").split(",")]
    values = [c.strip() for c in lines[2 if fmt == "table" else 1].replace(" | ", ",").split(",")]
    assert cells == ["a", "a_1"]
    assert values == ["1", "2"]


def test_same_named_columns_in_json_keep_both_values() -> None:
    """JSON objects cannot repeat a key, so the second column is a_1, not lost."""
    assert _strict_json(render(_duckdb("SELECT 1 AS a, 2 AS a"), "json")) == [{"a": 1, "a_1": 2}]


def test_json_writes_times_as_iso_text() -> None:
    """A TIME column is ISO text (it raised TypeError)."""
    table = pa.table({"t": pa.array([time(12, 34, 56, 789000)], pa.time64("us"))})
    assert _strict_json(render(table, "json")) == [{"t": "12:34:56.789000"}]


def test_json_writes_non_finite_floats_as_strings() -> None:
    """NaN and +/-Infinity are the strings "NaN", "Infinity", "-Infinity", nested too."""
    result = _duckdb(
        "SELECT 'nan'::DOUBLE AS n, 'inf'::DOUBLE AS i, '-inf'::FLOAT AS m, 1.5::DOUBLE AS f, "
        "[1.0, 'inf'::DOUBLE] AS l, {'x': 'nan'::DOUBLE} AS s"
    )
    assert _strict_json(render(result, "json")) == [
        {
            "n": "NaN",
            "i": "Infinity",
            "m": "-Infinity",
            "f": 1.5,
            "l": [1.0, "Infinity"],
            "s": {"x": "NaN"},
        }
    ]


def test_json_is_valid_for_every_duckdb_type() -> None:
    """Each DuckDB type renders to strict JSON in every format without raising."""
    result = _duckdb(
        "SELECT TIME '01:02:03' AS t, TIMETZ '01:02:03+00' AS tz, "
        "INTERVAL '1 month 2 days 3.5 seconds' AS iv, uuid() AS u, '\\xAA'::BLOB AS b, "
        "170141183460469231731687303715884105727::HUGEINT AS h, "
        "18446744073709551615::UBIGINT AS ub, MAP {'k': 1.5} AS m, [1, 2]::INTEGER[2] AS a, "
        "'x'::ENUM('x', 'y') AS e, '101'::BIT AS bits, union_value(k := 1) AS un, "
        "TIMESTAMP_NS '2020-01-01 00:00:00.123456789' AS ns, "
        "TIMESTAMPTZ '2020-01-01 00:00:00+00' AS tstz, 'infinity'::DATE AS inf_d, "
        "'-infinity'::TIMESTAMP AS ninf_ts, DATE '294247-01-10' AS far, NULL AS z"
    )
    row = _strict_json(render(result, "json"))
    assert isinstance(row, list)
    got = row[0]
    assert got["iv"] == "P1M2DT3.5S"
    assert got["h"] == "170141183460469231731687303715884105727"
    assert got["ub"] == 18446744073709551615
    assert got["b"] == "aa"
    assert got["m"] == [["k", "1.5"]]
    assert got["ns"] == "2020-01-01T00:00:00.123456789"
    assert (got["inf_d"], got["ninf_ts"]) == ("infinity", "-infinity")
    assert isinstance(got["far"], str)
    assert got["z"] is None
    for fmt in ("table", "csv"):
        assert "infinity" in render(result, fmt)


def test_out_of_range_values_inside_nested_columns_become_text() -> None:
    """An infinite date inside a list, struct or map is text; its neighbours stay typed."""
    result = _duckdb(
        "SELECT ['infinity'::DATE, DATE '2020-01-01', NULL] AS l, "
        "{'d': '-infinity'::DATE, 'e': 1} AS s, MAP {'k': 'infinity'::TIMESTAMP} AS m"
    )
    assert _strict_json(render(result, "json")) == [
        {
            "l": ["infinity", "2020-01-01", None],
            "s": {"d": "-infinity", "e": 1},
            "m": [["k", "infinity"]],
        }
    ]
    assert "infinity" in render(result, "table")


def test_plain_dates_still_render_as_before() -> None:
    """The by-position rewrite leaves ordinary columns as they were."""
    table = pa.table({"d": pa.array([date(2026, 3, 2), None], pa.date32())})
    assert render(table, "csv") == 'd\n2026-03-02\n""'
    assert _strict_json(render(table, "json")) == [{"d": "2026-03-02"}, {"d": None}]


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_nested_values_in_table_and_csv_are_their_json_text(fmt: str) -> None:
    """A list, struct or map cell reads as JSON, with dates and decimals as text, not as
    Python's repr (``datetime.date(2020, 1, 1)``, ``Decimal('1.50')``, single quotes)."""
    result = _duckdb(
        "SELECT [DATE '2020-01-01', NULL] AS l, {'r': 1.50::DECIMAL(5, 2), 't': 'x'} AS s, "
        "MAP {'k': 2} AS m"
    )
    text = render(result, fmt)
    cells = (
        next(csv.DictReader(io.StringIO(text))).values()
        if fmt == "csv"
        else [c.strip() for c in text.splitlines()[2].split(" | ")]
    )
    assert [json.loads(c) for c in cells] == [
        ["2020-01-01", None], {"r": "1.50", "t": "x"}, [["k", 2]],
    ]  # fmt: skip
    assert "datetime" not in text
    assert "Decimal" not in text


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_binary_values_are_hex_text_in_every_format(fmt: str) -> None:
    """A BLOB reads as the same hex text in every format, not as Python's repr."""
    text = render(_duckdb("SELECT '\\xAB\\x00'::BLOB AS b"), fmt)
    assert "ab00" in text
    assert "b'" not in text
