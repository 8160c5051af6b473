"""Publishing gold to a real PostgreSQL: atomic switch, idempotence, read-only role, tags."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from makerates_lake.publish import PublishConfigError, ddl, publish
from makerates_lake.publish.errors import NothingToPublishError, PublishLoadError
from makerates_lake.publish.frame import COLUMNS, publish_frame
from makerates_lake.publish.postgres import read_window
from makerates_lake.settings import load_settings
from makerates_lake.store.access_log import read_access_log
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.refs import AsOf
from makerates_lake.store.tables import GOLD_FACT_RATE
from tests.integration.federate_publish_helpers import fill_gold

pytestmark = pytest.mark.integration

VIEW = "makerates.rates_last_90_days"


@pytest.fixture(scope="module")
def gold_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded lake with gold from the ECB sample, shared by this module (read-only)."""
    home = tmp_path_factory.mktemp("gold") / "lake"
    fill_gold(open_lake(load_settings(home=home)))
    return home


@pytest.fixture
def lake(gold_home: Path, pg_database: str) -> Lake:
    """The shared gold lake, publishing to a fresh database."""
    return open_lake(load_settings(home=gold_home, publish_dsn=pg_database))


def _snapshot(lake: Lake) -> int:
    snapshot = lake.table(GOLD_FACT_RATE).current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def test_publish_loads_the_window_and_records_it(lake: Lake, pg_database: str) -> None:
    """The view holds the last 90 days of best rates, stamped with the gold snapshot."""
    result = publish(lake)
    assert result.changed
    assert result.rows > 0
    assert (result.last_date - result.first_date).days <= 89  # type: ignore[operator]
    with psycopg.connect(pg_database) as conn:
        rows, snaps, first, last = conn.execute(
            f"SELECT count(*), count(DISTINCT gold_snapshot_id), min(rate_date), max(rate_date) "
            f"FROM {VIEW}"
        ).fetchone()  # type: ignore[misc]
        assert (rows, snaps, first, last) == (result.rows, 1, result.first_date, result.last_date)
        snapshot_id = conn.execute(f"SELECT max(gold_snapshot_id) FROM {VIEW}").fetchone()
        assert snapshot_id == (_snapshot(lake),)


VIEW_TYPES = [
    ("rate_date", "date"), ("base_currency", "text"), ("quote_currency", "text"),
    ("rate", "numeric(38,18)"), ("source_name", "text"), ("is_derived", "boolean"),
    ("extraction_id", "text"), ("published_at", "timestamp with time zone"),
    ("gold_snapshot_id", "bigint"),
]  # fmt: skip


def test_view_shows_the_publish_rows_with_their_types(lake: Lake, pg_database: str) -> None:
    """Make.com reads COLUMNS with their types and exactly the rows of the publish frame."""
    result = publish(lake)
    expected = publish_frame(
        read_window(lake, result.gold_snapshot_id, 90),
        days=90,
        published_at=result.published_at,
        gold_snapshot_id=result.gold_snapshot_id,
    )
    with psycopg.connect(pg_database) as conn:
        types = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
            [VIEW],
        ).fetchall()
        rows = conn.execute(f"SELECT * FROM {VIEW} ORDER BY 1, 2, 3").fetchall()
    assert types == VIEW_TYPES
    assert [name for name, _ in types] == list(COLUMNS)
    assert rows == list(expected.iter_rows())


def test_lookups_without_provenance_columns_read_the_rate_table_alone(lake: Lake) -> None:
    """A query that reads no provenance column (the Make.com guide's latest-rate lookup)
    never touches the provenance table: the view's left join on its key is left out, and
    the pair index serves the lookup. One that does read provenance gets every row's."""
    result = publish(lake)
    lookup = (
        f"SELECT rate_date, rate FROM {VIEW} WHERE base_currency = 'EUR' "
        "AND quote_currency = 'USD' ORDER BY rate_date DESC LIMIT 1"
    )
    dsn = lake.settings.publish_dsn
    assert dsn is not None
    with psycopg.connect(dsn.reveal()) as conn:
        plan = "\n".join(str(r[0]) for r in conn.execute(f"EXPLAIN {lookup}").fetchall())
        assert "_provenance" not in plan
        assert f"{result.table_name}_pair_date" in plan
        latest = conn.execute(lookup).fetchone()
        with_provenance = conn.execute(
            f"SELECT count(*), count(source_name), count(extraction_id) FROM {VIEW}"
        ).fetchone()
    assert latest is not None
    assert latest[0] == result.last_date
    assert with_provenance == (result.rows, result.rows, result.rows)


OLD_LAYOUT = """
CREATE TABLE makerates.rates_s1_d90 (
    rate_date DATE NOT NULL, base_currency TEXT NOT NULL, quote_currency TEXT NOT NULL,
    rate NUMERIC(38, 18) NOT NULL, source_name TEXT NOT NULL, is_derived BOOLEAN NOT NULL,
    extraction_id UUID NOT NULL
);
INSERT INTO makerates.rates_s1_d90 VALUES
    ('2026-03-02', 'EUR', 'USD', 1.08, 'ecb', FALSE, '00000000-0000-7000-8000-000000000001');
CREATE VIEW makerates.rates_last_90_days AS SELECT rate_date, base_currency, quote_currency,
    rate, source_name, is_derived, CAST(extraction_id AS text) AS extraction_id,
    CAST('2026-03-02 12:00+00' AS timestamptz) AS published_at,
    CAST(1 AS bigint) AS gold_snapshot_id FROM makerates.rates_s1_d90;
INSERT INTO makerates.publishes (publish_id, table_name, gold_snapshot_id, days, row_count,
    published_at, gold_tag, is_current)
    VALUES (gen_random_uuid(), 'rates_s1_d90', 1, 90, 1, '2026-03-02 12:00+00', 't', TRUE);
"""


def test_publish_replaces_a_publish_of_the_one_table_layout(lake: Lake, pg_database: str) -> None:
    """A database last published by a version that stored one table per publish (no
    provenance table) takes the next publish: the view switches, the old table goes."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        conn.execute(OLD_LAYOUT)
    result = publish(lake)
    assert result.changed
    assert result.dropped == ("rates_s1_d90",)
    with psycopg.connect(pg_database) as conn:
        shown = conn.execute(f"SELECT count(*), min(gold_snapshot_id) FROM {VIEW}").fetchone()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'makerates' "
            "AND tablename LIKE 'rates%' ORDER BY 1"
        ).fetchall()
    assert shown == (result.rows, result.gold_snapshot_id)
    assert tables == [(result.table_name,), (f"{result.table_name}_provenance",)]


def test_same_snapshot_twice_changes_nothing(lake: Lake, pg_database: str) -> None:
    """A second publish of the same snapshot keeps table, log and tags as they were."""
    first = publish(lake)
    with psycopg.connect(pg_database) as conn:
        oid = conn.execute("SELECT %s::regclass::oid", [f"makerates.{first.table_name}"]).fetchone()
    refs = dict(lake.table(GOLD_FACT_RATE).metadata.refs)
    second = publish(lake)
    assert not second.changed
    assert second.table_name == first.table_name
    assert second.tag == first.tag
    assert dict(lake.table(GOLD_FACT_RATE).metadata.refs) == refs
    assert refs[first.tag].snapshot_id == _snapshot(lake)
    with psycopg.connect(pg_database) as conn:
        assert (
            conn.execute("SELECT %s::regclass::oid", [f"makerates.{first.table_name}"]).fetchone()
            == oid
        )
        assert conn.execute("SELECT count(*) FROM makerates.publishes").fetchone() == (1,)


def test_new_window_replaces_table_and_indexes_lookups(lake: Lake, pg_database: str) -> None:
    """Another window gets a new table; the old one is dropped; date/base/quote are indexed."""
    old = publish(lake, days=30)
    new = publish(lake, days=20)
    assert new.dropped == (old.table_name, f"{old.table_name}_provenance")
    with psycopg.connect(pg_database) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'makerates' "
            "AND tablename LIKE 'rates%' ORDER BY 1"
        ).fetchall()
        assert tables == [(new.table_name,), (f"{new.table_name}_provenance",)]
        indexes = {
            r[0].split("(", 1)[1]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [new.table_name]
            ).fetchall()
        }
        assert indexes == {
            "rate_date, base_currency, quote_currency)",
            "base_currency, quote_currency, rate_date)",
            "quote_currency, rate_date)",
        }
        current = conn.execute(
            "SELECT table_name, days FROM makerates.publishes WHERE is_current"
        ).fetchall()
        assert current == [(new.table_name, 20)]


def test_reader_never_sees_an_empty_or_mixed_view(lake: Lake, pg_database: str) -> None:
    """A reader polling during 20 publishes sees exactly one complete publish every time."""
    publish(lake, days=40)
    seen: list[tuple[int, int, object]] = []
    stop = threading.Event()

    def poll() -> None:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    f"SELECT count(*), count(DISTINCT published_at), min(published_at) FROM {VIEW}"
                ).fetchone()
                assert row is not None
                seen.append((int(row[0]), int(row[1]), row[2]))

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for days in range(41, 61):  # 20 publishes, each a different window and row count
            publish(lake, days=days)
    finally:
        stop.set()
        reader.join(timeout=30)
    with psycopg.connect(pg_database) as conn:
        expected: dict[object, int] = dict(
            conn.execute("SELECT published_at, row_count FROM makerates.publishes").fetchall()
        )
    assert len(expected) == 21
    assert len(seen) > 20
    assert all(count > 0 and distinct == 1 for count, distinct, _ in seen)
    assert all(count == expected[stamp] for count, _, stamp in seen), "a partial publish was seen"
    assert len({stamp for _, _, stamp in seen}) > 1, "the reader never saw a switch"


@pytest.fixture
def reader_dsn(lake: Lake, pg_database: str) -> Iterator[str]:
    """DSN of a Make.com-style login role in ``makerates_reader``, after one publish."""
    publish(lake)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.READER_ROLE_SQL)
        conn.execute("DROP ROLE IF EXISTS make_com_test")
        conn.execute("CREATE ROLE make_com_test LOGIN IN ROLE makerates_reader")
    base, _, database = pg_database.rpartition("/")
    scheme, _, host = base.partition("://")
    host = host.split("@", 1)[-1]
    yield f"{scheme}://make_com_test@{host}/{database}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP OWNED BY make_com_test")
        conn.execute("DROP ROLE make_com_test")


REFUSED = (
    "SELECT * FROM makerates.{table}",
    "SELECT * FROM makerates.{table}_provenance",
    "SELECT * FROM makerates.publishes",
    "TRUNCATE makerates.{table}",
    "CREATE TABLE makerates.x (i int)",
    "CREATE TABLE public.x (i int)",
    "DROP VIEW makerates.rates_last_90_days",
)
# Writes through the view: a join, so PostgreSQL refuses them as not updatable before it
# checks privileges; the role's lack of those privileges is asserted on its own.
WRITES = (
    "INSERT INTO makerates.rates_last_90_days (rate_date, base_currency, quote_currency, rate) "
    "SELECT rate_date, base_currency, quote_currency, rate FROM makerates.rates_last_90_days",
    "UPDATE makerates.rates_last_90_days SET rate = 0",
    "DELETE FROM makerates.rates_last_90_days",
)


def test_reader_role_is_refused(lake: Lake, reader_dsn: str) -> None:
    """The read-only role can read the view, provenance columns included, but not the
    tables behind it, nor write."""
    with psycopg.connect(reader_dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM {VIEW}").fetchone()[0] > 0  # type: ignore[index]
        # Provenance columns too: the view reads the provenance table with its owner's rights.
        shown = conn.execute(
            f"SELECT count(*), count(source_name), count(is_derived), count(extraction_id) "
            f"FROM {VIEW}"
        ).fetchone()
        assert shown is not None
        assert len(set(shown)) == 1
        snapshot = conn.execute(f"SELECT DISTINCT gold_snapshot_id FROM {VIEW}").fetchone()
        assert snapshot is not None
        name = f"rates_s{snapshot[0]}_d90"
        for statement in REFUSED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.format(table=name))
        for statement in WRITES:
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                conn.execute(statement)
        held = conn.execute(
            "SELECT p, has_table_privilege(%s, p) FROM unnest(%s::text[]) AS p",
            [VIEW, ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]],
        ).fetchall()
    assert held == [("SELECT", True)] + [
        (p, False) for p in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
    ]


def test_reader_keeps_the_view_after_a_switch(lake: Lake, reader_dsn: str) -> None:
    """The grant on the view survives the switch, and the new table stays closed."""
    new = publish(lake, days=10)
    with psycopg.connect(reader_dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM {VIEW}").fetchone() == (new.rows,)
        for table in (new.table_name, f"{new.table_name}_provenance"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM makerates.{table}")


def test_publish_is_logged(lake: Lake) -> None:
    """Publishing records one access-log entry naming gold, with the extraction ids read."""
    before = read_access_log(lake).num_rows
    result = publish(lake)
    entries = read_access_log(lake).to_pylist()[before:]
    assert [e["action"] for e in entries] == ["publish"]
    assert entries[0]["table_name"] == "gold.fact_rate"
    assert entries[0]["record_ids"]
    assert result.table_name in entries[0]["query_text"]


def test_publish_needs_a_dsn_and_gold(tmp_path: Path, pg_database: str) -> None:
    """No DSN is a config error; an empty gold table is nothing to publish."""
    with pytest.raises(PublishConfigError, match="publish_dsn"):
        publish(open_lake(load_settings(home=tmp_path / "a")))
    with pytest.raises(NothingToPublishError):
        publish(open_lake(load_settings(home=tmp_path / "b", publish_dsn=pg_database)))
    with pytest.raises(PublishConfigError, match="positive"):
        publish(open_lake(load_settings(home=tmp_path / "b", publish_dsn=pg_database)), days=0)


def test_publish_as_of_a_time_before_gold_existed_says_so(lake: Lake) -> None:
    """As of a time before gold's first snapshot: gold had no snapshot yet, with its first
    named (it said "gold has no snapshot" of a gold that has snapshots)."""
    with pytest.raises(NothingToPublishError, match="no snapshot yet") as caught:
        publish(lake, as_of=AsOf(timestamp=datetime(2020, 1, 1, tzinfo=UTC)))
    assert caught.value.context["first_snapshot_at"] > "2020-01-01"


def test_connection_errors_hide_the_password(gold_home: Path, postgres: str) -> None:
    """A refused connection is a PublishLoadError whose message has no password."""
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    dsn = f"postgresql://nobody:hunter2-secret@127.0.0.1:{port}/no_such_db"
    lake = open_lake(load_settings(home=gold_home, publish_dsn=dsn))
    with pytest.raises(PublishLoadError) as caught:
        publish(lake)
    assert "hunter2-secret" not in str(caught.value)
    assert "hunter2-secret" not in repr(caught.value.__dict__)
