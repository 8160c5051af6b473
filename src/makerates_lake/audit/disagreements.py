"""Cross-source disagreement: two sources' rates for the same pair and date that differ.

Silver keeps every source's rate for a pair and date side by side (gold picks one best
rate), so a disagreement is found in silver: for each (rate_date, base, quote) and each
source, the rate of its newest extraction; then every two sources are compared. They
disagree when ``|a - b| / min(a, b)`` exceeds ``disagreement_threshold`` (relative to the
smaller rate, so the test is symmetric). The flag is computed from silver on demand, not
stored: it is a pure function of silver and the threshold, and a changed threshold must
not need a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from makerates_lake.store.access_log import log_access
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, at_least, at_most
from makerates_lake.store.scan import scan_at
from makerates_lake.store.tables import SILVER_RATES

_KEY = ("rate_date", "base_currency", "quote_currency")
#: Below this relative threshold the float pre-filter is skipped (doubles carry about
#: 16 significant digits; 18-digit rates differ further down than that).
_FLOAT_MIN_THRESHOLD = 1e-6
_COLUMNS = (*_KEY, "source_name", "rate", "rate_text", "extraction_id", "extraction_timestamp")


@dataclass(frozen=True)
class Disagreement:
    """Two sources' rates for one pair and date, further apart than the threshold.

    Attributes:
        rate_date: The providers' date.
        base_currency: Base of the pair.
        quote_currency: Quote of the pair.
        source_a: First source (alphabetically).
        rate_a: Its rate, exactly as stored.
        extraction_id_a: The bronze row it came from.
        source_b: Second source.
        rate_b: Its rate.
        extraction_id_b: Its bronze row.
        relative_difference: ``|a - b| / min(a, b)``.
    """

    rate_date: date
    base_currency: str
    quote_currency: str
    source_a: str
    rate_a: Decimal
    extraction_id_a: str
    source_b: str
    rate_b: Decimal
    extraction_id_b: str
    relative_difference: Decimal

    def as_dict(self) -> dict[str, str]:
        """Every field as text (exact decimals stay exact)."""
        return {
            "rate_date": self.rate_date.isoformat(),
            "base_currency": self.base_currency,
            "quote_currency": self.quote_currency,
            "source_a": self.source_a,
            "rate_a": str(self.rate_a),
            "extraction_id_a": self.extraction_id_a,
            "source_b": self.source_b,
            "rate_b": str(self.rate_b),
            "extraction_id_b": self.extraction_id_b,
            "relative_difference": f"{self.relative_difference:.6f}",
        }


def relative_difference(a: Decimal, b: Decimal) -> Decimal:
    """``|a - b| / min(a, b)`` in exact decimals (rates are positive: silver rejects others)."""
    return abs(a - b) / min(a, b)


def source_pairs(rates: pl.DataFrame) -> pl.DataFrame:
    """Every two sources' newest rates for the same pair and date, one row per pair of
    sources (``source_name < source_name_b``; the second's columns end in ``_b``)."""
    if rates.is_empty():
        return rates.join(rates, on=list(_KEY), suffix="_b")
    # A source asked twice for one day counts once: its newest answer is what it says now.
    newest = rates.sort("extraction_timestamp").unique(
        subset=[*_KEY, "source_name"], keep="last", maintain_order=True
    )
    return newest.join(newest, on=list(_KEY), suffix="_b").filter(
        pl.col("source_name") < pl.col("source_name_b")
    )


def compare(rates: pl.DataFrame, threshold: float) -> list[Disagreement]:
    """The disagreements among silver rows (pure: no I/O).

    Args:
        rates: Silver rows with at least the columns of :data:`_COLUMNS`.
        threshold: Relative difference above which two sources disagree.
    """
    if rates.is_empty():
        return []
    return compare_pairs(source_pairs(rates), threshold)


def compare_pairs(pairs: pl.DataFrame, threshold: float) -> list[Disagreement]:
    """:func:`compare` on pairs already made by :func:`source_pairs` (pure: no I/O)."""
    # Floats only pick the candidates, with a margin far above their rounding error; the
    # verdict on each candidate is exact (Decimal), as the stored rates are.
    # Only where floats can tell: a tiny threshold, a text floats cannot read or a rate
    # beyond their range (read as 0 or null) is left to the exact comparison.
    if threshold >= _FLOAT_MIN_THRESHOLD:
        one, other = (
            pl.col(c).cast(pl.Float64, strict=False) for c in ("rate_text", "rate_text_b")
        )
        margin = threshold * (1 - 1e-9)
        apart = (one - other).abs() > pl.min_horizontal(one, other) * margin
        pairs = pairs.filter((apart | (pl.min_horizontal(one, other) <= 0)).fill_null(True))
    limit = Decimal(str(threshold))
    found = []
    for row in pairs.sort([*_KEY, "source_name", "source_name_b"]).iter_rows(named=True):
        a, b = Decimal(row["rate_text"]), Decimal(row["rate_text_b"])
        if a <= 0 or b <= 0:
            continue
        difference = relative_difference(a, b)
        if difference > limit:
            found.append(
                Disagreement(
                    row["rate_date"],
                    row["base_currency"],
                    row["quote_currency"],
                    row["source_name"],
                    a,
                    row["extraction_id"],
                    row["source_name_b"],
                    b,
                    row["extraction_id_b"],
                    difference,
                )
            )
    return found


def find_disagreements(
    lake: Lake, start: date, end: date, *, threshold: float | None = None
) -> list[Disagreement]:
    """Disagreements among silver's rates dated ``start..end`` (inclusive).

    Not an audited read: the pipeline checks what it just transformed. A person's read
    goes through :func:`disagreements`, which logs it.

    Args:
        lake: The open lake.
        start: First rate date.
        end: Last rate date.
        threshold: Relative difference; default ``settings.disagreement_threshold``.
    """
    limit = lake.settings.disagreement_threshold if threshold is None else threshold
    table = lake.table(SILVER_RATES, refresh=True)
    snapshot = table.current_snapshot()
    rows = scan_at(
        table,
        None if snapshot is None else snapshot.snapshot_id,
        all_of(at_least("rate_date", start.isoformat()), at_most("rate_date", end.isoformat())),
        _COLUMNS,
    )
    frame = pl.from_arrow(rows)
    return compare(frame if isinstance(frame, pl.DataFrame) else frame.to_frame(), limit)


def disagreements(
    lake: Lake, start: date, end: date, *, threshold: float | None = None
) -> list[Disagreement]:
    """:func:`find_disagreements`, logged as one access-log entry (action ``disagreements``).

    Example: ``disagreements(lake, date(2026, 10, 1), date(2026, 10, 31))`` lists each
    pair and date where two sources differ by more than the threshold.

    Raises:
        AccessLogError: The read could not be logged (nothing is returned).
    """
    found = find_disagreements(lake, start, end, threshold=threshold)
    ids = sorted({d.extraction_id_a for d in found} | {d.extraction_id_b for d in found})
    log_access(
        lake,
        action="disagreements",
        table=SILVER_RATES.identifier,
        record_ids=ids,
        query_text=f"disagreements {start.isoformat()}..{end.isoformat()}; {len(found)} found",
    )
    return found
