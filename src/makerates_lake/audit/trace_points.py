"""Which silver and bronze snapshots go with the gold snapshot a trace reads.

Gold is read as of what the caller asked for; silver and bronze as of the moment that
gold snapshot became gold's ``main``, which is the silver a write-audit-publish run
published with it. A gold snapshot that a held run left on its branch (never on
``main``) goes with silver's snapshot on the branch of the same name at the time gold's
was committed, which is the silver that run wrote before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from makerates_lake.store.refs import (
    AsOf,
    SnapshotNotFoundError,
    branch_snapshot_at,
    held_branch_of,
    resolve_as_of,
)
from makerates_lake.store.types import Table


def companions(
    gold: Table, silver: Table, bronze: Table, gold_snapshot_id: int | None, as_of: AsOf | None
) -> tuple[int | None, int | None]:
    """Snapshot ids of silver and bronze to read with gold's ``gold_snapshot_id``, found as
    of ``as_of`` (None when that table was empty then).

    Raises:
        SnapshotNotFoundError: Silver's history at that moment was expired.
    """
    committed = None if gold_snapshot_id is None else gold.snapshot_by_id(gold_snapshot_id)
    if committed is None:
        return _companion(silver, as_of, None), _bronze_companion(bronze, as_of, None)
    moment = _published_at(gold, committed.snapshot_id, committed.timestamp_ms, as_of)
    silver_id = None
    if as_of is not None and as_of.snapshot_id is not None:
        branch = held_branch_of(gold, committed.snapshot_id)
        if branch is not None:
            on_branch = branch_snapshot_at(silver, branch, committed.timestamp_ms)
            silver_id = None if on_branch is None else on_branch.snapshot_id
    if silver_id is None:
        silver_id = _companion(silver, as_of, moment)
    return silver_id, _bronze_companion(bronze, as_of, moment)


def _published_at(gold: Table, snapshot_id: int, committed_ms: int, as_of: AsOf | None) -> datetime:
    """When gold snapshot ``snapshot_id`` (committed at ``committed_ms``) became ``main``:
    the moment its silver and bronze are read at.

    A run commits gold on its write-audit branch and fast-forwards silver's ``main``, then
    gold's, only after its checks; the snapshot's own commit time is before that, when
    silver's ``main`` did not hold the run's rows yet. The snapshot log says when ``main``
    moved to it (the last such move, at or before an ``as_of`` time). A snapshot that was
    never on ``main`` (a held branch) falls back to its commit time. Half a millisecond
    later, so rounding never puts the moment before the entry.
    """
    limit = None
    if as_of is not None and as_of.timestamp is not None:
        limit = int(as_of.timestamp.timestamp() * 1000)
    millis = committed_ms
    for entry in gold.metadata.snapshot_log:
        if limit is not None and entry.timestamp_ms > limit:
            break
        if entry.snapshot_id == snapshot_id:
            millis = max(millis, entry.timestamp_ms)
    return datetime.fromtimestamp(millis / 1000, UTC) + timedelta(microseconds=500)


def _companion(table: Table, as_of: AsOf | None, moment: datetime | None) -> int | None:
    """The snapshot of a lower layer that goes with the gold snapshot read."""
    if as_of is None or moment is None:
        snapshot = resolve_as_of(table, None)
    elif as_of.tag is not None and table.snapshot_by_name(as_of.tag) is not None:
        # run_reprocess tags silver and gold alike: the tag names the exact pair.
        snapshot = resolve_as_of(table, as_of)
    else:
        snapshot = resolve_as_of(table, AsOf(timestamp=moment))
    return snapshot.snapshot_id if snapshot else None


def _bronze_companion(bronze: Table, as_of: AsOf | None, moment: datetime | None) -> int | None:
    """Bronze's :func:`_companion`, or its current snapshot if that moment's were expired:
    bronze is append-only (a purged row is then reported missing)."""
    try:
        return _companion(bronze, as_of, moment)
    except SnapshotNotFoundError:
        return _companion(bronze, None, None)
