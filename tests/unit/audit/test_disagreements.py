"""Cross-source disagreement on small frames (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from makerates_lake.audit.disagreements import compare, relative_difference

DAY = date(2026, 11, 2)


def _rows(*rows: tuple[str, str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "rate_date": DAY,
                "base_currency": "USD",
                "quote_currency": quote,
                "source_name": source,
                "rate": None,
                "rate_text": text,
                "extraction_id": f"{source}-{hour}",
                "extraction_timestamp": datetime(2026, 11, 2, hour, tzinfo=UTC),
            }
            for source, quote, text, hour in rows
        ]
    )


def test_five_percent_apart_is_flagged_with_both_values_and_ids() -> None:
    """0.9083 against 0.953715 (5 %) is a disagreement at the 2 % default."""
    (found,) = compare(
        _rows(("open-er-api", "EUR", "0.953715", 1), ("exchangerate-api", "EUR", "0.9083", 1)),
        0.02,
    )
    assert (found.source_a, found.rate_a) == ("exchangerate-api", Decimal("0.9083"))
    assert (found.source_b, found.rate_b) == ("open-er-api", Decimal("0.953715"))
    assert found.extraction_id_a == "exchangerate-api-1"
    assert found.relative_difference == Decimal("0.05")


def test_within_the_threshold_is_not_flagged() -> None:
    """0.2 % apart is agreement; one source alone is never a disagreement."""
    assert compare(_rows(("a", "EUR", "0.9083", 1), ("b", "EUR", "0.9101", 1)), 0.02) == []
    assert compare(_rows(("a", "EUR", "0.9083", 1), ("a", "JPY", "150", 1)), 0.02) == []


def test_each_source_speaks_with_its_newest_answer() -> None:
    """A source asked twice that day is compared by its later answer only."""
    rows = _rows(("a", "EUR", "0.80", 1), ("a", "EUR", "0.9083", 5), ("b", "EUR", "0.9090", 2))
    assert compare(rows, 0.02) == []


def test_relative_difference_is_symmetric() -> None:
    """|a - b| / min(a, b) does not depend on the order."""
    assert relative_difference(Decimal("1"), Decimal("1.05")) == Decimal("0.05")
    assert relative_difference(Decimal("1.05"), Decimal("1")) == Decimal("0.05")


def _two_sources(a: str, b: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rate_date": [date(2026, 1, 1)] * 2,
            "base_currency": ["EUR"] * 2,
            "quote_currency": ["USD"] * 2,
            "source_name": ["a", "b"],
            "rate_text": [a, b],
            "extraction_id": ["x", "y"],
            "extraction_timestamp": [datetime(2026, 1, 1, tzinfo=UTC)] * 2,
        }
    )


def test_the_float_prefilter_never_drops_what_the_exact_verdict_finds() -> None:
    """Differences past a double's digits (threshold 0) and rates beyond its range are
    judged exactly, not dropped by the pre-filter."""
    assert len(compare(_two_sources("1.00000000000000001", "1.00000000000000002"), 0.0)) == 1
    assert len(compare(_two_sources("1e-400", "3e-400"), 0.5)) == 1
    assert compare(_two_sources("1.5", "1.529"), 0.02) == []
