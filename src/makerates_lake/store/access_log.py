"""Who read what, when, from where: the append-only access log.

Every audited read (trace, as-of read, diff, SQL through the federation layer, publish)
adds exactly one :class:`AccessEntry`. Entries go to the Iceberg table ``audit.access_log``
and, when ``settings.publish_dsn`` is set, to the design document's ``audit_log`` table in
PostgreSQL.

Batching: inside ``with AccessLog(lake):`` entries are buffered and written in one commit
when the block ends (or when the buffer reaches ``max_entries`` / ``max_age_s``), so a
command that reads a thousand times pays for one commit. Outside such a block
:func:`log_access` writes at once. Either way a failed write raises
:class:`~makerates_lake.audit.errors.AccessLogError`: the read fails loudly, nothing is
skipped silently, and the entries stay buffered so a later :meth:`AccessLog.flush` can
still write them.
"""

from __future__ import annotations

import contextvars
import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

import pyarrow as pa
from pyiceberg.table import Table

from makerates_lake import provenance
from makerates_lake.errors import AccessLogError
from makerates_lake.redact import redact_text
from makerates_lake.store import access_log_pg as pg_log
from makerates_lake.store.arrow_types import with_large_types
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit, commit_files, write_files
from makerates_lake.store.expressions import equal
from makerates_lake.store.tables import AUDIT_ACCESS_LOG

__all__ = ["AccessEntry", "AccessLog", "log_access", "read_access_log"]

_ACTIVE: Final[contextvars.ContextVar[AccessLog | None]] = contextvars.ContextVar(
    "makerates_access_log", default=None
)


@dataclass(frozen=True)
class AccessEntry:
    """One audited read.

    Attributes:
        audit_id: UUID of the entry.
        accessed_at: When the read happened (UTC).
        principal: ``settings.principal`` or the OS user.
        action: What was done (``trace``, ``read``, ``diff``, ``sql``, ``publish``...).
        table_name: The table read (``namespace.name``).
        record_ids: Keys of the records returned (extraction ids where there are some).
        host: Host name of the reading machine.
        ip_address: Its address, when one could be found without network traffic.
        process_id: Reading process.
        query_text: The query or command line, secrets redacted.
    """

    audit_id: str
    accessed_at: datetime
    principal: str
    action: str
    table_name: str
    record_ids: tuple[str, ...]
    host: str
    ip_address: str | None
    process_id: int
    query_text: str | None

    def as_row(self) -> dict[str, object]:
        """The entry as a row of ``audit.access_log``."""
        return {
            "audit_id": self.audit_id,
            "accessed_at": self.accessed_at,
            "principal": self.principal,
            "action": self.action,
            "table_name": self.table_name,
            "record_ids": list(self.record_ids),
            "host": self.host,
            "ip_address": self.ip_address,
            "query_text": self.query_text,
            "process_id": self.process_id,
        }


@functools.cache
def _host_address() -> str | None:
    """This host's outward address, or None.

    ``connect`` on a datagram socket only asks the kernel for a route: no packet is sent,
    and no DNS lookup is made (a lookup could leave an air-gapped machine or hang).
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1, never routed anywhere real
            address: str = probe.getsockname()[0]
    except OSError:
        return None
    return address


def make_entry(
    lake: Lake,
    *,
    action: str,
    table: str,
    record_ids: Sequence[str] = (),
    query_text: str | None = None,
    now: datetime | None = None,
) -> AccessEntry:
    """Build an entry stamped with who, when and where.

    Raises:
        ValueError: ``action`` or ``table`` is empty, or ``record_ids`` is a bare string.
    """
    if not action or not table:
        raise ValueError("an access-log entry needs an action and a table")
    if isinstance(record_ids, str):
        # A bare string is a Sequence[str] too; logging its characters would be garbage.
        raise ValueError("record_ids must be a sequence of ids, not one string")
    secrets = lake.settings.secret_values()
    return AccessEntry(
        audit_id=str(uuid.uuid4()),
        accessed_at=now or datetime.now(UTC),
        principal=lake.settings.principal or provenance.current_user(),
        action=action,
        table_name=table,
        record_ids=tuple(str(r) for r in record_ids),
        host=provenance.current_host(),
        ip_address=_host_address(),
        process_id=os.getpid(),
        query_text=None if query_text is None else redact_text(query_text, secrets),
    )


def _append_iceberg(lake: Lake, entries: Sequence[AccessEntry]) -> None:
    rows = pa.Table.from_pylist(
        [e.as_row() for e in entries], schema=AUDIT_ACCESS_LOG.schema.as_arrow()
    )

    def attempt(table: Table) -> None:
        files = write_files(table, rows, AUDIT_ACCESS_LOG)
        commit_files(table, files, merge_manifests=True)

    commit(lake, AUDIT_ACCESS_LOG, attempt)


def write_entries(lake: Lake, entries: Sequence[AccessEntry]) -> None:
    """Write ``entries`` to the Iceberg access log and, if configured, PostgreSQL.

    The PostgreSQL transaction commits only after the Iceberg commit succeeded, so a
    failure of either leaves PostgreSQL without the batch and the caller sees an error.

    Raises:
        AccessLogError: Either write failed (message scrubbed of secrets).
    """
    if not entries:
        return
    dsn = lake.settings.publish_dsn
    try:
        if dsn:
            with pg_log.connect(dsn.reveal()) as conn:
                pg_log.insert_entries(conn, entries)
                _append_iceberg(lake, entries)
                conn.commit()
        else:
            _append_iceberg(lake, entries)
    except Exception as exc:
        # No ``from exc``: a driver's message or traceback can hold the DSN.
        raise AccessLogError(
            f"cannot write the access log: {type(exc).__name__}: "
            f"{redact_text(str(exc), lake.settings.secret_values())}",
            table=AUDIT_ACCESS_LOG.identifier,
            entries=len(entries),
            postgres=bool(dsn),
        ) from None


class AccessLog:
    """Buffers access-log entries and writes them in batches.

    Use it as a context manager around a command or request; :func:`log_access` calls
    inside the block go to it. The buffer is written when the block ends, even when the
    block raised (those reads happened), and earlier when it holds ``max_entries``
    entries or its oldest entry is ``max_age_s`` seconds old.

    Args:
        lake: The open lake.
        max_entries: Flush when this many entries are waiting.
        max_age_s: Flush when the oldest waiting entry is this old (checked on each record).
        clock: Monotonic clock, replaceable in tests.

    Raises:
        ValueError: ``max_entries`` or ``max_age_s`` is not positive.
    """

    def __init__(
        self,
        lake: Lake,
        *,
        max_entries: int = 1000,
        max_age_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries <= 0 or max_age_s <= 0:
            raise ValueError("max_entries and max_age_s must be positive")
        self.lake = lake
        self._max_entries = max_entries
        self._max_age_s = max_age_s
        self._clock = clock
        self._pending: list[AccessEntry] = []
        self._oldest: float | None = None
        self._lock = threading.Lock()
        self._tokens: list[contextvars.Token[AccessLog | None]] = []
        self.written = 0

    @property
    def pending(self) -> tuple[AccessEntry, ...]:
        """Entries not written yet."""
        with self._lock:
            return tuple(self._pending)

    def record(
        self,
        *,
        action: str,
        table: str,
        record_ids: Sequence[str] = (),
        query_text: str | None = None,
    ) -> AccessEntry:
        """Buffer one entry; flushes when a threshold is reached.

        Raises:
            AccessLogError: A threshold flush failed.
        """
        entry = make_entry(
            self.lake, action=action, table=table, record_ids=record_ids, query_text=query_text
        )
        with self._lock:
            self._pending.append(entry)
            if self._oldest is None:
                self._oldest = self._clock()
            due = len(self._pending) >= self._max_entries or (
                self._clock() - self._oldest >= self._max_age_s
            )
        if due:
            self.flush()
        return entry

    def flush(self) -> int:
        """Write every waiting entry in one batch; returns how many were written.

        Raises:
            AccessLogError: The write failed; the entries stay waiting.
        """
        with self._lock:
            batch = list(self._pending)
            if not batch:
                return 0
            write_entries(self.lake, batch)
            del self._pending[: len(batch)]
            self._oldest = self._clock() if self._pending else None
            self.written += len(batch)
            return len(batch)

    def __enter__(self) -> Self:
        self._tokens.append(_ACTIVE.set(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _ACTIVE.reset(self._tokens.pop())
        # Flushing also when the block failed: reads before the failure did happen.
        # A flush error then replaces the block's error, chained to it, so neither is lost.
        self.flush()


def active_log(lake: Lake) -> AccessLog | None:
    """The :class:`AccessLog` open in this context for ``lake``'s settings, if any."""
    current = _ACTIVE.get()
    if current is not None and (current.lake is lake or current.lake.settings == lake.settings):
        return current
    return None


def log_access(
    lake: Lake,
    *,
    action: str,
    table: str,
    record_ids: Sequence[str] = (),
    query_text: str | None = None,
) -> None:
    """Record one audited read.

    Inside ``with AccessLog(lake):`` the entry is buffered; otherwise it is written now.

    Args:
        lake: The open lake (its settings name the principal and PostgreSQL DSN).
        action: What was done, e.g. ``trace``, ``read``, ``sql``, ``publish``.
        table: The table read, ``namespace.name``.
        record_ids: Keys of the records returned.
        query_text: The query or command; known secrets are redacted.

    Raises:
        AccessLogError: The entry could not be written; fail the read with it.
        ValueError: ``action`` or ``table`` is empty.
    """
    log = active_log(lake)
    if log is not None:
        log.record(action=action, table=table, record_ids=record_ids, query_text=query_text)
        return
    entry = make_entry(
        lake, action=action, table=table, record_ids=record_ids, query_text=query_text
    )
    write_entries(lake, [entry])


def read_access_log(lake: Lake, *, action: str | None = None) -> pa.Table:
    """Every entry of ``audit.access_log`` (not itself an audited read), or those of one
    ``action``, in Arrow's large types whatever the files were written with."""
    table = lake.table(AUDIT_ACCESS_LOG, refresh=True)
    rows = (
        table.scan() if action is None else table.scan(row_filter=equal("action", action))
    ).to_arrow()
    return rows.cast(with_large_types(rows.schema))
