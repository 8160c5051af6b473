"""Crashes: a child process SIGKILLed at each step of a bronze, silver or gold commit
or a publish.

The child is the real ``makerates`` CLI with one crash point installed (see
``reliability_helpers``). Afterwards no partial rows are visible, everything committed
before is still there, the next run succeeds, and the files the dead writer left behind
are found by :mod:`makerates_lake.maintenance.orphans` and removed by ``makerates maintain``.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from makerates_lake.audit.verify import verify_lake
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.cli import main
from makerates_lake.extract.jobs import backfill_ecb
from makerates_lake.maintenance.orphans import OrphanFile, find_orphans, io_location
from makerates_lake.pipeline import backfill, run_transform
from makerates_lake.publish.postgres import publish
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import (
    ALL_TABLES,
    BRONZE_EXTRACTIONS,
    GOLD_FACT_RATE,
    GOLD_TABLES,
    SILVER_RATES,
    SILVER_REJECTS,
)
from tests.integration.bronze_helpers import make_record
from tests.integration.extract_servers import LoopbackCa, Reply, Router, Running, make_ca, serve
from tests.integration.reliability_helpers import (
    SAMPLE_ZIP,
    bronze_ids,
    ecb_csv_with_extra_day,
    published_state,
    run_cli,
    settings_env,
    table_rows,
)
from tests.unit.extract import payloads

pytestmark = pytest.mark.integration

KILLED = -signal.SIGKILL
#: Where any catalog can lose a writer: files written, no commit asked for.
BRONZE_POINTS = ("bronze-files-written",)
#: Steps inside a SQL catalog's own commit (its metadata file, its pointer transaction); a
#: REST catalog does both on the server, so its own point is ``bronze-rest-committed``.
SQL_CATALOG_POINTS = ("bronze-metadata-written", "bronze-catalog-uncommitted")


def _seed(lake: Lake) -> list[str]:
    """Three committed rows the crash must not take away."""
    records = [make_record(n) for n in range(3)]
    BronzeWriter(lake).append(records)
    return sorted(r.extraction_id for r in records)


def _maintain_removes(lake: Lake, orphans: list[OrphanFile]) -> None:
    """``makerates maintain`` (safety age 0) removes every one of ``orphans``.

    A default ``maintain`` first: the 3-day safety age must keep the dead writer's files.
    That nothing committed is touched, the callers check on the tables themselves.
    """
    env = settings_env(lake.settings)
    kept = CliRunner().invoke(main, ["maintain"], env=env)
    assert kept.exit_code == 0, kept.output
    gone = [o.uri for o in orphans if not _exists(lake, o)]
    assert not gone, f"a young file must survive maintain: {gone}\n{kept.output}"

    result = CliRunner().invoke(main, ["maintain", "--orphan-min-age-days", "0"], env=env)
    assert result.exit_code == 0, result.output
    removed = re.search(r"orphan files removed: (\d+) \(failed: 0\)", result.output)
    assert removed is not None, result.output
    assert int(removed.group(1)) >= len(orphans), result.output
    assert not [o.uri for o in orphans if _exists(lake, o)], "maintain left orphans behind"


def _exists(lake: Lake, orphan: OrphanFile) -> bool:
    spec = next(s for s in ALL_TABLES if s.identifier == orphan.table)
    return lake.table(spec).io.new_input(io_location(orphan.uri)).exists()


def _assert_orphans_removed(lake: Lake) -> None:
    """The dead writer's files are orphans; the safety age protects them until told."""
    young = find_orphans(lake, tables=[BRONZE_EXTRACTIONS])
    assert young.orphans == [], "files younger than the safety age must never be orphans"
    assert young.kept_young >= 1
    found = find_orphans(lake, older_than=timedelta(0), tables=[BRONZE_EXTRACTIONS])
    assert found.orphans, "the killed writer left files behind; the finder must see them"
    _maintain_removes(lake, found.orphans)
    assert find_orphans(lake, older_than=timedelta(0), tables=[BRONZE_EXTRACTIONS]).orphans == []


@pytest.mark.parametrize("point", BRONZE_POINTS)
def test_killed_backfill_leaves_no_partial_rows_and_recovers(lake: Lake, point: str) -> None:
    """SIGKILL before the commit: bronze unchanged, orphans removable, next run succeeds."""
    _killed_backfill_recovers(lake, point)


@pytest.mark.parametrize("point", SQL_CATALOG_POINTS)
def test_killed_sql_catalog_commit_leaves_no_partial_rows(sql_lake: Lake, point: str) -> None:
    """SIGKILL inside the SQL catalog's commit: the same guarantees as above."""
    _killed_backfill_recovers(sql_lake, point)


def test_rest_commit_accepted_but_never_answered_is_stored_once(rest_s3_lake: Lake) -> None:
    """Killed after the REST catalog accepted bronze's commit, before the writer heard:
    the rows are there once, intact, and the rerun stores nothing twice."""
    lake = rest_s3_lake
    committed = _seed(lake)
    killed = run_cli(
        lake.settings,
        "backfill",
        "ecb",
        "--file",
        str(SAMPLE_ZIP),
        crash_at="bronze-rest-committed",
    )
    assert killed.returncode == KILLED, killed.stderr[-2000:]
    after_crash = bronze_ids(lake)
    assert len(after_crash) == len(set(after_crash)) == len(committed) + 1
    assert verify_lake(lake).ok
    rerun = CliRunner().invoke(
        main, ["backfill", "ecb", "--file", str(SAMPLE_ZIP)], env=settings_env(lake.settings)
    )
    assert rerun.exit_code == 0, rerun.output
    assert "already stored" in rerun.output
    assert sorted(bronze_ids(lake)) == sorted(after_crash)


def _killed_backfill_recovers(lake: Lake, point: str) -> None:
    """A backfill killed at ``point``: no partial rows, orphans removable, rerun stores once."""
    committed = _seed(lake)
    killed = run_cli(lake.settings, "backfill", "ecb", "--file", str(SAMPLE_ZIP), crash_at=point)
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
    # The half-made tables of the killed publish are gone: only the live ones remain.
    assert after.tables == [table_name, f"{table_name}_provenance"]


# --- silver and gold -------------------------------------------------------------------

#: Silver and gold tables, each compared whole before and after a crash.
DERIVED_TABLES = (SILVER_RATES, SILVER_REJECTS, *GOLD_TABLES)
#: The next extraction's extra day carries an impossible rate for every currency, so the
#: transform of that extraction writes both silver.rates and silver.rejects rows.
NEW_DAY, NEW_DAY_RATE = "2026-11-02", "-1.5"

Tables = dict[str, pl.DataFrame]


class CleanRunMismatchError(AssertionError):
    """After the crash and the rerun, a table is not what a run without the crash gives."""


def _tables(lake: Lake) -> Tables:
    return {spec.identifier: table_rows(lake, spec) for spec in DERIVED_TABLES}


def _differences(got: Tables, want: Tables) -> list[str]:
    """One line per table that differs: row counts and rows found only on either side."""
    lines = []
    for name, expected in want.items():
        actual = got[name]
        if actual.equals(expected):
            continue
        only_got, only_want = (
            a.join(b, on=a.columns, how="anti", nulls_equal=True).height
            for a, b in ((actual, expected), (expected, actual))
        )
        lines.append(
            f"{name}: {actual.height} rows, expected {expected.height} "
            f"({only_got} unexpected, {only_want} missing)"
        )
    return lines


class CleanRuns:
    """Two ECB extractions (A, then B) and what each command makes of them without a crash.

    The records are built once, so every lake of the module holds the very same bronze
    rows (same extraction_ids and times) and its silver and gold can be compared exactly.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._records: tuple[BronzeRecord, BronzeRecord] | None = None
        self._results: dict[str, Tables] = {}

    def records(self) -> tuple[BronzeRecord, BronzeRecord]:
        """Bronze records A (the bundled sample) and B (one more day, with rejects)."""
        if self._records is None:
            scratch = open_lake(load_settings(home=self.folder / "scratch"))
            backfill_ecb(scratch, path=SAMPLE_ZIP)
            extra = ecb_csv_with_extra_day(self.folder, NEW_DAY, NEW_DAY_RATE)
            backfill_ecb(scratch, path=extra)
            rows = scratch.bronze().scan().to_arrow().to_pylist()
            first, second = sorted(rows, key=lambda row: row["extraction_timestamp"])
            self._records = (BronzeRecord(**first), BronzeRecord(**second))
        return self._records

    def prepare(self, lake: Lake) -> None:
        """A transformed into silver and gold; B in bronze, not transformed yet."""
        first, second = self.records()
        BronzeWriter(lake).append([first])
        run_transform(lake)
        BronzeWriter(lake).append([second])

    def tables(self, command: str) -> Tables:
        """Silver and gold after ``command`` ran on a prepared lake without a crash."""
        if command not in self._results:
            lake = open_lake(load_settings(home=self.folder / f"clean-{command}"))
            self.prepare(lake)
            result = CliRunner().invoke(main, [command], env=settings_env(lake.settings))
            assert result.exit_code == 0, result.output
            self._results[command] = _tables(lake)
        return self._results[command]


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> CleanRuns:
    """The module's clean runs, computed on first use (inside a test's isolated env)."""
    return CleanRuns(tmp_path_factory.mktemp("clean-runs"))


def _assert_dead_writer_files_removed(lake: Lake, target: str, command: str) -> None:
    """The killed commit's files are orphans of ``target`` (a streamed reprocess writes
    every table's files before its first commit, so there the other tables' files are
    orphans too); removed, nothing else is."""
    young = find_orphans(lake, tables=DERIVED_TABLES)
    assert young.orphans == [], "files younger than the safety age must never be orphans"
    assert young.kept_young >= 1
    found = find_orphans(lake, older_than=timedelta(0), tables=DERIVED_TABLES)
    orphaned = {o.table for o in found.orphans}
    if command == "reprocess":
        assert target in orphaned, found.orphans
        assert orphaned <= {spec.identifier for spec in DERIVED_TABLES}, found.orphans
    else:
        assert orphaned == {target}, found.orphans
    # The new data files themselves, not only metadata, were left behind and are found.
    assert any(o.uri.endswith(".parquet") for o in found.orphans), found.orphans
    _maintain_removes(lake, found.orphans)
    assert find_orphans(lake, older_than=timedelta(0), tables=DERIVED_TABLES).orphans == []


#: (command, table whose first data commit is hit). silver.rates and gold.fact_rate are
#: the first commit of each layer; silver.rejects is transform's second silver commit, so
#: a transform killed there or at gold must be completed by the next transform.
_TARGETS = (
    ("transform", SILVER_RATES.identifier),
    ("transform", SILVER_REJECTS.identifier),
    ("transform", GOLD_FACT_RATE.identifier),
    ("reprocess", SILVER_RATES.identifier),
    ("reprocess", GOLD_FACT_RATE.identifier),
)

#: Every point on the embedded layout; on PostgreSQL + S3 (slower: 20-40 s a case) the
#: in-transaction point of reprocess's gold commit, where the catalog transaction is a
#: real server's and silver was committed just before.
DERIVED_POINTS = [
    pytest.param(layout, command, target, step, id=f"{layout}-{command}-{target}-{step}")
    for layout, steps in (
        ("embedded", ("files-written", "catalog-uncommitted")),
        ("postgres_s3", ("catalog-uncommitted",)),
    )
    for command, target in _TARGETS
    for step in steps
    if layout == "embedded" or (command, target) == ("reprocess", GOLD_FACT_RATE.identifier)
]


@pytest.mark.parametrize(("layout", "command", "target", "step"), DERIVED_POINTS)
def test_killed_silver_gold_commit_leaves_no_partial_rows_and_recovers(
    request: pytest.FixtureRequest,
    clean_runs: CleanRuns,
    layout: str,
    command: str,
    target: str,
    step: str,
) -> None:
    """SIGKILL in a silver/gold commit: no partial table, orphans removable, rerun is clean."""
    settings_fixture = "embedded_settings" if layout == "embedded" else "pg_s3_settings"
    lake = open_lake(request.getfixturevalue(settings_fixture))
    clean_runs.prepare(lake)
    before = _tables(lake)
    assert find_orphans(lake, older_than=timedelta(0), tables=DERIVED_TABLES).orphans == []
    clean = clean_runs.tables(command)
    assert not before[target].equals(clean[target]), "the killed commit must change the table"

    killed = run_cli(lake.settings, command, crash_at=f"{target}:{step}")
    assert killed.returncode == KILLED, killed.stderr[-2000:]

    # No partial rows, and nothing of the run at all: silver and gold change on the run's
    # branch and reach main together after the checks (write-audit-publish), so a run
    # killed in any of its commits leaves every table's main as it was.
    during = _tables(lake)
    for name, rows in during.items():
        assert rows.equals(before[name]), f"{name} changed"

    _assert_dead_writer_files_removed(lake, target, command)
    assert _differences(_tables(lake), during) == []  # removal touched no committed file

    rerun = CliRunner().invoke(main, [command], env=settings_env(lake.settings))
    assert rerun.exit_code == 0, rerun.output
    differences = _differences(_tables(lake), clean)
    if differences:
        raise CleanRunMismatchError(f"after the rerun of {command}: {differences}")
