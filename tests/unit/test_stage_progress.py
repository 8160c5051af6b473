"""Each stage's ``on_progress`` hook counts the work it really did, on a small embedded lake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from makerates_lake import store
from makerates_lake.audit import verify as audit_verify
from makerates_lake.audit.verify import verify_lake
from makerates_lake.bronze import verify as bronze_verify
from makerates_lake.bronze.verify import verify_bronze
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.gold import build as gold_build
from makerates_lake.gold.build import build_gold, gold_rows, replace_gold
from makerates_lake.maintenance import run as maintenance_run
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.maintenance.run import run_maintenance
from makerates_lake.silver import build as silver_build
from makerates_lake.silver.build import mark_transformed, rebuild_silver, transform
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import ALL_TABLES, GOLD_TABLES
from tests.audit_helpers import FIRST_DAY, build_small_lake, day_record

Report = tuple[str, int, int | None]


class Recorder:
    """A StageProgress that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[Report] = []

    def __call__(self, step: str, done: int, total: int | None) -> None:
        self.calls.append((step, done, total))

    def of(self, step: str) -> list[tuple[int, int | None]]:
        return [(done, total) for name, done, total in self.calls if name == step]


def assert_advances_to(reports: list[tuple[int, int | None]], final: int) -> None:
    """Counts never go back and end at ``final``, which is also the last total."""
    counts = [done for done, _ in reports]
    assert counts == sorted(counts)
    assert reports[-1] == (final, final)


def write_days(lake: Lake, days: int) -> None:
    """Bronze for ``days`` days from FIRST_DAY, one commit (no transform)."""
    BronzeWriter(lake).append([day_record(FIRST_DAY + timedelta(days=i), i) for i in range(days)])


def gold_snapshots(lake: Lake) -> dict[str, int | None]:
    return {spec.identifier: store.current_snapshot_id(lake, spec) for spec in GOLD_TABLES}


def test_transform_counts_the_bronze_rows_it_carries_into_silver(embedded_lake: Lake) -> None:
    """silver's transform reports none of the pending rows once read, all once committed."""
    write_days(embedded_lake, 3)
    seen = Recorder()
    result = transform(embedded_lake, on_progress=seen)
    assert result.extractions == 3
    assert seen.of(silver_build.PROGRESS_STEP) == [(0, 3), (3, 3)]
    mark_transformed(embedded_lake, result.done, transform_version=CURRENT_TRANSFORM_VERSION)
    nothing = Recorder()
    assert transform(embedded_lake, on_progress=nothing).extractions == 0
    assert nothing.of(silver_build.PROGRESS_STEP) == [(0, 0)]


def test_gold_counts_each_table_it_commits(embedded_lake: Lake) -> None:
    """build_gold reports the fact table and then each dimension, as each is committed."""
    write_days(embedded_lake, 3)
    silver = transform(embedded_lake)
    before = gold_snapshots(embedded_lake)
    seen = Recorder()
    build_gold(embedded_lake, first=silver.first_date, last=silver.last_date, on_progress=seen)
    reports = seen.of(gold_build.PROGRESS_STEP)
    assert reports[0] == (0, None)  # before the facts are built: the total is not known
    changed = [t for t, snapshot in gold_snapshots(embedded_lake).items() if before[t] != snapshot]
    assert len(changed) == len(GOLD_TABLES)
    assert_advances_to(reports, len(changed))
    assert [done for done, _ in reports] == list(range(len(GOLD_TABLES) + 1))


def test_a_rebuild_counts_bronze_rows_and_gold_tables(embedded_lake: Lake) -> None:
    """rebuild_silver reports every bronze row in range; replace_gold each table."""
    build_small_lake(embedded_lake, days=4)
    seen = Recorder()
    silver, built = rebuild_silver(
        embedded_lake,
        meanwhile=lambda rows: gold_rows(rows, CURRENT_TRANSFORM_VERSION),
        on_progress=seen,
    )
    assert silver.extractions == 4
    assert seen.of(silver_build.PROGRESS_STEP) == [(0, 4), (4, 4)]
    replace_gold(embedded_lake, built, CURRENT_TRANSFORM_VERSION, on_progress=seen)
    assert_advances_to(seen.of(gold_build.PROGRESS_STEP), len(GOLD_TABLES))


def test_bronze_verify_counts_every_file_it_checks(embedded_lake: Lake) -> None:
    """verify_bronze reports each data file in turn, ending at files_checked."""
    write_days(embedded_lake, 2)
    write_days(embedded_lake, 1)  # another commit: more files to check
    seen = Recorder()
    report = verify_bronze(embedded_lake, on_progress=seen)
    assert report.ok
    assert report.files_checked >= 2
    reports = seen.of(bronze_verify.PROGRESS_STEP)
    assert [done for done, _ in reports] == list(range(report.files_checked + 1))
    assert_advances_to(reports, report.files_checked)


def test_audit_verify_counts_bronze_files_then_lineage_tables(embedded_lake: Lake) -> None:
    """verify_lake reports bronze's files, the files whose ids it reads, then the three
    silver and gold tables, in that order."""
    build_small_lake(embedded_lake)
    seen = Recorder()
    report = verify_lake(embedded_lake, on_progress=seen)
    assert report.ok
    assert_advances_to(seen.of(bronze_verify.PROGRESS_STEP), report.bronze.files_checked)
    assert_advances_to(seen.of(audit_verify.IDS_STEP), report.bronze.files_checked)
    lineage = seen.of(audit_verify.PROGRESS_STEP)
    assert [done for done, _ in lineage] == [0, 1, 2, 3]
    assert_advances_to(lineage, len(report.rows_checked) - 1)  # bronze's count is not a table
    steps = list(dict.fromkeys(step for step, _, _ in seen.calls))
    assert steps == [bronze_verify.PROGRESS_STEP, audit_verify.IDS_STEP, audit_verify.PROGRESS_STEP]


def test_maintenance_counts_tables_in_each_part(embedded_lake: Lake) -> None:
    """run_maintenance reports every table compacted, expired and cleared of orphans."""
    build_small_lake(embedded_lake)
    seen = Recorder()
    report = run_maintenance(
        embedded_lake, policy=MaintenancePolicy(orphan_min_age=timedelta(0)), on_progress=seen
    )
    tables = len(ALL_TABLES)
    compacted = seen.of(maintenance_run.COMPACT_STEP)
    assert [done for done, _ in compacted] == list(range(tables + 1))
    assert_advances_to(compacted, len(report.compaction))
    assert_advances_to(seen.of(maintenance_run.EXPIRE_STEP), len(report.expiry))
    assert_advances_to(seen.of(maintenance_run.ORPHANS_STEP), tables)


@pytest.mark.parametrize(
    ("compact", "steps"),
    [(False, [maintenance_run.EXPIRE_STEP]), (True, [maintenance_run.COMPACT_STEP])],
)
def test_maintenance_reports_only_the_parts_it_runs(
    embedded_lake: Lake, compact: bool, steps: list[str]
) -> None:
    """A part switched off reports nothing."""
    seen = Recorder()
    run_maintenance(
        embedded_lake, compact=compact, expire=not compact, orphans=False, on_progress=seen
    )
    assert list(dict.fromkeys(step for step, _, _ in seen.calls)) == steps
