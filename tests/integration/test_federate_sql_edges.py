"""`lake.sql`, `run_sql` and `makerates sql` on edge-case statements: typed errors, never
tracebacks or wrong values."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from makerates_lake.cli.federate import sql_command
from makerates_lake.federate import QueryError, run_sql
from makerates_lake.lakehouse import open_lake
from makerates_lake.settings import Settings
from makerates_lake.store.access_log import read_access_log
from makerates_lake.store.catalog import Lake
from tests.integration.federate_publish_helpers import fill_gold

pytestmark = pytest.mark.integration


def _sql_entries(lake: Lake) -> list[dict[str, object]]:
    return [e for e in read_access_log(lake).to_pylist() if e["action"] == "sql"]


@pytest.mark.parametrize("query", ["", "   ", "-- x", "/* only a comment */", ";"])
def test_empty_or_comment_only_query_is_a_query_error(embedded_lake: Lake, query: str) -> None:
    """No statement at all is QueryError (it was AttributeError), in the API and the CLI."""
    with pytest.raises(QueryError, match="empty or only comments"):
        run_sql(embedded_lake, query)
    out = CliRunner().invoke(sql_command, ["--", query], obj=embedded_lake)
    assert out.exit_code == 1
    assert out.output.startswith("QueryError: ")
    assert "Traceback" not in out.output


def test_two_extraction_id_columns_log_both(embedded_lake: Lake) -> None:
    """A gold-silver join selecting both extraction_id columns runs (it raised KeyError)
    and logs the ids of each column."""
    fill_gold(embedded_lake)
    result = run_sql(
        embedded_lake,
        "SELECT g.extraction_id, s.extraction_id FROM gold.fact_rate AS g "
        "JOIN silver.rates AS s USING (rate_date) LIMIT 3",
    )
    assert result.column_names == ["extraction_id", "extraction_id_1"]
    assert result.num_rows > 0
    run_sql(embedded_lake, "SELECT 'x1' AS extraction_id, 'x2' AS extraction_id")
    logged = {str(e["table_name"]): e["record_ids"] for e in _sql_entries(embedded_lake)}
    assert list(logged["*"]) == ["x1", "x2"]  # type: ignore[call-overload]
    joined = sorted({str(v) for c in result.columns for v in c.to_pylist()})
    assert list(logged["gold.fact_rate"]) == joined  # type: ignore[call-overload]
    assert list(logged["silver.rates"]) == joined  # type: ignore[call-overload]


def test_same_named_columns_keep_their_values(embedded_settings: Settings) -> None:
    """SELECT 1 AS a, 2 AS a gives columns a and a_1 holding 1 and 2 (polars raised
    DuplicateError; the CLI printed 2,2)."""
    embedded_lake = open_lake(embedded_settings)
    frame = embedded_lake.sql("SELECT 1 AS a, 2 AS a")
    assert frame.columns == ["a", "a_1"]
    assert frame.row(0) == (1, 2)
    runner = CliRunner()
    out = runner.invoke(
        sql_command, ["SELECT 1 AS a, 2 AS a", "--format", "csv"], obj=embedded_lake
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["a,a_1", "1,2"]


def test_json_format_is_strict_json_for_times_and_non_finite_floats(embedded_lake: Lake) -> None:
    """--format json writes TIME as ISO text (it was a TypeError traceback) and NaN and
    Infinity as strings (they were bare NaN/Infinity tokens)."""

    def refuse(token: str) -> object:
        raise ValueError(f"not JSON: {token}")

    query = "SELECT TIME '12:34:56' AS t, 'nan'::DOUBLE AS n, '-inf'::DOUBLE AS i"
    out = CliRunner().invoke(sql_command, [query, "--format", "json"], obj=embedded_lake)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output, parse_constant=refuse) == [
        {"t": "12:34:56", "n": "NaN", "i": "-Infinity"}
    ]
