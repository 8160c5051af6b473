"""The design document's ``audit_log`` table in PostgreSQL (DDL in ``sql/audit_log.sql``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import psycopg

    from makerates_lake.store.access_log import AccessEntry

# Kept identical to sql/audit_log.sql (a unit test compares them), so a DBA can apply the
# file by hand while the library still creates the table on first use.
AUDIT_LOG_DDL: Final = """\
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id UUID PRIMARY KEY,
    user_id VARCHAR(100) NOT NULL,
    action VARCHAR(50) NOT NULL,
    table_name VARCHAR(100),
    record_id UUID,
    record_ids TEXT[] NOT NULL DEFAULT '{}',
    accessed_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    host TEXT,
    ip_address INET,
    process_id BIGINT,
    query_text TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_accessed_at ON audit_log (accessed_at);
CREATE INDEX IF NOT EXISTS audit_log_user_id ON audit_log (user_id, accessed_at);
"""

_INSERT: Final = """\
INSERT INTO audit_log (audit_id, user_id, action, table_name, record_id, record_ids,
                       accessed_at, host, ip_address, process_id, query_text)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::inet, %s, %s)
"""


def _single_uuid(record_ids: Sequence[str]) -> uuid.UUID | None:
    """The design's ``record_id``: the one record a read returned, when it is a UUID."""
    if len(record_ids) != 1:
        return None
    try:
        return uuid.UUID(record_ids[0])
    except ValueError:
        return None


def connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection for one flush (not autocommit: a flush is one transaction)."""
    import psycopg

    return psycopg.connect(dsn, connect_timeout=10)


def insert_entries(
    conn: psycopg.Connection[tuple[object, ...]], entries: Sequence[AccessEntry]
) -> None:
    """Create the table if needed and insert ``entries``; the caller commits."""
    with conn.cursor() as cur:
        cur.execute(AUDIT_LOG_DDL)
        cur.executemany(
            _INSERT,
            [
                (
                    uuid.UUID(e.audit_id),
                    e.principal[:100],
                    e.action[:50],
                    e.table_name[:100],
                    _single_uuid(e.record_ids),
                    list(e.record_ids),
                    e.accessed_at,
                    e.host,
                    e.ip_address,
                    e.process_id,
                    e.query_text,
                )
                for e in entries
            ],
        )
