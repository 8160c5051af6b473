"""A trace as of gold's snapshot id, a gold tag or a time reads the silver and bronze that
were published with that gold, as ``as_of="main"`` does (after a write-audit-publish run,
gold's commit on its branch is older than silver's fast-forward)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli import main
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import move_tag
from makerates_lake.store.tables import GOLD_FACT_RATE, SILVER_RATES
from tests.integration.reliability_helpers import settings_env

pytestmark = pytest.mark.integration

DAY = "2026-10-30"


@pytest.fixture
def lake(embedded_lake: Lake) -> Lake:
    """The embedded lake holding the bundled sample through gold."""
    mr.backfill(embedded_lake)
    return embedded_lake


def _gold_id(lake: Lake) -> int:
    snapshot = lake.table(GOLD_FACT_RATE, refresh=True).current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def test_gold_snapshot_id_tag_and_time_trace_like_main(lake: Lake) -> None:
    """Each way of naming gold's current state reads silver's current state: verdict ok."""
    main_trace = mr.trace(lake, DAY, "EUR", "USD", as_of="main")
    assert main_trace.verdict == "ok"
    gold_id = _gold_id(lake)
    move_tag(lake, GOLD_FACT_RATE, "gold-only")  # a tag silver does not have
    silver = lake.table(SILVER_RATES, refresh=True).current_snapshot()
    assert silver is not None
    for as_of in (gold_id, str(gold_id), "gold-only", datetime.now(UTC)):
        result = mr.trace(lake, DAY, "EUR", "USD", as_of=as_of)
        assert result.verdict == "ok", (as_of, result.problems, [x.problems for x in result.legs])
        assert result.snapshots == main_trace.snapshots
        assert result.snapshots[SILVER_RATES.identifier] == silver.snapshot_id


def test_cli_trace_as_of_now_and_the_snapshot_id_exit_0(lake: Lake) -> None:
    """``makerates audit trace --as-of`` with gold's id or the present time is ok."""
    env = settings_env(lake.settings)
    for as_of in (str(_gold_id(lake)), datetime.now(UTC).isoformat()):
        shown = CliRunner().invoke(
            main, ["audit", "trace", "EUR", "USD", "--date", DAY, "--as-of", as_of], env=env
        )
        assert shown.exit_code == 0, shown.output
