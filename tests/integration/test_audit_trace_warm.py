"""Repeated traces reuse table metadata only while the catalog pointer is unchanged."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from makerates_lake.audit.trace import trace
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.pointers import current_tables, metadata_locations
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_FACT_RATE, SILVER_RATES
from tests.audit_helpers import FIRST_DAY, alter_silver_rate, build_small_lake, rewrite_bronze_body

_TABLES = (GOLD_FACT_RATE, SILVER_RATES, BRONZE_EXTRACTIONS)


def test_catalog_pointers_are_the_ones_load_table_reads(sql_lake: Lake) -> None:
    """The cheap query returns, per table, the metadata file a full load_table reads."""
    lake = sql_lake
    build_small_lake(lake)
    pointers = metadata_locations(lake.catalog, [spec.identifier for spec in _TABLES])
    assert pointers == {
        spec.identifier: lake.catalog.load_table(spec.identifier).metadata_location
        for spec in _TABLES
    }


def test_a_rest_catalog_has_no_cheap_pointer_query(rest_s3_lake: Lake) -> None:
    """A REST catalog has no pointer table to read: the shortcut says so (None) and a
    trace refreshes its tables instead, still seeing every commit."""
    build_small_lake(rest_s3_lake)
    assert metadata_locations(rest_s3_lake.catalog, [BRONZE_EXTRACTIONS.identifier]) is None


def test_unchanged_tables_are_reused_and_a_commit_elsewhere_is_seen(lake: Lake) -> None:
    """Same pointer: the same Table object; a commit by another process: the new snapshot."""
    records = build_small_lake(lake)
    first = current_tables(lake, _TABLES)
    assert current_tables(lake, _TABLES) == first  # nothing committed: nothing re-read
    before = trace(lake, FIRST_DAY, "USD", "EUR")
    assert before.verdict == "ok"
    other = open_lake(lake.settings)  # another process, as far as the catalog can tell
    alter_silver_rate(other, records[0].extraction_id, "EUR", Decimal("0.5"))
    after = trace(lake, FIRST_DAY, "USD", "EUR")
    assert after.verdict == "transform_mismatch"
    silver = SILVER_RATES.identifier
    assert after.snapshots[silver] != before.snapshots[silver]
    assert after.snapshots[silver] == other.table(SILVER_RATES).current_snapshot().snapshot_id  # type: ignore[union-attr]


def test_a_side_door_rewrite_after_a_warm_trace_is_still_tampered(lake: Lake) -> None:
    """Metadata is reused across traces but data files never are: the rewrite is caught."""
    records = build_small_lake(lake)
    day = FIRST_DAY + timedelta(days=1)
    assert trace(lake, day, "USD", "EUR").verdict == "ok"
    target = records[1]
    rewrite_bronze_body(
        lake, target.extraction_id, target.raw_response.replace(b"0.9220", b"0.9999")
    )
    assert trace(lake, day, "USD", "EUR").verdict == "tampered"
