"""Publish load throughput: binary COPY from Arrow vs row-by-row executemany INSERT.

90 days of every cross pair of 40 currencies (40 x 39 x 90 = 140,400 rows) go into tables
of the publish layout on one PostgreSQL, in the same run:

* **binary COPY** through :func:`makerates_lake.publish.load.copy_rows`, the load
  ``makerates publish`` does (Arrow encoded column-wise by
  :mod:`makerates_lake.publish.pgcopy`, sent on the open connection);
* **executemany INSERT** (the baseline): psycopg ``executemany`` of one parameterised
  INSERT per row, psycopg defaults, on an open connection, one commit;
* for information, ADBC ``adbc_ingest`` (its own binary COPY, with its connection).

Every way stores the same rows in the same tables, the publish's own: a rate table
(date, base, quote, rate, provenance key) and a provenance table (key, source, derived or
not, ``extraction_id`` a ``uuid``; the per-publish ``published_at`` and
``gold_snapshot_id`` are added by the view, not stored). The COPY way starts from the
publish rows, one per rate, and keys them to their provenance inside its timing, block by
block as it sends them; executemany is given the rows of both tables as Python tuples
built before its clock starts. The ids start as text for COPY and executemany alike:
the COPY way turns them into uuid bytes inside its timing, executemany lets the server
parse them; ADBC, information only, is given keyed rows and the ids as bytes before its
clock starts.

Each way loads into freshly created, empty tables and the timing covers the load and its
commit (the tables are created before the clock starts, for every way alike). Every way
runs ``--repeat`` times and the fastest run counts, for every way alike, because other
work on the machine only ever adds time. The ratio is binary COPY over executemany
(target: at least 20x). Then a full publish step is timed on its own: create + COPY +
count check + 3 indexes + ANALYZE + the view switch transaction.

    python -m benchmarks.bench_publish --dsn postgresql://postgres@127.0.0.1:5432/bench

``--dsn`` must name a scratch database: the full-publish step switches
``makerates.rates_last_90_days`` (it is skipped when that database holds a real publish).
Without ``--dsn`` it starts a throwaway PostgreSQL (the test suite's helper).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from makerates_lake.publish import ddl, pgcopy
from makerates_lake.publish.frame import (
    PROVENANCE_KEY,
    TABLE_SCHEMA,
    UUID_COLUMNS,
    StoredRows,
    stored_rows,
)
from makerates_lake.publish.load import COPY_BLOCK_ROWS, copy_rows, load_table
from makerates_lake.publish.postgres import PublishResult, switch_view

COPY: Final = "binary COPY from Arrow (publish)"
INSERT: Final = "executemany INSERT (baseline)"
ADBC: Final = "(info) ADBC adbc_ingest"
ENCODE: Final = "(info) COPY encoding of keyed rows only"
SPLIT: Final = "(info) provenance keying, all rows at once"
FULL: Final = "(info) full publish: load+indexes+switch"
FLOOR: Final = "(info) server floor: COPY of a server file"
_BENCH_TAG: Final = "bench-publish"
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

Conn = psycopg.Connection[tuple[object, ...]]


def make_rows(currencies: int = 40, days: int = 90) -> pa.Table:
    """Every ordered pair of ``currencies`` codes for ``days`` days, as publish table rows."""
    codes = [f"{_LETTERS[i // 26 % 26]}{_LETTERS[i % 26]}X" for i in range(currencies)]
    pairs = [(b, q) for b in codes for q in codes if b != q]
    n = len(pairs) * days
    rng = np.random.default_rng(42)
    # Rates 0.001..5000 with 10 decimals, as exact decimals (unscaled integers at scale 10).
    unscaled = rng.integers(10**7, 5 * 10**13, size=n, dtype=np.int64)
    words = np.zeros((n, 2), dtype="<i8")  # 128-bit little-endian: low word, high word 0
    words[:, 0] = unscaled
    rates = pa.Array.from_buffers(pa.decimal128(38, 10), n, [None, pa.py_buffer(words)])
    rates = rates.cast(pa.decimal128(38, 18))
    start = date(2026, 1, 1)
    columns: dict[str, pa.Array] = {
        "rate_date": pa.array(
            [start + timedelta(days=d) for d in range(days) for _ in pairs], pa.date32()
        ),
        "base_currency": pa.array([b for _ in range(days) for b, _q in pairs], pa.string()),
        "quote_currency": pa.array([q for _ in range(days) for _b, q in pairs], pa.string()),
        "rate": rates,
        "source_name": pa.array(["bench"] * n, pa.string()),
        "is_derived": pa.array([True] * n, pa.bool_()),
        # One extraction a day, as when one source's daily answer holds every rate.
        "extraction_id": pa.array(
            [f"{d:08x}-0000-7000-8000-000000000000" for d in range(days) for _ in pairs],
            pa.string(),
        ),
    }
    return pa.table(columns, schema=TABLE_SCHEMA)


def _copy(conn: Conn, name: str, rows: pa.Table) -> None:
    with conn.transaction():
        copy_rows(conn, name, rows)


Values = list[tuple[object, ...]]


def _executemany(conn: Conn, name: str, provenance: Values, rates: Values) -> None:
    with conn.transaction(), conn.cursor() as cursor:
        for table, values in ((ddl.provenance_table(name), provenance), (name, rates)):
            insert = sql.SQL("INSERT INTO {t} VALUES ({p})").format(
                t=sql.Identifier(ddl.SCHEMA, table),
                p=sql.SQL(", ").join(sql.Placeholder() for _ in values[0]),
            )
            cursor.executemany(insert, values)


def _adbc(dsn: str, name: str, rows: StoredRows) -> None:
    """ADBC's ingest of ``rows`` whose ids are already the 16 bytes of a uuid."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(dsn) as adbc_conn:
        with adbc_conn.cursor() as cursor:
            for table, arrow in ((ddl.provenance_table(name), rows.provenance), (name, rows.rates)):
                cursor.adbc_ingest(table, arrow, mode="append", db_schema_name=ddl.SCHEMA)
        adbc_conn.commit()


def _best(conn: Conn, name: str, load: Callable[[], object], repeat: int, rows: int) -> float:
    """Fastest of ``repeat`` loads, each into freshly created empty tables, all checked
    through the view's join."""
    best = float("inf")
    for _ in range(repeat):
        conn.execute(ddl.create_tables(name))
        started = time.perf_counter()
        load()
        best = min(best, time.perf_counter() - started)
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {t} JOIN {p} USING ({k})").format(
                t=sql.Identifier(ddl.SCHEMA, name),
                p=sql.Identifier(ddl.SCHEMA, ddl.provenance_table(name)),
                k=sql.Identifier(PROVENANCE_KEY),
            )
        ).fetchone()
        if count is None or count[0] != rows:
            raise RuntimeError(f"{name}: {count} rows loaded, {rows} sent")
        conn.execute(ddl.drop_tables(name))
    return best


def _server_floor(conn: Conn, name: str, rows: StoredRows, repeat: int) -> float | None:
    """Fastest COPY of the same binary streams from files on the server: PostgreSQL's own
    time to store the rows, with no client or network in it. None without the privilege
    (``pg_read_server_files``) or when the server is on another machine."""
    with tempfile.TemporaryDirectory() as folder:
        # The server runs as another user: let it traverse the folder and read the files.
        Path(folder).chmod(0o755)
        statements = []
        for table, arrow in ((ddl.provenance_table(name), rows.provenance), (name, rows.rates)):
            path = Path(folder) / f"{table}.pgcopy"
            path.write_bytes(
                b"".join(pgcopy.encode(arrow, rows_per_chunk=COPY_BLOCK_ROWS, uuids=UUID_COLUMNS))
            )
            path.chmod(0o644)
            statements.append(
                sql.SQL("COPY {t} FROM {f} (FORMAT binary)").format(
                    t=sql.Identifier(ddl.SCHEMA, table), f=sql.Literal(str(path))
                )
            )

        def load() -> None:
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement)

        try:
            return _best(conn, name, load, repeat, rows.num_rows)
        except psycopg.Error:
            return None


def _full_publish(conn: Conn, rows: pa.Table, repeat: int) -> float | None:
    """Fastest of ``repeat`` load_table + switch_view runs, or None on a real database."""
    conn.execute(ddl.SCHEMA_SQL)
    real = conn.execute(
        "SELECT count(*) FROM makerates.publishes WHERE gold_tag <> %s", [_BENCH_TAG]
    ).fetchone()
    if real is None or real[0]:
        return None
    best = float("inf")
    for i in range(repeat):
        name = f"rates_s0_bench_full_{i}"
        now = datetime.now(UTC)
        started = time.perf_counter()
        load_table(conn, name, rows)
        switch_view(
            conn,
            PublishResult(True, name, 0, 90, rows.num_rows, None, None, now, _BENCH_TAG),
        )
        best = min(best, time.perf_counter() - started)
    conn.execute(sql.SQL("DROP VIEW {v}").format(v=sql.Identifier(ddl.SCHEMA, ddl.VIEW)))
    conn.execute(ddl.drop_tables(f"rates_s0_bench_full_{repeat - 1}"))
    conn.execute("DELETE FROM makerates.publishes WHERE gold_tag = %s", [_BENCH_TAG])
    return best


def run(
    dsn: str, *, currencies: int = 40, days: int = 90, repeat: int = 5
) -> dict[str, tuple[int, float]]:
    """Load the same rows every way; returns ``{name: (rows, best seconds)}``.

    The first two entries are the measured pair (binary COPY, executemany).
    """
    rows = make_rows(currencies, days)
    n = rows.num_rows
    split = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        stored = stored_rows(rows)
        split = min(split, time.perf_counter() - started)
    results: dict[str, tuple[int, float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        name = "rates_s0_bench_load"
        results[COPY] = (n, _best(conn, name, lambda: _copy(conn, name, rows), repeat, n))
        # The baseline gets its Python tuples of both tables for free (built before the
        # clock), while the COPY path's keying and Arrow encoding are inside its timing:
        # the comparison favours the baseline.
        provenance = [tuple(row.values()) for row in stored.provenance.to_pylist()]
        rates = [tuple(row.values()) for row in stored.rates.to_pylist()]
        results[INSERT] = (
            n,
            _best(conn, name, lambda: _executemany(conn, name, provenance, rates), repeat, n),
        )
        ids = stored.provenance.schema.get_field_index("extraction_id")
        binary = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(16),
            stored.provenance.num_rows,
            [
                None,
                pa.py_buffer(
                    pgcopy.uuid_bytes(stored.provenance.column(ids).combine_chunks()).tobytes()
                ),
            ],
        )
        adbc_rows = StoredRows(
            rates=stored.rates,
            provenance=stored.provenance.set_column(ids, "extraction_id", binary),
        )
        results[ADBC] = (n, _best(conn, name, lambda: _adbc(dsn, name, adbc_rows), repeat, n))
        encode = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            for arrow in (stored.provenance, stored.rates):
                for _block in pgcopy.encode(
                    arrow, rows_per_chunk=COPY_BLOCK_ROWS, uuids=UUID_COLUMNS
                ):
                    pass
            encode = min(encode, time.perf_counter() - started)
        results[ENCODE] = (n, encode)
        results[SPLIT] = (n, split)
        floor = _server_floor(conn, name, stored, repeat)
        if floor is not None:
            results[FLOOR] = (n, floor)
        full = _full_publish(conn, rows, repeat)
        if full is not None:
            results[FULL] = (n, full)
    return results


def report(results: dict[str, tuple[int, float]]) -> str:
    """Rows/s of each way and the speed-up of binary COPY over executemany."""
    lines = [
        f"{name:42s} {n:>8d} rows {s:8.3f} s {n / s:>12,.0f} rows/s"
        for name, (n, s) in results.items()
    ]
    (n1, s1), (n2, s2) = results[COPY], results[INSERT]
    lines.append(
        f"speed-up: {(n1 / s1) / (n2 / s2):.1f}x (binary COPY / executemany; target >= 20x)"
    )
    if FLOOR in results:
        n4, s4 = results[FLOOR]
        lines.append(
            f"binary COPY takes {s1 / s4:.2f}x PostgreSQL's own storing time; at that floor "
            f"the ratio would be {(n4 / s4) / (n2 / s2):.1f}x"
        )
    if FULL in results:
        n3, s3 = results[FULL]
        lines.append(f"full publish vs executemany load alone: {(n3 / s3) / (n2 / s2):.1f}x")
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: a throwaway local cluster)")
    parser.add_argument("--currencies", type=int, default=40)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5, help="runs per way; fastest counts")
    args = parser.parse_args()
    options = {"currencies": args.currencies, "days": args.days, "repeat": args.repeat}
    if args.dsn:
        print(report(run(args.dsn, **options)))
        return
    from tests.services import PostgresServer

    server = PostgresServer.start()
    try:
        print(report(run(server.admin_dsn, **options)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
