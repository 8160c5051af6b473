"""Bronze in PostgreSQL JSONB (the design document's table) vs the bronze Iceberg table.

    python -m benchmarks.bench_vs_jsonb            # the 7,126 ECB daily payloads
    python -m benchmarks.bench_vs_jsonb --days 200

The same bronze rows go into ``sql/bronze_extraction_jsonb.sql`` on a throwaway
PostgreSQL (started here) and into bronze on the embedded lake (one commit, then one
compaction pass so the comparison is with the maintained table). Compares
``pg_total_relation_size`` (heap, TOAST and indexes) with the bytes of the bronze Iceberg
table (data + metadata files) and prints the ratio. Also checks what STACK.md measured:
JSONB does not keep the bytes, so the stored checksum no longer matches ``raw_response::text``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._ecb import bronze_records, daily_payloads, folder_bytes
from benchmarks._layouts import postgres_database
from makerates_lake.bronze.record import BronzeRecord

DDL = Path(__file__).resolve().parents[1] / "sql" / "bronze_extraction_jsonb.sql"

_COLUMNS = (
    "extraction_id", "extraction_timestamp", "source_name", "source_version", "source_tier",
    "request_url", "request_method", "request_headers", "request_params", "request_body",
    "http_status_code", "response_headers", "raw_response", "extraction_duration_ms",
    "response_size_bytes", "error_message", "error_code", "retry_attempt",
    "data_classification", "retention_policy", "extraction_host", "extraction_user",
    "pipeline_version", "response_checksum", "parent_extraction_id",
)


def _jsonb_row(record: BronzeRecord) -> tuple[Any, ...]:
    row = record.as_row()
    row["raw_response"] = record.raw_response.decode("utf-8")
    body = row["request_body"]
    row["request_body"] = None if body is None else json.dumps(body)
    return tuple(row[c] for c in _COLUMNS)


def load_jsonb(dsn: str, records: list[BronzeRecord]) -> dict[str, int]:
    """Create the table, COPY the rows in, VACUUM; returns sizes and the checksum check."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL.read_text())
        with conn.cursor() as cur, cur.copy(
            f"COPY bronze_extraction ({', '.join(_COLUMNS)}) FROM STDIN"
        ) as copy:
            for record in records:
                copy.write_row(_jsonb_row(record))
        conn.execute("VACUUM ANALYZE bronze_extraction")
        sizes = conn.execute(
            "SELECT pg_total_relation_size('bronze_extraction'), "
            "pg_relation_size('bronze_extraction'), pg_indexes_size('bronze_extraction'), "
            "count(*) FILTER (WHERE encode(sha256(convert_to(raw_response::text, 'UTF8')), "
            "'hex') = response_checksum), count(*) FROM bronze_extraction"
        ).fetchone()
    assert sizes is not None
    total, heap, indexes, matching, rows = sizes
    return {"total": total, "heap": heap, "indexes": indexes,
            "checksums_matching": matching, "rows": rows}


def load_iceberg(folder: Path, records: list[BronzeRecord]) -> dict[str, int]:
    """Bronze on the embedded lake, compacted; returns its bytes (data + metadata)."""
    from makerates_lake.bronze.writer import BronzeWriter
    from makerates_lake.lake import open_lake
    from makerates_lake.maintenance import compact_table
    from makerates_lake.settings import load_settings
    from makerates_lake.tables import BRONZE_EXTRACTIONS

    lake = open_lake(load_settings(home=folder / "lake"))
    BronzeWriter(lake).append(records)
    compact_table(lake, BRONZE_EXTRACTIONS)
    table = lake.bronze()
    data = sum(f.file_size_in_bytes for f in _live(table))
    location = Path(table.location().removeprefix("file://"))
    return {"total": folder_bytes(location), "data_live": data,
            "metadata": folder_bytes(location / "metadata")}


def _live(table: Any) -> list[Any]:
    from makerates_lake.maintenance.compact import live_data_files

    return live_data_files(table)


def run(days: int | None = None) -> dict[str, Any]:
    """Both stores on the same rows; returns sizes and the ratio."""
    records = bronze_records(daily_payloads(limit=days))
    with tempfile.TemporaryDirectory(prefix="makerates-vs-jsonb-") as name:
        iceberg = load_iceberg(Path(name), records)
        with postgres_database() as dsn:
            jsonb = load_jsonb(dsn, records)
    raw = sum(len(r.raw_response) for r in records)
    return {"rows": len(records), "raw_bytes": raw, "jsonb": jsonb, "iceberg": iceberg,
            "ratio": jsonb["total"] / iceberg["total"]}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="first N days only")
    args = parser.parse_args()
    r = run(args.days)
    j, i = r["jsonb"], r["iceberg"]
    print(f"bronze rows: {r['rows']:,}  (response bodies: {r['raw_bytes']:,} bytes)")
    print(f"PostgreSQL JSONB pg_total_relation_size: {j['total']:>12,} bytes "
          f"(heap {j['heap']:,}, indexes {j['indexes']:,})")
    print(f"bronze Iceberg table files:              {i['total']:>12,} bytes "
          f"(live data {i['data_live']:,}, metadata {i['metadata']:,})")
    print(f"ratio JSONB / Iceberg: {r['ratio']:.1f}x")
    print(f"JSONB rows whose raw_response::text still hashes to the checksum: "
          f"{j['checksums_matching']:,} of {j['rows']:,}")


if __name__ == "__main__":
    main()
