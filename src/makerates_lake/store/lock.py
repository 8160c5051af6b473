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
def _catalog_lock(lake: Lake, name: str, lock_file: str, *, wait: bool) -> Iterator[bool]:
    """Hold the catalog-wide lock ``name`` for the block; yields whether it was taken.

    PostgreSQL: a session advisory lock in the catalog's database. SQLite: ``flock`` on
    ``lock_file`` beside the catalog file. Other catalogs: no lock (yields True). With
    ``wait`` False it does not queue: it yields False at once when another holds it.
    """
    uri = lake.settings.resolved_catalog_uri
    engine = sql_catalog_engine(lake.catalog) if uri.startswith("postgresql") else None
    if engine is not None:
        with engine.connect() as conn:
            key = _lock_key(name)
            function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            taken = bool(conn.execute(text(f"SELECT {function}(:key)"), {"key": key}).scalar())
            conn.commit()
            if not wait and taken is False:
                yield False
                return
            try:
                yield True
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    elif uri.startswith("sqlite:///"):
        lock_path = Path(uri.removeprefix("sqlite:///") + lock_file)
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        yield True


@contextlib.contextmanager
def table_commit_lock(lake: Lake, identifier: str) -> Iterator[None]:
    """Hold the commit lock of ``identifier`` for the duration of the block."""
    with _catalog_lock(lake, identifier, f".{identifier}.lock", wait=True):
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
    name = f"job:{settings.catalog_name}:{job}"
    with _catalog_lock(lake, name, f".{job}.job-lock", wait=False) as taken:
        if not taken:
            raise RunInProgressError(
                f"another `{job}` is running on this lake; this one stops without doing "
                "anything",
                job=job,
                catalog=settings.catalog_name,
            )
        yield
