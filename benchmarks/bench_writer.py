"""A reprocess's data files written by the store's writer vs PyIceberg's writer, same run.

    python -m benchmarks.bench_writer                  # 5 years x 6 a day x 160 currencies
    python -m benchmarks.bench_writer --years 1 --repeat 3

The rows are what a reprocess of ``bench_reprocess``'s history writes: it builds that
lake (ExchangeRate-API payloads into bronze, then a reprocess), reads ``silver.rates``
and ``gold.fact_rate`` back in their stored order, and writes each again as data files
of its table (no commit). Both arms write the same Arrow tables, alternating, and the
median counts:

* **store**: :func:`makerates_lake.store.datafiles.write_data_files`, which slices the
  sorted rows into one run per year and applies silver's per-column Parquet layout;
* **pyiceberg**: PyIceberg's path behind ``Table.append``
  (``pyiceberg.io.pyarrow._dataframe_to_data_files``), which filters the table once per
  partition and writes with the table properties only;
* for information, the store's writer with PyIceberg's splitter instead of its sorted
  runs (the layout kept), which isolates what the runs save.

Prints both medians, the ratio and the bytes each wrote; the rule for keeping the
store's writer is a ratio of at least 2x on an operation where the time saved is at least
a tenth of what the user waits for (compare with ``bench_reprocess``'s reprocess time).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import pyarrow as pa

from makerates_lake.settings import load_settings
from makerates_lake.store.arrow_types import without_views
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.commit import to_arrow
from makerates_lake.store.datafiles import DataFileWriter, write_data_files
from makerates_lake.store.scan import read
from makerates_lake.store.tables import GOLD_FACT_RATE, SILVER_RATES, TableSpec
from makerates_lake.store.types import Table

#: The store's writer with PyIceberg's partition splitter instead of its sorted runs.
SPLIT = "store, pyiceberg's splitter"
#: The partition split alone: the store's sorted runs, PyIceberg's per-partition filter.
SPLIT_RUNS = "split only: store's runs"
SPLIT_PYICEBERG = "split only: pyiceberg"


def reprocessed_tables(home: str, years: float, per_day: int, currencies: int) -> Lake:
    """A lake in ``home`` holding a reprocess of ``bench_reprocess``'s generated history."""
    from benchmarks.bench_reprocess import write_history
    from makerates_lake.pipeline import run_reprocess

    lake = open_lake(load_settings(home=home))
    write_history(lake, years, per_day, currencies)
    run_reprocess(lake)
    return lake


def _store(table: Table, spec: TableSpec, rows: pa.Table) -> int:
    files = write_data_files(table.metadata, table.io, rows, spec.parquet)
    return sum(f.file_size_in_bytes for f in files)


def _store_pyiceberg_split(table: Table, spec: TableSpec, rows: pa.Table) -> int:
    writer = DataFileWriter(table.metadata, table.io, spec.parquet)
    writer._runs = lambda rows: None  # type: ignore[method-assign]  # the splitter alone
    return sum(f.file_size_in_bytes for f in writer.write(rows))


def _pyiceberg(table: Table, spec: TableSpec, rows: pa.Table) -> int:
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    files = _dataframe_to_data_files(table.metadata, rows, table.io)
    return sum(f.file_size_in_bytes for f in files)


def run(years: float, per_day: int, currencies: int, repeat: int) -> dict[str, tuple[float, int]]:
    """Median seconds and bytes of each arm over both tables (arms alternate)."""
    arms: dict[str, Callable[[Table, TableSpec, pa.Table], int]] = {
        "store": _store,
        "pyiceberg": _pyiceberg,
        SPLIT: _store_pyiceberg_split,
    }
    times: dict[str, list[float]] = {name: [] for name in arms}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as home:
        lake = reprocessed_tables(home, years, per_day, currencies)
        tables = [(spec, lake.table(spec)) for spec in (SILVER_RATES, GOLD_FACT_RATE)]
        # The store's writer gets rows as a reprocess hands them over (text as views,
        # cast back inside its timing only where it must sort); PyIceberg's, which
        # cannot sort views, the same rows already in large strings.
        views = {spec.identifier: to_arrow(read(lake, spec), spec) for spec, _ in tables}
        large = {name: without_views(rows) for name, rows in views.items()}
        given = {name: large if name == "pyiceberg" else views for name in arms}
        print(", ".join(f"{name}: {t.num_rows:,} rows" for name, t in views.items()))
        for round_ in range(repeat):
            order = list(arms) if round_ % 2 == 0 else list(reversed(arms))
            for name in order:
                started = time.perf_counter()
                sizes[name] = sum(
                    arms[name](table, spec, given[name][spec.identifier]) for spec, table in tables
                )
                times[name].append(time.perf_counter() - started)
        splits = _split_times(tables, large, repeat)
    results = {name: (statistics.median(times[name]), sizes[name]) for name in arms}
    results.update({name: (seconds, 0) for name, seconds in splits.items()})
    return results


def _split_times(
    tables: list[tuple[TableSpec, Table]], rows: dict[str, pa.Table], repeat: int
) -> dict[str, float]:
    """Median seconds of the partition split alone, both ways, over both tables."""
    from makerates_lake.store import _pyiceberg

    def runs() -> None:
        for spec, table in tables:
            found = DataFileWriter(table.metadata, table.io, spec.parquet)._runs(
                rows[spec.identifier]
            )
            if found is None:  # pragma: no cover - silver and gold are one transform
                raise RuntimeError(f"{spec.identifier} is not split by runs")

    def splitter() -> None:
        for spec, table in tables:
            metadata = table.metadata
            list(_pyiceberg.partitions(metadata.spec(), metadata.schema(), rows[spec.identifier]))

    measured: dict[str, list[float]] = {SPLIT_RUNS: [], SPLIT_PYICEBERG: []}
    for _ in range(repeat):
        for name, split in ((SPLIT_RUNS, runs), (SPLIT_PYICEBERG, splitter)):
            started = time.perf_counter()
            split()
            measured[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in measured.items()}


def report(results: dict[str, tuple[float, int]]) -> str:
    """One line per arm, then the ratio."""
    lines = [
        f"{name:28s} {s:7.3f} s  {size:>12,} bytes" if size else f"{name:28s} {s:7.3f} s"
        for name, (s, size) in results.items()
    ]
    (ours, ours_bytes), (library, library_bytes) = results["store"], results["pyiceberg"]
    lines.append(
        f"ratio pyiceberg / store: {library / ours:.2f}x time, "
        f"{library_bytes / ours_bytes:.2f}x bytes (keep the store's writer at >= 2x)"
    )
    lines.append(
        f"ratio {SPLIT} / store: {results[SPLIT][0] / ours:.2f}x time (the sorted runs alone)"
    )
    lines.append(
        f"ratio of the split alone, pyiceberg / runs: "
        f"{results[SPLIT_PYICEBERG][0] / results[SPLIT_RUNS][0]:.2f}x"
    )
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--per-day", type=int, default=6)
    parser.add_argument("--currencies", type=int, default=160)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(report(run(args.years, args.per_day, args.currencies, args.repeat)))


if __name__ == "__main__":
    main()
