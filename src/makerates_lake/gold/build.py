"""Build gold from silver (I/O through the store).

Gold is a pure function of silver and the transform version
(:mod:`makerates_lake.gold.model`). An incremental build rebuilds ``fact_rate`` for the
rate dates it touched (one overwrite commit) and the small dimensions in full. The runs
that chain silver and gold are in :mod:`makerates_lake.pipeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from makerates_lake import store as storage
from makerates_lake.gold import model
from makerates_lake.progress import StageProgress
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, at_least, below
from makerates_lake.store.tables import (
    GOLD_DIM_CURRENCY,
    GOLD_DIM_DATE,
    GOLD_DIM_SOURCE,
    GOLD_FACT_RATE,
    SILVER_RATES,
    TableSpec,
)

#: Silver columns ``fact_rate`` is built from.
FACT_INPUT = (
    "extraction_id", "extraction_timestamp", "source_name", "source_tier", "base_currency",
    "quote_currency", "rate", "rate_text", "rate_date", "transform_version",
)  # fmt: skip
_DIM_INPUT = ("base_currency", "quote_currency", "rate_date")

#: What a gold build counts for ``on_progress``: the fact table, then each dimension.
PROGRESS_STEP = "gold: tables"


@dataclass(frozen=True)
class GoldResult:
    """What one gold build wrote: fact rows and the date range rebuilt (None if nothing)."""

    facts: int
    first_date: date | None
    last_date: date | None


def build_gold(
    lake: Lake,
    *,
    first: date | None = None,
    last: date | None = None,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    cross_bases: Sequence[str] = model.DEFAULT_CROSS_BASES,
    on_progress: StageProgress | None = None,
) -> GoldResult:
    """Rebuild ``fact_rate`` for rate dates ``first..last`` (default all) and the dimensions.

    ``on_progress`` gets :data:`PROGRESS_STEP` with the tables committed so far (the
    total is known once the facts are committed and the dimensions built).

    Raises:
        UnknownTransformVersionError: The version is not implemented.
        CommitConflictError: Concurrent writers won every commit attempt.
    """
    return _build_gold(
        lake, None, first, last, transform_version, cross_bases, on_progress=on_progress
    )


def replace_gold(
    lake: Lake,
    built: tuple[pl.DataFrame, Dimensions] | None,
    transform_version: int,
    *,
    on_progress: StageProgress | None = None,
) -> GoldResult:
    """Replace all of gold: by ``built`` (facts and dimensions made by :func:`gold_rows`
    from all of silver), or, when None, by rows built from silver as it is stored.
    ``on_progress`` is reported to as by :func:`build_gold`."""
    if built is None:
        return _build_gold(lake, None, None, None, transform_version, on_progress=on_progress)
    facts, dimensions = built
    return _build_gold(
        lake,
        None,
        None,
        None,
        transform_version,
        facts=facts,
        dimensions=dimensions,
        on_progress=on_progress,
    )


def gold_rows(rows: pl.DataFrame, transform_version: int) -> tuple[pl.DataFrame, Dimensions]:
    """Facts and dimensions from silver rows in ``SILVER_ORDER`` (as a silver build
    returns them), without reading silver back."""
    facts = model.fact_rate(rows.select(FACT_INPUT), rules_for(transform_version), presorted=True)
    return facts, dimension_rows(rows.select(_DIM_INPUT))


def _build_gold(
    lake: Lake,
    silver: pl.DataFrame | None,
    first: date | None,
    last: date | None,
    transform_version: int,
    cross_bases: Sequence[str] = model.DEFAULT_CROSS_BASES,
    facts: pl.DataFrame | None = None,
    dimensions: Dimensions | None = None,
    on_progress: StageProgress | None = None,
) -> GoldResult:
    """:func:`build_gold`; ``silver`` is all of ``silver.rates`` when the caller has it,
    ``facts`` and ``dimensions`` the rows already built from it."""
    rules = rules_for(transform_version)
    if on_progress is not None:  # shown while the facts are built, before any commit
        on_progress(PROGRESS_STEP, 0, None)
    parts = []
    if first is not None:
        parts.append(at_least("rate_date", first.isoformat()))
    if last is not None:
        parts.append(below("rate_date", date.fromordinal(last.toordinal() + 1).isoformat()))
    where = all_of(*parts) if parts else None
    ranged: pl.DataFrame | None = None
    if facts is None and (silver is None or where is not None):
        ranged = storage.read(lake, SILVER_RATES, row_filter=where, columns=FACT_INPUT)
        facts = model.fact_rate(ranged, rules, cross_bases)
    elif facts is None:
        facts = model.fact_rate(silver.select(FACT_INPUT), rules, cross_bases)  # type: ignore[union-attr]
    props = {"makerates.transform-version": str(transform_version)}
    storage.overwrite(lake, GOLD_FACT_RATE, facts, where=where, properties=props)
    unchanged: set[str] = set()
    if dimensions is None and silver is None and ranged is not None and where is not None:
        # An incremental build adds silver rows and removes none: the dimensions follow
        # from the stored ones and the rows of the dates rebuilt, not from all of silver.
        dimensions, unchanged = updated_dimensions(lake, ranged.select(_DIM_INPUT))
    if dimensions is None:
        seen = (
            storage.read(lake, SILVER_RATES, columns=_DIM_INPUT)
            if silver is None
            else silver.select(_DIM_INPUT)
        )
        dimensions = dimension_rows(seen)
    tables = 1 + len(dimensions)
    if on_progress is not None:
        on_progress(PROGRESS_STEP, 1, tables)
    # After the facts: a run killed in between leaves the dimensions as they were.
    for done, (spec, rows) in enumerate(dimensions, start=2):
        if spec.name not in unchanged:  # an unchanged table would only gain a snapshot
            storage.overwrite(lake, spec, rows, properties=props)
        if on_progress is not None:
            on_progress(PROGRESS_STEP, done, tables)
    dates = facts.get_column("rate_date")
    return GoldResult(
        facts=facts.height,
        first_date=dates.min() if dates.len() else None,  # type: ignore[arg-type]
        last_date=dates.max() if dates.len() else None,  # type: ignore[arg-type]
    )


#: Dimension tables and their rows, in the order they are committed.
Dimensions = list[tuple[TableSpec, pl.DataFrame]]


def dimension_rows(seen: pl.DataFrame) -> Dimensions:
    """The dimension rows for silver rows' ``base_currency``, ``quote_currency``, ``rate_date``."""
    dimensions = [
        (GOLD_DIM_CURRENCY, model.dim_currency(seen)),
        (GOLD_DIM_SOURCE, model.dim_source()),
    ]
    dates = seen.get_column("rate_date")
    if dates.len():
        days = model.dim_date(dates.min(), dates.max())  # type: ignore[arg-type]
        dimensions.append((GOLD_DIM_DATE, days))
    return dimensions


def updated_dimensions(lake: Lake, new: pl.DataFrame) -> tuple[Dimensions | None, set[str]]:
    """The dimensions once silver rows ``new`` (``base_currency``, ``quote_currency``,
    ``rate_date``) join the stored ones, from the stored dimensions (each code's first
    and last date, which bound silver's dates too) instead of all of silver.

    Returns:
        The dimensions (None when none were built yet: build them from silver), and the
        names of those equal to what is stored.
    """
    stored = storage.read(lake, GOLD_DIM_CURRENCY)
    known = stored.filter(pl.col("first_rate_date").is_not_null())
    if known.height == 0:
        return None, set()
    # Each code's first and last date as a rate of the code against itself: the
    # dimensions take min and max per code and over all dates, which these give as all
    # of silver's rows would.
    ends = [
        known.select(
            pl.col("currency_code").alias("base_currency"),
            pl.col("currency_code").alias("quote_currency"),
            pl.col(end).alias("rate_date"),
        )
        for end in ("first_rate_date", "last_rate_date")
    ]
    dimensions = dimension_rows(pl.concat([*ends, new.select(_DIM_INPUT)]))
    unchanged = {
        spec.name
        for spec, rows in dimensions
        if _same_rows(stored if spec is GOLD_DIM_CURRENCY else storage.read(lake, spec), rows, spec)
    }
    return dimensions, unchanged


def _same_rows(stored: pl.DataFrame, rows: pl.DataFrame, spec: TableSpec) -> bool:
    """Whether ``rows`` equal the ``stored`` rows of ``spec``, in the table's types."""
    typed = pl.from_arrow(storage.to_arrow(rows, spec))
    if not isinstance(typed, pl.DataFrame) or typed.height != stored.height:
        return False
    order = list(typed.columns)
    return typed.sort(order, nulls_last=True).equals(
        stored.select(order).sort(order, nulls_last=True)
    )


def read_facts(lake: Lake, *, tag: str | None = None) -> pl.DataFrame:
    """``gold.fact_rate`` now, or as of a tag (e.g. ``transform-v1``)."""
    snapshot_id = None
    if tag is not None:
        snapshot = lake.table(GOLD_FACT_RATE).snapshot_by_name(tag)
        if snapshot is None:
            from makerates_lake.gold.errors import GoldError

            raise GoldError("no such tag", table=GOLD_FACT_RATE.identifier, tag=tag)
        snapshot_id = snapshot.snapshot_id
    return storage.read(lake, GOLD_FACT_RATE, snapshot_id=snapshot_id)
