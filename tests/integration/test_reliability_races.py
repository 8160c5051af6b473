"""Races: backfills, reprocess, publish and maintain running at once, in separate processes.

Every command is the real CLI in its own process on one embedded lake (SQLite catalog,
so the flock commit lock is what serialises them) with a real PostgreSQL publish target.
The round is bounded: a fixed set of commands, each with a time limit. Afterwards bronze
holds every extraction exactly once, silver and gold equal a clean rebuild from bronze,
and the published view is one complete publish.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import polars as pl
import pytest

from makerates_lake import store as storage
from makerates_lake.pipeline import backfill, run_reprocess, run_transform
from makerates_lake.publish.postgres import publish
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import GOLD_FACT_RATE, SILVER_RATES, SILVER_REJECTS, TableSpec
from tests.integration.reliability_helpers import (
    bronze_ids,
    ecb_csv_with_extra_day,
    published_state,
    spawn_cli,
)

pytestmark = pytest.mark.integration

#: Each command of the round must finish within this many seconds.
COMMAND_LIMIT_S = 150


def _table(lake: Lake, spec: TableSpec) -> pl.DataFrame:
    """Every column, flags included, in one canonical row order."""
    frame = storage.read(lake, spec)
    return frame.sort(frame.columns)


def test_concurrent_commands_lose_nothing_and_publish_whole(
    tmp_path: Path, pg_database: str
) -> None:
    """Backfills + reprocess + publish + maintain at once: exact bronze, rebuilt-equal layers."""
    lake = open_lake(load_settings(home=tmp_path / "lake", publish_dsn=pg_database))
    backfill(lake)
    publish(lake, days=30)
    files = [ecb_csv_with_extra_day(tmp_path, day) for day in ("2026-11-02", "2026-11-03")]

    commands = [
        *(("backfill", "ecb", "--file", str(f)) for f in files),
        ("transform",),
        ("reprocess",),
        ("publish", "--days", "30"),
        # The CLI's smallest window is one day: nothing is old enough to expire, but
        # maintain still takes every silver/gold commit lock and commits while the others run.
        ("maintain", "--older-than-days", "1"),
    ]
    children = [spawn_cli(lake.settings, *args) for args in commands]
    failures = []
    for args, child in zip(commands, children, strict=True):
        try:
            _, err = child.communicate(timeout=COMMAND_LIMIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            _, err = child.communicate()
            failures.append(f"{' '.join(args)}: still running after {COMMAND_LIMIT_S} s")
            continue
        if child.returncode != 0:
            failures.append(f"{' '.join(args)}: exit {child.returncode}: {err[-1500:]}")
    assert failures == []

    # Bronze: the first backfill plus the two racing ones, each exactly once.
    ids = bronze_ids(lake)
    assert len(ids) == len(set(ids)) == 3

    # Catch up on whatever the racing transforms did not see, then compare with a clean
    # rebuild from bronze alone: the race must not have lost, doubled or mixed any row.
    run_transform(lake)
    publish(lake, days=30)
    raced = {
        spec.identifier: _table(lake, spec)
        for spec in (SILVER_RATES, SILVER_REJECTS, GOLD_FACT_RATE)
    }
    run_reprocess(lake)
    for spec in (SILVER_RATES, SILVER_REJECTS, GOLD_FACT_RATE):
        rebuilt = _table(lake, spec)
        before = raced[spec.identifier]
        assert before.equals(rebuilt), (
            f"{spec.identifier} differs from a rebuild: {before.height} rows after the race, "
            f"{rebuilt.height} rebuilt; only after the race: "
            f"{before.join(rebuilt, on=before.columns, how='anti', nulls_equal=True).head(3)}; "
            "only rebuilt: "
            f"{rebuilt.join(before, on=before.columns, how='anti', nulls_equal=True).head(3)}"
        )
    assert set(raced[SILVER_RATES.identifier]["extraction_id"]) == set(ids)

    state = published_state(pg_database)
    assert len(state.current) == 1
    table_name, snapshot_id, row_count = state.current[0]
    assert state.view_rows == row_count
    assert state.view_snapshot_ids == {snapshot_id}
    assert state.tables == [table_name, f"{table_name}_provenance"]
