"""Snapshot expiry for every table, on the audit retention rules.

Silver, gold and the access log go through :func:`makerates_lake.audit.retention.maintain`
(tags, branch heads and the newest ``keep_last`` survive). That function refuses bronze on
purpose, so bronze has its own path here with the same rule plus one more guard: only
snapshots older than the window go. Bronze is append-only and compaction keeps every row,
so the oldest kept snapshot still holds every row an expired one held; an as-of read of
bronze older than the window filters the oldest kept snapshot by ``extraction_timestamp``.
Expiry only edits metadata: no file is deleted (bronze objects stay under Object Lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyiceberg.table import Table

from makerates_lake.audit.retention import ExpiredSnapshots, maintain
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, TableSpec


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
        done: list[ExpiredSnapshots] = maintain(
            lake,
            older_than=policy.snapshot_window,
            keep_last=max(1, policy.keep_last),
            now=now,
            tables=others,
        )
        results.extend(ExpiryResult(r.table, len(r.expired), len(r.kept_tagged)) for r in done)
    return results
