"""Reprocess a generated history and compare with a bare Polars parse of the same payloads.

    python -m benchmarks.bench_reprocess --years 5 --per-day 6 --currencies 160
    python -m benchmarks.bench_reprocess --sizes 1752960,7011840,14023680

With ``--sizes`` (rates, comma-separated) each size is a history of 160 currencies
whose runs a day the benchmark chooses: the fewest of 6, 12, 24, 48, ... that fit the
size into ten years (1,752,960 = 5 years x 6; 7,011,840 = 10 x 12; 14,023,680 = 10 x
24). Each size runs in a child process of its own, and each arm in a child of that,
so every peak is the arm's own. It prints both arms at each size, then how the
reprocess's peak grew from the smallest size to the largest.

Generates ExchangeRate-API v6 ``latest`` payloads (USD base), writes them to bronze in
an embedded lake in a temporary folder, then runs, each in a fresh process so peak RSS
is its own: (1) a bare Polars parse (read the payload column from bronze, json_decode
with a known schema, unpivot, cast to decimal), (2) the full reprocess of silver and
gold (which reads bronze too). Prints rows/s, seconds, peak memory and the ratio, and
the bare parse's time without the read, so the comparison can be made both ways.

The bare parse is not exact: json_decode reads numbers as floats (``0.86720`` comes
back as ``0.8672``, 18-digit rates lose digits). It is the speed reference, not a
correct silver.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from makerates_lake.store.catalog import Lake

CODES_FILE = Path(__file__).parents[1] / "src/makerates_lake/data/iso4217.csv"


def _codes(count: int) -> list[str]:
    active = pl.read_csv(CODES_FILE, infer_schema=False).filter(pl.col("active") == "true")
    codes = [c for c in active["code"].to_list() if c != "USD"]
    return ["USD", *codes[: count - 1]]


def _payloads(years: float, per_day: int, currencies: int) -> Iterator[tuple[datetime, bytes]]:
    rng = random.Random(42)
    codes = _codes(currencies)
    level = {c: rng.uniform(0.5, 2000) for c in codes}
    start = datetime(2021, 1, 1, tzinfo=UTC)
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
            yield when, body.encode()


#: Bronze records per append while the history is written: a commit per year or so
#: of a large history, so the generator never holds all of it.
_WRITE_BATCH = 20_000


def write_history(lake: Lake, years: float, per_day: int, currencies: int) -> None:
    """The generated payloads as bronze records (one append per ``_WRITE_BATCH``)."""
    from makerates_lake.bronze.record import BronzeRecord
    from makerates_lake.bronze.writer import BronzeWriter

    url = "https://v6.exchangerate-api.com/v6/[REDACTED]/latest/USD"
    writer = BronzeWriter(lake)
    records: list[BronzeRecord] = []
    for when, body in _payloads(years, per_day, currencies):
        records.append(
            BronzeRecord.create(
                source_name="exchangerate-api",
                source_version="v6",
                request_url=url,
                raw_response=body,
                http_status_code=200,
                extraction_timestamp=when,
            )
        )
        if len(records) == _WRITE_BATCH:
            writer.append(records)
            records = []
    if records:
        writer.append(records)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_parse(home: str, codes: list[str], queue: Any) -> None:
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake

    lake = open_lake(load_settings(home=home))
    table = lake.bronze()
    start = time.perf_counter()
    # Reading bronze is part of both arms: the reprocess reads the same files. Each arm
    # uses the fastest reader it can (Polars' own scan, the payload column only here).
    raw = pl.scan_iceberg(table).select("raw_response").collect()
    read = time.perf_counter() - start
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
    seconds = time.perf_counter() - start
    queue.put(("bare parse", rows.height, seconds, _peak_mb(), seconds - read))


def _reprocess(home: str, queue: Any) -> None:
    from makerates_lake.pipeline import run_reprocess
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake

    lake = open_lake(load_settings(home=home))
    start = time.perf_counter()
    result = run_reprocess(lake)
    seconds = time.perf_counter() - start
    queue.put(("reprocess", result.silver.rates, seconds, _peak_mb(), seconds))


Result = tuple[int, float, float, float, tuple[float, ...]]


def run(years: float, per_day: int, currencies: int, repeat: int = 1) -> dict[str, Result]:
    """Generate, load bronze, time both arms (each ``repeat`` times, alternating; the
    fastest run of each arm counts, which filters out other load on a shared machine).

    Returns:
        name -> (rows, seconds, peak MB, seconds without reading bronze, every run's
        seconds); the fourth is the parse alone for the bare arm and the same as seconds
        for the reprocess; the best run gives the first four.
    """
    from makerates_lake.settings import load_settings
    from makerates_lake.store.catalog import open_lake

    with tempfile.TemporaryDirectory() as home:
        lake = open_lake(load_settings(home=home))
        write_history(lake, years, per_day, currencies)
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        results: dict[str, Result] = {}
        arms = ((_bare_parse, (home, _codes(currencies), queue)), (_reprocess, (home, queue)))
        for _ in range(repeat):
            for target, args in arms:
                process = ctx.Process(target=target, args=args)
                process.start()
                name, rows, seconds, peak, work = queue.get()
                process.join()
                runs = (*results[name][4], seconds) if name in results else (seconds,)
                if name not in results or seconds < results[name][1]:
                    results[name] = (rows, seconds, peak, work, runs)
                else:
                    results[name] = (*results[name][:4], runs)
        return results


#: Currencies of every ``--sizes`` history (the issue's sizes are multiples of 160).
SIZE_CURRENCIES = 160
_MAX_DAYS = int(10 * 365.25)


def history_for(rows: int, currencies: int = SIZE_CURRENCIES) -> tuple[float, int]:
    """(years, runs a day) of a history of about ``rows`` rates: the fewest runs a day of
    6, 12, 24, 48, ... that fit it into ten years."""
    per_day = 6
    while rows / (currencies * per_day) > _MAX_DAYS:
        per_day *= 2
    days = max(1, round(rows / (currencies * per_day)))
    # A whole number of days: years * 365.25 must floor back to ``days``.
    return (days + 0.5) / 365.25, per_day


def _size_child(rows: int, repeat: int, queue: Any) -> None:
    years, per_day = history_for(rows)
    queue.put(run(years, per_day, SIZE_CURRENCIES, repeat))


def run_sizes(sizes: list[int], repeat: int = 1) -> dict[int, dict[str, Result]]:
    """:func:`run` at each size, each in a process of its own (its arms in children of
    that one), smallest first."""
    ctx = mp.get_context("spawn")
    out: dict[int, dict[str, Result]] = {}
    for rows in sorted(sizes):
        queue = ctx.Queue()
        process = ctx.Process(target=_size_child, args=(rows, repeat, queue))
        process.start()
        out[rows] = queue.get()
        process.join()
    return out


def _lines(results: dict[str, Result]) -> list[str]:
    # Every run of an arm, not only its best: this VM's run-to-run spread can exceed
    # the margin a ratio has (benchmarks/README.md, session 12).
    lines = [
        f"{name:12s} {rows:>10,d} rows {seconds:8.2f} s {rows / seconds:>12,.0f} rows/s "
        f"peak {peak:8.0f} MB"
        + (f"  (runs: {', '.join(f'{r:.2f}' for r in runs)} s)" if len(runs) > 1 else "")
        for name, (rows, seconds, peak, _, runs) in results.items()
    ]
    bare, reprocess = results["bare parse"], results["reprocess"]
    lines.append(
        f"  (bare parse without reading bronze: {bare[3]:.2f} s, {bare[0] / bare[3]:,.0f} rows/s)"
    )
    lines.append(
        f"ratio reprocess / bare parse: {reprocess[1] / bare[1]:.2f}x "
        f"(target <= 3x); against the parse alone: {reprocess[1] / bare[3]:.2f}x"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--per-day", type=int, default=6)
    parser.add_argument("--currencies", type=int, default=160)
    parser.add_argument("--repeat", type=int, default=1, help="runs per arm; the best counts")
    parser.add_argument(
        "--sizes", help="rates per history, comma-separated (160 currencies; overrides the rest)"
    )
    args = parser.parse_args(argv)
    if not args.sizes:
        print("\n".join(_lines(run(args.years, args.per_day, args.currencies, args.repeat))))
        return
    by_size = run_sizes([int(s) for s in args.sizes.split(",")], args.repeat)
    for rows, results in by_size.items():
        years, per_day = history_for(rows)
        print(f"== {rows:,} rates: {int(years * 365.25):,} days x {per_day} a day x "
              f"{SIZE_CURRENCIES} ==")  # fmt: skip
        print("\n".join(_lines(results)), flush=True)
    small, large = by_size[min(by_size)], by_size[max(by_size)]
    growth = large["reprocess"][2] / small["reprocess"][2]
    print(f"reprocess peak growth {min(by_size):,} -> {max(by_size):,} rates: "
          f"{small['reprocess'][2]:.0f} -> {large['reprocess'][2]:.0f} MB, {growth:.2f}x "
          f"(target <= 1.5x, under 1536 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
