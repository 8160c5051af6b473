"""The rows of one publish: window, best rates only, code checks, names of tables and tags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pytest

from makerates_lake.publish.errors import CopyEncodeError, InvalidCurrencyError, PublishConfigError
from makerates_lake.publish.frame import (
    COLUMNS,
    PROVENANCE_SCHEMA,
    RATE_SCHEMA,
    TABLE_COLUMNS,
    TABLE_SCHEMA,
    ProvenanceKeys,
    check_codes,
    publish_frame,
    stored_rows,
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


@pytest.mark.parametrize("days", [0, -1, date(2026, 3, 5).toordinal() + 1, 2**31, 10**20])
def test_window_needs_positive_days_that_fit_the_calendar(days: int) -> None:
    """Zero, negative, or more days than there are before the last date is a
    configuration error (it was an OverflowError traceback)."""
    with pytest.raises(PublishConfigError):
        window(date(2026, 3, 5), days)
    # The longest window there is starts on 0001-01-01.
    assert window(date(2026, 3, 5), date(2026, 3, 5).toordinal())[0] == date(1, 1, 1)


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


def _publish_rows(provenances: Sequence[tuple[str | None, bool, str]]) -> pa.Table:
    """One rate per provenance given, in order, with distinct pairs."""
    n = len(provenances)
    return pa.table(
        {
            "rate_date": [date(2026, 3, 1)] * n,
            "base_currency": ["USD"] * n,
            "quote_currency": [f"Q{i:02d}" for i in range(n)],
            "rate": [Decimal(i) / 8 for i in range(n)],
            "source_name": [s for s, _, _ in provenances],
            "is_derived": [d for _, d, _ in provenances],
            "extraction_id": [i for _, _, i in provenances],
        },
        schema=TABLE_SCHEMA,
    )


def test_stored_rows_keep_each_provenance_once_and_every_rate_its_own() -> None:
    """Provenances are numbered by first appearance; joining rates to them on the key gives
    back exactly the rows split, in order."""
    a, b = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
    given = [("ecb", False, a), ("ecb", True, a), ("ecb", False, a), ("fx", False, b),
             ("ecb", True, a), ("fx", False, a)]  # fmt: skip
    rows = _publish_rows(given)
    stored = stored_rows(rows)
    assert stored.rates.schema == RATE_SCHEMA
    assert stored.provenance.schema == PROVENANCE_SCHEMA
    assert stored.num_rows == rows.num_rows
    provenance = stored.provenance.to_pylist()
    assert [(p["source_name"], p["is_derived"], p["extraction_id"]) for p in provenance] == [
        ("ecb", False, a), ("ecb", True, a), ("fx", False, b), ("fx", False, a),
    ]  # fmt: skip
    assert [p["provenance_key"] for p in provenance] == [0, 1, 2, 3]
    assert stored.rates["provenance_key"].to_pylist() == [0, 1, 0, 2, 1, 3]
    joined = pl.DataFrame(stored.rates).join(
        pl.DataFrame(stored.provenance), on="provenance_key", maintain_order="left"
    )
    assert joined.select(TABLE_COLUMNS).to_arrow().cast(TABLE_SCHEMA) == rows


def test_provenance_keys_carry_over_from_block_to_block() -> None:
    """Keyed in blocks, as the load does, rows get the keys they get keyed at once: a
    provenance first seen in an earlier block keeps its key in a later one."""
    a, b = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"
    rows = _publish_rows([("ecb", False, a), ("fx", True, b), ("ecb", True, a),
                          ("fx", True, b), ("ecb", False, a), ("ecb", False, b)])  # fmt: skip
    keys = ProvenanceKeys()
    blocks = [keys.rates(rows.slice(start, 2)) for start in range(0, rows.num_rows, 2)]
    whole = stored_rows(rows)
    assert pa.concat_tables(blocks) == whole.rates
    assert keys.provenance() == whole.provenance
    assert whole.rates["provenance_key"].to_pylist() == [0, 1, 2, 1, 0, 3]


def test_stored_rows_refuse_another_schema_and_keep_nulls_for_the_encoder() -> None:
    """Rows in another schema are refused; a null provenance value stays a null (the COPY
    encoder refuses it by name) instead of being matched to another row's provenance."""
    rows = _publish_rows([("ecb", False, "00000000-0000-7000-8000-00000000000a")])
    with pytest.raises(CopyEncodeError, match="publish schema"):
        stored_rows(rows.cast(rows.schema.set(1, pa.field("base_currency", pa.large_string()))))
    with_null = _publish_rows(
        [(None, False, "00000000-0000-7000-8000-00000000000a"),
         ("ecb", False, "00000000-0000-7000-8000-00000000000a")]
    )  # fmt: skip
    stored = stored_rows(with_null)
    assert stored.provenance["source_name"].to_pylist() == [None, "ecb"]
    assert stored.rates["provenance_key"].to_pylist() == [0, 1]
