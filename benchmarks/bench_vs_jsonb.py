"""Bronze in PostgreSQL JSONB (the design document's table) vs the bronze Iceberg table.

    python -m benchmarks.bench_vs_jsonb            # the 7,126 ECB daily payloads
    python -m benchmarks.bench_vs_jsonb --days 200 --batch 500

The same bronze rows go into ``sql/bronze_extraction_jsonb.sql`` on a throwaway
PostgreSQL (started here) and into bronze on the embedded lake twice: in one commit (what
``makerates backfill`` does; one file, which maintenance leaves alone) and in ``--batch``-row
commits (several files in the day partition, which a maintenance pass compacts into one at
the cold zstd level). Compares ``pg_total_relation_size`` (heap, TOAST and indexes) with
the bytes of the bronze Iceberg table as ingested and after maintenance, both every file
under the table location (bronze never deletes superseded files) and the live files
only, and prints compressed bytes per column. Also checks what STACK.md measured: JSONB
does not keep the bytes, so the stored checksum no longer matches ``raw_response::text``.
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
    "extraction_id",
    "extraction_timestamp",
    "source_name",
    "source_version",
    "source_tier",
    "request_url",
    "request_method",
    "request_headers",
    "request_params",
    "request_body",
    "http_status_code",
    "response_headers",
    "raw_response",
    "extraction_duration_ms",
    "response_size_bytes",
    "error_message",
    "error_code",
    "retry_attempt",
    "data_classification",
    "retention_policy",
    "extraction_host",
    "extraction_user",
    "pipeline_version",
    "response_checksum",
    "parent_extraction_id",
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
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY bronze_extraction ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
        ):
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
    return {
        "total": total,
        "heap": heap,
        "indexes": indexes,
        "checksums_matching": matching,
        "rows": rows,
    }


def load_iceberg(
    folder: Path, records: list[BronzeRecord], batch: int | None = None
) -> dict[str, Any]:
    """Bronze on the embedded lake, then one maintenance pass; bytes before and after.

    ``batch=None`` appends every record in one commit, as ``makerates backfill`` does:
    one file in the day partition, which compaction leaves alone. With ``batch`` the
    records go in as that many rows per commit, so the day partition holds several files
    that maintenance compacts into one (at the cold compression level). Compaction never
    deletes bronze files, so ``total`` (every file under the table location) keeps the
    superseded ingest files and every earlier metadata file; ``live`` counts what the
    current snapshot references (data files, manifests, manifest list, metadata.json).
    """
    from makerates_lake.bronze.writer import BronzeWriter
    from makerates_lake.maintenance import run_maintenance
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake
    from makerates_lake.store.tables import BRONZE_EXTRACTIONS

    lake = open_lake(load_settings(home=folder / "lake"))
    writer = BronzeWriter(lake)
    step = batch or len(records)
    for first in range(0, len(records), step):
        writer.append(records[first : first + step])
    ingested = _sizes(lake.bronze(refresh=True))
    run_maintenance(lake, tables=(BRONZE_EXTRACTIONS,))
    return {"ingested": ingested, "maintained": _sizes(lake.bronze(refresh=True))}


def _sizes(table: Any) -> dict[str, Any]:
    files = [f for f in _live(table) if f.file_path.endswith(".parquet")]
    location = Path(table.location().removeprefix("file://"))
    data = sum(f.file_size_in_bytes for f in files)
    return {
        "total": folder_bytes(location),
        "data_live": data,
        "metadata": folder_bytes(location / "metadata"),
        "live": data + _current_metadata_bytes(table),
        "files": len(files),
        "columns": column_bytes([f.file_path for f in files]),
    }


def _current_metadata_bytes(table: Any) -> int:
    """The current metadata.json, manifest list and manifests (what a reader opens)."""
    paths = [table.metadata_location]
    snapshot = table.current_snapshot()
    if snapshot is not None:
        paths.append(snapshot.manifest_list)
        paths.extend(m.manifest_path for m in snapshot.manifests(table.io))
    return sum(Path(p.removeprefix("file://")).stat().st_size for p in paths)


def column_bytes(paths: list[str]) -> dict[str, int]:
    """Compressed bytes per column over these Parquet files (from their footers)."""
    import pyarrow.parquet as pq

    out: dict[str, int] = {}
    for path in paths:
        meta = pq.ParquetFile(path.removeprefix("file://")).metadata
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            for j in range(group.num_columns):
                column = group.column(j)
                out[column.path_in_schema] = (
                    out.get(column.path_in_schema, 0) + column.total_compressed_size
                )
    return dict(sorted(out.items(), key=lambda item: -item[1]))


def _live(table: Any) -> list[Any]:
    from makerates_lake.store.files import live_data_files

    return live_data_files(table)


def run(days: int | None = None, batch: int = 500) -> dict[str, Any]:
    """Both stores on the same rows; returns sizes and the ratios.

    ``iceberg`` is the one-commit backfill; ``batched`` the same rows in ``batch``-row
    commits, before and after a maintenance pass.
    """
    records = bronze_records(daily_payloads(limit=days))
    with tempfile.TemporaryDirectory(prefix="makerates-vs-jsonb-") as name:
        iceberg = load_iceberg(Path(name) / "one", records)
        batched = load_iceberg(Path(name) / "batched", records, batch=batch)
        with postgres_database() as dsn:
            jsonb = load_jsonb(dsn, records)
    raw = sum(len(r.raw_response) for r in records)
    return {
        "rows": len(records),
        "raw_bytes": raw,
        "jsonb": jsonb,
        "batch": batch,
        "iceberg": iceberg["maintained"],
        "iceberg_ingested": iceberg["ingested"],
        "batched": batched,
        "ratio": jsonb["total"] / iceberg["maintained"]["total"],
    }


def _line(label: str, sizes: dict[str, Any], jsonb_total: int) -> str:
    return (
        f"  {label:34} disk {sizes['total']:>10,} ({jsonb_total / sizes['total']:4.1f}x)  "
        f"live {sizes['live']:>10,} ({jsonb_total / sizes['live']:4.1f}x)  "
        f"data files {sizes['files']}"
    )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="first N days only")
    parser.add_argument("--batch", type=int, default=500, help="rows per commit of the batched arm")
    args = parser.parse_args()
    r = run(args.days, args.batch)
    j, i = r["jsonb"], r["iceberg"]
    print(f"bronze rows: {r['rows']:,}  (response bodies: {r['raw_bytes']:,} bytes)")
    print(
        f"PostgreSQL JSONB pg_total_relation_size: {j['total']:>12,} bytes "
        f"(heap {j['heap']:,}, indexes {j['indexes']:,})"
    )
    print(
        f"bronze Iceberg table files:              {i['total']:>12,} bytes "
        f"(live data {i['data_live']:,}, metadata {i['metadata']:,})"
    )
    print(f"ratio JSONB / Iceberg: {r['ratio']:.1f}x")
    print(
        "JSONB / Iceberg (disk: every file under the table location, superseded bronze "
        "and metadata files included; live: what the current snapshot references):"
    )
    print(_line("one commit, as ingested", r["iceberg_ingested"], j["total"]))
    print(_line("one commit, after maintenance", i, j["total"]))
    b = r["batched"]
    print(_line(f"{r['batch']}-row commits, as ingested", b["ingested"], j["total"]))
    print(_line(f"{r['batch']}-row commits, after maintenance", b["maintained"], j["total"]))
    print("compressed bytes per column (live data files):")
    arms = [
        ("one commit", i),
        ("batched ingested", b["ingested"]),
        ("batched maintained", b["maintained"]),
    ]
    print(f"  {'column':24}" + "".join(f"{name:>20}" for name, _ in arms))
    for column in i["columns"]:
        print(f"  {column:24}" + "".join(f"{a['columns'].get(column, 0):>20,}" for _, a in arms))
    print(
        f"JSONB rows whose raw_response::text still hashes to the checksum: "
        f"{j['checksums_matching']:,} of {j['rows']:,}"
    )


if __name__ == "__main__":
    main()
