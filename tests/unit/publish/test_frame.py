"""The rows of one publish: window, best rates only, code checks, names of tables and tags."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest

from makerates_lake.publish.errors import InvalidCurrencyError, PublishConfigError
from makerates_lake.publish.frame import (
    COLUMNS,
    check_codes,
    publish_frame,
    table_name,
    tag_name,
    window,
)

STAMP = datetime(2026, 3, 2, 15, 30, tzinfo=timezone(timedelta(hours=2)))


def _facts(days: int = 5) -> pl.DataFrame:
    """Two pairs a day, each with a best and a non-best row, for ``days`` days."""
    rows = []
    for offset in range(days):
        day = date(2026, 3, 1) + timedelta(days=offset)
        for base, quote, best in (
            ("USD", "EUR", True),
            ("USD", "EUR", False),
            ("EUR", "GBP", True),
        ):
            rows.append(
                {
                    "rate_date": day,
                    "base_currency": base,
                    "quote_currency": quote,
                    "rate": Decimal("0.867200000000000000") if best else Decimal("1"),
                    "source_name": "ecb" if best else "other",
                    "is_derived": base != "EUR",
                    "extraction_id": f"x-{offset}",
                    "is_best": best,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"rate": pl.Decimal(38, 18)})


@pytest.mark.parametrize(
    ("days", "first"), [(1, date(2026, 3, 5)), (5, date(2026, 3, 1)), (90, date(2025, 12, 6))]
)
def test_window_ends_at_last_date_inclusive(days: int, first: date) -> None:
    """A window of N days holds exactly N dates ending at the last one."""
    assert window(date(2026, 3, 5), days) == (first, date(2026, 3, 5))


@pytest.mark.parametrize("days", [0, -1])
def test_window_needs_positive_days(days: int) -> None:
    """Zero or negative days is a configuration error."""
    with pytest.raises(PublishConfigError):
        window(date(2026, 3, 5), days)


@pytest.mark.parametrize("code", ["usd", "US", "USDX", "U1D", "ÉUR", "", None, " USD"])
def test_malformed_codes_are_refused(code: object) -> None:
    """Only three capital ASCII letters pass; the error names the code."""
    with pytest.raises(InvalidCurrencyError) as caught:
        check_codes(["EUR", code])  # type: ignore[list-item]
    assert repr(code) in str(caught.value)


def test_valid_codes_pass() -> None:
    """Three capital letters pass silently."""
    check_codes(["EUR", "USD", "XAU"])


def test_publish_frame_keeps_best_rows_of_the_window() -> None:
    """Only best rates of the last N days, sorted, stamped in UTC with the snapshot id."""
    frame = publish_frame(_facts(), days=2, published_at=STAMP, gold_snapshot_id=77)
    assert frame.columns == list(COLUMNS)
    assert frame.height == 4
    assert frame.get_column("rate_date").unique().sort().to_list() == [
        date(2026, 3, 4),
        date(2026, 3, 5),
    ]
    assert frame.get_column("source_name").unique().to_list() == ["ecb"]
    assert frame.get_column("base_currency").to_list() == ["EUR", "USD", "EUR", "USD"]
    assert frame.get_column("published_at").unique().to_list() == [STAMP.astimezone(UTC)]
    assert frame.schema["published_at"] == pl.Datetime("us", "UTC")
    assert frame.get_column("gold_snapshot_id").unique().to_list() == [77]
    assert frame.get_column("rate").to_list()[0] == Decimal("0.8672")


def test_publish_frame_is_a_pure_function_of_the_facts() -> None:
    """The same facts and days give the same rows (what makes publish idempotent)."""
    one = publish_frame(_facts(), days=3, published_at=STAMP, gold_snapshot_id=1)
    two = publish_frame(_facts().reverse(), days=3, published_at=STAMP, gold_snapshot_id=1)
    assert one.equals(two)


def test_publish_frame_refuses_bad_codes_before_sending() -> None:
    """A malformed code anywhere in the window stops the publish."""
    facts = _facts().with_columns(
        pl.when(pl.col("quote_currency") == "GBP")
        .then(pl.lit("gbp"))
        .otherwise(pl.col("quote_currency"))
        .alias("quote_currency")
    )
    with pytest.raises(InvalidCurrencyError):
        publish_frame(facts, days=2, published_at=STAMP, gold_snapshot_id=1)


def test_publish_frame_of_no_facts_is_empty_with_the_schema() -> None:
    """No facts: zero rows in the publish schema; a bad days is still refused."""
    empty = publish_frame(_facts().clear(), days=3, published_at=STAMP, gold_snapshot_id=1)
    assert empty.height == 0
    assert empty.columns == list(COLUMNS)
    with pytest.raises(PublishConfigError):
        publish_frame(_facts().clear(), days=0, published_at=STAMP, gold_snapshot_id=1)


@pytest.mark.parametrize(
    ("snapshot", "days", "name"),
    [(123, 90, "rates_s123_d90"), (-5, 7, "rates_sn5_d7"), (0, 1, "rates_s0_d1")],
)
def test_table_names_are_plain_identifiers(snapshot: int, days: int, name: str) -> None:
    """One table per (snapshot, days); negative ids get an 'n', never a '-'."""
    assert table_name(snapshot, days) == name
    assert name.startswith("rates_s")
    assert name.replace("_", "").isalnum()


def test_tag_name_is_utc_to_the_microsecond() -> None:
    """Tags name the publish time in UTC, whatever the zone of the stamp."""
    stamp = datetime(2026, 3, 2, 15, 30, 1, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert tag_name(stamp) == "published-20260302T133001123456Z"
