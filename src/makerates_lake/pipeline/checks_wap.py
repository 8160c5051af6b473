"""The checks a run's branch must pass before ``main`` moves (write-audit-publish).

Each check is a function of :class:`Evidence` and :class:`Thresholds`; none does I/O.
The evidence is a summary of the run's rows, not the rows: :class:`EvidenceCollector`
takes them a batch of whole rate dates at a time (a streamed reprocess hands it each
month as it writes it; :mod:`makerates_lake.pipeline.wap` reads an incremental run's
dates in one batch), so a full reprocess's checks hold counts per source and day, not
its history. Every quantity is a sum over rate dates, so batches give what one frame
would. A check that has too few rows to judge a share (``min_rows``) passes and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import polars as pl

from makerates_lake.audit.disagreements import compare_pairs, source_pairs
from makerates_lake.silver.row_hash import row_hash
from makerates_lake.wap_thresholds import Thresholds

_RATE_KEY: Final = ("rate_date", "base_currency", "quote_currency", "source_name")
_PAIR_DAY: Final = ("rate_date", "base_currency", "quote_currency")
_SOURCE_DAY: Final = ("source_name", "base_currency", "rate_date")
#: The silver columns the checks read.
SILVER_EVIDENCE: Final = (*_RATE_KEY, "extraction_id", "extraction_timestamp", "rate_text")
#: Keys a check names in its detail.
_SAMPLE: Final = 5


@dataclass(frozen=True)
class Found:
    """Rate keys a check found: how many, and the first few (for the detail)."""

    count: int = 0
    sample: pl.DataFrame = field(default_factory=lambda: pl.DataFrame())


@dataclass(frozen=True)
class Evidence:
    """What the checks look at: the run's rows summarised, and the tables' totals.

    Attributes:
        day_quotes: Quote currencies per day of each source and base in the run's
            ``silver.rates`` rows (``source_name``, ``base_currency``, ``rate_date``,
            ``quotes``).
        history: The same over the run's dates and the month before: what each source
            usually carries.
        silver_rows: The run's ``silver.rates`` rows.
        jump_rows: Those flagged ``is_jump``.
        silver_without_bronze: Those whose ``extraction_id`` bronze does not hold.
        gold_without_silver: Direct (not derived) ``gold.fact_rate`` rates of the run's
            dates with no silver row of the same key (day, currencies, source).
        gold_differing: Direct gold rates whose text no silver row of their key has.
        shared_rates: The run's silver rows of a pair and date that two or more sources
            carry (what the disagreement check compares).
        totals_before: Rows per table at the run's start (``main``).
        totals_after: Rows per table at the branch's head.
    """

    day_quotes: pl.DataFrame
    history: pl.DataFrame
    silver_rows: int
    jump_rows: int
    silver_without_bronze: int
    gold_without_silver: Found
    gold_differing: Found
    shared_rates: pl.DataFrame
    totals_before: dict[str, int]
    totals_after: dict[str, int]


def without_match(gold: pl.DataFrame, texts: pl.DataFrame) -> pl.DataFrame:
    """The ``gold`` rows that no row of ``texts`` equals on all of gold's columns (the
    rate key and ``rate_text``; ``texts`` holds them too, of the same types).

    The anti join is given only the rows of ``texts`` whose row hash is some gold row's:
    every row equal to a gold row is among them, and they are a fraction of a batch of
    silver (a join on five text columns row-encodes every row it sees).
    """
    keyed = gold.columns
    golden = gold.select(row_hash(keyed)).to_series().implode()
    return gold.join(texts.filter(row_hash(keyed).is_in(golden)), on=keyed, how="anti")


class EvidenceCollector:
    """Builds :class:`Evidence` from batches of rows (pure: no I/O).

    Each :meth:`add_rows` call must hold every silver and direct gold row of its rate
    dates, and no date may come in two calls; bronze's ids come in any parts.
    """

    def __init__(self) -> None:
        self._days: list[pl.DataFrame] = []
        self._ids: list[pl.DataFrame] = []
        self._bronze: list[pl.DataFrame] = []
        self._shared: list[pl.DataFrame] = []
        self._rows = 0
        self._jumps = 0
        self._gold_orphans = Found()
        self._differing = Found()

    def add_rows(self, silver: pl.DataFrame, gold: pl.DataFrame) -> None:
        """Summarise one batch: ``silver.rates`` rows (:data:`SILVER_EVIDENCE`; their
        flags are counted by :meth:`add_jumps`) and the ``gold.fact_rate`` rows
        (``is_derived``, the rate key and ``rate_text``) of the same rate dates."""
        if "is_derived" in gold.columns:
            gold = gold.filter(~pl.col("is_derived"))
        keyed = [*_RATE_KEY, "rate_text"]
        gold = gold.select(keyed)
        self._rows += silver.height
        # Lazy: Polars' query engine runs these aggregations several times faster than
        # the eager group_by and value_counts (benchmarks/README.md, session 10).
        self._days.append(
            silver.lazy()
            .group_by(_SOURCE_DAY)
            .agg(pl.col("quote_currency").n_unique().alias("quotes"))
            .collect()
        )
        self._ids.append(
            silver.lazy()
            .select(pl.col("extraction_id").value_counts(name="rows"))
            .unnest("extraction_id")
            .collect()
        )
        if silver.get_column("source_name").n_unique() > 1:
            shared = pl.col("source_name").n_unique().over(list(_PAIR_DAY)) > 1
            self._shared.append(silver.select(SILVER_EVIDENCE).filter(shared))
        # Normally every direct gold rate has a silver row of its key and text: one anti
        # join finds the exceptions, and only they are looked at further.
        texts = silver.select(keyed)
        odd = without_match(gold, texts)
        if odd.is_empty():
            return
        keys = texts.select(_RATE_KEY).unique()
        self._gold_orphans = _more(self._gold_orphans, odd.join(keys, on=_RATE_KEY, how="anti"))
        agree = gold.join(texts, on=keyed, how="semi").select(_RATE_KEY)
        differing = odd.join(keys, on=_RATE_KEY, how="semi").select(_RATE_KEY).unique()
        differing = differing.join(agree, on=_RATE_KEY, how="anti")
        self._differing = _more(self._differing, differing.sort(_RATE_KEY))

    def add_jumps(self, rows: int) -> None:
        """Count ``rows`` more of the run's silver rows flagged ``is_jump``."""
        self._jumps += rows

    def add_bronze_ids(self, ids: pl.DataFrame) -> None:
        """Record ``extraction_id``\\ s bronze holds (one column of that name)."""
        self._bronze.append(ids.select("extraction_id"))

    def evidence(
        self,
        *,
        totals_before: dict[str, int],
        totals_after: dict[str, int],
        history: pl.DataFrame | None = None,
    ) -> Evidence:
        """The evidence of every batch added; ``history`` defaults to the run's own days
        (a full rebuild: there is nothing before its dates)."""
        days = _stack(self._days, _DAY_SCHEMA)
        ids = _stack(self._ids, {"extraction_id": pl.String(), "rows": pl.UInt32()})
        bronze = _stack(self._bronze, {"extraction_id": pl.String()}).unique()
        orphans = ids.join(bronze, on="extraction_id", how="anti").get_column("rows").sum()
        return Evidence(
            day_quotes=days,
            history=days if history is None else history,
            silver_rows=self._rows,
            jump_rows=self._jumps,
            silver_without_bronze=int(orphans),
            gold_without_silver=self._gold_orphans,
            gold_differing=self._differing,
            shared_rates=_stack(self._shared, None),
            totals_before=totals_before,
            totals_after=totals_after,
        )


_DAY_SCHEMA: Final = {
    "source_name": pl.String(),
    "base_currency": pl.String(),
    "rate_date": pl.Date(),
    "quotes": pl.UInt32(),
}


def _stack(frames: list[pl.DataFrame], schema: dict[str, pl.DataType] | None) -> pl.DataFrame:
    if frames:
        return pl.concat(frames, how="vertical_relaxed")
    return pl.DataFrame(schema=schema)


def _more(found: Found, keys: pl.DataFrame) -> Found:
    if keys.is_empty():
        return found
    sample = pl.concat([found.sample, keys.head(_SAMPLE)]) if found.count else keys.head(_SAMPLE)
    return Found(found.count + keys.height, sample.head(_SAMPLE))


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
    silver, gold = evidence.silver_without_bronze, evidence.gold_without_silver.count
    detail = f"{silver} silver rows without bronze, {gold} gold rates without silver"
    if gold:
        detail += f": {_keys(evidence.gold_without_silver)}"
    return CheckResult("lineage", silver + gold == 0, float(silver + gold), 0.0, detail)


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
    if evidence.day_quotes.is_empty():
        return CheckResult("currencies", True, 1.0, limits.min_currency_share, "no rows")
    usual = evidence.history.group_by("source_name", "base_currency").agg(
        pl.col("quotes").median().alias("usual")
    )
    days = (
        evidence.day_quotes.join(usual, on=["source_name", "base_currency"], how="left")
        .with_columns((pl.col("quotes") / pl.col("usual").fill_null(1)).alias("share"))
        .sort("share")
    )
    worst = days.row(0, named=True)
    passed = worst["share"] >= limits.min_currency_share
    short = days.filter(pl.col("share") < limits.min_currency_share)
    detail = ", ".join(
        f"{r['source_name']} {r['base_currency']} {r['rate_date']}: {r['quotes']} of {r['usual']:g}"
        for r in short.head(_SAMPLE).iter_rows(named=True)
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
    total, jumps = evidence.silver_rows, evidence.jump_rows
    share = jumps / total if total else 0.0
    judged = total >= limits.min_rows
    detail = f"{jumps} jumps in {total} rows" + ("" if judged else " (too few to judge)")
    return CheckResult(
        "jumps", not judged or share <= limits.max_jump_share, share, limits.max_jump_share, detail
    )


def check_gold_matches_silver(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """Every direct gold rate's text is the text of a silver row of the same key."""
    differing = evidence.gold_differing
    return CheckResult(
        "gold_matches_silver", differing.count == 0, float(differing.count), 0.0,
        _keys(differing) or "ok",
    )  # fmt: skip


def check_disagreements(evidence: Evidence, limits: Thresholds) -> CheckResult:
    """Where two sources carry the same pair and date, at most ``max_disagreement_share``
    of those pairs differ by more than ``rate_disagreement`` (``|a - b| / min(a, b)``;
    by default the lake's ``disagreement_threshold``). Nothing to compare passes."""
    shared = evidence.shared_rates  # no columns at all when no two sources met
    pairs = source_pairs(shared) if shared.height else None
    compared = 0 if pairs is None else pairs.height
    found = compare_pairs(pairs, limits.rate_disagreement) if pairs is not None else []
    share = len(found) / compared if compared else 0.0
    judged = compared >= limits.min_rows
    sample = ", ".join(
        f"{d.rate_date} {d.base_currency}/{d.quote_currency} {d.source_a}={d.rate_a} "
        f"{d.source_b}={d.rate_b}"
        for d in found[:_SAMPLE]
    )
    detail = f"{len(found)} of {compared} source pairs differ"
    detail += "" if judged else " (too few to judge)"
    detail += f": {sample}" if sample else ""
    passed = not judged or share <= limits.max_disagreement_share
    return CheckResult("disagreements", passed, share, limits.max_disagreement_share, detail)


def _keys(found: Found) -> str:
    return ", ".join(
        f"{r['rate_date']} {r['base_currency']}/{r['quote_currency']} {r['source_name']}"
        for r in found.sample.iter_rows(named=True)
    )


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
