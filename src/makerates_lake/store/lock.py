"""Serialise commits to one table among this library's writers.

PyIceberg's SQL catalog commits optimistically: when several processes append at once,
all but one fail and must retry, and under steady contention a writer can lose many
times in a row. Taking a lock around refresh-check-commit makes our own writers queue
instead of racing. Writers that do not take the lock (another engine, a REST catalog)
are still handled by the refresh-and-retry loop around it.

* PostgreSQL catalog: a session advisory lock keyed by the table name.
* SQLite catalog: an exclusive ``flock`` on a file beside the catalog database.
* REST catalog: no lock (the server arbitrates; the retry loop handles conflicts).

:func:`exclusive_job` is the other kind: a lake-wide lock that a whole job (``makerates
run``) holds from start to end, taken without waiting, so an overlapping second run
stops at once instead of queueing behind the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from makerates_lake.errors import RunInProgressError
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


@contextlib.contextmanager
def exclusive_job(lake: Lake, job: str) -> Iterator[None]:
    """Hold the lake-wide lock of ``job`` for the block, or fail at once if it is held.

    PostgreSQL catalog: a session advisory lock (``pg_try_advisory_lock``) in the catalog
    database, keyed by catalog name and job, so it covers every machine using that
    catalog and is released by the server if the process dies. SQLite catalog: a
    non-blocking ``flock`` beside the catalog file (released by the kernel on exit). A
    REST catalog has no shared place for a lock here: the scheduler must not overlap
    runs (``concurrencyPolicy: Forbid``, a systemd timer's single unit).

    Raises:
        RunInProgressError: Another process holds the lock; nothing was done.
    """
    settings = lake.settings
    uri = settings.resolved_catalog_uri
    name = f"job:{settings.catalog_name}:{job}"
    busy = RunInProgressError(
        f"another `{job}` is running on this lake; this one stops without doing anything",
        job=job,
        catalog=settings.catalog_name,
    )
    if uri.startswith("postgresql"):
        engine = sql_catalog_engine(lake.catalog)
        if engine is None:
            yield
            return
        with engine.connect() as conn:
            key = _lock_key(name)
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            conn.commit()
            if not taken:
                raise busy
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    elif uri.startswith("sqlite:///"):
        lock_path = Path(uri.removeprefix("sqlite:///") + f".{job}.job-lock")
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        yield
