"""The publish load on a real PostgreSQL: the binary COPY encoder against ADBC, every
type's edge values, the rate and provenance tables, failure paths and commit settings."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from makerates_lake.publish import ddl, load
from makerates_lake.publish.errors import CopyEncodeError, PublishLoadError
from makerates_lake.publish.frame import TABLE_SCHEMA, stored_rows
from makerates_lake.publish.load import load_table
from makerates_lake.publish.pgcopy import uuid_bytes
from makerates_lake.publish.postgres import PublishResult, switch_view

pytestmark = pytest.mark.integration

VIEW = "makerates.rates_last_90_days"
JOINED = (
    "SELECT rate_date, base_currency, quote_currency, rate, source_name, is_derived, "
    "extraction_id::text FROM makerates.{name} JOIN makerates.{name}_provenance "
    "USING (provenance_key) ORDER BY 1, 2, 3"
)


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


def test_rows_over_many_blocks_and_chunks_keep_their_own_provenance(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded in blocks of 7 rows from a table of several chunks, provenances first seen in
    any block, every rate reads back with its own source, derivation and extraction."""
    from benchmarks.bench_publish import make_rows

    rows = make_rows(currencies=7, days=3)  # 126 rows, one extraction a day
    # Another provenance every fifth row, in a table cut into uneven chunks.
    sources = [("other" if i % 5 == 0 else "bench") for i in range(rows.num_rows)]
    derived = [i % 3 != 0 for i in range(rows.num_rows)]
    rows = rows.set_column(4, "source_name", pa.array(sources)).set_column(
        5, "is_derived", pa.array(derived)
    )
    chunked = pa.Table.from_batches(
        [rows.slice(0, 50).to_batches()[0], rows.slice(50).to_batches()[0]]
    )
    assert chunked.column(0).num_chunks == 2
    monkeypatch.setattr(load, "COPY_BLOCK_ROWS", 7)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        load_table(conn, "rates_s5_d3", chunked)
        got = conn.execute(JOINED.format(name="rates_s5_d3")).fetchall()
    sent = sorted(zip(*(c.to_pylist() for c in rows.columns), strict=True))
    assert got == sent
    assert len({(s, d, i) for *_, s, d, i in got}) == stored_rows(rows).provenance.num_rows


def test_a_failed_count_check_leaves_no_table(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load whose tables do not give back the rows sent is a PublishLoadError, and
    neither table is left behind."""
    table = _edge_rows()
    sent = load.copy_rows

    def drop_one_provenance(
        conn: psycopg.Connection[tuple[object, ...]], name: str, rows: pa.Table
    ) -> None:
        sent(conn, name, rows)
        conn.execute(f"DELETE FROM makerates.{name}_provenance WHERE provenance_key = 0")

    monkeypatch.setattr(load, "copy_rows", drop_one_provenance)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        with pytest.raises(PublishLoadError, match="do not give back the rows sent"):
            load_table(conn, "rates_s4_d1", table)
        left = conn.execute(
            "SELECT to_regclass('makerates.rates_s4_d1'), "
            "to_regclass('makerates.rates_s4_d1_provenance')"
        ).fetchone()
    assert left == (None, None)
