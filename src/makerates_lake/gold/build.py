"""Build gold from silver (I/O), and the transform / reprocess runs over both stages.

Gold is a pure function of silver and the transform version
(:mod:`makerates_lake.gold.model`). An incremental run rebuilds ``fact_rate`` for the
rate dates it touched (one overwrite commit) and the small dimensions in full; a
reprocess rebuilds everything and tags every table's snapshot ``transform-v<N>``,
after tagging the snapshot it replaces ``pre-reprocess-<timestamp>`` so both stay
readable by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from makerates_lake.expressions import all_of, at_least, below
from makerates_lake.gold import model
from makerates_lake.lake import Lake
from makerates_lake.silver import storage
from makerates_lake.silver.build import SilverResult, mark_transformed, rebuild_silver, transform
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for
from makerates_lake.tables import (
    GOLD_DIM_CURRENCY,
    GOLD_DIM_DATE,
    GOLD_DIM_SOURCE,
    GOLD_FACT_RATE,
    GOLD_TABLES,
    SILVER_RATES,
    SILVER_TABLES,
    TableSpec,
)

_FACT_INPUT = (
    "extraction_id", "extraction_timestamp", "source_name", "source_tier", "base_currency",
    "quote_currency", "rate", "rate_text", "rate_date", "transform_version",
)  # fmt: skip
_DIM_INPUT = ("base_currency", "quote_currency", "rate_date")


@dataclass(frozen=True)
class GoldResult:
    """What one gold build wrote: fact rows and the date range rebuilt (None if nothing)."""

    facts: int
    first_date: date | None
    last_date: date | None


@dataclass(frozen=True)
class RunResult:
    """A transform or reprocess over silver and gold."""

    silver: SilverResult
    gold: GoldResult
    tag: str | None = None


def build_gold(
    lake: Lake,
    *,
    first: date | None = None,
    last: date | None = None,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    cross_bases: Sequence[str] = model.DEFAULT_CROSS_BASES,
) -> GoldResult:
    """Rebuild ``fact_rate`` for rate dates ``first..last`` (default all) and the dimensions.

    Raises:
        UnknownTransformVersionError: The version is not implemented.
        CommitConflictError: Concurrent writers won every commit attempt.
    """
    return _build_gold(lake, None, first, last, transform_version, cross_bases)


def _build_gold(
    lake: Lake,
    silver: pl.DataFrame | None,
    first: date | None,
    last: date | None,
    transform_version: int,
    cross_bases: Sequence[str] = model.DEFAULT_CROSS_BASES,
    facts: pl.DataFrame | None = None,
    dimensions: Dimensions | None = None,
) -> GoldResult:
    """:func:`build_gold`; ``silver`` is all of ``silver.rates`` when the caller has it,
    ``facts`` and ``dimensions`` the rows already built from it."""
    rules = rules_for(transform_version)
    parts = []
    if first is not None:
        parts.append(at_least("rate_date", first.isoformat()))
    if last is not None:
        parts.append(below("rate_date", date.fromordinal(last.toordinal() + 1).isoformat()))
    where = all_of(*parts) if parts else None
    if facts is None and (silver is None or where is not None):
        rows = storage.read(lake, SILVER_RATES, row_filter=where, columns=_FACT_INPUT)
        facts = model.fact_rate(rows, rules, cross_bases)
    elif facts is None:
        facts = model.fact_rate(silver.select(_FACT_INPUT), rules, cross_bases)  # type: ignore[union-attr]
    props = {"makerates.transform-version": str(transform_version)}
    storage.overwrite(lake, GOLD_FACT_RATE, facts, where=where, properties=props)
    if dimensions is None:
        seen = (
            storage.read(lake, SILVER_RATES, columns=_DIM_INPUT)
            if silver is None
            else silver.select(_DIM_INPUT)
        )
        dimensions = _dimensions(seen)
    # After the facts: a run killed in between leaves the dimensions as they were.
    for spec, rows in dimensions:
        storage.overwrite(lake, spec, rows, properties=props)
    dates = facts.get_column("rate_date")
    return GoldResult(
        facts=facts.height,
        first_date=dates.min() if dates.len() else None,  # type: ignore[arg-type]
        last_date=dates.max() if dates.len() else None,  # type: ignore[arg-type]
    )


#: Dimension tables and their rows, in the order they are committed.
Dimensions = list[tuple[TableSpec, pl.DataFrame]]


def _dimensions(seen: pl.DataFrame) -> Dimensions:
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


def run_transform(lake: Lake, *, transform_version: int = CURRENT_TRANSFORM_VERSION) -> RunResult:
    """Transform new bronze rows into silver, then refresh gold for the dates touched."""
    silver = transform(lake, transform_version=transform_version)
    gold = GoldResult(0, None, None)
    if silver.first_date is not None:
        gold = build_gold(
            lake,
            first=silver.first_date,
            last=silver.last_date,
            transform_version=transform_version,
        )
    # Last: a run killed before this point leaves its bronze rows pending, and the next
    # run redoes what is missing (appends skip the extraction_ids already stored).
    mark_transformed(lake, silver.done, transform_version=transform_version)
    return RunResult(silver, gold)


def run_reprocess(
    lake: Lake,
    *,
    start: date | None = None,
    end: date | None = None,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
) -> RunResult:
    """Rebuild silver (bronze extracted ``start..end``, default all) and all of gold.

    Zero API calls: reads bronze only. Tags the previous snapshot of every silver and
    gold table ``pre-reprocess-<UTC timestamp>`` and the new one ``transform-v<N>``.
    """
    rules_for(transform_version)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    specs = (*SILVER_TABLES, *GOLD_TABLES)
    for spec in specs:
        previous = storage.current_snapshot_id(lake, spec)
        if previous is not None:
            storage.tag_snapshot(lake, spec, f"pre-reprocess-{stamp}", previous)
    rules = rules_for(transform_version)

    def facts_from(rows: pl.DataFrame) -> tuple[pl.DataFrame, Dimensions]:
        # A silver build returns its rows in SILVER_ORDER (silver.validate.sort_silver).
        facts = model.fact_rate(rows.select(_FACT_INPUT), rules, presorted=True)
        return facts, _dimensions(rows.select(_DIM_INPUT))

    # After a full rebuild the new rows are all of silver: gold is built from them while
    # silver's files are written, instead of being read back afterwards.
    full = start is None and end is None
    silver, built = rebuild_silver(
        lake,
        start=start,
        end=end,
        transform_version=transform_version,
        meanwhile=facts_from if full else None,
    )
    if built is None:
        gold = _build_gold(lake, None, None, None, transform_version)
    else:
        facts, dimensions = built
        gold = _build_gold(
            lake, None, None, None, transform_version, facts=facts, dimensions=dimensions
        )
    mark_transformed(lake, silver.done, transform_version=transform_version)
    tag = f"transform-v{transform_version}"
    for spec in specs:
        storage.tag_snapshot(lake, spec, tag)
    return RunResult(silver, gold, tag)


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
