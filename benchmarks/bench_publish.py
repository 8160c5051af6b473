"""Publish load throughput: ADBC (Arrow-native binary COPY) vs row-by-row executemany INSERT.

90 days of every cross pair of 40 currencies (40 x 39 x 90 = 140,400 rows) go into two
tables of the publish layout on one PostgreSQL, in the same run: once through
:func:`makerates_lake.publish.postgres.load_table` (the path ``makerates publish`` uses),
once through psycopg ``executemany`` of one INSERT per row (the baseline). Prints rows/s
of each and the ratio (target: at least 20x).

    python -m benchmarks.bench_publish --dsn postgresql://postgres@127.0.0.1:5432/bench

Without ``--dsn`` it starts a throwaway PostgreSQL (the test suite's helper).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pyarrow as pa

from makerates_lake.publish import ddl
from makerates_lake.publish.frame import COLUMNS
from makerates_lake.publish.postgres import ARROW_SCHEMA, ingest, load_table

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def make_rows(currencies: int = 40, days: int = 90) -> pa.Table:
    """Every ordered pair of ``currencies`` codes for ``days`` days, as a publish table."""
    rng = random.Random(42)
    codes = [f"{_LETTERS[i // 26 % 26]}{_LETTERS[i % 26]}X" for i in range(currencies)]
    published_at = datetime.now(UTC)
    start = date(2026, 1, 1)
    columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
    for day in range(days):
        for base in codes:
            for quote in codes:
                if base == quote:
                    continue
                columns["rate_date"].append(start + timedelta(days=day))
                columns["base_currency"].append(base)
                columns["quote_currency"].append(quote)
                columns["rate"].append(Decimal(f"{rng.uniform(0.001, 5000):.10f}"))
                columns["source_name"].append("bench")
                columns["is_derived"].append(True)
                columns["extraction_id"].append("00000000-0000-0000-0000-000000000000")
                columns["published_at"].append(published_at)
                columns["gold_snapshot_id"].append(1)
    return pa.table(columns, schema=ARROW_SCHEMA)


def _executemany(conn: psycopg.Connection[tuple[object, ...]], name: str, rows: pa.Table) -> None:
    insert = psycopg.sql.SQL("INSERT INTO {t} VALUES ({p})").format(
        t=psycopg.sql.Identifier(ddl.SCHEMA, name),
        p=psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() for _ in COLUMNS),
    )
    values = [tuple(row[c] for c in COLUMNS) for row in rows.to_pylist()]
    with conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(insert, values)


def run(dsn: str, *, currencies: int = 40, days: int = 90) -> dict[str, tuple[int, float]]:
    """Load the same rows both ways into the same DDL; returns ``{name: (rows, seconds)}``.

    Both timings cover the load into a freshly created table (no indexes yet), which is
    the only step the two ways differ in; indexing afterwards costs both the same.
    """
    rows = make_rows(currencies, days)
    adbc_name, insert_name = "rates_s0_bench_adbc", "rates_s0_bench_insert"
    results: dict[str, tuple[int, float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl.SCHEMA_SQL)
        for name in (adbc_name, insert_name):
            conn.execute(ddl.create_table(name))
        started = time.perf_counter()
        ingest(dsn, adbc_name, rows)
        results["ADBC ingest (publish path)"] = (rows.num_rows, time.perf_counter() - started)
        started = time.perf_counter()
        _executemany(conn, insert_name, rows)
        results["executemany INSERT"] = (rows.num_rows, time.perf_counter() - started)
        for name in (adbc_name, insert_name):
            conn.execute(ddl.drop_table(name))
        started = time.perf_counter()
        load_table(conn, dsn, adbc_name, rows)
        full = time.perf_counter() - started
        conn.execute(ddl.drop_table(adbc_name))
    results["(info) ADBC + count + 3 indexes + ANALYZE"] = (rows.num_rows, full)
    return results


def report(results: dict[str, tuple[int, float]]) -> str:
    """Rows/s of each way and the speed-up of ADBC over executemany."""
    lines = [
        f"{name:42s} {n:>8d} rows {s:8.2f} s {n / s:>12,.0f} rows/s"
        for name, (n, s) in results.items()
    ]
    (n1, s1), (n2, s2) = list(results.values())[:2]
    lines.append(f"speed-up: {(n1 / s1) / (n2 / s2):.1f}x (target >= 20x)")
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: a throwaway local cluster)")
    parser.add_argument("--currencies", type=int, default=40)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    if args.dsn:
        print(report(run(args.dsn, currencies=args.currencies, days=args.days)))
        return
    from tests.services import PostgresServer

    server = PostgresServer.start()
    try:
        print(report(run(server.admin_dsn, currencies=args.currencies, days=args.days)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
