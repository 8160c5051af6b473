"""One maintenance pass over the lake, and the automatic trigger that starts one.

A pass, per table: set the properties that bound manifests and metadata, compact small
files, expire old snapshots (keeping tagged and audit-required ones), then remove orphan
files. Bronze orphans are judged by content (:mod:`.bronze_orphans`): a dead writer's files
go, compaction's originals, whose rows are still in the table, stay where compaction
promised to leave them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from makerates_lake.maintenance.compact import CompactionResult, compact_table
from makerates_lake.maintenance.expire import ExpiryResult, expire_all
from makerates_lake.maintenance.policy import (
    LAST_RUN_PROPERTY,
    MaintenancePolicy,
    apply_table_properties,
    auto_enabled,
    trigger_snapshots,
)
from makerates_lake.progress import StageProgress
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import set_properties
from makerates_lake.store.files import files_per_partition
from makerates_lake.store.refs import snapshots_since
from makerates_lake.store.tables import ALL_TABLES, TableSpec
from makerates_lake.store.types import Table

log = logging.getLogger(__name__)

#: What :func:`run_maintenance` counts for ``on_progress``, each in tables done so far.
COMPACT_STEP = "maintain: tables compacted"
EXPIRE_STEP = "maintain: tables expired"
ORPHANS_STEP = "maintain: tables cleared of orphans"


@dataclass(frozen=True)
class TableStats:
    """Size of one table's current state: what maintenance bounds."""

    table: str
    snapshots: int
    data_files: int
    manifests: int
    max_files_per_partition: int
    metadata_json_bytes: int


@dataclass
class MaintenanceReport:
    """What :func:`run_maintenance` did, table by table."""

    properties_changed: dict[str, dict[str, str]] = field(default_factory=dict)
    compaction: list[CompactionResult] = field(default_factory=list)
    expiry: list[ExpiryResult] = field(default_factory=list)
    orphans_removed: int = 0
    orphans_failed: int = 0
    #: Unreferenced bronze files kept because their rows are still in the table.
    bronze_originals_kept: int = 0
    #: Unreferenced bronze files kept because they could not be judged: uri -> reason.
    bronze_unclear_kept: dict[str, str] = field(default_factory=dict)
    before: list[TableStats] = field(default_factory=list)
    after: list[TableStats] = field(default_factory=list)


def table_stats(lake: Lake, spec: TableSpec) -> TableStats:
    """Snapshots, live data files, manifests and metadata size of a table now."""
    table = lake.table(spec, refresh=True)
    snapshot = table.current_snapshot()
    manifests = len(snapshot.manifests(table.io)) if snapshot else 0
    counts = files_per_partition(table)
    with table.io.new_input(table.metadata_location).open() as stream:
        metadata_bytes = len(stream.read())
    return TableStats(
        spec.identifier,
        len(table.metadata.snapshots),
        sum(counts.values()),
        manifests,
        max(counts.values(), default=0),
        metadata_bytes,
    )


def snapshots_since_maintenance(table: Table, limit: int) -> int:
    """Snapshots on the main branch since the last maintenance, counting up to ``limit``."""
    return snapshots_since(table, table.metadata.properties.get(LAST_RUN_PROPERTY), limit)


def _mark_done(lake: Lake, spec: TableSpec) -> None:
    def done_at(table: Table) -> dict[str, str]:
        snapshot = table.current_snapshot()
        # Unchanged, a commit would only add another metadata.json (bronze keeps them all);
        # set_properties commits nothing when the value is already there.
        return {} if snapshot is None else {LAST_RUN_PROPERTY: str(snapshot.snapshot_id)}

    set_properties(lake, spec, done_at)


def _remove_orphans(
    lake: Lake,
    tables: tuple[TableSpec, ...],
    policy: MaintenancePolicy,
    report: MaintenanceReport,
    *,
    now: datetime | None,
    on_progress: StageProgress | None,
) -> None:
    # Imported here: orphan removal loads the audit and silver readers, which the
    # automatic maintenance after each ingest (orphans=False) never needs.
    from makerates_lake.maintenance.bronze_orphans import remove_bronze_orphans
    from makerates_lake.maintenance.orphans import remove_orphans

    derived = tuple(spec for spec in tables if not spec.in_bronze_bucket)
    _report(on_progress, ORPHANS_STEP, 0, len(tables))
    if derived:
        done = remove_orphans(lake, older_than=policy.orphan_min_age, now=now, tables=derived)
        report.orphans_removed += len(done.removed)
        report.orphans_failed += len(done.failed)
        _report(on_progress, ORPHANS_STEP, len(derived), len(tables))
    if any(spec.in_bronze_bucket for spec in tables):
        bronze = remove_bronze_orphans(lake, older_than=policy.orphan_min_age, now=now)
        report.orphans_removed += len(bronze.removed.removed)
        report.orphans_failed += len(bronze.removed.failed)
        report.bronze_originals_kept = len(bronze.kept_committed)
        report.bronze_unclear_kept = bronze.kept_unclear
        _report(on_progress, ORPHANS_STEP, len(tables), len(tables))


def _report(on_progress: StageProgress | None, step: str, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(step, done, total)


def run_maintenance(
    lake: Lake,
    *,
    tables: tuple[TableSpec, ...] = ALL_TABLES,
    policy: MaintenancePolicy | None = None,
    compact: bool = True,
    expire: bool = True,
    orphans: bool = True,
    now: datetime | None = None,
    on_progress: StageProgress | None = None,
) -> MaintenanceReport:
    """Maintain ``tables``: bound properties, compact, expire snapshots, remove orphans.

    Args:
        lake: The open lake.
        tables: Tables to maintain; default every table.
        policy: Targets and thresholds; default :class:`MaintenancePolicy`.
        compact: Rewrite small files of each partition into target-size files.
        expire: Expire snapshots older than the policy's window (never tagged ones).
        orphans: Remove unreferenced files older than the policy's safety age (in
            bronze only those holding no committed row, see :mod:`.bronze_orphans`).
        now: Reference time for expiry and orphan age; default the current time.
        on_progress: Gets :data:`COMPACT_STEP`, :data:`EXPIRE_STEP` and
            :data:`ORPHANS_STEP` (the parts that run), each with the tables done so far.
    """
    policy = policy or MaintenancePolicy()
    report = MaintenanceReport()
    report.before = [table_stats(lake, spec) for spec in tables]
    report.properties_changed = apply_table_properties(lake, tables)
    if compact:
        for done, spec in enumerate(tables):
            _report(on_progress, COMPACT_STEP, done, len(tables))
            report.compaction.append(compact_table(lake, spec, policy))
        _report(on_progress, COMPACT_STEP, len(tables), len(tables))
    if expire:
        # One call for every table: bronze and the derived tables expire by different rules.
        _report(on_progress, EXPIRE_STEP, 0, len(tables))
        report.expiry = expire_all(lake, tables, policy, now=now)
        _report(on_progress, EXPIRE_STEP, len(tables), len(tables))
    if orphans:
        _remove_orphans(lake, tables, policy, report, now=now, on_progress=on_progress)
    for spec in tables:
        _mark_done(lake, spec)
    report.after = [table_stats(lake, spec) for spec in tables]
    return report


def maybe_maintain(
    lake: Lake, spec: TableSpec, policy: MaintenancePolicy | None = None
) -> MaintenanceReport | None:
    """Maintain ``spec`` when enough snapshots piled up since its last maintenance.

    Called after a commit. Cheap when nothing is due (reads the loaded metadata only).
    A failure is logged, never raised: the caller's commit already succeeded, and the
    next commit tries again.
    """
    policy = policy or MaintenancePolicy()
    try:
        table = lake.table(spec, refresh=False)
        if not auto_enabled(table):
            return None
        threshold = trigger_snapshots(table, policy)
        if snapshots_since_maintenance(table, threshold) < threshold:
            return None
        # Orphan removal lists the whole table location: too slow to run inline with an
        # ingest; it runs with ``makerates maintain`` instead.
        return run_maintenance(lake, tables=(spec,), policy=policy, orphans=False)
    except Exception:  # the commit that called us must not fail because of maintenance
        log.warning("automatic maintenance failed", extra={"table": spec.identifier}, exc_info=True)
        return None
