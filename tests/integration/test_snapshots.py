"""AsOf parsing and snapshot resolution by id, tag and time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from makerates_lake.bronze import BronzeWriter
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf, SnapshotNotFoundError, resolve_as_of
from tests.integration.bronze_helpers import make_record


def test_parse_reads_ids_timestamps_and_tags() -> None:
    """Digits are ids, ISO text is a time (UTC when naive), anything else a tag."""
    assert AsOf.parse("123") == AsOf(snapshot_id=123)
    assert AsOf.parse("2026-11-20T09:00") == AsOf(
        timestamp=datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    )
    assert AsOf.parse("published-2026-11-20") == AsOf(tag="published-2026-11-20")
    assert AsOf.parse("tag:2026") == AsOf(tag="2026")


def test_exactly_one_selector_is_required() -> None:
    """AsOf with none or two selectors is refused."""
    with pytest.raises(ValueError, match="exactly one"):
        AsOf()
    with pytest.raises(ValueError, match="exactly one"):
        AsOf(snapshot_id=1, tag="x")


def test_resolve_by_id_tag_and_time(embedded_lake: Lake) -> None:
    """Each selector finds the snapshot a reader saw; unknown ones raise with the table."""
    writer = BronzeWriter(embedded_lake)
    first = writer.append([make_record(1)]).snapshot_id
    time.sleep(0.01)  # snapshot times are in milliseconds: keep the three instants apart
    between = datetime.now(UTC)
    time.sleep(0.01)
    second = writer.append([make_record(2)]).snapshot_id
    table = embedded_lake.bronze()
    table.manage_snapshots().create_tag(first, "first").commit()  # type: ignore[arg-type]
    table = embedded_lake.bronze()

    assert resolve_as_of(table, None).snapshot_id == second  # type: ignore[union-attr]
    assert resolve_as_of(table, AsOf(snapshot_id=first)).snapshot_id == first  # type: ignore[union-attr]
    assert resolve_as_of(table, AsOf(tag="first")).snapshot_id == first  # type: ignore[union-attr]
    assert resolve_as_of(table, AsOf(timestamp=between)).snapshot_id == first  # type: ignore[union-attr]
    assert resolve_as_of(table, AsOf(timestamp=between - timedelta(days=1))) is None
    with pytest.raises(SnapshotNotFoundError, match="bronze"):
        resolve_as_of(table, AsOf(tag="nope"))
    with pytest.raises(SnapshotNotFoundError):
        resolve_as_of(table, AsOf(snapshot_id=42))


def test_a_time_before_expired_history_is_not_read_as_an_empty_table(
    embedded_lake: Lake,
) -> None:
    """Once the snapshots of a moment were expired, reading as of that moment is an
    error naming the table, not an empty answer (which would also make a diff list every
    row as added)."""
    from makerates_lake.maintenance.expire import maintain
    from makerates_lake.pipeline import run_transform
    from makerates_lake.store.tables import SILVER_RATES
    from tests.audit_helpers import build_small_lake, day_record

    build_small_lake(embedded_lake, days=1)
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    BronzeWriter(embedded_lake).append([day_record(datetime(2026, 1, 9).date(), 9)])
    run_transform(embedded_lake)
    maintain(embedded_lake, older_than=timedelta(0), keep_last=1, tables=[SILVER_RATES])
    table = embedded_lake.table(SILVER_RATES)
    assert len(table.snapshots()) == 1
    with pytest.raises(SnapshotNotFoundError, match="expired"):
        resolve_as_of(table, AsOf(timestamp=between))
    # Before the table ever existed is still "empty then", not an error.
    assert (
        resolve_as_of(embedded_lake.bronze(), AsOf(timestamp=between - timedelta(days=1))) is None
    )
