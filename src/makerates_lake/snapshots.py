"""Which snapshot of a table "as of" means: by id, by tag, or by point in time.

Audit, federation and publish all resolve as-of the same way through :func:`resolve_as_of`.
A timestamp picks the snapshot that was current at that instant (the last one committed
at or before it), which is what a reader saw then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from makerates_lake.errors import AuditError


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
            raise ValueError("AsOf needs exactly one of snapshot_id, tag or timestamp")
        if self.timestamp is not None and self.timestamp.tzinfo is None:
            raise ValueError("AsOf timestamp must be timezone-aware")

    @classmethod
    def parse(cls, text: str) -> AsOf:
        """Read ``--as-of`` text: a snapshot id (digits), an ISO timestamp, or a tag name.

        Timestamps without a zone are taken as UTC. ``tag:NAME`` forces a tag whose name
        would otherwise read as a number or a date.
        """
        text = text.strip()
        if text.startswith("tag:"):
            return cls(tag=text.removeprefix("tag:"))
        if text.isdigit():
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
    return table.snapshot_by_id(current) if current is not None else None
