"""Serialise commits to one table among this library's writers.

PyIceberg's SQL catalog commits optimistically: when several processes append at once,
all but one fail and must retry, and under steady contention a writer can lose many
times in a row. Taking a lock around refresh-check-commit makes our own writers queue
instead of racing. Writers that do not take the lock (another engine, a REST catalog)
are still handled by the refresh-and-retry loop around it.

* PostgreSQL catalog: a session advisory lock keyed by the table name.
* SQLite catalog: an exclusive ``flock`` on a file beside the catalog database.
* REST catalog: no lock (the server arbitrates; the retry loop handles conflicts).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from makerates_lake.store._pyiceberg import sql_catalog_engine
from makerates_lake.store.catalog import Lake


def _lock_key(identifier: str) -> int:
    digest = hashlib.sha256(f"makerates:{identifier}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def table_commit_lock(lake: Lake, identifier: str) -> Iterator[None]:
    """Hold the commit lock of ``identifier`` for the duration of the block."""
    uri = lake.settings.resolved_catalog_uri
    if uri.startswith("postgresql"):
        engine = sql_catalog_engine(lake.catalog)
        if engine is None:  # not a SQL catalog after all
            yield
            return
        with engine.connect() as conn:
            key = _lock_key(identifier)
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    elif uri.startswith("sqlite:///"):
        lock_path = Path(uri.removeprefix("sqlite:///") + f".{identifier}.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        yield
