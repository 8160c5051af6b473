"""The offline demo: the bundled ECB sample through every layer, then a look at the result.

``makerates demo`` (and ``make demo``) runs this on the embedded default. It needs no
network and no services, and running it again duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from makerates_lake.audit.reading import read_polars
from makerates_lake.audit.trace import TraceResult, trace
from makerates_lake.gold.convert import RateBook
from makerates_lake.pipeline import BackfillResult, backfill
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import GOLD_FACT_RATE

DEMO_PAIRS: tuple[tuple[str, str], ...] = (
    ("EUR", "USD"),
    ("EUR", "GBP"),
    ("USD", "JPY"),
    ("GBP", "CHF"),
)
CHART_PAIR = ("EUR", "USD")


@dataclass(frozen=True)
class LatestRate:
    """One pair's rate on the latest date gold holds."""

    base: str
    quote: str
    rate: Decimal
    rate_date: date
    method: str
    text: str

    def __str__(self) -> str:
        day = self.rate_date.isoformat()
        return f"{self.base}/{self.quote} {day}  {self.text}  ({self.method})"


@dataclass(frozen=True)
class DemoReport:
    """What the demo did and found."""

    backfill: BackfillResult
    latest: list[LatestRate]
    trace: TraceResult
    chart: Path


def latest_rates(facts: pl.DataFrame, pairs: tuple[tuple[str, str], ...]) -> list[LatestRate]:
    """Each pair's rate on the newest date in ``facts`` (direct, inverse or via a pivot)."""
    newest: date = facts.get_column("rate_date").max()  # type: ignore[assignment]
    book = RateBook(facts)
    found = []
    for base, quote in pairs:
        rate = book.rate(base, quote, newest, fallback="previous")
        # A published rate prints as the provider sent it (0.86720 keeps its zero); a
        # computed one without the padding of the decimal(38,18) column.
        text = None
        if rate.method == "direct":
            text = _provider_text(facts, base, quote, rate.rate_date)
        shown = text or format(rate.rate.normalize(), "f")
        found.append(LatestRate(base, quote, rate.rate, rate.rate_date, rate.method, shown))
    return found


def _provider_text(facts: pl.DataFrame, base: str, quote: str, on: date) -> str | None:
    match = facts.filter(
        pl.col("is_best")
        & ~pl.col("is_derived")
        & (pl.col("rate_date") == on)
        & (pl.col("base_currency") == base)
        & (pl.col("quote_currency") == quote)
    ).get_column("rate_text")
    return str(match[0]) if match.len() and match[0] is not None else None


def write_chart(facts: pl.DataFrame, pair: tuple[str, str], path: Path) -> Path:
    """Plot one pair's best rate over time as a PNG (overwritten on each run)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    base, quote = pair
    series = (
        facts.filter(
            pl.col("is_best")
            & (pl.col("base_currency") == base)
            & (pl.col("quote_currency") == quote)
        )
        .select("rate_date", pl.col("rate").cast(pl.Float64))  # plotting only: floats are fine
        .sort("rate_date")
    )
    figure, axes = plt.subplots(figsize=(9, 4), dpi=100)
    axes.plot(series["rate_date"].to_list(), series["rate"].to_list(), linewidth=1.2)
    axes.set_title(f"{base}/{quote}, ECB reference rate")
    axes.set_ylabel(f"{quote} per 1 {base}")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path


def run_demo(lake: Lake) -> DemoReport:
    """Backfill the bundled sample (idempotent), read rates, trace one, draw the chart."""
    result = backfill(lake)
    # The rates shown to the person running the demo are a read like any other: logged.
    facts = read_polars(lake, GOLD_FACT_RATE)
    chart = write_chart(facts, CHART_PAIR, lake.settings.home / "charts" / "eur-usd.png")
    latest = latest_rates(facts, DEMO_PAIRS)
    # Audit the first pair's latest rate back to the bytes the ECB file held.
    first = latest[0]
    audited = trace(lake, first.rate_date, first.base, first.quote)
    return DemoReport(result, latest, audited, chart)
