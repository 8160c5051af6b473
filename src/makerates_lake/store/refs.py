"""Snapshots and refs: what "as of" means (id, tag, time), ancestry, moving tags.

Audit, federation and publish all resolve as-of the same way through :func:`resolve_as_of`.
A timestamp picks the snapshot that was current at that instant (the last one committed
at or before it), which is what a reader saw then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import (
    Snapshot,
    ancestors_between_ids,
    ancestors_of,
    is_ancestor_of,
)

from makerates_lake.errors import AuditError, ConfigError
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import TableSpec


class SnapshotNotFoundError(AuditError, LookupError):
    """No snapshot matches the requested id, tag or time."""


@dataclass(frozen=True)
class AsOf:
    """A point in a table's history: exactly one of ``snapshot_id``, ``tag``, ``timestamp``."""

    snapshot_id: int | None = None
    tag: str | None = None
    timestamp: datetime | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.snapshot_id, self.tag, self.timestamp) if v is not None]
        if len(given) != 1:
            raise ConfigError("AsOf needs exactly one of snapshot_id, tag or timestamp")
        if self.timestamp is not None and self.timestamp.tzinfo is None:
            raise ConfigError("AsOf timestamp must be timezone-aware")

    @classmethod
    def parse(cls, text: str) -> AsOf:
        """Read ``--as-of`` text: a snapshot id (digits), an ISO timestamp, or a tag name.

        Timestamps without a zone are taken as UTC, and a date alone is its first instant
        (``2026-10-30`` is midnight UTC: what was current when that day began).
        ``tag:NAME`` forces a tag whose name would otherwise read as a number or a date.
        """
        text = text.strip()
        if text.startswith("tag:"):
            return cls(tag=text.removeprefix("tag:"))
        if text.isascii() and text.isdecimal():
            return cls(snapshot_id=int(text))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return cls(tag=text)
        return cls(timestamp=moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    def describe(self) -> str:
        """Human-readable form for messages."""
        if self.snapshot_id is not None:
            return f"snapshot {self.snapshot_id}"
        if self.tag is not None:
            return f"tag {self.tag!r}"
        assert self.timestamp is not None
        return f"time {self.timestamp.isoformat()}"


def resolve_as_of(table: Table, as_of: AsOf | None) -> Snapshot | None:
    """The snapshot ``as_of`` names; the current one when ``as_of`` is None.

    Returns None for a table that had no snapshot yet at that time (it was empty).

    Raises:
        SnapshotNotFoundError: Unknown snapshot id or tag (names the table).
    """
    name = ".".join(table.name())
    if as_of is None:
        return table.current_snapshot()
    if as_of.snapshot_id is not None:
        snapshot = table.snapshot_by_id(as_of.snapshot_id)
        if snapshot is None:
            raise SnapshotNotFoundError(
                "no such snapshot (it may have been expired)",
                table=name,
                snapshot_id=as_of.snapshot_id,
            )
        return snapshot
    if as_of.tag is not None:
        snapshot = table.snapshot_by_name(as_of.tag)
        if snapshot is None:
            raise SnapshotNotFoundError("no such tag or branch", table=name, tag=as_of.tag)
        return snapshot
    assert as_of.timestamp is not None
    millis = int(as_of.timestamp.timestamp() * 1000)
    # The snapshot log records which snapshot was *current* at each moment, which is
    # what a reader saw (a rollback makes this differ from "latest committed before").
    current: int | None = None
    for entry in table.metadata.snapshot_log:
        if entry.timestamp_ms <= millis:
            current = entry.snapshot_id
        else:
            break
    expired = current is not None and table.snapshot_by_id(current) is None
    if expired or (current is None and _history_expired_before(table, millis)):
        # Not "the table was empty then": the snapshots of that time were expired.
        raise SnapshotNotFoundError(
            "the table's history at that time was expired",
            table=name,
            timestamp=as_of.timestamp.isoformat(),
        )
    return table.snapshot_by_id(current) if current is not None else None


def _history_expired_before(table: Table, millis: int) -> bool:
    """True when the oldest snapshot kept was committed after ``millis`` and snapshots
    before it are gone: the table had rows then, but that history was expired.

    Expiry drops the snapshots, their log entries and the kept snapshot's parent link,
    so what is left to tell is the sequence number: every commit takes the next one, and
    the oldest snapshot of a table never expired is number 1.
    """
    kept = sorted(table.snapshots(), key=lambda s: s.sequence_number or 0)
    if not kept or min(s.timestamp_ms for s in kept) <= millis:
        return False
    oldest = kept[0]
    return (oldest.sequence_number or 0) > 1 or (
        oldest.parent_snapshot_id is not None
        and table.snapshot_by_id(oldest.parent_snapshot_id) is None
    )


def first_snapshot_at(table: Table) -> datetime | None:
    """When the oldest snapshot the table still holds was committed (None: it has none)."""
    millis = min((s.timestamp_ms for s in table.metadata.snapshots), default=None)
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def held_branch_of(table: Table, snapshot_id: int) -> str | None:
    """The branch other than ``main`` whose lineage holds ``snapshot_id``, when ``main``'s
    does not (a write-audit run held on its branch); otherwise None."""
    # PyIceberg's is_ancestor_of finds each parent by scanning every snapshot, which is
    # quadratic in a long history; one dictionary makes each walk linear.
    by_id = {s.snapshot_id: s for s in table.metadata.snapshots}

    def holds(head_id: int) -> bool:
        current = by_id.get(head_id)
        while current is not None:
            if current.snapshot_id == snapshot_id:
                return True
            parent = current.parent_snapshot_id
            current = None if parent is None else by_id.get(parent)
        return False

    refs = table.metadata.refs
    if MAIN_BRANCH in refs and holds(refs[MAIN_BRANCH].snapshot_id):
        return None
    for name, ref in sorted(refs.items()):
        is_branch = ref.snapshot_ref_type == SnapshotRefType.BRANCH
        if name != MAIN_BRANCH and is_branch and holds(ref.snapshot_id):
            return name
    return None


def branch_snapshot_at(table: Table, branch: str, millis: int) -> Snapshot | None:
    """The newest snapshot in ``branch``'s lineage committed at or before ``millis`` (None
    when the table has no such branch or nothing that old on it)."""
    for snapshot in ancestors_of(table.snapshot_by_name(branch), table.metadata):
        if snapshot.timestamp_ms <= millis:
            return snapshot
    return None


def files_added_since(table: Table, snapshot_id: int | None) -> list[DataFile] | None:
    """Data files committed after ``snapshot_id`` on the current branch.

    None when ``snapshot_id`` is no longer an ancestor (history was rewritten), so the
    caller falls back to a full check.
    """
    current = table.current_snapshot()
    if current is None:
        return None if snapshot_id is not None else []
    if snapshot_id is not None and not is_ancestor_of(
        current.snapshot_id, snapshot_id, table.metadata
    ):
        return None
    added: list[DataFile] = []
    for snapshot in ancestors_between_ids(snapshot_id, current.snapshot_id, table.metadata):
        for manifest in snapshot.manifests(table.io):
            if manifest.added_snapshot_id != snapshot.snapshot_id:
                continue
            added.extend(
                entry.data_file
                for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                if entry.status == ManifestEntryStatus.ADDED
            )
    return added


def snapshots_since(table: Table, snapshot_id: str | None, limit: int) -> int:
    """Snapshots on the main branch after ``snapshot_id`` (all when None or not an
    ancestor), counting up to ``limit``."""
    count = 0
    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        if count >= limit or str(snapshot.snapshot_id) == snapshot_id:
            break
        count += 1
    return count


def move_tag(lake: Lake, spec: TableSpec, name: str, snapshot_id: int | None = None) -> bool:
    """Point tag ``name`` at a snapshot (default: the current one), moving it if it exists.

    A tag is a commit like any other, through :func:`~makerates_lake.store.commit.commit`:
    it takes the table's commit lock, or a writer committing meanwhile (a transform,
    ``maintain``) would lose its race to it.

    Returns:
        True when the tag changed; False when it already pointed there or the table has
        no snapshot yet.
    """
    from makerates_lake.store.commit import commit

    def attempt(table: Table) -> bool:
        target = snapshot_id
        if target is None:
            current = table.current_snapshot()
            if current is None:
                return False
            target = current.snapshot_id
        ref = table.metadata.refs.get(name)
        if ref is not None and ref.snapshot_id == target:
            return False
        manage = table.manage_snapshots()
        if ref is not None:
            manage = manage.remove_tag(name)
        manage.create_tag(target, name).commit()  # moved in one commit
        return True

    return commit(lake, spec, attempt)


#: What an ``as_of`` argument may be: an :class:`AsOf`, a snapshot id, a tag (or the text
#: ``--as-of`` takes), or an aware datetime.
AsOfLike = AsOf | int | str | datetime | None


def as_of_from(value: AsOfLike) -> AsOf | None:
    """``value`` as an :class:`AsOf` (None stays None: the current snapshot).

    Raises:
        ConfigError: A naive datetime, or neither a snapshot id, a tag nor a datetime
            (a bool is an int to Python, never a snapshot id). A ``ValueError`` too.
    """
    if value is None or isinstance(value, AsOf):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return AsOf(snapshot_id=value)
    if isinstance(value, datetime):
        return AsOf(timestamp=value)
    if isinstance(value, str):
        return AsOf.parse(value)
    raise ConfigError(
        f"as_of must be a snapshot id, a tag or a datetime, not {type(value).__name__}"
    )


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot of a table, for listings.

    Attributes:
        snapshot_id: Its id (what ``as_of`` takes).
        parent_id: The snapshot it was committed on, None for the first.
        committed_at: When it was committed (UTC).
        operation: ``append``, ``overwrite``, ``delete`` or ``replace``.
        is_current: True for the snapshot ``main`` points at.
        refs: Tags and branches pointing at it, sorted.
        summary: Iceberg's summary (added rows and files, totals...).
    """

    snapshot_id: int
    parent_id: int | None
    committed_at: datetime
    operation: str
    is_current: bool
    refs: tuple[str, ...]
    summary: dict[str, str]


def snapshot_history(table: Table) -> list[SnapshotInfo]:
    """Every snapshot the table still holds, oldest first."""
    by_snapshot: dict[int, list[str]] = {}
    for name, ref in table.metadata.refs.items():
        by_snapshot.setdefault(ref.snapshot_id, []).append(name)
    current = table.current_snapshot()
    current_id = current.snapshot_id if current is not None else None
    history = []
    for snapshot in sorted(table.snapshots(), key=lambda s: (s.timestamp_ms, s.sequence_number)):
        summary = snapshot.summary
        history.append(
            SnapshotInfo(
                snapshot_id=snapshot.snapshot_id,
                parent_id=snapshot.parent_snapshot_id,
                committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC),
                operation=summary.operation.value if summary is not None else "",
                is_current=snapshot.snapshot_id == current_id,
                refs=tuple(sorted(by_snapshot.get(snapshot.snapshot_id, []))),
                summary=dict(summary.additional_properties) if summary is not None else {},
            )
        )
    return history


@dataclass(frozen=True)
class RefInfo:
    """A named ref (tag or branch) of a table."""

    table: str
    name: str
    kind: str  # "tag" or "branch"
    snapshot_id: int
    committed_at: datetime | None


def table_refs(table: Table) -> list[RefInfo]:
    """The tags and branches of a table, by name."""
    name = ".".join(table.name())
    refs = []
    for ref_name, ref in sorted(table.metadata.refs.items()):
        snapshot = table.snapshot_by_id(ref.snapshot_id)
        refs.append(
            RefInfo(
                table=name,
                name=ref_name,
                kind=str(ref.snapshot_ref_type.value),
                snapshot_id=ref.snapshot_id,
                committed_at=(
                    datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC) if snapshot else None
                ),
            )
        )
    return refs
