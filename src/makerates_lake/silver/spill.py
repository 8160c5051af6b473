"""Valid silver rows set aside on local disk by month of rate date, for a streamed rebuild.

Bronze is read in extraction order, but jump flags and gold's facts need all the rows
of a rate date together, and one extraction can hold any dates (an ECB history file
holds 27 years). A streamed reprocess therefore checks bronze a batch at a time and
spills the valid rows here, one Arrow IPC file per (batch, month); it then reads them
back a few whole months at a time, in date order, so every date's rows arrive in one
batch and memory holds one batch, not the history.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from makerates_lake.silver.sort_order import (
    OWN_KEYS,
    RUN_KEYS,
    RunRanks,
    rank_runs,
    sort_by_runs,
    sort_silver,
)

_MONTH = "_month"
_RUN = "_run"
#: A batch with more runs than its rows over this is spilled whole: a table of runs
#: that long would hold as much as the rows.
_ROWS_PER_RUN = 8


@dataclass(frozen=True)
class MonthBatch:
    """Spilled rows of consecutive months, all of each month.

    Attributes:
        rows: The rows: in :data:`~makerates_lake.silver.sort_order.SILVER_ORDER` when the
            spill was made ``in_silver_order``, else in no particular order.
        months: The months (``year * 12 + month - 1``), ascending.
    """

    rows: pl.DataFrame
    months: tuple[int, ...]


class RateSpill:
    """Rows spilled under ``directory`` (which the caller creates and removes).

    Uncompressed Arrow IPC: written and read back at memory speed. LZ4 or zstd would
    make the files several times smaller but the round trip slower (benchmarks/README.md,
    issue 23), for files that live only as long as one run; Parquet would spend more
    still on encoding files read once.

    ``per_run`` names columns that runs of consecutive rows share (the columns a bronze
    row gives every rate it holds: its id, time, source): each run's values are kept
    once, in memory, and the files hold the run's number instead, which halves what
    is written and read back for a payload of many rates.

    ``in_silver_order`` (rows then hold silver's columns) returns each batch in
    :data:`~makerates_lake.silver.sort_order.SILVER_ORDER`: sorted while the rows still
    hold their runs' numbers, the sort moves a few columns instead of all of silver's,
    and the runs' columns are put back once, after it. ``per_run`` then holds the run
    keys (base, source, extraction time and id) and neither of a rate's own keys (rate
    date, quote).

    Raises:
        ValueError: ``in_silver_order`` with a ``per_run`` that breaks that rule.
    """

    def __init__(
        self, directory: Path, per_run: Sequence[str] = (), *, in_silver_order: bool = False
    ) -> None:
        shared = set(per_run)
        fits_silver_order = shared.issuperset(RUN_KEYS) and shared.isdisjoint(OWN_KEYS)
        if in_silver_order and shared and not fits_silver_order:
            raise ValueError(
                f"per_run must hold {sorted(RUN_KEYS)} and not {sorted(OWN_KEYS)} to"
                " spill in silver's order"
            )
        self._directory = directory
        self._counts: dict[int, int] = {}
        self._files: dict[int, list[Path]] = {}
        self._names = itertools.count()
        self._per_run = list(per_run)
        self._runs: list[pl.DataFrame] = []
        self._run_count = 0
        self._run_table: pl.DataFrame | None = None
        self._run_ranks: RunRanks | None = None
        self._in_silver_order = in_silver_order
        self._columns: list[str] = []

    @property
    def rows(self) -> int:
        """Rows spilled so far."""
        return sum(self._counts.values())

    def add(self, rows: pl.DataFrame) -> None:
        """Spill ``rows`` (with a ``rate_date`` column), one file per month they touch."""
        if rows.height == 0:
            return
        self._columns = rows.columns
        month = (pl.col("rate_date").dt.year().cast(pl.Int32) * 12) + (
            pl.col("rate_date").dt.month().cast(pl.Int32) - 1
        )
        months = rows.select(month).to_series()
        if self._per_run:
            rows = self._numbered(rows)
        for number, part in _by_month(rows, months):
            path = self._directory / f"{number}-{next(self._names)}.arrow"
            part.write_ipc(path, compression="uncompressed")
            self._counts[number] = self._counts.get(number, 0) + part.height
            self._files.setdefault(number, []).append(path)

    def _numbered(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` with the ``per_run`` columns replaced by their run's number (a run:
        consecutive rows equal in all of them, nulls included), or as they are when
        the runs are too short to be worth it."""
        starts = rows.select(
            (pl.int_range(pl.len()) == 0)
            | pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in self._per_run)
        ).to_series()
        runs = rows.filter(starts).select(self._per_run)
        if runs.height * _ROWS_PER_RUN > rows.height:
            return rows
        numbers = starts.cast(pl.Int64).cum_sum() - 1 + self._run_count
        self._runs.append(runs)
        self._run_count += runs.height
        return rows.drop(self._per_run).with_columns(numbers.alias(_RUN))

    def batches(self, max_rows: int) -> Iterator[MonthBatch]:
        """The spilled rows, consecutive whole months at a time, each batch at most
        ``max_rows`` rows unless one month holds more (then it is a batch of its own).
        Each batch's files are deleted once it is read."""
        group: list[int] = []
        rows = 0
        for month in sorted(self._counts):
            count = self._counts[month]
            if group and rows + count > max_rows:
                yield self._read(group)
                group, rows = [], 0
            group.append(month)
            rows += count
        if group:
            yield self._read(group)

    def _read(self, months: list[int]) -> MonthBatch:
        paths = [path for month in months for path in self._files.pop(month)]
        parts = [pl.read_ipc(path) for path in paths]
        frame = self._in_order(parts) if self._in_silver_order else self._joined(parts)
        for path in paths:
            path.unlink()
        for month in months:
            del self._counts[month]
        return MonthBatch(frame, tuple(months))

    def _joined(self, parts: list[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat([self._expanded(part) for part in parts]).rechunk()

    def _in_order(self, parts: list[pl.DataFrame]) -> pl.DataFrame:
        """``parts`` as one frame in silver's order: sorted by their runs' ranks while
        every file holds run numbers and no key is null, else whole, key by key."""
        if all(_RUN in part.columns for part in parts):
            self._refresh_runs()
            if self._run_ranks is not None:
                ordered = sort_by_runs(pl.concat(parts), self._run_ranks, _RUN)
                if ordered is not None:
                    return self._expanded(ordered)
        return sort_silver(self._joined(parts))

    def _refresh_runs(self) -> pl.DataFrame:
        """The table of every run spilled so far (and their ranks, in silver order)."""
        if self._run_table is None or self._run_table.height < self._run_count:
            self._run_table = pl.concat(self._runs).rechunk()
            if self._in_silver_order:
                self._run_ranks = rank_runs(self._run_table)
        return self._run_table

    def _expanded(self, part: pl.DataFrame) -> pl.DataFrame:
        """A spilled file's rows with their runs' columns back, in the columns' order."""
        if _RUN not in part.columns:
            return part
        shared = self._refresh_runs().select(pl.all().gather(part.get_column(_RUN)))
        return pl.concat([part.drop(_RUN), shared], how="horizontal").select(self._columns)


def _by_month(rows: pl.DataFrame, months: pl.Series) -> list[tuple[int, pl.DataFrame]]:
    """``rows`` split by ``months``: slices of ``rows`` when each month is one run, as a
    batch read in extraction order usually is (a payload's rates share a date), which
    copies nothing; a partition of the rows otherwise."""
    starts = (months != months.shift(1)).fill_null(True).arg_true()
    firsts = months.gather(starts)
    if firsts.n_unique() != firsts.len():
        parts = rows.with_columns(months.alias(_MONTH)).partition_by(_MONTH, as_dict=True)
        return [(int(key), part.drop(_MONTH)) for (key, *_), part in parts.items()]
    ends = [*starts.to_list()[1:], rows.height]
    return [
        (int(month), rows.slice(start, end - start))
        for month, start, end in zip(firsts.to_list(), starts.to_list(), ends, strict=True)
    ]
