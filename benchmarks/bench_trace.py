"""Benchmark: median latency of one trace next to a full scan of silver, same run, same lake.

Generates a lake of ``--years`` years of daily ExchangeRate-API answers (base USD,
``--currencies`` quotes each), loaded the way a backfill would: bronze appended and
transformed in chunks of ``--chunk-days`` days, one bronze commit and one transform per
chunk (a year by default: a few big commits instead of one per month keep generation to
well under a minute; ``--chunk-days 31`` gives the many-files layout of monthly runs).
Then it times ``--traces`` traces of random dates and pairs and ``--scans`` full scans of
``silver.rates`` (every row and column through ``Table.scan().to_arrow()``, what a trace
would cost without partition and file pruning), interleaved (a share of the traces, then
a scan, ``--scans`` times), and prints both medians and their ratio.

The first trace of a process also lists the files of each snapshot it reads (metadata the
later traces reuse, see :mod:`makerates_lake.store.lookup`); it is reported on its own as
the cold trace, and the median is over the traces after it.

    .venv/bin/python benchmarks/bench_trace.py                # 5 years (the target: >= 20x)
    .venv/bin/python benchmarks/bench_trace.py --years 0.1    # a quick look

The trace's access-log entries are buffered in one AccessLog and written after timing,
so the numbers measure the reads themselves. The load average is printed before and after
the timed part: on a shared machine both medians move with it (the scan, which uses every
core, more than the trace).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from makerates_lake import source_names
from makerates_lake.audit.trace import trace
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.pipeline import run_transform
from makerates_lake.settings import load_settings
from makerates_lake.silver.currencies import known_codes
from makerates_lake.store import lookup
from makerates_lake.store.access_log import AccessLog
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import SILVER_RATES

START = date(2020, 1, 1)
URL = "https://v6.exchangerate-api.com/v6/[REDACTED]/latest/USD"


def _answer(day: date, quotes: Sequence[str], rng: random.Random) -> BronzeRecord:
    unix = int(datetime(day.year, day.month, day.day, 0, 0, 1, tzinfo=UTC).timestamp())
    rates = ",".join(f'"{q}":{rng.uniform(0.2, 150):.6f}' for q in quotes)
    body = (
        f'{{"result":"success","time_last_update_unix":{unix},"base_code":"USD",'
        f'"conversion_rates":{{{rates}}}}}'
    )
    return BronzeRecord.create(
        source_name=source_names.EXCHANGERATE_API,
        source_version="v6",
        request_url=URL,
        raw_response=body.encode(),
        http_status_code=200,
        extraction_timestamp=datetime(day.year, day.month, day.day, 16, 30, tzinfo=UTC),
    )


def quotes_for(count: int) -> list[str]:
    """``count`` active ISO codes (EUR and GBP first, so cross rates exist)."""
    others = sorted(known_codes() - {"USD", "EUR", "GBP"})
    return ["EUR", "GBP", *others][:count]


def generate(lake: Lake, *, days: int, currencies: int, chunk_days: int, seed: int = 7) -> None:
    """Load ``days`` days of answers into bronze and transform them chunk by chunk."""
    rng = random.Random(seed)
    quotes = quotes_for(currencies)
    writer = BronzeWriter(lake)
    for first in range(0, days, chunk_days):
        chunk = [
            _answer(START + timedelta(days=i), quotes, rng)
            for i in range(first, min(first + chunk_days, days))
        ]
        writer.append(chunk)
        run_transform(lake)


def _timed(action: object) -> float:
    began = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - began


def _share(total: int, parts: int, index: int) -> int:
    """How many of ``total`` items part ``index`` of ``parts`` gets (sizes differ by <= 1)."""
    return total // parts + (1 if index < total % parts else 0)


def run(
    home: Path, *, years: float, currencies: int, chunk_days: int, traces: int, scans: int
) -> dict[str, float]:
    """Generate the lake under ``home`` and time traces and full scans; returns the numbers."""
    # The generated rates are a random walk that moves more than the jump threshold on
    # most days: write-audit-publish's jump check would hold every run of this history.
    lake = open_lake(load_settings(home=home, wap_thresholds="max_jump_share=1"))
    days = max(2, int(years * 365.25))
    began = time.perf_counter()
    generate(lake, days=days, currencies=currencies, chunk_days=chunk_days)
    generated = time.perf_counter() - began
    rng = random.Random(11)
    quotes = quotes_for(currencies)
    silver = lake.table(SILVER_RATES)
    silver_rows = silver.scan(selected_fields=("rate_date",)).to_arrow().num_rows
    trace_times: list[float] = []
    load_before = os.getloadavg()[0]
    lookup.CACHE.clear()  # the generator's own reads must not warm the trace's caches
    scan_times: list[float] = []
    with AccessLog(lake, max_entries=traces + 2, max_age_s=3600) as log:
        cold_day = START + timedelta(days=rng.randrange(days))
        cold = _timed(lambda: trace(lake, cold_day, "USD", quotes[0]))
        # Traces and scans alternate, a slice of the traces before each scan, so both
        # medians sample the same stretches of time: on a shared machine a busy minute
        # then slows both arms instead of only the one that happened to run in it.
        for round_ in range(scans):
            for _ in range(_share(traces, scans, round_)):
                day = START + timedelta(days=rng.randrange(days))
                quote = rng.choice(quotes)
                trace_times.append(_timed(lambda d=day, q=quote: trace(lake, d, "USD", q)))
            scan_times.append(_timed(lambda: lake.table(SILVER_RATES).scan().to_arrow()))
        if len(log.pending) != traces + 1:
            raise RuntimeError("every trace must leave exactly one access-log entry")
    trace_median = statistics.median(trace_times)
    scan_median = statistics.median(scan_times)
    return {
        "days": days,
        "silver_rows": silver_rows,
        "generate_s": generated,
        "cold_trace_s": cold,
        "trace_median_s": trace_median,
        "full_scan_median_s": scan_median,
        "ratio": scan_median / trace_median,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Command-line entry point; prints the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--currencies", type=int, default=150)
    parser.add_argument("--chunk-days", type=int, default=366)
    parser.add_argument("--traces", type=int, default=200, help="traces timed (>= 1)")
    parser.add_argument("--scans", type=int, default=10, help="full scans timed (>= 1)")
    parser.add_argument("--home", type=Path, default=None, help="Keep the lake here.")
    args = parser.parse_args(argv)
    if args.traces < 1 or args.scans < 1:
        parser.error("--traces and --scans must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-trace-") as scratch:
        numbers = run(
            args.home or Path(scratch),
            years=args.years,
            currencies=args.currencies,
            chunk_days=args.chunk_days,
            traces=args.traces,
            scans=args.scans,
        )
    print(
        f"{numbers['days']:.0f} days, {numbers['silver_rows']:.0f} silver rows "
        f"(generated in {numbers['generate_s']:.1f} s)\n"
        f"cold (first) trace:      {numbers['cold_trace_s'] * 1000:8.1f} ms\n"
        f"median trace:            {numbers['trace_median_s'] * 1000:8.1f} ms\n"
        f"median full silver scan: {numbers['full_scan_median_s'] * 1000:8.1f} ms\n"
        f"ratio:                   {numbers['ratio']:8.1f}x (target >= 20x)\n"
        f"load average (1 min):    {numbers['load_before']:8.2f} before, "
        f"{numbers['load_after']:.2f} after"
    )
    return numbers


if __name__ == "__main__":
    main()
