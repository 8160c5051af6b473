"""Append bronze rows in batches and compare with a bare ``pyarrow.parquet.write_table``.

    python -m benchmarks.bench_bronze_append --rows 10000 --batch 500

Both arms get the same rows (realistic ExchangeRate-API ``latest`` bodies with 160
currencies). The bronze arm goes through :class:`BronzeWriter` on the embedded lake in a
temporary folder: duplicate check, day-partitioned Parquet files, one Iceberg commit per
batch. The baseline writes the same Arrow table to one zstd Parquet file, no catalog.
Prints rows/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter, records_to_arrow
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import open_lake


def make_records(rows: int, currencies: int = 160, seed: int = 7) -> list[BronzeRecord]:
    """``rows`` successful ExchangeRate-API records spread over the last days."""
    rng = random.Random(seed)
    codes = [f"{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}X" for i in range(currencies)]
    start = datetime.now(UTC) - timedelta(days=3)
    records = []
    for i in range(rows):
        rates = ",".join(f'"{c}":{rng.uniform(0.01, 2000):.6f}' for c in codes)
        body = (
            '{"result":"success","time_last_update_unix":1700000000,'
            f'"base_code":"USD","conversion_rates":{{{rates}}}}}'
        ).encode()
        records.append(
            BronzeRecord.create(
                source_name="exchangerate-api",
                source_version="v6",
                request_url="https://v6.exchangerate-api.com/v6/KEY/latest/USD",
                request_headers={"User-Agent": "makerates_lake/bench", "Accept": "text/json"},
                raw_response=body,
                http_status_code=200,
                response_headers={"content-type": "application/json"},
                extraction_duration_ms=rng.uniform(50, 300),
                extraction_timestamp=start + timedelta(seconds=i * 25),
                secrets=["KEY-NOT-REAL"],
            )
        )
    return records


def run(rows: int = 10_000, batch: int = 500) -> dict[str, Any]:
    """Time both arms on the same rows; returns the measurements."""
    records = make_records(rows)
    with tempfile.TemporaryDirectory(prefix="makerates-bench-") as folder:
        lake = open_lake(load_settings(home=Path(folder) / "lake"))
        writer = BronzeWriter(lake)
        started = time.perf_counter()
        for offset in range(0, rows, batch):
            writer.append(records[offset : offset + batch])
        bronze_s = time.perf_counter() - started
        stored = lake.bronze().scan(selected_fields=("extraction_id",)).to_arrow().num_rows

        started = time.perf_counter()
        table = records_to_arrow(records)
        pq.write_table(table, Path(folder) / "baseline.parquet", compression="zstd")
        baseline_s = time.perf_counter() - started
    return {
        "rows": rows,
        "batch": batch,
        "stored": stored,
        "bronze_s": bronze_s,
        "baseline_s": baseline_s,
        "bronze_rows_per_s": rows / bronze_s,
        "baseline_rows_per_s": rows / baseline_s,
        "ratio": bronze_s / baseline_s,
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    result = run(args.rows, args.batch)
    print(f"bronze append   {result['rows']:>7,} rows in batches of {result['batch']}: "
          f"{result['bronze_s']:6.2f} s  {result['bronze_rows_per_s']:>9,.0f} rows/s")
    print(f"pq.write_table  {result['rows']:>7,} rows, one file:          "
          f"{result['baseline_s']:6.2f} s  {result['baseline_rows_per_s']:>9,.0f} rows/s")
    print(f"ratio bronze/baseline time: {result['ratio']:.2f}x  "
          f"(rows stored: {result['stored']:,})")


if __name__ == "__main__":
    main()
