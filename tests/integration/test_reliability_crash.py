"""Crashes: a child process SIGKILLed at each step of a bronze commit or a publish.

The child is the real ``makerates`` CLI with one crash point installed (see
``reliability_helpers``). Afterwards no partial rows are visible, everything committed
before is still there, the next run succeeds, and the files the dead writer left behind
are found and removed by :mod:`makerates_lake.audit.orphans`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from makerates_lake.audit.orphans import find_orphans, remove_orphans
from makerates_lake.audit.verify import verify_lake
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.cli import main
from makerates_lake.lake import Lake, open_lake
from makerates_lake.pipeline import backfill
from makerates_lake.publish.postgres import publish
from makerates_lake.settings import load_settings
from makerates_lake.tables import BRONZE_EXTRACTIONS
from tests.integration.bronze_helpers import make_record
from tests.integration.extract_servers import LoopbackCa, Reply, Router, Running, make_ca, serve
from tests.integration.reliability_helpers import (
    SAMPLE_ZIP,
    bronze_ids,
    ecb_csv_with_extra_day,
    published_state,
    run_cli,
    settings_env,
)
from tests.unit.extract import payloads

pytestmark = pytest.mark.integration

KILLED = -signal.SIGKILL
BRONZE_POINTS = ("bronze-files-written", "bronze-metadata-written", "bronze-catalog-uncommitted")


def _seed(lake: Lake) -> list[str]:
    """Three committed rows the crash must not take away."""
    records = [make_record(n) for n in range(3)]
    BronzeWriter(lake).append(records)
    return sorted(r.extraction_id for r in records)


def _assert_orphans_removed(lake: Lake) -> None:
    """The dead writer's files are orphans; the safety age protects them until told."""
    young = find_orphans(lake, tables=[BRONZE_EXTRACTIONS])
    assert young.orphans == [], "files younger than the safety age must never be orphans"
    assert young.kept_young >= 1
    found = find_orphans(lake, older_than=timedelta(0), tables=[BRONZE_EXTRACTIONS])
    assert found.orphans, "the killed writer left files behind; the finder must see them"
    report = remove_orphans(lake, older_than=timedelta(0), tables=[BRONZE_EXTRACTIONS])
    assert report.failed == {}
    assert sorted(report.removed) == sorted(o.uri for o in found.orphans)
    assert find_orphans(lake, older_than=timedelta(0), tables=[BRONZE_EXTRACTIONS]).orphans == []


@pytest.mark.parametrize("point", BRONZE_POINTS)
def test_killed_backfill_leaves_no_partial_rows_and_recovers(lake: Lake, point: str) -> None:
    """SIGKILL at each commit step: bronze unchanged, orphans removable, next run succeeds."""
    committed = _seed(lake)
    killed = run_cli(
        lake.settings, "backfill", "ecb", "--file", str(SAMPLE_ZIP), crash_at=point
    )
    assert killed.returncode == KILLED, killed.stderr[-2000:]

    # No partial rows: exactly the rows committed before the crash, readable and intact.
    assert sorted(bronze_ids(lake)) == committed
    assert verify_lake(lake).ok

    _assert_orphans_removed(lake)
    # Removing orphans never touches a committed file.
    assert sorted(bronze_ids(lake)) == committed
    assert verify_lake(lake).ok

    rerun = CliRunner().invoke(
        main, ["backfill", "ecb", "--file", str(SAMPLE_ZIP)], env=settings_env(lake.settings)
    )
    assert rerun.exit_code == 0, rerun.output
    after = bronze_ids(lake)
    assert len(after) == len(set(after)) == len(committed) + 1
    assert set(committed) <= set(after)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA for the loopback HTTPS source."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def source(ca: LoopbackCa) -> Iterator[Running]:
    """open.er-api on loopback HTTPS."""
    router = Router()
    router.add("/v6/latest/USD", Reply(body=payloads.OPEN_ER_LATEST))
    with serve(router, tls=ca.server_context()) as running:
        yield running


def test_killed_ingest_before_commit_recovers(
    tmp_path: Path, source: Running, ca: LoopbackCa
) -> None:
    """An HTTP ingest killed after writing its data files commits nothing; the rerun does."""
    lake = open_lake(
        load_settings(home=tmp_path / "lake", open_er_api_url=source.url, http_ca_file=ca.ca_file)
    )
    committed = _seed(lake)
    args = ("ingest", "--source", "open-er-api", "--base", "USD")
    killed = run_cli(lake.settings, *args, crash_at="bronze-files-written")
    assert killed.returncode == KILLED, killed.stderr[-2000:]
    assert sorted(bronze_ids(lake)) == committed
    _assert_orphans_removed(lake)
    rerun = run_cli(lake.settings, *args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = bronze_ids(lake)
    assert len(after) == len(set(after)) == len(committed) + 1


@pytest.mark.parametrize("point", ["publish-table-loaded", "publish-mid-switch"])
def test_killed_publish_keeps_the_previous_complete_publish(
    tmp_path: Path, pg_database: str, point: str
) -> None:
    """SIGKILL during publish: the view still shows the last whole publish; the next works."""
    lake = open_lake(load_settings(home=tmp_path / "lake", publish_dsn=pg_database))
    backfill(lake)
    first = publish(lake, days=30)
    before = published_state(pg_database)
    assert before.view_rows == first.rows

    # A new gold snapshot to publish: one more ECB day.
    backfill(lake, ecb_csv_with_extra_day(tmp_path, "2026-11-02"))
    killed = run_cli(lake.settings, "publish", "--days", "30", crash_at=point)
    assert killed.returncode == KILLED, killed.stderr[-2000:]

    during = published_state(pg_database)
    assert during.current == before.current
    assert during.view_rows == first.rows
    assert during.view_snapshot_ids == {first.gold_snapshot_id}

    rerun = run_cli(lake.settings, "publish", "--days", "30")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = published_state(pg_database)
    assert len(after.current) == 1
    table_name, snapshot_id, row_count = after.current[0]
    assert snapshot_id != first.gold_snapshot_id
    assert after.view_rows == row_count
    assert after.view_snapshot_ids == {snapshot_id}
    # The half-made table of the killed publish is gone: only the live one remains.
    assert after.tables == [table_name]
