"""The access log as a person reads it: filtered, newest last, and itself audited.

Reading who read what is a read like any other: it adds one entry (action
``access_log``), written after the rows are taken, so the answer never lists itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from makerates_lake.errors import ConfigError
from makerates_lake.store.access_log import log_access, read_access_log
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import AUDIT_ACCESS_LOG

ACCESS_LOG_ACTION = "access_log"


def access_log(
    lake: Lake,
    *,
    since: datetime | None = None,
    action: str | None = None,
    table: str | None = None,
    principal: str | None = None,
) -> pl.DataFrame:
    """Entries of ``audit.access_log``, oldest first, optionally filtered.

    ``mr.access_log(lake, action="trace").tail(5)``

    Args:
        lake: The open lake.
        since: Only entries at or after this timezone-aware time.
        action: Only this action (``read``, ``scan``, ``sql``, ``trace``, ``diff``,
            ``rates``, ``publish``...).
        table: Only reads of this table (``namespace.name``).
        principal: Only this reader.

    Raises:
        ConfigError: ``since`` is not a timezone-aware datetime (a ``ValueError`` too).
        AccessLogError: This read could not be logged (nothing is returned).
    """
    if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
        raise ConfigError("since must be a timezone-aware datetime", since=repr(since))
    if since is not None:
        since = since.astimezone(UTC)  # the column is UTC; Polars refuses other zones
    entries = pl.DataFrame(read_access_log(lake))
    filters = {"action": action, "table_name": table, "principal": principal}
    for column, value in filters.items():
        if value is not None:
            entries = entries.filter(pl.col(column) == value)
    if since is not None:
        entries = entries.filter(pl.col("accessed_at") >= since)
    entries = entries.sort("accessed_at", "audit_id")
    wanted = " ".join(f"{k}={v}" for k, v in (*filters.items(), ("since", since)) if v)
    log_access(
        lake,
        action=ACCESS_LOG_ACTION,
        table=AUDIT_ACCESS_LOG.identifier,
        query_text=f"access_log {wanted or 'all'}; {entries.height} entries",
    )
    return entries
