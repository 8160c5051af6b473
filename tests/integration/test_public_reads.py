"""Every public read writes exactly one access-log entry; metadata and internal reads none.

One lake (the bundled ECB sample through gold) serves the module: each test counts the
entries its own call adds, so the order of the tests does not matter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli import main
from makerates_lake.lakehouse import Lakehouse
from makerates_lake.settings import load_settings
from makerates_lake.store.access_log import read_access_log
from tests.integration.reliability_helpers import settings_env
from tests.seaweed import SeaweedServer

pytestmark = pytest.mark.integration

FRIDAY = date(2026, 10, 23)


@pytest.fixture(scope="module", params=["embedded", "postgres_s3", "rest_s3"])
def lake(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: str,
    seaweed: SeaweedServer,
) -> Lakehouse:
    """The bundled sample through gold, reprocessed once so a tag exists, on each layout."""
    home = tmp_path_factory.mktemp("public") / "lake"
    suffix = uuid.uuid4().hex[:10]
    if request.param == "embedded":
        settings = load_settings(home=home)
    elif request.param == "rest_s3":
        settings = seaweed.rest_settings(home)
    else:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "reads_{suffix}"')
        dsn = postgres.rpartition("/")[0] + f"/reads_{suffix}"
        settings = seaweed.pg_s3_settings(home, dsn)
    opened = mr.open_lake(settings)
    mr.backfill(opened)
    mr.reprocess(opened, transform_version=2)
    return opened


@pytest.fixture
def new_entries(lake: Lakehouse) -> Callable[[], list[dict[str, Any]]]:
    """The entries added since the test started (read without logging)."""
    seen = set(read_access_log(lake).column("audit_id").to_pylist())

    def added() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = read_access_log(lake).to_pylist()
        fresh = [r for r in rows if r["audit_id"] not in seen]
        return sorted(fresh, key=lambda r: r["accessed_at"])

    return added


def _only(entries: list[dict[str, Any]], action: str, table: str) -> dict[str, Any]:
    assert [(e["action"], e["table_name"]) for e in entries] == [(action, table)]
    return entries[0]


def test_lake_read_logs_one_entry_with_the_ids_returned(lake: Lakehouse, new_entries: Any) -> None:
    """lake.read at a tag: one ``read`` entry naming the tag, the snapshot and the ids,
    also when the caller did not ask for the id column (it is read for the log only)."""
    frame = lake.read("fact_rate", as_of="transform-v2", columns=["rate_date", "extraction_id"])
    entry = _only(new_entries(), "read", "gold.fact_rate")
    assert "tag 'transform-v2'" in entry["query_text"]
    assert sorted(entry["record_ids"]) == sorted(frame["extraction_id"].unique().to_list())
    rates_only = lake.read("fact_rate", columns=["rate_date", "rate"])
    assert rates_only.columns == ["rate_date", "rate"]
    entry = _only(new_entries()[1:], "read", "gold.fact_rate")
    assert sorted(entry["record_ids"]) == sorted(frame["extraction_id"].unique().to_list())
    assert "columns=rate_date,rate" in entry["query_text"]


def test_lake_scan_logs_one_entry_when_made_and_none_when_collected(
    lake: Lakehouse, new_entries: Any
) -> None:
    """lake.scan logs once; collecting the lazy frame twice adds nothing."""
    lazy = lake.scan("gold.fact_rate").filter(pl.col("quote_currency") == "USD")
    assert lazy.select(pl.len()).collect().item() > 0
    assert lazy.select(pl.len()).collect().item() > 0
    entry = _only(new_entries(), "scan", "gold.fact_rate")
    snapshot = lake.snapshots("gold.fact_rate").filter("is_current")["snapshot_id"].item()
    assert f"snapshot {snapshot}" in entry["query_text"]


def test_lake_sql_logs_one_entry_per_table_read(lake: Lakehouse, new_entries: Any) -> None:
    """lake.sql over one table at a snapshot id: one ``sql`` entry with the statement and
    the snapshot it was pinned to, and the pinned read answers from that snapshot."""
    # The access log grows with every read: its first snapshot holds fewer rows than now.
    lake.read("gold.dim_source")
    lake.read("gold.dim_source")
    query = "SELECT count(*) AS n FROM audit.access_log"
    first = lake.snapshots("audit.access_log")["snapshot_id"][0]
    then = lake.sql(query, as_of=first)["n"].item()
    entry = _only(new_entries()[2:], "sql", "audit.access_log")
    assert entry["query_text"] == f"{query} -- as of snapshot {first}"
    assert then < lake.sql(query)["n"].item()  # the pin read another snapshot


def test_trace_logs_one_entry(lake: Lakehouse, new_entries: Any) -> None:
    """mr.trace of a cross rate: one ``trace`` entry naming both legs' extraction."""
    result = mr.trace(lake, FRIDAY, "USD", "JPY")
    entry = _only(new_entries(), "trace", "gold.fact_rate")
    assert set(entry["record_ids"]) == {leg.extraction_id for leg in result.legs}


def test_diff_logs_one_entry(lake: Lakehouse, new_entries: Any) -> None:
    """mr.diff between the first snapshot (an id) and a tag: one ``diff`` entry."""
    first = lake.snapshots("gold.fact_rate")["snapshot_id"][0]
    mr.diff(lake, "gold.fact_rate", first, "transform-v2")
    entry = _only(new_entries(), "diff", "gold.fact_rate")
    assert "tag 'transform-v2'" in entry["query_text"]


@pytest.mark.parametrize(
    "call",
    [
        lambda lake: mr.rates(lake, on=FRIDAY, quotes=["USD"]),
        lambda lake: mr.convert(lake, "100", "USD", "JPY", on=FRIDAY),
        lambda lake: mr.closing_rates(lake, "2026-09", quotes=["USD"]),
        lambda lake: mr.average_rates(lake, "2026-Q3", quotes=["USD"]),
    ],
    ids=["rates", "convert", "closing", "average"],
)
def test_rate_answers_log_one_entry(
    lake: Lakehouse, new_entries: Any, call: Callable[[Lakehouse], object]
) -> None:
    """Each rate answer reads gold once and logs that read once."""
    call(lake)
    entries = new_entries()
    assert len(entries) == 1
    assert entries[0]["table_name"] == "gold.fact_rate"


def test_access_log_read_is_itself_logged_once(lake: Lakehouse, new_entries: Any) -> None:
    """mr.access_log returns the entries so far and adds one ``access_log`` entry after."""
    lake.read("gold.dim_source")
    shown = mr.access_log(lake, action="read", table="gold.dim_source")
    assert shown.height >= 1
    added = new_entries()
    assert [e["action"] for e in added] == ["read", "access_log"]
    since = mr.access_log(lake, since=datetime.now(UTC))
    assert since.height == 0
    berlin = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(hours=1)
    assert mr.access_log(lake, since=berlin, action="read").height >= 1


def test_metadata_and_internal_reads_are_not_logged(lake: Lakehouse, new_entries: Any) -> None:
    """Snapshot and tag listings read metadata only; a transform's own reads are internal."""
    lake.snapshots("gold.fact_rate")
    lake.tags()
    mr.transform(lake)
    assert new_entries() == []


@pytest.mark.parametrize(
    "args",
    [
        ["sql", "SELECT count(*) AS n FROM silver.rates"],
        ["audit", "read", "gold.dim_currency", "--limit", "3"],
        ["rates", "--date", FRIDAY.isoformat(), "--quote", "USD"],
        ["audit", "trace", "EUR", "USD", "--date", FRIDAY.isoformat()],
    ],
    ids=["sql", "audit-read", "rates", "trace"],
)
def test_cli_reads_log_one_entry(lake: Lakehouse, new_entries: Any, args: list[str]) -> None:
    """The CLI's read commands go through the same audited reads: one entry each."""
    result = CliRunner().invoke(main, args, env=settings_env(lake.settings))
    assert result.exit_code == 0, result.output
    assert len(new_entries()) == 1


def test_unknown_table_names_the_tables_there_are(lake: Lakehouse, tmp_path: Path) -> None:
    """A misspelt table is a LakeError listing the lake's tables, and logs nothing."""
    with pytest.raises(mr.LakeError, match="no such table") as raised:
        lake.read("gold.fact_rates")
    assert "gold.fact_rate" in str(raised.value)
