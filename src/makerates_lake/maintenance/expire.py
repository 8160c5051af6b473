"""Snapshot expiry for every table, on the audit retention rules.

Silver, gold and the access log go through :func:`maintain`: it expires snapshots older
than a window, but never a tagged snapshot (``transform-v<N>``, ``pre-reprocess-*``,
published ones), a branch head, or the newest ``keep_last`` snapshots, so as-of reads of
what was published keep working. It refuses bronze on purpose, so bronze has its own
path here with the same rule plus one more guard: only snapshots older than the window
go. Bronze is append-only and compaction keeps every row, so the oldest kept snapshot
still holds every row an expired one held; an as-of read of bronze older than the window
filters the oldest kept snapshot by ``extraction_timestamp``.
Expiry only edits metadata: no file is deleted (bronze objects stay under Object Lock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from makerates_lake.errors import RetentionError
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.store.branches import expire_wap_branches
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_TABLES, SILVER_TABLES, TableSpec
from makerates_lake.store.types import Table
from makerates_lake.wap_thresholds import Thresholds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpiredSnapshots:
    """What :func:`maintain` expired in one table."""

    table: str
    expired: tuple[int, ...]
    kept_tagged: tuple[int, ...]


def _protected(table: Table, keep_last: int) -> tuple[set[int], set[int]]:
    tagged = {ref.snapshot_id for ref in table.metadata.refs.values()}
    newest = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)[-keep_last:]
    return tagged, tagged | {s.snapshot_id for s in newest}


def maintain(
    lake: Lake,
    *,
    older_than: timedelta | None = None,
    keep_last: int = 1,
    now: datetime | None = None,
    tables: Sequence[TableSpec] = (*SILVER_TABLES, *GOLD_TABLES),
    dry_run: bool = False,
) -> list[ExpiredSnapshots]:
    """Expire silver/gold snapshots older than ``older_than``, never tagged ones.

    Args:
        lake: The open lake.
        older_than: Snapshots committed before ``now - older_than`` may go; default the
            ``snapshot_retention_days`` setting.
        keep_last: The newest snapshots always kept, whatever their age (at least 1).
        now: Reference time; default the current time.
        tables: Tables to maintain; bronze is refused (its history is the audit trail).
        dry_run: Report what would be expired without committing.

    Raises:
        RetentionError: ``tables`` names bronze, or ``keep_last`` < 1.
    """
    if keep_last < 1:
        raise RetentionError("keep_last must be at least 1", keep_last=keep_last)
    if any(spec.in_bronze_bucket for spec in tables):
        raise RetentionError("maintain never expires bronze snapshots; use retention purge")
    if older_than is None:
        older_than = timedelta(days=lake.settings.snapshot_retention_days)
    cutoff_ms = int(((now or datetime.now(UTC)) - older_than).timestamp() * 1000)
    results = []
    for spec in tables:

        def attempt(table: Table) -> tuple[list[int], list[int], set[int]]:
            tagged, protected = _protected(table, keep_last)
            old = [s.snapshot_id for s in table.metadata.snapshots if s.timestamp_ms < cutoff_ms]
            expire = [s for s in old if s not in protected]
            if expire and not dry_run:
                table.maintenance.expire_snapshots().by_ids(expire).commit()
            return old, expire, tagged

        old, expire, tagged = commit(lake, spec, attempt)
        results.append(
            ExpiredSnapshots(
                spec.identifier, tuple(expire), tuple(sorted(s for s in old if s in tagged))
            )
        )
        log.info("snapshots expired", extra={"table": spec.identifier, "count": len(expire)})
    return results


@dataclass(frozen=True)
class ExpiryResult:
    """Snapshots expired and tagged snapshots kept, per table."""

    table: str
    expired: int
    kept_tagged: int


def expire_bronze(
    lake: Lake, policy: MaintenancePolicy, *, now: datetime | None = None
) -> ExpiryResult:
    """Expire bronze snapshots older than the window, never tagged ones or branch heads."""
    cutoff_ms = int(((now or datetime.now(UTC)) - policy.snapshot_window).timestamp() * 1000)

    def attempt(table: Table) -> tuple[list[int], list[int]]:
        refs = {ref.snapshot_id for ref in table.metadata.refs.values()}
        newest = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)
        keep = refs | {s.snapshot_id for s in newest[-max(1, policy.keep_last) :]}
        old = [s.snapshot_id for s in table.metadata.snapshots if s.timestamp_ms < cutoff_ms]
        expire = [s for s in old if s not in keep]
        if expire:
            table.maintenance.expire_snapshots().by_ids(expire).commit()
        return expire, [s for s in old if s in refs]

    expire, kept_tagged = commit(lake, BRONZE_EXTRACTIONS, attempt)
    return ExpiryResult(BRONZE_EXTRACTIONS.identifier, len(expire), len(kept_tagged))



def expire_all(
    lake: Lake,
    tables: tuple[TableSpec, ...],
    policy: MaintenancePolicy,
    *,
    now: datetime | None = None,
) -> list[ExpiryResult]:
    """Expire snapshots of ``tables`` (bronze by :func:`expire_bronze`, the rest by audit)."""
    results: list[ExpiryResult] = []
    if any(spec.in_bronze_bucket for spec in tables):
        results.append(expire_bronze(lake, policy, now=now))
    others = tuple(spec for spec in tables if not spec.in_bronze_bucket)
    if others:
        # Held or abandoned write-audit-publish runs: a branch head is never expired, so
        # an old branch would keep its snapshots (and files) forever (docs/audit.md).
        age = Thresholds.parse(lake.settings.wap_thresholds).branch_max_age_days
        expire_wap_branches(lake, timedelta(days=age), now=now)
        done: list[ExpiredSnapshots] = maintain(
            lake,
            older_than=policy.snapshot_window,
            keep_last=max(1, policy.keep_last),
            now=now,
            tables=others,
        )
        results.extend(ExpiryResult(r.table, len(r.expired), len(r.kept_tagged)) for r in done)
    return results
