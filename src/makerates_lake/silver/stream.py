"""A full rebuild of silver from bronze in bounded memory (I/O through the store).

:class:`SilverRebuild` does what :func:`~makerates_lake.silver.build.rebuild_silver`
does for all of bronze, a bounded batch at a time:

1. :meth:`~SilverRebuild.check_bronze` reads bronze a group of files at a time,
   parses and validates each batch (every rule but the jump flags is a function of
   one bronze row), writes its rejects as data files of ``silver.rejects`` and spills
   its valid rows to local disk by month of rate date (:mod:`.spill`);
2. :meth:`~SilverRebuild.flag_and_write` takes the spilled rows back a few whole
   months at a time in date order, sets the flags and writes them as data files of
   ``silver.rates``. A jump compares a date with the previous observed date within
   ``JUMP_WINDOW``, so each batch is flagged together with the rows of the last
   ``JUMP_WINDOW`` days before it (the carry), which are only context;
3. :meth:`~SilverRebuild.commit` replaces each table by its files in one overwrite
   commit, so readers see the old silver or the new one, never part of it.

The rows, and so the flags, equal those of the one-frame rebuild, whatever the batch
sizes (``tests/integration/test_reprocess_stream.py`` compares them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import polars as pl

from makerates_lake import store as storage
from makerates_lake.progress import StageProgress
from makerates_lake.silver.build import PROGRESS_STEP, SilverResult
from makerates_lake.silver.columns import SILVER_COLUMNS
from makerates_lake.silver.flags import JUMP_WINDOW, flag_suspicious
from makerates_lake.silver.parse import BRONZE_COLUMNS
from makerates_lake.silver.spill import MonthBatch, RateSpill
from makerates_lake.silver.transform import check_bronze
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, SILVER_RATES, SILVER_REJECTS
from makerates_lake.store.types import DataFile

_DONE = ("extraction_id", "extraction_timestamp")
#: Columns the rates of one bronze row share (the provider's base, time and payload shape
#: too, in every source's payloads): spilled once per run of rows, not per rate. Not the
#: rate date: a history payload's rows change date from one rate to the next.
_PER_EXTRACTION = (
    "extraction_id", "extraction_timestamp", "source_name", "source_version", "source_tier",
    "transform_version", "base_currency", "provider_updated_at", "schema_version", "is_stale",
    "is_jump",
)  # fmt: skip
T = TypeVar("T")


class SilverRebuild:
    """One streamed rebuild of all of silver (see the module docstring).

    Args:
        lake: The open lake.
        transform_version: The rules to apply (already checked by the caller).
        spill_directory: An empty local folder the caller removes afterwards.
    """

    def __init__(self, lake: Lake, transform_version: int, spill_directory: Path) -> None:
        self._lake = lake
        self._version = transform_version
        self._spill = RateSpill(spill_directory, per_run=_PER_EXTRACTION, in_silver_order=True)
        self._files: dict[str, list[DataFile]] = {SILVER_RATES.name: [], SILVER_REJECTS.name: []}
        self._done: list[pl.DataFrame] = []
        self._rates = 0
        self._rejects = 0
        self._first: date | None = None
        self._last: date | None = None
        self._carry = pl.DataFrame()
        self._writing: Future[None] | None = None

    def check_bronze(self, max_rows: int, on_progress: StageProgress | None = None) -> None:
        """Read, parse and validate bronze ``max_rows`` rows (whole files) at a time."""
        total, batches = storage.read_in_batches(
            self._lake, BRONZE_EXTRACTIONS, columns=BRONZE_COLUMNS, max_rows=max_rows
        )
        _report(on_progress, 0, total)
        table = self._lake.table(SILVER_REJECTS, refresh=True)
        read = 0
        spilling: Future[None] | None = None
        # A batch's rows are spilled on a thread of their own while the next batch is
        # parsed (writing IPC releases the GIL); one spill at a time keeps their order.
        with (
            contextlib.closing(prefetched(batches)) as ahead,
            ThreadPoolExecutor(1, thread_name_prefix="spill") as spiller,
        ):
            for bronze in ahead:
                checked = check_bronze(bronze, transform_version=self._version)
                rejects = storage.to_arrow(checked.rejects, SILVER_REJECTS)
                self._files[SILVER_REJECTS.name] += storage.write_files(
                    table, rejects, SILVER_REJECTS
                )
                self._rejects += checked.rejects.height
                if spilling is not None:
                    spilling.result()
                spilling = spiller.submit(self._spill.add, checked.rates)
                self._done.append(bronze.select(_DONE))
                read += bronze.height
                # Counted against the manifests' total, which a purge's deletes can exceed.
                _report(on_progress, min(read, total), total)
            if spilling is not None:
                spilling.result()

    def batches(self, max_rows: int) -> Generator[MonthBatch, None, None]:
        """The checked rows, whole months at a time (about ``max_rows`` rows), in date
        order; the next batch is read from disk while the caller works on this one."""
        return prefetched(self._spill.batches(max_rows))

    def flag_and_write(
        self,
        batch: MonthBatch,
        *,
        jump_threshold: float,
        stale_after: timedelta,
        on_sorted: Callable[[pl.DataFrame], object] | None = None,
        writer: Executor | None = None,
    ) -> pl.DataFrame:
        """Flag one batch (with the carry before it) and write it as ``silver.rates`` files.

        ``batch`` is the next of this rebuild's :meth:`batches`: its rows are taken to be
        in silver's order, after the carry's (not checked).

        ``on_sorted`` gets the batch's own rows in ``SILVER_ORDER`` before the flags are
        set, as :func:`~makerates_lake.silver.validate.flag_suspicious` describes. With
        a ``writer``, the files are written there while the caller goes on to the next
        batch (one batch's write at a time, so memory holds at most one more batch).

        Returns:
            The batch's rows as written (flagged, without the carry).
        """
        rows = batch.rows
        if rows.height == 0:
            return rows
        first: date = rows.get_column("rate_date").min()  # type: ignore[assignment]
        last: date = rows.get_column("rate_date").max()  # type: ignore[assignment]
        own = pl.col("rate_date") >= first
        # In one chunk: the flags' shifts and filters over the carry and the batch as two
        # chunks cost more than copying them once (benchmarks/README.md, session 12).
        context = (
            pl.concat([self._carry, rows], how="vertical", rechunk=True)
            if self._carry.height
            else rows
        )
        flagged = flag_suspicious(
            context,
            jump_threshold=jump_threshold,
            stale_after=stale_after,
            # The spill's batches are in SILVER_ORDER, rate date first, and the carry's
            # dates all precede the batch's: the carry is a prefix, the rest is ours.
            in_order=True,
            on_sorted=None if on_sorted is None else lambda ordered: on_sorted(ordered.filter(own)),
        )
        mine = flagged.filter(own)
        self.wait_for_writes()
        if writer is None:
            self._write(mine)
        else:
            self._writing = writer.submit(self._write, mine)
        # The next batch starts after ``last``: its rows compare with dates from
        # last - JUMP_WINDOW + 1 on, which may lie in this batch or in the carry.
        self._carry = flagged.filter(pl.col("rate_date") >= last - JUMP_WINDOW).select(
            SILVER_COLUMNS
        )
        self._rates += mine.height
        self._first = first if self._first is None else min(self._first, first)
        self._last = last if self._last is None else max(self._last, last)
        return mine

    def _write(self, rates: pl.DataFrame) -> None:
        table = self._lake.table(SILVER_RATES, refresh=True)
        rows = storage.to_arrow(rates, SILVER_RATES)
        self._files[SILVER_RATES.name] += storage.write_files(table, rows, SILVER_RATES)

    def wait_for_writes(self) -> None:
        """Wait for the last batch's files (raises what writing them raised)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def commit(self, on_progress: StageProgress | None = None) -> SilverResult:
        """Replace ``silver.rates`` and ``silver.rejects`` by the files written, one
        overwrite commit each."""
        self.wait_for_writes()
        properties = {"makerates.transform-version": str(self._version)}
        for spec in (SILVER_RATES, SILVER_REJECTS):
            storage.overwrite_files(self._lake, spec, self._files[spec.name], properties=properties)
            self._files[spec.name] = []  # committed: no longer ours to discard
        done = pl.concat(self._done) if self._done else pl.DataFrame()
        if on_progress is not None:
            on_progress(PROGRESS_STEP, done.height, done.height)
        return SilverResult(
            extractions=done.height,
            rates=self._rates,
            rejects=self._rejects,
            first_date=self._first,
            last_date=self._last,
            **({"done": done} if done.height else {}),
        )

    def discard(self) -> None:
        """Delete the files written and not committed (after a failure)."""
        # The failure being handled is the one to raise; a pending write's files are
        # listed once it ends, and deleted below.
        with contextlib.suppress(Exception):
            self.wait_for_writes()
        for spec in (SILVER_RATES, SILVER_REJECTS):
            storage.discard_files(self._lake, spec, self._files[spec.name])
            self._files[spec.name] = []


def prefetched(items: Iterator[T]) -> Generator[T, None, None]:
    """``items``, the next one produced on a thread of its own while the caller works on
    this one: reading a batch (Polars, PyArrow) releases the GIL, so the read of the next
    batch overlaps the work on this one. Holds one item more than the caller does; close
    it (``contextlib.closing``) to wait for a read under way when stopping early."""
    done = object()
    with ThreadPoolExecutor(1, thread_name_prefix="prefetch") as pool:
        pending = pool.submit(next, items, done)
        while (item := pending.result()) is not done:
            pending = pool.submit(next, items, done)
            yield item  # type: ignore[misc]


def _report(on_progress: StageProgress | None, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(PROGRESS_STEP, done, total)
