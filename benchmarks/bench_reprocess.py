"""Reprocess a generated history and compare with a bare Polars parse of the same payloads.

    python benchmarks/bench_reprocess.py --years 5 --per-day 6 --currencies 160

Generates ExchangeRate-API v6 ``latest`` payloads (USD base), writes them to bronze in
an embedded lake in a temporary folder, then runs, each in a fresh process so peak RSS
is its own: (1) a bare Polars parse (json_decode with a known schema, unpivot, cast
to decimal), (2) the full reprocess of silver and gold. Prints rows/s, seconds, peak
memory and the ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

CODES_FILE = Path(__file__).parents[1] / "src/makerates_lake/data/iso4217.csv"


def _codes(count: int) -> list[str]:
    active = pl.read_csv(CODES_FILE, infer_schema=False).filter(pl.col("active") == "true")
    codes = [c for c in active["code"].to_list() if c != "USD"]
    return ["USD", *codes[: count - 1]]


def _payloads(years: float, per_day: int, currencies: int) -> list[tuple[datetime, bytes]]:
    rng = random.Random(42)
    codes = _codes(currencies)
    level = {c: rng.uniform(0.5, 2000) for c in codes}
    start = datetime(2021, 1, 1, tzinfo=UTC)
    out = []
    for day in range(int(years * 365.25)):
        for _ in range(per_day):
            when = start + timedelta(days=day, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            unix = int(datetime.combine(when.date(), datetime.min.time(), UTC).timestamp())
            rates = ",".join(
                f'"{c}":{1 if c == "USD" else round(level[c] * rng.uniform(0.99, 1.01), 6)}'
                for c in codes
            )
            body = (
                '{"result":"success","time_last_update_unix":' + str(unix)
                + ',"base_code":"USD","conversion_rates":{' + rates + "}}"
            )  # fmt: skip
            out.append((when, body.encode()))
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_parse(home: str, codes: list[str], queue: Any) -> None:
    from makerates_lake.lake import open_lake
    from makerates_lake.settings import load_settings

    lake = open_lake(load_settings(home=home))
    raw = pl.from_arrow(lake.bronze().scan(selected_fields=("raw_response",)).to_arrow())
    assert isinstance(raw, pl.DataFrame)
    start = time.perf_counter()
    dtype = pl.Struct(
        {"base_code": pl.String, "time_last_update_unix": pl.Int64,
         "conversion_rates": pl.Struct(dict.fromkeys(codes, pl.String))}
    )  # fmt: skip
    rows = (
        raw.select(pl.col("raw_response").cast(pl.String).str.json_decode(dtype).alias("j"))
        .unnest("j")
        .unnest("conversion_rates")
        .unpivot(index=["base_code", "time_last_update_unix"], value_name="text")
        .with_columns(pl.col("text").cast(pl.Decimal(38, 18)))
    )
    queue.put(("bare parse", rows.height, time.perf_counter() - start, _peak_mb()))


def _reprocess(home: str, queue: Any) -> None:
    from makerates_lake.gold.build import run_reprocess
    from makerates_lake.lake import open_lake
    from makerates_lake.settings import load_settings

    lake = open_lake(load_settings(home=home))
    start = time.perf_counter()
    result = run_reprocess(lake)
    queue.put(("reprocess", result.silver.rates, time.perf_counter() - start, _peak_mb()))


def run(years: float, per_day: int, currencies: int) -> dict[str, tuple[int, float, float]]:
    """Generate, load bronze, time both phases; returns name -> (rows, seconds, peak MB)."""
    from makerates_lake.bronze.record import BronzeRecord
    from makerates_lake.bronze.writer import BronzeWriter
    from makerates_lake.lake import open_lake
    from makerates_lake.settings import load_settings

    with tempfile.TemporaryDirectory() as home:
        lake = open_lake(load_settings(home=home))
        url = "https://v6.exchangerate-api.com/v6/[REDACTED]/latest/USD"
        records = [
            BronzeRecord.create(
                source_name="exchangerate-api",
                source_version="v6",
                request_url=url,
                raw_response=body,
                http_status_code=200,
                extraction_timestamp=when,
            )
            for when, body in _payloads(years, per_day, currencies)
        ]
        BronzeWriter(lake).append(records)
        del records
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        results: dict[str, tuple[int, float, float]] = {}
        for target, args in ((_bare_parse, (home, _codes(currencies), queue)),
                             (_reprocess, (home, queue))):  # fmt: skip
            process = ctx.Process(target=target, args=args)
            process.start()
            name, rows, seconds, peak = queue.get()
            process.join()
            results[name] = (rows, seconds, peak)
        return results


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--per-day", type=int, default=6)
    parser.add_argument("--currencies", type=int, default=160)
    args = parser.parse_args(argv)
    results = run(args.years, args.per_day, args.currencies)
    for name, (rows, seconds, peak) in results.items():
        print(f"{name:12s} {rows:>10,d} rows {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s "
              f"peak {peak:8.0f} MB")  # fmt: skip
    ratio = results["reprocess"][1] / results["bare parse"][1]
    print(f"ratio reprocess / bare parse: {ratio:.2f}x (target <= 3x, peak < 2048 MB)")


if __name__ == "__main__":
    main()
