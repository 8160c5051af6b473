"""``maintain``: what snapshot expiry removes, what it must keep, and that bronze is spared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyiceberg.table import Table

from makerates_lake.audit.errors import RetentionError
from makerates_lake.audit.reading import read_polars
from makerates_lake.audit.trace import trace
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.maintenance.expire import maintain
from makerates_lake.pipeline import run_reprocess, run_transform
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_FACT_RATE, SILVER_RATES
from tests.audit_helpers import FIRST_DAY, build_small_lake, day_record


def _ids(table: Table) -> list[int]:
    """Snapshot ids oldest first."""
    return [s.snapshot_id for s in sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)]


def _history(lake: Lake) -> None:
    """Several untagged silver/gold commits, then two tagged reprocesses."""
    build_small_lake(lake)
    run_reprocess(lake, transform_version=1)
    run_reprocess(lake, transform_version=2)


def _after_all(table: Table) -> datetime:
    """A reference time one day after the newest snapshot of ``table``."""
    newest = max(s.timestamp_ms for s in table.metadata.snapshots)
    return datetime.fromtimestamp(newest / 1000, UTC) + timedelta(days=1)


def test_old_untagged_snapshots_go_and_tags_and_branch_heads_stay(embedded_lake: Lake) -> None:
    """With every snapshot past the window, exactly the tagged ones and branch heads remain."""
    _history(embedded_lake)
    silver = embedded_lake.table(SILVER_RATES)
    first = _ids(silver)[0]
    silver.manage_snapshots().create_branch(first, "audit-hold").commit()
    silver = embedded_lake.table(SILVER_RATES)
    before = _ids(silver)
    referenced = {ref.snapshot_id for ref in silver.metadata.refs.values()}
    assert len(before) > len(referenced)  # something is expirable, or the test proves nothing
    results = maintain(
        embedded_lake, older_than=timedelta(hours=1), keep_last=1, now=_after_all(silver)
    )
    after = set(_ids(embedded_lake.table(SILVER_RATES)))
    assert after == referenced
    assert first in after  # only the branch keeps it
    by_table = {r.table: r for r in results}
    assert set(by_table[SILVER_RATES.identifier].expired) == set(before) - referenced
    gold = embedded_lake.table(GOLD_FACT_RATE)
    assert set(_ids(gold)) == {ref.snapshot_id for ref in gold.metadata.refs.values()}


def _untagged_rounds(lake: Lake, rounds: int) -> None:
    """``rounds`` more daily loads after the tagged history: untagged silver/gold commits."""
    for i in range(3, 3 + rounds):
        BronzeWriter(lake).append([day_record(FIRST_DAY + timedelta(days=i), i)])
        run_transform(lake)


def test_the_newest_keep_last_survive_even_when_old_and_untagged(embedded_lake: Lake) -> None:
    """With everything past the window, the newest ``keep_last`` stay besides the tagged."""
    _history(embedded_lake)
    _untagged_rounds(embedded_lake, 3)
    silver = embedded_lake.table(SILVER_RATES)
    ordered = _ids(silver)
    tagged = {ref.snapshot_id for ref in silver.metadata.refs.values()}
    newest = set(ordered[-3:])
    assert newest - tagged  # untagged ones among the newest, or keep_last proves nothing
    maintain(embedded_lake, older_than=timedelta(hours=1), keep_last=3, now=_after_all(silver))
    kept = set(_ids(embedded_lake.table(SILVER_RATES)))
    assert kept == newest | tagged
    assert len(kept) < len(ordered)


def test_only_snapshots_older_than_the_window_go(embedded_lake: Lake) -> None:
    """The cut-off splits the history: older untagged snapshots go, newer ones all stay."""
    _history(embedded_lake)
    _untagged_rounds(embedded_lake, 3)
    silver = embedded_lake.table(SILVER_RATES)
    ordered = sorted(silver.metadata.snapshots, key=lambda s: s.timestamp_ms)
    tagged = {ref.snapshot_id for ref in silver.metadata.refs.values()}
    middle = ordered[-3]  # the first of the untagged rounds' commits kept inside the window
    window = timedelta(days=3)
    # The cut-off falls exactly on ``middle``: it and everything after are inside the window.
    now = datetime.fromtimestamp(middle.timestamp_ms / 1000, UTC) + window
    results = maintain(embedded_lake, older_than=window, keep_last=1, now=now)
    kept = set(_ids(embedded_lake.table(SILVER_RATES)))
    inside = {s.snapshot_id for s in ordered if s.timestamp_ms >= middle.timestamp_ms}
    assert inside - tagged - {ordered[-1].snapshot_id}  # untagged, not newest, yet kept
    assert kept == inside | tagged
    expired = {r.table: set(r.expired) for r in results}[SILVER_RATES.identifier]
    assert expired == {s.snapshot_id for s in ordered} - kept
    assert expired


def test_bronze_is_never_touched(embedded_lake: Lake) -> None:
    """Maintain leaves every bronze snapshot in place and refuses to be pointed at bronze."""
    _history(embedded_lake)
    bronze_before = _ids(embedded_lake.bronze())
    silver = embedded_lake.table(SILVER_RATES)
    results = maintain(embedded_lake, older_than=timedelta(hours=1), now=_after_all(silver))
    assert any(r.expired for r in results)
    assert BRONZE_EXTRACTIONS.identifier not in {r.table for r in results}
    assert _ids(embedded_lake.bronze()) == bronze_before
    with pytest.raises(RetentionError):
        maintain(embedded_lake, tables=[BRONZE_EXTRACTIONS])
    assert _ids(embedded_lake.bronze()) == bronze_before


def test_trace_and_read_by_a_surviving_tag_still_work_after_maintain(lake: Lake) -> None:
    """After expiry, a trace and an as-of read by ``transform-v1`` return the v1 lineage."""
    records = _build_v1_then_v2(lake)
    v1_rate, v1_rows = records
    silver = lake.table(SILVER_RATES)
    results = maintain(lake, older_than=timedelta(hours=1), now=_after_all(silver))
    assert any(r.expired for r in results)
    old = trace(lake, FIRST_DAY, "EUR", "GBP", as_of=AsOf(tag="transform-v1"))
    assert old.verdict == "ok"
    assert old.fact["rate"] == v1_rate
    assert old.fact["transform_version"] == 1
    assert all(leg.bronze is not None and not leg.bronze.tampered for leg in old.legs)
    then = read_polars(lake, GOLD_FACT_RATE, AsOf(tag="transform-v1"))
    assert then.height == v1_rows
    assert set(then.get_column("transform_version").to_list()) == {1}


def _build_v1_then_v2(lake: Lake) -> tuple[object, int]:
    """The v1 EUR/GBP cross rate and gold's v1 row count, with v2 built on top."""
    build_small_lake(lake)
    run_reprocess(lake, transform_version=1)
    v1 = trace(lake, FIRST_DAY, "EUR", "GBP")
    rows = lake.table(GOLD_FACT_RATE).scan().to_arrow().num_rows
    run_reprocess(lake, transform_version=2)
    assert trace(lake, FIRST_DAY, "EUR", "GBP").fact["rate"] != v1.fact["rate"]
    return v1.fact["rate"], rows


def test_the_window_defaults_to_the_snapshot_retention_days_setting(
    embedded_lake: Lake,
) -> None:
    """Without ``older_than``, maintain uses ``snapshot_retention_days`` from the settings."""
    _history(embedded_lake)
    silver = embedded_lake.table(SILVER_RATES)
    newest = max(s.timestamp_ms for s in silver.metadata.snapshots)
    # Ten days after the newest commit: a 30-day window keeps everything, a 5-day one does not.
    now = datetime.fromtimestamp(newest / 1000, UTC) + timedelta(days=10)
    wide = Lake(embedded_lake.settings.replace(snapshot_retention_days=30), embedded_lake.catalog)
    assert not any(r.expired for r in maintain(wide, now=now, dry_run=True))
    narrow = Lake(embedded_lake.settings.replace(snapshot_retention_days=5), embedded_lake.catalog)
    assert any(r.expired for r in maintain(narrow, now=now, dry_run=True))


def test_snapshot_retention_days_must_be_positive() -> None:
    """A zero window would expire everything untagged at once; the setting refuses it."""
    from makerates_lake.errors import ConfigError

    with pytest.raises(ConfigError, match="snapshot_retention_days"):
        load_settings(snapshot_retention_days=0, environ={})
    assert load_settings(environ={}).snapshot_retention_days == 90
