"""The access log: one entry per audited read, batched, loud on failure, mirrored to PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from makerates_lake.audit.errors import AccessLogError, RetentionError
from makerates_lake.audit.reading import read_as_of
from makerates_lake.audit.retention import purge_bronze
from makerates_lake.audit.trace import trace
from makerates_lake.cli.audit import commands
from makerates_lake.store.access_log import AccessLog, log_access, read_access_log
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, SILVER_RATES
from tests.audit_helpers import FIRST_DAY, build_small_lake


def test_n_audited_reads_make_exactly_n_entries_in_one_commit(embedded_lake: Lake) -> None:
    """Seven reads inside one AccessLog are seven entries, written in a single commit."""
    records = build_small_lake(embedded_lake)
    log_table = embedded_lake.table("audit.access_log")
    before = len(log_table.metadata.snapshots)
    with AccessLog(embedded_lake) as log:
        for _ in range(4):
            trace(embedded_lake, FIRST_DAY, "USD", "EUR")
        for _ in range(3):
            read_as_of(embedded_lake, SILVER_RATES)
        assert len(log.pending) == 7
    entries = read_access_log(embedded_lake)
    assert entries.num_rows == 7
    assert sorted(entries.column("action").to_pylist()) == ["read"] * 3 + ["trace"] * 4
    assert len(embedded_lake.table("audit.access_log").metadata.snapshots) == before + 1
    traced = [r for r in entries.to_pylist() if r["action"] == "trace"]
    assert all(r["record_ids"] == [records[0].extraction_id] for r in traced)
    assert all(r["principal"] and r["host"] and r["query_text"] for r in traced)


def test_principal_setting_names_the_reader(embedded_lake: Lake) -> None:
    """A configured principal is logged instead of the OS user."""
    lake = open_lake(embedded_lake.settings.replace(principal="auditor@example.org"))
    log_access(lake, action="read", table="gold.fact_rate", record_ids=["a", "b"])
    (row,) = read_access_log(lake).to_pylist()
    assert row["principal"] == "auditor@example.org"
    assert row["record_ids"] == ["a", "b"]


def test_failed_log_write_fails_the_read_loudly(embedded_lake: Lake) -> None:
    """When the access-log table is gone, the read raises instead of skipping the entry."""
    build_small_lake(embedded_lake)
    embedded_lake.catalog.drop_table("audit.access_log")
    embedded_lake._tables.clear()
    with pytest.raises(AccessLogError, match="cannot write the access log"):
        trace(embedded_lake, FIRST_DAY, "USD", "EUR")
    log = AccessLog(embedded_lake)
    with pytest.raises(AccessLogError), log:
        read_as_of(embedded_lake, SILVER_RATES)
    assert len(log.pending) == 1  # kept for a later flush, not dropped


def test_entries_go_to_postgres_audit_log_too(embedded_lake: Lake, pg_database: str) -> None:
    """With publish_dsn set, each entry also lands in the design document's audit_log table."""
    lake = open_lake(embedded_lake.settings.replace(publish_dsn=pg_database))
    ids = ["6f1c1c7e-3a44-4a55-9b0e-2a3c6f0d9a11"]
    with AccessLog(lake):
        log_access(lake, action="trace", table="gold.fact_rate", record_ids=ids, query_text="q")
        log_access(lake, action="read", table="silver.rates")
    with psycopg.connect(pg_database) as conn:
        rows = conn.execute(
            "SELECT action, table_name, record_id::text, record_ids, user_id, query_text"
            " FROM audit_log ORDER BY action DESC"
        ).fetchall()
    assert rows[0] == ("trace", "gold.fact_rate", ids[0], ids, rows[0][4], "q")
    assert rows[1][:4] == ("read", "silver.rates", None, [])
    assert read_access_log(lake).num_rows == 2


def test_cli_trace_prints_lineage_and_logs_once(embedded_lake: Lake) -> None:
    """`audit trace EUR USD --date ... --json` prints the chain and writes one entry."""
    build_small_lake(embedded_lake)
    group = {c.name: c for c in commands}["audit"]
    runner = CliRunner()
    result = runner.invoke(
        group,
        ["trace", "USD", "EUR", "--date", FIRST_DAY.isoformat(), "--json"],
        obj=embedded_lake,
    )
    assert result.exit_code == 0, result.output
    assert '"verdict": "ok"' in result.output
    text = runner.invoke(
        group, ["trace", "USD", "EUR", "--date", FIRST_DAY.isoformat()], obj=embedded_lake
    )
    assert "VERDICT: OK" in text.output
    assert "checksum recomputed" in text.output
    assert read_access_log(embedded_lake).num_rows == 2
    missing = runner.invoke(
        group, ["trace", "USD", "CHF", "--date", FIRST_DAY.isoformat()], obj=embedded_lake
    )
    assert missing.exit_code == 1
    assert missing.output.startswith("RecordNotFoundError: no gold fact")


def test_purge_refuses_retained_rows_and_logs_what_it_removes(embedded_lake: Lake) -> None:
    """Rows under retention stay; expired ones are removed, logged, and gone from history."""
    kept = build_small_lake(embedded_lake, days=1)
    with pytest.raises(RetentionError, match="still under their retention"):
        purge_bronze(embedded_lake, reason="GDPR-1", extraction_ids=[kept[0].extraction_id])
    from datetime import date

    from makerates_lake.bronze.writer import BronzeWriter
    from tests.audit_helpers import day_record

    old = day_record(date(2015, 1, 5), 0, retention_policy="keep-1-years")
    BronzeWriter(embedded_lake).append([old])
    report = purge_bronze(embedded_lake, reason="GDPR-2", extraction_ids=[old.extraction_id])
    assert report.removed == [old.extraction_id]
    bronze = embedded_lake.table(BRONZE_EXTRACTIONS)
    remaining = bronze.scan().to_arrow().column("extraction_id").to_pylist()
    assert remaining == [kept[0].extraction_id]
    assert len(bronze.metadata.snapshots) == 1
    asked, done = sorted(read_access_log(embedded_lake).to_pylist(), key=lambda e: e["accessed_at"])
    assert asked["action"] == "retention_purge"
    assert asked["record_ids"] == [old.extraction_id]
    assert "GDPR-2" in asked["query_text"]
    # Written once the rows were removed, naming the entry that gave the reason.
    assert done["action"] == "retention_purged"
    assert done["record_ids"] == [old.extraction_id]
    assert done["query_text"] == f"completes retention_purge entry {asked['audit_id']}"
    assert "GDPR-2" not in done["query_text"]
