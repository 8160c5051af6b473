"""A tagged gold snapshot stays traceable to its bronze bytes after bronze's untagged
snapshots of that time were expired: bronze is append-only, so its current snapshot
holds the rows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import makerates_lake as mr
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.maintenance.run import run_maintenance
from makerates_lake.store.tables import BRONZE_EXTRACTIONS


def test_a_tag_traces_after_bronze_history_expired(tmp_path: Path) -> None:
    """After a reprocess (tag transform-v1), one more bronze append and maintenance that
    keeps only the newest bronze snapshot, the tag still traces to 'ok'."""
    lake = mr.open_lake(mr.load_settings(home=tmp_path / "lake"))
    mr.backfill(lake)
    mr.reprocess(lake, transform_version=1)
    mr.backfill(lake, start=date(2024, 1, 1))  # another window: bronze keeps another copy
    policy = MaintenancePolicy(snapshot_window=timedelta(0), keep_last=1)
    run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,), policy=policy, compact=False)
    assert len(lake.bronze(refresh=True).metadata.snapshots) == 1
    traced = mr.trace(lake, "2026-10-30", "EUR", "USD", as_of="transform-v1")
    assert traced.verdict == "ok"
