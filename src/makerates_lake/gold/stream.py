"""A full rebuild of gold, a batch of silver rows at a time (I/O through the store).

``fact_rate``'s rows of a rate date depend on silver's rows of that date alone (the
best observation of each source, the cross rates of each source's day, the best of each
pair), so facts built batch by batch from batches holding every row of their dates
equal the facts built from all of silver at once. The dimensions need only each pair's
first and last date, which :class:`GoldRebuild` keeps as it goes. Each table is
replaced in one overwrite commit at the end (:meth:`GoldRebuild.commit`).
"""

from __future__ import annotations

import polars as pl

from makerates_lake import store as storage
from makerates_lake.gold import model
from makerates_lake.gold.build import FACT_INPUT, PROGRESS_STEP, GoldResult, dimension_rows
from makerates_lake.progress import StageProgress
from makerates_lake.silver.versions import rules_for
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import GOLD_FACT_RATE
from makerates_lake.store.types import DataFile

_PAIR = ("base_currency", "quote_currency")


class GoldRebuild:
    """One streamed rebuild of all of gold.

    Args:
        lake: The open lake.
        transform_version: The rules to apply (already checked by the caller).
    """

    def __init__(self, lake: Lake, transform_version: int) -> None:
        self._lake = lake
        self._version = transform_version
        self._rules = rules_for(transform_version)
        self._files: list[DataFile] = []
        self._pairs: list[pl.DataFrame] = []
        self._facts = 0
        self._dates: list[pl.Series] = []

    def add(self, silver: pl.DataFrame) -> pl.DataFrame:
        """Build and write the facts of silver rows in ``SILVER_ORDER`` that hold every
        row of their rate dates; returns the facts written."""
        if silver.height == 0:
            return pl.DataFrame(schema=pl.Schema(GOLD_FACT_RATE.schema.as_arrow()))
        facts = model.fact_rate(silver.select(FACT_INPUT), self._rules, presorted=True)
        table = self._lake.table(GOLD_FACT_RATE, refresh=True)
        rows = storage.to_arrow(facts, GOLD_FACT_RATE)
        self._files += storage.write_files(table, rows, GOLD_FACT_RATE)
        self._facts += facts.height
        if facts.height:
            days = facts.get_column("rate_date")
            self._dates.append(pl.Series([days.min(), days.max()], dtype=pl.Date))
        self._pairs.append(
            silver.group_by(_PAIR).agg(
                pl.col("rate_date").min().alias("_first"), pl.col("rate_date").max().alias("_last")
            )
        )
        return facts

    def commit(self, on_progress: StageProgress | None = None) -> GoldResult:
        """Replace ``fact_rate`` by the files written, then each dimension; one overwrite
        commit per table, in :func:`~makerates_lake.gold.build.build_gold`'s order."""
        if on_progress is not None:
            on_progress(PROGRESS_STEP, 0, None)
        properties = {"makerates.transform-version": str(self._version)}
        storage.overwrite_files(self._lake, GOLD_FACT_RATE, self._files, properties=properties)
        self._files = []  # committed: no longer ours to discard
        # Each pair's first and last date as two rows: the dimensions take the min and
        # max per code, which these give as all of silver's rows would.
        seen = pl.DataFrame(schema={**dict.fromkeys(_PAIR, pl.String()), "rate_date": pl.Date()})
        if self._pairs:
            pairs = pl.concat(self._pairs)
            seen = pl.concat(
                pairs.select(*_PAIR, pl.col(end).alias("rate_date")) for end in ("_first", "_last")
            )
        tables = dimension_rows(seen)
        if on_progress is not None:
            on_progress(PROGRESS_STEP, 1, 1 + len(tables))
        for done, (spec, rows) in enumerate(tables, start=2):
            storage.overwrite(self._lake, spec, rows, properties=properties)
            if on_progress is not None:
                on_progress(PROGRESS_STEP, done, 1 + len(tables))
        dates = pl.concat(self._dates) if self._dates else pl.Series(dtype=pl.Date)
        return GoldResult(
            facts=self._facts,
            first_date=dates.min() if dates.len() else None,  # type: ignore[arg-type]
            last_date=dates.max() if dates.len() else None,  # type: ignore[arg-type]
        )

    def discard(self) -> None:
        """Delete the fact files written and not committed (after a failure)."""
        storage.discard_files(self._lake, GOLD_FACT_RATE, self._files)
        self._files = []
