"""The checks a run's branch must pass before ``main`` moves (write-audit-publish).

Each check is a function of :class:`Evidence` (what the run's branch holds, read by
:mod:`makerates_lake.pipeline.wap`) and :class:`Thresholds`; none does I/O. A check that
has too few rows to judge a share (``min_rows``) passes and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import polars as pl

from makerates_lake.audit.disagreements import compare, source_pairs
from makerates_lake.wap_thresholds import Thresholds

_RATE_KEY: Final = ("rate_date", "base_currency", "quote_currency", "source_name")


@dataclass(frozen=True)
class Evidence:
    """What the checks look at, read from the run's branch and the previous ``main``.

    Attributes:
        silver: The branch's ``silver.rates`` rows over the run's dates (the rate key,
            ``extraction_id``, ``extraction_timestamp``, ``rate_text``, ``is_jump``).
        history: The branch's ``silver.rates`` (source, base, date, quote count) rows over
            the run's dates and the month before: what each source usually carries.
        gold: The branch's direct (not derived) ``gold.fact_rate`` rows over the dates.
        bronze_ids: Every ``extraction_id`` bronze holds (one column).
        totals_before: Rows per table at the run's start (``main``).
        totals_after: Rows per table at the branch's head.
    """

    silver: pl.DataFrame
    history: pl.DataFrame
    gold: pl.DataFrame
    bronze_ids: pl.DataFrame
    totals_before: dict[str, int]
    totals_after: dict[str, int]


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, stored in ``audit.wap_checks``."""

    name: str
    passed: bool
    observed: float
    threshold: float
    detail: str


def check_lineage(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """Every silver row of the run traces to a bronze extraction, and every direct gold
    rate to a silver row (same day, currencies and source)."""
    orphans = evidence.silver.join(evidence.bronze_ids, on="extraction_id", how="anti")
    keys = evidence.silver.select(_RATE_KEY).unique()
    gold_orphans = evidence.gold.join(keys, on=list(_RATE_KEY), how="anti")
    count = orphans.height + gold_orphans.height
    detail = (
        f"{orphans.height} silver rows without bronze, "
        f"{gold_orphans.height} gold rates without silver"
    )
    return CheckResult("lineage", count == 0, float(count), 0.0, detail)


def check_row_counts(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """No table lost more than ``max_row_drop`` of its rows against the previous main."""
    worst, where = 0.0, "none"
    for table, before in evidence.totals_before.items():
        after = evidence.totals_after.get(table, before)
        drop = (before - after) / before if before else 0.0
        if drop > worst:
            worst, where = drop, f"{table}: {before} -> {after}"
    bound = limits.max_row_drop
    return CheckResult("row_counts", worst <= bound, worst, bound, where)


def check_currencies(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """Each source's day carries at least ``min_currency_share`` of the quote currencies
    that source usually carries (its median per day over the run and the month before)."""
    if evidence.silver.is_empty():
        return CheckResult("currencies", True, 1.0, limits.min_currency_share, "no rows")
    usual = evidence.history.group_by("source_name", "base_currency").agg(
        pl.col("quotes").median().alias("usual")
    )
    days = (
        evidence.silver.group_by("source_name", "base_currency", "rate_date")
        .agg(pl.col("quote_currency").n_unique().alias("quotes"))
        .join(usual, on=["source_name", "base_currency"], how="left")
        .with_columns((pl.col("quotes") / pl.col("usual").fill_null(1)).alias("share"))
        .sort("share")
    )
    worst = days.row(0, named=True)
    passed = worst["share"] >= limits.min_currency_share
    short = days.filter(pl.col("share") < limits.min_currency_share)
    detail = ", ".join(
        f"{r['source_name']} {r['base_currency']} {r['rate_date']}: {r['quotes']} of {r['usual']:g}"
        for r in short.head(5).iter_rows(named=True)
    )
    return CheckResult(
        "currencies", passed, float(worst["share"]), limits.min_currency_share, detail or "ok"
    )


def check_rejects(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """The run's new rejects are at most ``max_reject_share`` of its new silver rows."""
    new = {
        t: evidence.totals_after.get(t, 0) - evidence.totals_before.get(t, 0)
        for t in ("silver.rates", "silver.rejects")
    }
    rejects, total = max(new["silver.rejects"], 0), max(sum(new.values()), 0)
    share = rejects / total if total else 0.0
    judged = total >= limits.min_rows
    detail = f"{rejects} rejects of {total} new rows" + ("" if judged else " (too few to judge)")
    return CheckResult(
        "rejects", not judged or share <= limits.max_reject_share, share,
        limits.max_reject_share, detail,
    )  # fmt: skip


def check_jumps(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """At most ``max_jump_share`` of the run's silver rows are day-over-day jumps."""
    total = evidence.silver.height
    jumps = int(evidence.silver.get_column("is_jump").sum()) if total else 0
    share = jumps / total if total else 0.0
    judged = total >= limits.min_rows
    detail = f"{jumps} jumps in {total} rows" + ("" if judged else " (too few to judge)")
    return CheckResult(
        "jumps", not judged or share <= limits.max_jump_share, share, limits.max_jump_share, detail
    )


def check_gold_matches_silver(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """Every direct gold rate's text is the text of a silver row of the same key."""
    texts = evidence.silver.select(*_RATE_KEY, pl.col("rate_text").alias("silver_text"))
    matched = evidence.gold.join(texts, on=list(_RATE_KEY), how="inner")
    agree = matched.filter(pl.col("rate_text") == pl.col("silver_text")).select(_RATE_KEY)
    keys = matched.select(_RATE_KEY).unique()
    differing = keys.join(agree.unique(), on=list(_RATE_KEY), how="anti")
    sample = ", ".join(
        f"{r['rate_date']} {r['base_currency']}/{r['quote_currency']} {r['source_name']}"
        for r in differing.head(5).iter_rows(named=True)
    )
    return CheckResult(
        "gold_matches_silver", differing.is_empty(), float(differing.height), 0.0, sample or "ok"
    )


def check_disagreements(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """Where two sources carry the same pair and date, at most ``max_disagreement_share``
    of those pairs differ by more than ``rate_disagreement`` (``|a - b| / min(a, b)``;
    by default the lake's ``disagreement_threshold``). Nothing to compare passes."""
    silver = evidence.silver
    compared = source_pairs(silver).height
    found = compare(silver, limits.rate_disagreement) if compared else []
    share = len(found) / compared if compared else 0.0
    judged = compared >= limits.min_rows
    sample = ", ".join(
        f"{d.rate_date} {d.base_currency}/{d.quote_currency} {d.source_a}={d.rate_a} "
        f"{d.source_b}={d.rate_b}"
        for d in found[:5]
    )
    detail = f"{len(found)} of {compared} source pairs differ" + (
        f": {sample}" if sample else "" if judged else " (too few to judge)"
    )
    passed = not judged or share <= limits.max_disagreement_share
    return CheckResult("disagreements", passed, share, limits.max_disagreement_share, detail)


Check = Callable[[Evidence, Thresholds], CheckResult]

#: Every check, in the order they run and are stored.
CHECKS: Final[tuple[Check, ...]] = (
    check_lineage,
    check_row_counts,
    check_currencies,
    check_rejects,
    check_jumps,
    check_disagreements,
    check_gold_matches_silver,
)


def run_checks(evidence: Evidence, limits: Thresholds) -> list[CheckResult]:
    """Every check's verdict (all run, also after a failure, so the record is whole)."""
    return [check(evidence, limits) for check in CHECKS]
