"""Publish the last N days of gold to PostgreSQL behind one atomically switched view.

One publish, under a PostgreSQL advisory lock so two publishers queue:

1. resolve the gold snapshot (:func:`makerates_lake.store.refs.resolve_as_of`); if the view
   already shows that snapshot and window, change nothing (only repair a missing tag);
2. read the window from gold, log the read, and load it into new tables
   ``makerates.rates_s<snapshot>_d<days>`` (the rates) and ``..._provenance`` (where they
   come from, once per distinct source, derivation and extraction) by binary COPY encoded
   straight from Arrow (:mod:`makerates_lake.publish.load`), on the same connection;
3. index and analyze the new tables while readers still use the old ones;
4. in one transaction, point ``makerates.rates_last_90_days`` at the new tables (the view
   joins them and adds this publish's ``published_at`` and ``gold_snapshot_id``, which
   the tables do not repeat on every row), drop the old ones and record the publish in
   ``makerates.publishes``;
5. tag the gold snapshot ``published-<UTC time>``.

A reader polling the view sees the old publish until step 4 commits and the new one
after: never an empty or partial view, never a mix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import polars as pl
import psycopg

from makerates_lake import store as storage
from makerates_lake.publish import ddl
from makerates_lake.publish.errors import (
    NothingToPublishError,
    PublishConfigError,
    PublishLoadError,
    TagError,
)
from makerates_lake.publish.frame import (
    FACT_COLUMNS,
    publish_frame,
    table_name,
    table_rows,
    tag_name,
    window,
)
from makerates_lake.publish.load import load_table
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import at_least
from makerates_lake.store.refs import AsOf, first_snapshot_at, move_tag, resolve_as_of
from makerates_lake.store.scrub import scrub
from makerates_lake.store.tables import GOLD_FACT_RATE

PUBLISH_ACTION: Final = "publish"
# Session advisory lock that serialises publishers of one database.
_LOCK_KEY: Final = 0x6D616B6572617465  # "makerate"
_SWITCH_LOCK_TIMEOUT: Final = "30s"


@dataclass(frozen=True)
class PublishResult:
    """What a publish did.

    Attributes:
        changed: False when the view already showed this gold snapshot and window.
        table_name: The rate table behind the view (``makerates.<name>``; its provenance
            table is ``<name>_provenance``).
        gold_snapshot_id: The published gold snapshot.
        days: Window length.
        rows: Rows the view shows (one per rate).
        first_date: First rate date published.
        last_date: Last rate date published.
        published_at: When this publish (or the one it matched) switched the view.
        tag: The gold tag naming the published snapshot.
        dropped: Tables dropped by the switch (rate and provenance tables).
        load_seconds: Time spent in the Arrow load (0 when unchanged).
    """

    changed: bool
    table_name: str
    gold_snapshot_id: int
    days: int
    rows: int
    first_date: date | None
    last_date: date | None
    published_at: datetime
    tag: str
    dropped: tuple[str, ...] = ()
    load_seconds: float = 0.0


def publish(lake: Lake, *, days: int = 90, as_of: AsOf | None = None) -> PublishResult:
    """Publish the last ``days`` days of ``gold.fact_rate`` to ``settings.publish_dsn``.

    Args:
        lake: The open lake.
        days: Window length, ending at the latest rate date of the gold snapshot.
        as_of: Publish a past gold snapshot (id, tag or time) instead of the current one.

    Raises:
        PublishConfigError: No ``publish_dsn``, or ``days`` is not positive.
        NothingToPublishError: Gold is empty at that snapshot.
        InvalidCurrencyError: Gold holds a malformed currency code (nothing is sent).
        PublishLoadError: PostgreSQL failed; the view still shows the previous publish.
        TagError: The view was switched but tagging failed; publishing again repairs it.
        AccessLogError: The read of gold could not be logged; nothing was published.
    """
    window(date.today(), days)
    dsn = _dsn(lake)
    fact_table = lake.table(GOLD_FACT_RATE, refresh=True)
    snapshot = resolve_as_of(fact_table, as_of)
    if snapshot is None:
        first = first_snapshot_at(fact_table)
        if as_of is not None and first is not None:
            raise NothingToPublishError(
                "gold had no snapshot yet at that point in time",
                table=GOLD_FACT_RATE.identifier,
                as_of=as_of.describe(),
                first_snapshot_at=first.isoformat(),
            )
        raise NothingToPublishError("gold has no snapshot", table=GOLD_FACT_RATE.identifier)
    sid = snapshot.snapshot_id
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(ddl.SCHEMA_SQL)
            with _publish_lock(conn):
                current = _current(conn)
                if current is not None and current.gold_snapshot_id == sid and current.days == days:
                    _ensure_tag(lake, sid, current.tag)
                    return current
                result = _publish_new(lake, conn, sid, days)
    except PublishLoadError as exc:
        raise PublishLoadError(scrub(exc.message, lake), **exc.context) from None
    except psycopg.Error as exc:
        raise PublishLoadError(
            f"PostgreSQL failed: {type(exc).__name__}: {scrub(str(exc), lake)}",
            gold_snapshot_id=sid,
        ) from None
    _ensure_tag(lake, sid, result.tag)
    return result


def current_publish(lake: Lake) -> PublishResult | None:
    """What the view shows now (None: never published), for ``makerates status``.

    Raises:
        PublishConfigError: No ``publish_dsn``.
        PublishLoadError: PostgreSQL could not be read.
    """
    try:
        with psycopg.connect(_dsn(lake), autocommit=True, connect_timeout=10) as conn:
            found = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [f"{ddl.SCHEMA}.{ddl.PUBLISHES}"]
            ).fetchone()
            # Read-only: a database never published to has no schema yet, and that is fine.
            return _current(conn) if found and found[0] else None
    except psycopg.Error as exc:
        raise PublishLoadError(
            f"PostgreSQL failed: {type(exc).__name__}: {scrub(str(exc), lake)}"
        ) from None


def _dsn(lake: Lake) -> str:
    if not lake.settings.publish_dsn:
        raise PublishConfigError(
            "no PostgreSQL to publish to: set publish_dsn (MAKERATES_PUBLISH_DSN or the "
            "config file)",
            key="publish_dsn",
        )
    return lake.settings.publish_dsn.reveal()


@contextmanager
def _publish_lock(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
    conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def _current(conn: psycopg.Connection[tuple[object, ...]]) -> PublishResult | None:
    """The publish the view shows now, if its view and table are both still there."""
    row = conn.execute(
        "SELECT table_name, gold_snapshot_id, days, row_count, first_date, last_date, "
        "published_at, gold_tag FROM makerates.publishes WHERE is_current"
    ).fetchone()
    if row is None:
        return None
    name, sid, days, rows, first, last, published_at, tag = row
    present = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
        [f"{ddl.SCHEMA}.{ddl.VIEW}", f'{ddl.SCHEMA}."{name}"'],
    ).fetchone()
    if not present or not present[0]:
        return None
    return PublishResult(
        changed=False,
        table_name=str(name),
        gold_snapshot_id=int(str(sid)),
        days=int(str(days)),
        rows=int(str(rows)),
        first_date=first if isinstance(first, date) else None,
        last_date=last if isinstance(last, date) else None,
        published_at=published_at if isinstance(published_at, datetime) else datetime.now(UTC),
        tag=str(tag),
    )


def read_window(lake: Lake, snapshot_id: int, days: int) -> pl.DataFrame:
    """The gold rows a publish of ``days`` days at ``snapshot_id`` starts from."""
    dates = storage.read(lake, GOLD_FACT_RATE, columns=["rate_date"], snapshot_id=snapshot_id)
    if dates.height == 0:
        return dates
    first, _ = window(dates.get_column("rate_date").max(), days)  # type: ignore[arg-type]
    return storage.read(
        lake,
        GOLD_FACT_RATE,
        row_filter=at_least("rate_date", first.isoformat()),
        columns=FACT_COLUMNS,
        snapshot_id=snapshot_id,
    )


def _publish_new(
    lake: Lake, conn: psycopg.Connection[tuple[object, ...]], sid: int, days: int
) -> PublishResult:
    from makerates_lake.store.access_log import log_access

    published_at = datetime.now(UTC)
    facts = read_window(lake, sid, days)
    frame = publish_frame(facts, days=days, published_at=published_at, gold_snapshot_id=sid)
    if frame.height == 0:
        raise NothingToPublishError("no best rates in the window", gold_snapshot_id=sid, days=days)
    name = table_name(sid, days)
    log_access(
        lake,
        action=PUBLISH_ACTION,
        table=GOLD_FACT_RATE.identifier,
        record_ids=frame.get_column("extraction_id").unique().sort().to_list(),
        query_text=f"publish days={days} gold_snapshot_id={sid} -> {ddl.SCHEMA}.{name}",
    )
    started = datetime.now(UTC)
    try:
        load_table(conn, name, table_rows(frame))
    except BaseException:
        conn.execute(ddl.drop_tables(name))  # the view never pointed at them
        raise
    load_seconds = (datetime.now(UTC) - started).total_seconds()
    dates = frame.get_column("rate_date")
    result = PublishResult(
        changed=True,
        table_name=name,
        gold_snapshot_id=sid,
        days=days,
        rows=frame.height,
        first_date=dates.min(),  # type: ignore[arg-type]
        last_date=dates.max(),  # type: ignore[arg-type]
        published_at=published_at,
        tag=tag_name(published_at),
        load_seconds=load_seconds,
    )
    dropped = switch_view(conn, result)
    return PublishResult(**{**result.__dict__, "dropped": dropped})


def switch_view(
    conn: psycopg.Connection[tuple[object, ...]], result: PublishResult
) -> tuple[str, ...]:
    """One transaction: view -> new tables, old tables dropped, publish recorded.

    Returns:
        The tables dropped: every ``rates_s*`` table but the new rate and provenance
        tables.
    """
    with conn.transaction():
        # A reader holding the old table for longer than this fails the publish (and rolls
        # it back) instead of blocking new readers of the view behind the switch forever.
        conn.execute(f"SET LOCAL lock_timeout = '{_SWITCH_LOCK_TIMEOUT}'")
        conn.execute(
            ddl.replace_view(
                result.table_name,
                published_at=result.published_at,
                gold_snapshot_id=result.gold_snapshot_id,
            )
        )
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ddl.READER_ROLE])
        if role.fetchone() is not None:
            conn.execute(ddl.grant_reader())
        # Every publish table but the new ones: older rate tables with their provenance
        # tables (rate tables from before provenance tables existed have none).
        keep = (result.table_name, ddl.provenance_table(result.table_name))
        stale = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND starts_with(tablename, %s) AND tablename <> ALL(%s) ORDER BY tablename",
                [ddl.SCHEMA, ddl.TABLE_PREFIX, list(keep)],
            ).fetchall()
        ]
        if stale:
            conn.execute(ddl.drop_named(stale))
        conn.execute(
            "UPDATE makerates.publishes SET is_current = FALSE, replaced_at = %s WHERE is_current",
            [result.published_at],
        )
        conn.execute(
            "INSERT INTO makerates.publishes (publish_id, table_name, gold_snapshot_id, days, "
            "row_count, first_date, last_date, published_at, gold_tag, is_current) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, TRUE)",
            [
                uuid.uuid4(),
                result.table_name,
                result.gold_snapshot_id,
                result.days,
                result.rows,
                result.first_date,
                result.last_date,
                result.published_at,
                result.tag,
            ],
        )
    return tuple(stale)


def _ensure_tag(lake: Lake, snapshot_id: int, tag: str) -> None:
    """Tag the published gold snapshot, unless the tag already points at it."""
    try:
        move_tag(lake, GOLD_FACT_RATE, tag, snapshot_id)
    except Exception as exc:
        raise TagError(
            f"published, but the gold snapshot could not be tagged: {type(exc).__name__}: "
            f"{scrub(str(exc), lake)}",
            gold_snapshot_id=snapshot_id,
            tag=tag,
        ) from None
