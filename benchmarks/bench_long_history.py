"""Five years of six ingests a day: commit latency, files, metadata and reads, with and
without maintenance.

    python -m benchmarks.bench_long_history                      # 5 years, every layout
    python -m benchmarks.bench_long_history --years 1 --layout embedded

One history per layout, measured in phases on the same table:

1. the first week: every run is a real ``BronzeWriter.append`` (one commit per run);
   its median commit latency is the baseline;
2. the rest of the history: each run's payload is written as its own data file (what
   per-run commits leave behind: one small file per run per day partition), committed
   ``--batch-days`` days at a time so five years load in minutes, not hours;
3. ``--sample-runs`` real per-run appends at the end, without maintenance;
4. one :func:`run_maintenance` pass (compaction, manifest-merge properties, snapshot
   expiry keeping the newest ``--keep-last``);
5. ``--sample-runs`` real per-run appends again, with maintenance.

``--incremental 1,10`` measures something else: the cost of transforming one new day
(``run_transform``: silver, gold, the transform log) on a lake holding each number of
years of history, already reprocessed into silver and gold, with bronze in one file per
day (as after maintenance). ``--sample-runs`` new days are ingested and transformed
one at a time; the median counts, and the ratio of the longest history to the
shortest is printed.

Snapshot expiry uses a zero-day window with ``--keep-last`` snapshots because the simulated
five years are committed within minutes of wall time; production keeps 90 days.
Prints a table per layout and the end/start latency ratio of each arm.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks._layouts import LAYOUTS, bench_lake
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter, records_to_arrow
from makerates_lake.maintenance import MaintenancePolicy, run_maintenance, table_stats
from makerates_lake.maintenance.policy import AUTO_PROPERTY
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit_files, write_files
from makerates_lake.store.expressions import all_of, at_least, below
from makerates_lake.store.tables import BRONZE_EXTRACTIONS

START = datetime(2021, 1, 1, tzinfo=UTC)


def currency_codes(count: int) -> list[str]:
    """``count`` distinct three-letter codes, real-looking ones first."""
    real = ["USD", "EUR", "JPY", "GBP", "CHF", "AUD", "CAD", "CNY", "SEK", "NZD", "NOK", "MXN"]
    made = [f"{a}{b}Q" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    return (real + [c for c in made if c not in real])[:count]


def iso_currency_codes(count: int) -> list[str]:
    """``count`` active ISO 4217 codes, USD first (as ``bench_reprocess`` uses)."""
    from benchmarks.bench_reprocess import _codes

    return _codes(count)


class History:
    """Deterministic ExchangeRate-API ``latest`` responses: a random walk per currency."""

    def __init__(
        self, currencies: int, runs_per_day: int, seed: int = 11, *, iso_codes: bool = False
    ) -> None:
        self._rng = random.Random(seed)
        # Made-up codes are rejects in silver; ISO codes make every rate a silver row.
        self._codes = iso_currency_codes(currencies) if iso_codes else currency_codes(currencies)
        self._rates = {c: self._rng.uniform(0.05, 3000.0) for c in self._codes}
        self.runs_per_day = runs_per_day

    def record(self, day: int, run: int) -> BronzeRecord:
        """The bronze record of run ``run`` on simulated day ``day``."""
        stamp = START + timedelta(days=day, hours=run * 24 / self.runs_per_day, minutes=7)
        for code in self._codes:
            self._rates[code] *= 1 + self._rng.gauss(0, 0.002)
        self._rates["USD"] = 1.0
        rates = ",".join(f'"{c}":{v:.6g}' for c, v in self._rates.items())
        unix = int(stamp.timestamp())
        body = (
            f'{{"result":"success","documentation":"https://www.exchangerate-api.com/docs",'
            f'"terms_of_use":"https://www.exchangerate-api.com/terms",'
            f'"time_last_update_unix":{unix - unix % 86400},'
            f'"time_last_update_utc":"{stamp:%a, %d %b %Y} 00:00:01 +0000",'
            f'"time_next_update_unix":{unix - unix % 86400 + 86400},'
            f'"base_code":"USD","conversion_rates":{{{rates}}}}}'
        ).encode()
        return BronzeRecord.create(
            source_name="exchangerate-api",
            source_version="v6",
            request_url="https://v6.exchangerate-api.com/v6/KEY-NOT-REAL/latest/USD",
            request_headers={"User-Agent": "makerates_lake/bench", "Accept": "application/json"},
            raw_response=body,
            http_status_code=200,
            response_headers={"content-type": "application/json", "cf-cache-status": "DYNAMIC"},
            extraction_duration_ms=self._rng.uniform(60, 400),
            extraction_timestamp=stamp,
            run_id=f"run-{day}-{run}",
            secrets=["KEY-NOT-REAL"],
        )

    def runs(self, first_day: int, days: int) -> Iterator[BronzeRecord]:
        """Every run's record of ``days`` days from ``first_day``."""
        for day in range(first_day, first_day + days):
            for run in range(self.runs_per_day):
                yield self.record(day, run)


@dataclass
class LayoutResult:
    """Measurements of one layout."""

    layout: str
    days: int
    runs: int
    start_ms: list[float] = field(default_factory=list)
    end_ms: list[float] = field(default_factory=list)
    maintained_ms: list[float] = field(default_factory=list)
    load_s: float = 0.0
    maintenance_s: float = 0.0
    stats_before: Any = None
    stats_after: Any = None
    stats_end: Any = None
    read_day_before_s: float = 0.0
    read_day_after_s: float = 0.0
    rows: int = 0

    @property
    def ratio_without(self) -> float:
        """Median end latency without maintenance over the first week's."""
        return statistics.median(self.end_ms) / statistics.median(self.start_ms)

    @property
    def ratio_with(self) -> float:
        """Median end latency after maintenance over the first week's."""
        return statistics.median(self.maintained_ms) / statistics.median(self.start_ms)


def _append_timed(writer: BronzeWriter, records: list[BronzeRecord]) -> list[float]:
    out = []
    for record in records:
        started = time.perf_counter()
        writer.append([record])
        out.append((time.perf_counter() - started) * 1000)
    return out


def _read_day(lake: Lake, day: date) -> float:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    started = time.perf_counter()
    rows = (
        lake.bronze()
        .scan(
            row_filter=all_of(
                at_least("extraction_timestamp", start.isoformat()),
                below("extraction_timestamp", (start + timedelta(days=1)).isoformat()),
            )
        )
        .to_arrow()
    )
    elapsed = time.perf_counter() - started
    if rows.num_rows == 0:
        raise RuntimeError(f"no bronze rows on {day}")
    return elapsed


def run_layout(
    layout: str,
    *,
    years: float = 5.0,
    runs_per_day: int = 6,
    currencies: int = 160,
    batch_days: int = 7,
    sample_runs: int = 12,
    keep_last: int = 10,
    progress: bool = False,
) -> LayoutResult:
    """Build the history on one layout and measure every phase."""
    days = max(8, round(years * 365.25))
    history = History(currencies, runs_per_day)
    result = LayoutResult(layout, days, days * runs_per_day)
    with bench_lake(layout) as lake:
        table = lake.bronze()
        with table.transaction() as transaction:  # the benchmark decides when to maintain
            transaction.set_properties({AUTO_PROPERTY: "false"})
        writer = BronzeWriter(lake)
        result.start_ms = _append_timed(writer, list(history.runs(0, 7)))
        started = time.perf_counter()
        history_days = days - 7 - 2 * (sample_runs // runs_per_day + 1)
        for first in range(7, 7 + history_days, batch_days):
            span = min(batch_days, 7 + history_days - first)
            table = lake.bronze(refresh=True)
            files = []
            for record in history.runs(first, span):
                files.extend(write_files(table, records_to_arrow([record]), BRONZE_EXTRACTIONS))
            commit_files(table, files, merge_manifests=True)
            if progress and first % 365 < batch_days:
                print(
                    f"  {layout}: day {first:,} of {days:,}, "
                    f"{time.perf_counter() - started:,.0f} s",
                    flush=True,
                )
        result.load_s = time.perf_counter() - started
        day = 7 + history_days
        end_records = list(history.runs(day, sample_runs // runs_per_day + 1))[:sample_runs]
        result.end_ms = _append_timed(writer, end_records)
        result.stats_before = table_stats(lake, BRONZE_EXTRACTIONS)
        probe = (START + timedelta(days=days // 2)).date()
        result.read_day_before_s = _read_day(lake, probe)
        started = time.perf_counter()
        run_maintenance(
            lake,
            tables=(BRONZE_EXTRACTIONS,),
            policy=MaintenancePolicy(snapshot_window=timedelta(0), keep_last=keep_last),
        )
        result.maintenance_s = time.perf_counter() - started
        result.stats_after = table_stats(lake, BRONZE_EXTRACTIONS)
        day += sample_runs // runs_per_day + 1
        more = list(history.runs(day, sample_runs // runs_per_day + 1))[:sample_runs]
        result.maintained_ms = _append_timed(writer, more)
        result.read_day_after_s = _read_day(lake, probe)
        result.stats_end = table_stats(lake, BRONZE_EXTRACTIONS)
        result.rows = lake.bronze().scan(selected_fields=("extraction_id",)).to_arrow().num_rows
    return result


def _load_history(lake: Lake, history: History, days: int) -> None:
    """``days`` of runs into bronze, a commit per year of one file per day partition."""
    for first in range(0, days, 365):
        table = lake.bronze(refresh=True)
        rows = records_to_arrow(list(history.runs(first, min(365, days - first))))
        commit_files(table, write_files(table, rows, BRONZE_EXTRACTIONS))


def incremental_day(
    years: float, *, runs_per_day: int = 6, currencies: int = 160, days: int = 5
) -> tuple[int, list[float]]:
    """Seconds of ``run_transform`` for each of ``days`` new days after ``years`` of
    history (reprocessed first), on an embedded lake; and the silver rows before."""
    from makerates_lake.pipeline import run_reprocess, run_transform

    history_days = max(1, round(years * 365.25))
    history = History(currencies, runs_per_day, iso_codes=True)
    seconds = []
    with bench_lake("embedded") as lake:
        table = lake.bronze()
        with table.transaction() as transaction:  # maintenance would blur the timing
            transaction.set_properties({AUTO_PROPERTY: "false"})
        _load_history(lake, history, history_days)
        rows = run_reprocess(lake).silver.rates
        writer = BronzeWriter(lake)
        for day in range(history_days, history_days + days):
            writer.append(list(history.runs(day, 1)))
            started = time.perf_counter()
            run_transform(lake)
            seconds.append(time.perf_counter() - started)
    return rows, seconds


def render(result: LayoutResult) -> str:
    """The result of one layout as a small table."""
    before, after = result.stats_before, result.stats_after
    med = statistics.median
    return "\n".join(
        [
            f"== {result.layout}: {result.days:,} days, {result.runs:,} runs, "
            f"{result.rows:,} rows (history loaded in {result.load_s:,.0f} s) ==",
            f"{'':34}{'no maintenance':>16}{'after maintenance':>19}",
            f"{'commit latency, first week (ms)':34}{med(result.start_ms):>16.1f}"
            f"{med(result.start_ms):>19.1f}",
            f"{'commit latency, end (ms)':34}{med(result.end_ms):>16.1f}"
            f"{med(result.maintained_ms):>19.1f}",
            f"{'ratio end / first week':34}{result.ratio_without:>15.2f}x"
            f"{result.ratio_with:>18.2f}x",
            f"{'snapshots':34}{before.snapshots:>16,}{after.snapshots:>19,}",
            f"{'data files':34}{before.data_files:>16,}{after.data_files:>19,}",
            f"{'max files per day partition':34}{before.max_files_per_partition:>16,}"
            f"{after.max_files_per_partition:>19,}",
            f"{'manifests':34}{before.manifests:>16,}{after.manifests:>19,}",
            f"{'metadata.json bytes':34}{before.metadata_json_bytes:>16,}"
            f"{after.metadata_json_bytes:>19,}",
            f"{'read one day (ms)':34}{result.read_day_before_s * 1000:>16.1f}"
            f"{result.read_day_after_s * 1000:>19.1f}",
            f"maintenance pass: {result.maintenance_s:,.1f} s; after the "
            f"{len(result.maintained_ms)} appends that followed it: "
            f"{result.stats_end.manifests:,} manifests, {result.stats_end.snapshots:,} snapshots, "
            f"metadata.json {result.stats_end.metadata_json_bytes:,} bytes",
        ]
    )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--runs-per-day", type=int, default=6)
    parser.add_argument("--currencies", type=int, default=160)
    parser.add_argument("--layout", choices=[*LAYOUTS, "all"], default="all")
    parser.add_argument(
        "--batch-days",
        type=int,
        default=7,
        help="days of runs per history commit (each run is still its own file)",
    )
    parser.add_argument("--sample-runs", type=int, default=12)
    parser.add_argument("--keep-last", type=int, default=10)
    parser.add_argument(
        "--incremental",
        help="years of history, comma-separated: time one new day's transform on each instead",
    )
    args = parser.parse_args()
    if args.incremental:
        medians = {}
        for years in sorted(float(y) for y in args.incremental.split(",")):
            rows, seconds = incremental_day(
                years,
                runs_per_day=args.runs_per_day,
                currencies=args.currencies,
                days=args.sample_runs,
            )
            medians[years] = statistics.median(seconds)
            print(f"one new day after {years:g} years ({rows:,} silver rates): transform "
                  f"median {medians[years] * 1000:,.0f} ms of "
                  f"{', '.join(f'{s * 1000:,.0f}' for s in seconds)}", flush=True)  # fmt: skip
        low, high = min(medians), max(medians)
        print(f"ratio {high:g} years / {low:g} year(s): {medians[high] / medians[low]:.2f}x "
              f"(target <= 2x)")  # fmt: skip
        return
    layouts = LAYOUTS if args.layout == "all" else (args.layout,)
    for layout in layouts:
        result = run_layout(
            layout,
            years=args.years,
            runs_per_day=args.runs_per_day,
            currencies=args.currencies,
            batch_days=args.batch_days,
            sample_runs=args.sample_runs,
            keep_last=args.keep_last,
            progress=True,
        )
        print(render(result), flush=True)


if __name__ == "__main__":
    main()
