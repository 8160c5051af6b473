"""Tracing what a held write-audit-publish run left on its branch (docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import makerates_lake as mr
from makerates_lake.audit.trace import OK, trace
from makerates_lake.pipeline import backfill
from makerates_lake.pipeline.wap import WapChecksFailedError
from makerates_lake.store.branches import ref_snapshot_id
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf
from makerates_lake.store.tables import GOLD_FACT_RATE, SILVER_RATES
from tests.integration.test_wap import NEW_DAY, ecb_next_day

pytestmark = pytest.mark.integration


def test_a_trace_as_of_a_held_runs_gold_snapshot_reads_the_runs_silver(
    embedded_lake: Lake, tmp_path: Path
) -> None:
    """Traced as of the gold snapshot id a held run left on its branch, a rate of the held
    day finds the run's silver rows on that branch (it was "missing" when silver was read
    from ``main``), as a trace as of the branch's name does."""
    lake = mr.open_lake(embedded_lake.settings)
    backfill(lake)
    day = datetime.fromisoformat(NEW_DAY).date()
    with pytest.raises(WapChecksFailedError) as failed:
        backfill(lake, ecb_next_day(tmp_path, NEW_DAY, keep=0.5), start=day, end=day)
    branch = failed.value.context["branch"]
    held = lake.read("silver.rates", as_of=branch).filter(pl.col("rate_date") == day)
    quote = held.get_column("quote_currency").sort()[0]
    base = held.filter(pl.col("quote_currency") == quote).get_column("base_currency")[0]
    held_gold = ref_snapshot_id(embedded_lake.table(GOLD_FACT_RATE), branch)
    assert held_gold is not None

    by_id = trace(embedded_lake, day, base, quote, as_of=AsOf(snapshot_id=held_gold))
    by_name = trace(embedded_lake, day, base, quote, as_of=AsOf(tag=branch))
    assert by_id.verdict == OK, by_id.to_dict()
    silver_on_branch = ref_snapshot_id(embedded_lake.table(SILVER_RATES), branch)
    assert by_id.snapshots[SILVER_RATES.identifier] == silver_on_branch
    assert by_name.snapshots == by_id.snapshots
    assert by_id.fact == by_name.fact
