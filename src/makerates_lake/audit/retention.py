"""Retention: purge bronze rows whose retention ended.

Snapshot expiry is maintenance (:mod:`makerates_lake.maintenance.expire`).
``purge_bronze`` is the one deliberate exception to bronze being append-only. It removes
rows only after their ``retention_policy`` ended (GDPR erasure included), refuses the
whole request when any selected row is still retained, and logs what it removes to the
access log (action ``retention_purge``) before removing it, and that it removed them
(``retention_purged``) after. Bronze snapshots older than the purge are then expired so
time travel cannot bring the rows back; the files stay until storage lifecycle (and
Object Lock) lets them go.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from makerates_lake.audit.errors import AccessLogError, RetentionError
from makerates_lake.bronze.record import retain_until
from makerates_lake.store.access_log import make_entry, read_access_log, write_entries
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit, commit_files
from makerates_lake.store.expressions import all_of, in_range, is_in
from makerates_lake.store.tables import BRONZE_EXTRACTIONS
from makerates_lake.store.types import Table

log = logging.getLogger(__name__)

PURGE_ACTION: Final = "retention_purge"
"""Access-log action of a purge asked for, written before anything is removed."""
PURGED_ACTION: Final = "retention_purged"
"""Access-log action of a purge done, written once its commit removed the rows."""


@dataclass
class PurgeReport:
    """What :func:`purge_bronze` removed (or would remove, on a dry run)."""

    removed: list[str] = field(default_factory=list)
    expired_snapshots: int = 0
    dry_run: bool = False


def purge_bronze(
    lake: Lake,
    *,
    reason: str,
    extraction_ids: Sequence[str] = (),
    before: datetime | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Remove bronze rows whose retention ended; refuse if any selected row is retained.

    Select rows by ``extraction_ids`` (a GDPR erasure request), by ``before`` (rows
    extracted earlier), or both (rows matching both).

    Args:
        lake: The open lake.
        reason: Why (ticket, erasure request id); recorded in the access log.
        extraction_ids: Rows to remove.
        before: Remove rows extracted before this time.
        now: Reference time for retention; default the current time.
        dry_run: Report without removing or logging.

    Raises:
        RetentionError: No selection or reason was given, an id does not exist, or a
            selected row is still under its retention policy (nothing is removed then).
        AccessLogError: The purge could not be logged; nothing was removed. Or, rarely,
            its completion could not be logged after the rows were removed (the message
            says which): trace and verify then call those rows missing, not purged.
    """
    if not reason.strip():
        raise RetentionError("a purge needs a reason (ticket or erasure request id)")
    if not extraction_ids and before is None:
        raise RetentionError("select rows to purge by extraction id or --before")
    moment = now or datetime.now(UTC)
    table = lake.bronze(refresh=True)
    selection = all_of(
        *([is_in("extraction_id", list(extraction_ids))] if extraction_ids else []),
        *([in_range("extraction_timestamp", None, before.isoformat())] if before else []),
    )
    rows = (
        table.scan(
            row_filter=selection,
            selected_fields=("extraction_id", "extraction_timestamp", "retention_policy"),
        )
        .to_arrow()
        .to_pylist()
    )
    found = {r["extraction_id"] for r in rows}
    unknown = sorted(set(extraction_ids) - found)
    if unknown:
        raise RetentionError("bronze holds no such extraction ids", extraction_ids=unknown)
    retained = sorted(
        (r["extraction_id"], retain_until(r["extraction_timestamp"], r["retention_policy"]))
        for r in rows
        if retain_until(r["extraction_timestamp"], r["retention_policy"]) > moment
    )
    if retained:
        raise RetentionError(
            "rows are still under their retention policy; nothing was removed",
            retained=", ".join(f"{eid} until {until.isoformat()}" for eid, until in retained),
        )
    report = PurgeReport(removed=sorted(found), dry_run=dry_run)
    if dry_run or not found:
        return report
    # Logged first and unbuffered: if the log cannot be written, nothing is removed.
    entry = make_entry(
        lake,
        action=PURGE_ACTION,
        table=BRONZE_EXTRACTIONS.identifier,
        record_ids=report.removed,
        query_text=f"retention purge of {len(report.removed)} rows: {reason}",
    )
    write_entries(lake, [entry])

    def attempt(table: Table) -> int:
        commit_files(table, where=is_in("extraction_id", report.removed))
        current = table.current_snapshot()
        protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
        older = [
            s.snapshot_id
            for s in table.metadata.snapshots
            if current is not None
            and s.snapshot_id != current.snapshot_id
            and s.snapshot_id not in protected
        ]
        if older:
            # Otherwise an as-of read of an older snapshot would still return the rows.
            table.maintenance.expire_snapshots().by_ids(older).commit()
        return len(older)

    report.expired_snapshots = commit(lake, BRONZE_EXTRACTIONS, attempt)
    log.warning("bronze rows purged", extra={"rows": len(found), "reason": reason})
    # The entry above says a purge was asked for; this one that it removed the rows. Only
    # this one lets trace and verify call a missing row purged: a purge whose commit
    # failed must not explain away a row that vanished some other way.
    done = make_entry(
        lake,
        action=PURGED_ACTION,
        table=BRONZE_EXTRACTIONS.identifier,
        record_ids=report.removed,
        query_text=f"completes {PURGE_ACTION} entry {entry.audit_id}",
    )
    try:
        write_entries(lake, [done])
    except AccessLogError as exc:
        raise AccessLogError(
            f"the rows were purged, but not the log entry that says so: {exc.message}",
            **exc.context,
        ) from None
    return report


def purges_of(lake: Lake, extraction_ids: Collection[str]) -> dict[str, str]:
    """For each of ``extraction_ids`` that a completed retention purge removed from bronze,
    when and by whom, and the access-log entry that holds the reason (the reason itself
    is not repeated: an erasure ticket can name the person it concerns)."""
    wanted = set(extraction_ids)
    found: dict[str, str] = {}
    entries = read_access_log(lake, action=PURGED_ACTION).to_pylist()
    for entry in sorted(entries, key=lambda e: e["accessed_at"]):  # the latest purge wins
        described = (
            f"purged from bronze at {entry['accessed_at'].isoformat()} by "
            f"{entry['principal']} ({entry['query_text']})"
        )
        for extraction_id in wanted.intersection(entry["record_ids"] or ()):
            found[extraction_id] = described
    return found
