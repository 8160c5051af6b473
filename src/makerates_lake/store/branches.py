"""Runs on a branch: silver and gold change on ``wap-<run>`` and reach ``main`` by a
guarded fast-forward (write-audit-publish, docs/audit.md).

Inside ``with on_branch(lake, name):``

* :meth:`Lake.table` presents every silver and gold table with the branch's head as its
  current snapshot (``main``'s while the branch does not exist yet), so every read the
  stages make (scans, duplicate checks, Polars) sees the run's own state unchanged;
* :func:`makerates_lake.store.commit.commit_files` stages its deletes and snapshots on
  the branch; the first commit creates it at ``main``'s head, in the same transaction.

Bronze, the access log and the audit tables are never branched: bronze is the truth a
branch is checked against, and a log must record what happened, published or not.
:func:`fast_forward` moves ``main`` to the branch's head only when ``main`` is still
where the run started, and the catalog asserts the same once more at commit time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from pyiceberg.table import Table
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.snapshots import is_ancestor_of

from makerates_lake.errors import LakeError
from makerates_lake.store._pyiceberg import manage_snapshots, open_transaction, present_ref
from makerates_lake.store.tables import GOLD_TABLES, SILVER_TABLES, TableSpec

if TYPE_CHECKING:
    from makerates_lake.store.catalog import Lake

MAIN: Final = "main"
#: Branches of write-audit-publish runs start with this; ``maintain`` expires them.
WAP_PREFIX: Final = "wap-"
#: The tables a run changes on its branch, in the order they are fast-forwarded.
BRANCHED_TABLES: Final[tuple[TableSpec, ...]] = (*SILVER_TABLES, *GOLD_TABLES)
_BRANCHED_IDS: Final = frozenset(spec.identifier for spec in BRANCHED_TABLES)

_ACTIVE: ContextVar[str | None] = ContextVar("makerates_branch", default=None)


class BranchMovedError(LakeError):
    """``main`` moved since the run started (another run published first); the branch is
    kept and ``main`` is not touched. Running again rebuilds on the new ``main``."""

    transient = True


class ProtectedRefError(LakeError):
    """A call would fast-forward from or remove ``main`` or a tag: only branches of runs
    are ever removed, so ``main`` (what every reader sees) and tags (``transform-v1``
    and other names as-of reads rely on) cannot vanish through a wrong name, whoever
    the caller. Nothing was changed."""


def is_tag(table: Table, name: str) -> bool:
    """Whether ``name`` is a tag of ``table`` (a ref that is not a branch)."""
    ref = table.metadata.refs.get(name)
    return ref is not None and ref.snapshot_ref_type != SnapshotRefType.BRANCH


def refuse_protected(table: Table, name: str, identifier: str) -> None:
    """Raise :class:`ProtectedRefError` when ``name`` is ``main`` or a tag of ``table``.

    Raises:
        ProtectedRefError: ``name`` is ``main`` or a tag.
    """
    if name == MAIN:
        raise ProtectedRefError(
            f"{name!r} is the published branch; it is never removed", ref=name, table=identifier
        )
    if is_tag(table, name):
        raise ProtectedRefError(
            f"{name!r} is a tag; tags are never removed", ref=name, table=identifier
        )


@contextmanager
def on_branch(lake: Lake, name: str) -> Iterator[str]:
    """Read and write silver and gold on branch ``name`` inside the block.

    Tables loaded before the block are presented again at their next
    :meth:`Lake.table` call; the block's end restores ``main`` the same way.
    """
    if not name or name == MAIN:
        raise ValueError("a run's branch needs a name other than main")
    token = _ACTIVE.set(name)
    try:
        yield name
    finally:
        _ACTIVE.reset(token)
        for table in lake.cached_tables():
            present(table)


def active_branch(table: Table) -> str | None:
    """The branch commits to ``table`` go to now (None: ``main``)."""
    name = _ACTIVE.get()
    if name is None or ".".join(table.name()) not in _BRANCHED_IDS:
        return None
    return name


def present(table: Table) -> Table:
    """``table`` showing the active branch's head (or ``main``'s) as its current snapshot."""
    present_ref(table, active_branch(table) or MAIN)
    return table


def ref_snapshot_id(table: Table, name: str) -> int | None:
    """The snapshot ref ``name`` points at (None: no such ref, or an empty ``main``)."""
    ref = table.metadata.refs.get(name)
    return ref.snapshot_id if ref is not None else None


def fast_forward(
    lake: Lake, spec: TableSpec, branch: str, *, expected_main: int | None, behind: bool = False
) -> bool:
    """Move ``main`` of ``spec`` to the head of ``branch`` and remove the branch.

    Guarded twice: ``main`` must be ``expected_main`` (where the run started) when the
    refreshed table is read under the commit lock, and the commit asserts ``main`` is
    still that snapshot (PyIceberg's ``AssertRefSnapshotId``), so another writer's change
    is never overwritten. With ``behind``, any ``main`` that is an ancestor of the
    branch's head will do (resuming a killed run, a forced promote): its state is part
    of the branch's, so nothing is lost either. Call it outside :func:`on_branch`.

    Returns:
        True when ``main`` moved; False when the run never committed to this table.

    Raises:
        ProtectedRefError: ``branch`` is ``main`` or a tag (moving ``main`` to it would
            remove it); nothing was changed.
        BranchMovedError: ``main`` is not where the run started.
        CommitConflictError: Other writers won every attempt.
    """
    from makerates_lake.store.commit import commit

    def attempt(table: Table) -> bool:
        refuse_protected(table, branch, spec.identifier)
        head = ref_snapshot_id(table, branch)
        if head is None:
            return False
        main = ref_snapshot_id(table, MAIN)
        if not may_move(table, branch, expected_main, behind=behind):
            raise BranchMovedError(
                "main moved since the run started; the branch is kept, main is untouched",
                table=spec.identifier,
                branch=branch,
                expected_main=expected_main,
                main=main,
            )
        with open_transaction(table) as transaction, manage_snapshots(transaction) as manage:
            # set_current_snapshot stages AssertRefSnapshotId(main): the catalog refuses
            # the move if main changed after this table was loaded.
            manage.set_current_snapshot(ref_name=branch)
            manage.remove_branch(branch)
        return True

    return commit(lake, spec, attempt)


def may_move(table: Table, branch: str, expected_main: int | None, *, behind: bool) -> bool:
    """Whether :func:`fast_forward` may move ``main`` of ``table`` to ``branch``.

    ``main`` must be ``expected_main``; or, with ``behind`` or an ``expected_main`` of
    None (the table was empty when the run started; the branch's first commit gave
    ``main`` an empty snapshot to branch from), an ancestor of the branch's head.
    """
    main, head = ref_snapshot_id(table, MAIN), ref_snapshot_id(table, branch)
    if main == expected_main:
        return True
    if head is None or not (behind or expected_main is None):
        return False
    return main is None or main == head or is_ancestor_of(head, main, table.metadata)


def expire_wap_branches(lake: Lake, older_than: timedelta, *, now: datetime | None = None) -> int:
    """Remove ``wap-`` branches whose head is older than ``older_than`` (abandoned runs,
    held runs nobody promoted); their snapshots go at the next snapshot expiry.

    Returns:
        Branches removed (counted per table).
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    removed = 0
    for info in wap_branches(lake):
        if info.committed_at is not None and info.committed_at < cutoff:
            spec = next(s for s in BRANCHED_TABLES if s.identifier == info.table)
            removed += remove_branch(lake, spec, info.name)
    return removed


def remove_branch(lake: Lake, spec: TableSpec, branch: str) -> bool:
    """Drop ``branch`` of ``spec`` (its snapshots go at the next expiry); False if absent.

    Raises:
        ProtectedRefError: ``branch`` is ``main`` or a tag; nothing was changed.
    """
    from makerates_lake.store.commit import commit

    def attempt(table: Table) -> bool:
        refuse_protected(table, branch, spec.identifier)
        if branch not in table.metadata.refs:
            return False
        with open_transaction(table) as transaction, manage_snapshots(transaction) as manage:
            manage.remove_branch(branch)
        return True

    return commit(lake, spec, attempt)


@dataclass(frozen=True)
class BranchInfo:
    """A write-audit-publish branch of one table."""

    table: str
    name: str
    snapshot_id: int
    committed_at: datetime | None
    main_snapshot_id: int | None


def wap_branches(lake: Lake) -> list[BranchInfo]:
    """Every ``wap-`` branch of the silver and gold tables, by branch then table (a tag
    with that prefix is no run's branch: expiry and recovery must not remove it)."""
    found = []
    for spec in BRANCHED_TABLES:
        table = lake.table(spec, refresh=True)
        for name, ref in table.metadata.refs.items():
            if not name.startswith(WAP_PREFIX) or is_tag(table, name):
                continue
            snapshot = table.snapshot_by_id(ref.snapshot_id)
            found.append(
                BranchInfo(
                    table=spec.identifier,
                    name=name,
                    snapshot_id=ref.snapshot_id,
                    committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)
                    if snapshot is not None
                    else None,
                    main_snapshot_id=ref_snapshot_id(table, MAIN),
                )
            )
    return sorted(found, key=lambda b: (b.name, b.table))
