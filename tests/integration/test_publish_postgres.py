"""Publishing gold to a real PostgreSQL: atomic switch, idempotence, read-only role, tags."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from makerates_lake.publish import PublishConfigError, ddl, publish
from makerates_lake.publish.errors import CopyEncodeError, NothingToPublishError, PublishLoadError
from makerates_lake.publish.frame import COLUMNS, TABLE_SCHEMA, publish_frame, stored_rows
from makerates_lake.publish.load import load_table
from makerates_lake.publish.pgcopy import uuid_bytes
from makerates_lake.publish.postgres import PublishResult, read_window, switch_view
from makerates_lake.settings import load_settings
from makerates_lake.store.access_log import read_access_log
from makerates_lake.store.catalog import Lake, open_lake
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


def test_view_constants_keep_every_value(pg_database: str) -> None:
    """Stamp and snapshot at the edges of their types, and each id, come back from the view."""
    table = _edge_rows()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        for stamp, snapshot in [
            (datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), -(2**63)),
            (datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC), 2**63 - 1),
        ]:
            name = f"rates_s{snapshot % 1000}_edge"
            load_table(conn, name, table)
            switch_view(
                conn,
                PublishResult(True, name, snapshot, 1, table.num_rows, None, None, stamp, "t"),
            )
            seen = conn.execute(
                f"SELECT extraction_id, published_at, gold_snapshot_id FROM {VIEW}"
            ).fetchall()
            assert sorted(seen) == sorted(
                (i, stamp, snapshot) for i in table["extraction_id"].to_pylist()
            )


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
    assert new.dropped == (old.table_name,)
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
    """The read-only role can read the view but not the tables behind it, nor write."""
    with psycopg.connect(reader_dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM {VIEW}").fetchone()[0] > 0  # type: ignore[index]
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


def test_connection_errors_hide_the_password(gold_home: Path, postgres: str) -> None:
    """A refused connection is a PublishLoadError whose message has no password."""
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    dsn = f"postgresql://nobody:hunter2-secret@127.0.0.1:{port}/no_such_db"
    lake = open_lake(load_settings(home=gold_home, publish_dsn=dsn))
    with pytest.raises(PublishLoadError) as caught:
        publish(lake)
    assert "hunter2-secret" not in str(caught.value)
    assert "hunter2-secret" not in repr(caught.value.__dict__)


def _edge_rows() -> pa.Table:
    """Publish rows at the edges of every type: numeric limits, signs, text lengths, UTF-8."""
    rates = [
        "0", "-1.5", "99999999999999999999.999999999999999999",
        "-99999999999999999999.999999999999999999", "0.000000000000000001",
        "-0.000000000000000001", "12345.6789", "1E+10", "0.86720", "18446744073709551616",
    ]  # fmt: skip
    n = len(rates)
    return pa.table(
        {
            "rate_date": [date(1970, 1, 1), date(1999, 12, 31), date(2000, 1, 1)]
            + [date(2026, 3, i + 1) for i in range(n - 3)],
            "base_currency": ["USD", "EUR", "", "É", "ÅÅÅ", "x" * 40] + ["GBP"] * (n - 6),
            "quote_currency": ["JPY"] * n,
            "rate": [Decimal(r) for r in rates],
            "source_name": [f"s{'y' * i}" for i in range(n)],
            "is_derived": [i % 3 == 0 for i in range(n)],
            "extraction_id": [str(uuid.UUID(int=2**128 - 1 - i)) for i in range(n - 1)]
            + [str(uuid.UUID(int=0))],
        },
        schema=TABLE_SCHEMA,
    )


@pytest.mark.parametrize("rows", ["edge", "bench"])
def test_binary_copy_matches_adbc_row_for_row(pg_database: str, rows: str) -> None:
    """The NumPy binary COPY encoder stores exactly what ADBC's own COPY writer stores, in
    both tables, and the view's join gives back every row sent."""
    from benchmarks.bench_publish import make_rows

    table = _edge_rows() if rows == "edge" else make_rows(currencies=7, days=3)
    stored = stored_rows(table)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        load_table(conn, "rates_s1_copy", table)
        conn.execute(ddl.create_tables("rates_s1_adbc"))
        ids = stored.provenance.schema.get_field_index("extraction_id")
        binary = pa.array(
            [bytes(b) for b in uuid_bytes(stored.provenance.column(ids).combine_chunks())],
            pa.binary(16),
        )
        _adbc_ingest(pg_database, "rates_s1_adbc", stored.rates)
        _adbc_ingest(
            pg_database,
            "rates_s1_adbc_provenance",
            stored.provenance.set_column(ids, "extraction_id", binary),
        )
        for suffix, sent in (
            ("", stored.rates.num_rows),
            ("_provenance", stored.provenance.num_rows),
        ):
            copied, adbc = f"makerates.rates_s1_copy{suffix}", f"makerates.rates_s1_adbc{suffix}"
            differ = conn.execute(
                f"SELECT (SELECT count(*) FROM (TABLE {copied} EXCEPT ALL TABLE {adbc}) a), "
                f"(SELECT count(*) FROM (TABLE {adbc} EXCEPT ALL TABLE {copied}) b), "
                f"(SELECT count(*) FROM {copied})"
            ).fetchone()
            assert differ == (0, 0, sent)
        joined = conn.execute(
            "SELECT rate_date, base_currency, quote_currency, rate::text, source_name, "
            "is_derived, extraction_id::text FROM makerates.rates_s1_copy "
            "JOIN makerates.rates_s1_copy_provenance USING (provenance_key)"
        ).fetchall()
    # Exact decimal text, independent of ADBC: every value survives digit for digit, and
    # every rate comes back with its own provenance.
    sent_rows = [
        (d, b, q, Decimal(r), s, derived, i)
        for d, b, q, r, s, derived, i in zip(*(c.to_pylist() for c in table.columns), strict=True)
    ]
    got_rows = [(d, b, q, Decimal(r), s, derived, i) for d, b, q, r, s, derived, i in joined]
    assert sorted(got_rows, key=repr) == sorted(sent_rows, key=repr)
    # Distinct provenances only: fewer than the rows when rows share an extraction.
    assert stored.provenance.num_rows == len({(s, d, i) for *_, s, d, i in sent_rows})


NOTE_SETTING = """
CREATE TABLE public.seen (tag text, setting text);
CREATE FUNCTION public.note() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.seen VALUES (tg_tag, current_setting('synchronous_commit'));
END $$;
CREATE EVENT TRIGGER note ON ddl_command_end EXECUTE FUNCTION public.note();
"""


def test_only_load_and_index_commits_skip_the_flush_wait(pg_database: str) -> None:
    """Table and indexes are built with synchronous_commit off; the view switch, and the
    session afterwards, keep the session's synchronous commit."""
    table = _edge_rows()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        conn.execute(NOTE_SETTING)
        try:
            conn.execute("SET synchronous_commit = on")
            load_table(conn, "rates_s3_d1", table)
            now = datetime.now(UTC)
            switch_view(
                conn, PublishResult(True, "rates_s3_d1", 3, 1, table.num_rows, None, None, now, "t")
            )
            seen = conn.execute("SELECT tag, setting FROM public.seen").fetchall()
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        finally:
            conn.execute("DROP EVENT TRIGGER note")
    assert ("CREATE TABLE", "off") in seen
    assert [s for t, s in seen if t == "CREATE INDEX"] == ["off"] * 3
    assert [s for t, s in seen if t == "CREATE VIEW"] == ["on"]


def test_copy_refuses_nulls_foreign_schemas_and_odd_ids(pg_database: str) -> None:
    """A null, a different Arrow schema or an id that is not a canonical UUID is refused,
    and leaves no table behind."""
    table = _edge_rows()
    with_null = table.set_column(4, "source_name", pa.array([None] * table.num_rows, pa.string()))
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        with pytest.raises(CopyEncodeError, match="nulls"):
            load_table(conn, "rates_s2_d1", with_null)
        with pytest.raises(CopyEncodeError, match="schema"):
            load_table(
                conn,
                "rates_s2_d1",
                table.cast(table.schema.set(1, pa.field("base_currency", pa.large_string()))),
            )
        upper = table["extraction_id"].to_pylist()
        upper[3] = upper[3].upper()
        with pytest.raises(CopyEncodeError, match="canonical UUID"):
            load_table(conn, "rates_s2_d1", table.set_column(6, "extraction_id", pa.array(upper)))
        assert conn.execute(
            "SELECT to_regclass('makerates.rates_s2_d1'), "
            "to_regclass('makerates.rates_s2_d1_provenance')"
        ).fetchone() == (None, None)


def _adbc_ingest(dsn: str, name: str, rows: pa.Table) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(dsn) as conn:
        with conn.cursor() as cursor:
            cursor.adbc_ingest(name, rows, mode="append", db_schema_name=ddl.SCHEMA)
        conn.commit()
