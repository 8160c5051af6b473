"""``gold.fact_rate``: the direct and cross rates of silver rows, and the best of each.

``fact_rate`` has one row per (date, base, quote, source): the source's observation from
the best tier (``primary`` > ``fallback`` > ``backfill`` > ``manual``), latest
extraction first. ``is_best`` marks one row per (date, base, quote): direct before
derived, then the same tier order, then the latest observation, then the more
authoritative source (ECB first), then the source name, so ties are deterministic.

Cross rates: for each source and day with base ``P`` (the pivot) and each cross base
``A`` it quotes, ``A -> B = rate(P -> B) / rate(P -> A)`` and ``A -> P = 1 / rate(P -> A)``
under the precision rule (:mod:`~makerates_lake.gold.precision`). Derived rows are
written only where the source has no direct rate for the pair, and carry ``is_derived``
and ``pivot_currency``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from makerates_lake.gold.dimensions import SOURCES
from makerates_lake.gold.precision import RATE_DTYPE, divide_series
from makerates_lake.silver.sort_order import SILVER_ORDER
from makerates_lake.silver.versions import TransformRules

TIER_PRIORITY: Final = {"primary": 0, "fallback": 1, "backfill": 2, "manual": 3}
#: Currencies whose cross rates gold materialises against every quote of a pivot source.
DEFAULT_CROSS_BASES: Final = ("EUR", "USD")
_SOURCE_RANK: Final = {s.source_name: i for i, s in enumerate(SOURCES)}

FACT_COLUMNS: Final = (
    "rate_date", "date_key", "base_currency", "quote_currency", "source_name", "source_tier",
    "rate", "rate_text", "is_derived", "pivot_currency", "is_best", "extraction_id",
    "base_extraction_id", "observed_at", "transform_version",
)  # fmt: skip


def _tier_rank() -> pl.Expr:
    return pl.col("source_tier").replace_strict(TIER_PRIORITY, default=len(TIER_PRIORITY))


def _source_rank() -> pl.Expr:
    return pl.col("source_name").replace_strict(_SOURCE_RANK, default=len(_SOURCE_RANK))


_MAX_MICROS = 1 << 52  # 2112-09-17: the composite rank below needs 0 <= time < this


def _runs(group: Sequence[str]) -> pl.Expr:
    """Run number of ``group`` in a frame sorted by it: one integer per group."""
    changed = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in group)
    return changed.fill_null(True).cum_sum().cast(pl.Int64)


def _best_in_runs(
    frame: pl.DataFrame, order: Sequence[tuple[str, bool]], *, keep: str
) -> pl.DataFrame:
    """Per run ``_run``: the rows best by ``order`` (column, descending), then one of them.

    ``frame`` is sorted so that each group is one run and, among rows equal on
    ``order``, the wanted one comes ``keep`` ("first" or "last") in its run. Each
    ``order`` column is one window over the integer run number, never a sort.
    """
    for column, descending in order:
        best = pl.col(column).max() if descending else pl.col(column).min()
        frame = frame.filter(pl.col(column) == best.over("_run"))
    neighbour = pl.col("_run").shift(1 if keep == "first" else -1)
    return frame.filter((pl.col("_run") != neighbour).fill_null(True))


def _micros_in_range(column: pl.Series) -> bool:
    micros = column.dt.epoch("us")
    low, high = micros.min(), micros.max()
    if low is None or high is None:
        return True
    return int(low) >= 0 and int(high) < _MAX_MICROS  # type: ignore[arg-type]


def direct_facts(silver: pl.DataFrame, *, presorted: bool = False) -> pl.DataFrame:
    """One row per (date, base, quote, source): the source's best observation that day.

    Best is the best tier, then the latest extraction, then the larger extraction_id.
    ``presorted`` says the rows are in ``SILVER_ORDER`` already (a silver build's
    output), which saves sorting them again.
    """
    # In SILVER_ORDER each (date, base, quote, source) is one run, latest extraction
    # last: the best row is its tier's last row.
    rows = silver if presorted else silver.sort(SILVER_ORDER)
    rows = rows.with_columns(_runs(SILVER_ORDER[:4]).alias("_run"))
    order: list[tuple[str, bool]] = []
    if rows.get_column("source_tier").n_unique() > 1:  # else the tier decides nothing
        rows = rows.with_columns((-_tier_rank()).alias("_tier"))
        order = [("_tier", True)]
    best = _best_in_runs(rows, order, keep="last")
    # A base quoted against itself is a run of its own, so dropping it from the winners
    # (one row per day and source) equals dropping it from every silver row first.
    return best.filter(pl.col("base_currency") != pl.col("quote_currency")).select(
        "rate_date",
        "base_currency",
        "quote_currency",
        "source_name",
        "source_tier",
        "rate",
        "rate_text",
        "extraction_id",
        "transform_version",
        pl.lit(None, pl.String).alias("base_extraction_id"),
        pl.col("extraction_timestamp").alias("observed_at"),
        pl.lit(False).alias("is_derived"),
        pl.lit(None, pl.String).alias("pivot_currency"),
    )


def cross_facts(
    direct: pl.DataFrame, rules: TransformRules, cross_bases: Sequence[str] = DEFAULT_CROSS_BASES
) -> pl.DataFrame:
    """Derived rates ``A -> B`` for every cross base ``A`` a pivot source quotes."""
    legs = direct.select(
        "rate_date", "source_name", "source_tier", "transform_version",
        pl.col("base_currency").alias("pivot_currency"),
        "quote_currency", "rate", "extraction_id", "observed_at",
    )  # fmt: skip
    anchors = legs.filter(pl.col("quote_currency").is_in(list(cross_bases))).select(
        "rate_date", "source_name", "pivot_currency",
        pl.col("quote_currency").alias("base_currency"),
        pl.col("rate").alias("_base_rate"),
        pl.col("extraction_id").alias("base_extraction_id"),
        pl.col("observed_at").alias("_base_observed"),
        pl.col("source_tier").alias("_base_tier"),
        pl.col("transform_version").alias("_base_version"),
    )  # fmt: skip
    pairs = anchors.join(legs, on=["rate_date", "source_name", "pivot_currency"]).drop(
        "_base_tier", "_base_version"
    )
    # The way back to the pivot itself (1 / rate) rests on the anchor leg alone, so it
    # takes that leg's tier: one row per anchor, even when the source's legs that day
    # came in different tiers.
    to_pivot = anchors.select(
        "rate_date", "source_name",
        pl.col("_base_tier").alias("source_tier"),
        pl.col("_base_version").alias("transform_version"),
        "pivot_currency",
        pl.col("pivot_currency").alias("quote_currency"),
        pl.lit(1).cast(RATE_DTYPE).alias("rate"),
        pl.col("base_extraction_id").alias("extraction_id"),
        pl.col("_base_observed").alias("observed_at"),
        "base_currency", "_base_rate", "base_extraction_id", "_base_observed",
    )  # fmt: skip
    candidates = pl.concat([pairs, to_pivot.select(pairs.columns)], how="vertical").filter(
        pl.col("quote_currency") != pl.col("base_currency")
    )
    existing = direct.select("rate_date", "source_name", "base_currency", "quote_currency")
    candidates = candidates.join(
        existing, on=["rate_date", "source_name", "base_currency", "quote_currency"], how="anti"
    )
    derived = divide_series(
        candidates.get_column("rate"),
        candidates.get_column("_base_rate"),
        rules.cross_significant_digits,
    )
    return candidates.select(
        "rate_date", "base_currency", "quote_currency", "source_name", "source_tier",
        pl.lit(derived).alias("rate"),
        pl.lit(None, pl.String).alias("rate_text"),
        "extraction_id", pl.lit(rules.version, pl.Int32).alias("transform_version"),
        "base_extraction_id",
        pl.max_horizontal("observed_at", "_base_observed").alias("observed_at"),
        pl.lit(True).alias("is_derived"),
        "pivot_currency",
    ).filter(pl.col("rate").is_not_null())  # fmt: skip  # beyond decimal(38,18): not derived


def _sort_facts(facts: pl.DataFrame) -> pl.DataFrame:
    """Facts by date, base, quote, source, direct before derived, pivot."""
    pivot = pl.col("pivot_currency").fill_null("")
    return facts.sort(
        "rate_date", "base_currency", "quote_currency", "source_name", "is_derived", pivot
    )


def fact_rate(
    silver: pl.DataFrame,
    rules: TransformRules,
    cross_bases: Sequence[str] = DEFAULT_CROSS_BASES,
    *,
    presorted: bool = False,
) -> pl.DataFrame:
    """``gold.fact_rate`` rows from silver rows, sorted for deterministic output.

    ``presorted``: see :func:`direct_facts`.
    """
    direct = direct_facts(silver, presorted=presorted).with_columns(
        pl.lit(rules.version, pl.Int32).alias("transform_version")
    )
    facts = pl.concat([direct, cross_facts(direct, rules, cross_bases)], how="vertical_relaxed")
    # The output order first: each (date, base, quote) is then one run, and among rows of
    # equal rank the first one has the smallest source name (then pivot).
    facts = _sort_facts(facts).with_row_index("_row").with_columns(
        _runs(("rate_date", "base_currency", "quote_currency")).alias("_run"),
        pl.col("is_derived").cast(pl.Int64).alias("_derived"),
        _tier_rank().cast(pl.Int64).alias("_tier"),
        _source_rank().cast(pl.Int64).alias("_source"),
    )  # fmt: skip
    order: list[tuple[str, bool]]
    if _micros_in_range(facts.get_column("observed_at")):
        # direct first, best tier, newest observation, source rank: one integer, smallest best.
        newest = _MAX_MICROS - 1 - pl.col("observed_at").dt.epoch("us")
        rank = ((pl.col("_derived") * 8 + pl.col("_tier")) * _MAX_MICROS + newest) * 8 + pl.col(
            "_source"
        )
        facts = facts.with_columns(rank.alias("_rank"))
        order = [("_rank", False)]
    else:
        order = [("_derived", False), ("_tier", False), ("observed_at", True), ("_source", False)]
    winners = _best_in_runs(
        facts.select("_row", "_run", *(c for c, _ in order)), order, keep="first"
    ).get_column("_row")
    best = pl.repeat(False, facts.height, eager=True).alias("is_best").scatter(winners, True)
    return facts.with_columns(
        best,
        (
            pl.col("rate_date").dt.year() * 10000
            + pl.col("rate_date").dt.month().cast(pl.Int32) * 100
            + pl.col("rate_date").dt.day().cast(pl.Int32)
        )
        .cast(pl.Int32)
        .alias("date_key"),
    ).select(FACT_COLUMNS)
