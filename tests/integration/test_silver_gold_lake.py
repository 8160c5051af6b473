"""Silver and gold against a real lake: ECB history, idempotence, reprocess, B1, determinism."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from makerates_lake import source_names
from makerates_lake import store as storage
from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.gold.build import read_facts
from makerates_lake.gold.convert import RateBook
from makerates_lake.pipeline import run_reprocess, run_transform
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import GOLD_DIM_CURRENCY, SILVER_RATES, SILVER_REJECTS
from tests.silver_helpers import FIXTURES, SAMPLE_ZIP, record, v6_latest

pytestmark = pytest.mark.integration

LOADED = datetime(2026, 11, 2, 9, tzinfo=UTC)
# Published ECB reference rates, read off the ECB history file.
PUBLISHED = {
    (date(2026, 10, 30), "USD"): "1.1172",
    (date(2026, 10, 30), "JPY"): "175.68",
    (date(2026, 10, 30), "PLN"): "4.4038",  # the rate a float round trip corrupts
    (date(2026, 10, 29), "GBP"): "0.83578",
    (date(2025, 6, 13), "GBP"): "0.8505",
    (date(2024, 1, 2), "GBP"): "0.86645",
    (date(2024, 1, 2), "USD"): "1.0956",
}


def _ecb_history(body: bytes, content_type: str) -> object:
    return record(
        body, source=source_names.ECB_HISTORY, version=None, url="file:///eurofxref-hist",
        source_tier="backfill", response_content_type=content_type, when=LOADED,
    )  # fmt: skip


def _with_ecb_sample(lake: Lake) -> Lake:
    BronzeWriter(lake).append(
        [_ecb_history(SAMPLE_ZIP.read_bytes(), "application/zip")]  # type: ignore[list-item]
    )
    return lake


@pytest.fixture
def ecb_lake(embedded_lake: Lake) -> Lake:
    """The embedded lake holding the shipped ECB sample (2023-01..2026-10) in bronze."""
    return _with_ecb_sample(embedded_lake)


@pytest.fixture
def ecb_any_lake(lake: Lake) -> Lake:
    """Each layout in turn (embedded; PostgreSQL catalog + S3) holding the ECB sample."""
    return _with_ecb_sample(lake)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail any attempt to open a network connection (Unix sockets stay allowed)."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network access during reprocess")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


def test_ecb_history_gives_published_rates_and_cross_rates(ecb_any_lake: Lake) -> None:
    """On both layouts, ECB history gives the published EUR rates exactly, and correct crosses."""
    ecb_lake = ecb_any_lake
    run_transform(ecb_lake)
    silver = storage.read(ecb_lake, SILVER_RATES)
    for (day, quote), text in PUBLISHED.items():
        row = silver.filter((pl.col("rate_date") == day) & (pl.col("quote_currency") == quote))
        assert row["rate_text"].to_list() == [text]
        assert row["rate"][0] == Decimal(text)
        assert row["base_currency"][0] == "EUR"
    book = RateBook(read_facts(ecb_lake))
    usd_jpy = book.rate("USD", "JPY", date(2026, 10, 30))
    assert usd_jpy.rate == Decimal("157.250268528")  # 175.68 / 1.1172, 12 digits
    gbp_usd = book.rate("GBP", "USD", date(2024, 1, 2))
    assert gbp_usd.rate == Decimal("1.26446996364")  # 1.0956 / 0.86645 = 1.2644699636447...
    dims = storage.read(ecb_lake, GOLD_DIM_CURRENCY).filter(pl.col("currency_code") == "JPY")
    assert dims["last_rate_date"].to_list() == [date(2026, 10, 30)]
    # A full reprocess on the same layout (Polars scan of bronze, year-slice writes,
    # gold built beside the silver write) gives the same silver and gold again.
    facts = read_facts(ecb_lake)
    run_reprocess(ecb_lake)
    order = ["rate_date", "base_currency", "quote_currency", "source_name", "is_derived"]
    assert read_facts(ecb_lake).sort(order).equals(facts.sort(order))
    again = storage.read(ecb_lake, SILVER_RATES).sort("rate_date", "quote_currency")
    assert again["rate_text"].equals(silver.sort("rate_date", "quote_currency")["rate_text"])


def test_incremental_run_is_idempotent(ecb_lake: Lake) -> None:
    """A second run transforms nothing; a new bronze row is picked up alone."""
    first = run_transform(ecb_lake)
    again = run_transform(ecb_lake)
    assert again.silver.extractions == 0
    BronzeWriter(ecb_lake).append(
        [record(v6_latest('{"EUR":0.9,"XYZ":1}')), record("nope", status=500)]
    )
    third = run_transform(ecb_lake)
    assert (third.silver.extractions, third.silver.rates, third.silver.rejects) == (2, 1, 2)
    rates = storage.read(ecb_lake, SILVER_RATES)
    assert rates.height == first.silver.rates + 1
    assert storage.read(ecb_lake, SILVER_REJECTS)["rule"].sort().to_list() == [
        "extraction_failed",
        "invalid_currency_code",
    ]


def test_reprocess_b1_compares_versions_without_network(
    embedded_lake: Lake, no_network: list[object]
) -> None:
    """B1: 30 days at v1, reprocess at v2 with no network; both versions readable by tag."""
    body = (FIXTURES / "ecb-hist-2024-01.csv").read_bytes()
    BronzeWriter(embedded_lake).append([_ecb_history(body, "text/csv")])  # type: ignore[list-item]
    run_reprocess(embedded_lake, transform_version=1)
    silver_v1 = storage.read(embedded_lake, SILVER_RATES).sort("rate_date", "quote_currency")
    run_reprocess(embedded_lake, transform_version=2)
    assert no_network == []
    v1, v2 = (
        read_facts(embedded_lake, tag="transform-v1"),
        read_facts(embedded_lake, tag="transform-v2"),
    )
    key = ["rate_date", "base_currency", "quote_currency", "source_name"]
    joined = v1.join(v2, on=key, suffix="_v2")
    assert joined.height == v1.height == v2.height
    direct = joined.filter(~pl.col("is_derived"))
    assert (direct["rate"] == direct["rate_v2"]).all()  # silver rates never change
    derived = joined.filter(pl.col("is_derived"))
    assert (derived["rate"] != derived["rate_v2"]).sum() > 0
    assert set(v1["transform_version"]) == {1}
    assert set(v2["transform_version"]) == {2}
    silver_v2 = storage.read(embedded_lake, SILVER_RATES).sort("rate_date", "quote_currency")
    assert silver_v1["rate_text"].equals(silver_v2["rate_text"])


def test_reprocess_twice_gives_identical_gold(ecb_lake: Lake) -> None:
    """Rebuilding from the same bronze and version yields identical rows, no duplicates."""
    run_transform(ecb_lake)
    run_reprocess(ecb_lake)
    first = read_facts(ecb_lake)
    run_reprocess(ecb_lake)
    second = read_facts(ecb_lake)
    order = ["rate_date", "base_currency", "quote_currency", "source_name", "is_derived"]
    assert first.sort(order).equals(second.sort(order))
    assert storage.read(ecb_lake, SILVER_RATES).height == first.filter(~pl.col("is_derived")).height


def test_reprocess_range_keeps_other_rows(embedded_lake: Lake) -> None:
    """--from/--to rebuilds only bronze rows extracted in the range; the rest stays."""
    early = record(
        v6_latest('{"EUR":0.9}', unix=1714521600), when=datetime(2024, 5, 1, 9, tzinfo=UTC)
    )
    late = record(v6_latest('{"EUR":0.95}'), when=datetime(2024, 5, 3, 9, tzinfo=UTC))
    BronzeWriter(embedded_lake).append([early, late])
    run_transform(embedded_lake)
    result = run_reprocess(embedded_lake, start=date(2024, 5, 3), end=date(2024, 5, 3))
    assert result.silver.extractions == 1
    rates = storage.read(embedded_lake, SILVER_RATES)
    assert sorted(rates["rate_text"].to_list()) == ["0.9", "0.95"]


def _v6_on(day: int, eur: str, *, extracted_on: int) -> BronzeRecord:
    """A v6 latest answer dated 2024-05-``day`` with one EUR rate."""
    unix = int(datetime(2024, 5, day, tzinfo=UTC).timestamp())
    return record(
        v6_latest(f'{{"EUR":{eur}}}', unix=unix),
        when=datetime(2024, 5, extracted_on, 12, tzinfo=UTC),
    )


def test_late_rows_reflag_neighbours_like_a_rebuild(embedded_lake: Lake) -> None:
    """A day that arrives late changes its neighbour's is_jump exactly as a rebuild would."""
    writer = BronzeWriter(embedded_lake)
    writer.append([_v6_on(1, "0.9", extracted_on=1), _v6_on(3, "1.0", extracted_on=3)])
    run_transform(embedded_lake)

    def jumps() -> dict[date, bool]:
        rows = storage.read(embedded_lake, SILVER_RATES).filter(pl.col("quote_currency") == "EUR")
        return dict(zip(rows["rate_date"], rows["is_jump"], strict=True))

    # May 3 is compared with May 1 (+11 %), the last date seen before it.
    assert jumps() == {date(2024, 5, 1): False, date(2024, 5, 3): True}

    writer.append([_v6_on(2, "1.0", extracted_on=4)])  # May 2 arrives after May 3
    run_transform(embedded_lake)
    assert jumps() == {date(2024, 5, 1): False, date(2024, 5, 2): True, date(2024, 5, 3): False}
    incremental = storage.read(embedded_lake, SILVER_RATES).sort("extraction_id", "quote_currency")
    run_reprocess(embedded_lake)
    rebuilt = storage.read(embedded_lake, SILVER_RATES).sort("extraction_id", "quote_currency")
    assert incremental.equals(rebuilt)


def test_late_rows_across_new_year_reflag_a_row_in_the_other_year(embedded_lake: Lake) -> None:
    """The revision writes new rows and rewritten neighbours in one append whose years
    are out of order (2023, 2024, then 2023 again); the writer groups them by year."""

    def on(day: date, eur: str) -> BronzeRecord:
        unix = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        extracted = datetime(day.year, day.month, day.day, 16, tzinfo=UTC)
        return record(v6_latest(f'{{"EUR":{eur}}}', unix=unix), when=extracted)

    def jumps() -> dict[date, bool]:
        rows = storage.read(embedded_lake, SILVER_RATES).filter(pl.col("quote_currency") == "EUR")
        return dict(zip(rows["rate_date"], rows["is_jump"], strict=True))

    writer = BronzeWriter(embedded_lake)
    writer.append([on(date(2023, 12, 28), "1.0"), on(date(2023, 12, 30), "1.5")])
    run_transform(embedded_lake)
    assert jumps() == {date(2023, 12, 28): False, date(2023, 12, 30): True}

    writer.append([on(date(2023, 12, 29), "1.5"), on(date(2024, 1, 2), "1.5")])
    run_transform(embedded_lake)
    assert jumps() == {
        date(2023, 12, 28): False,
        date(2023, 12, 29): True,
        date(2023, 12, 30): False,  # now compared with December 29
        date(2024, 1, 2): False,
    }
    incremental = storage.read(embedded_lake, SILVER_RATES).sort("extraction_id", "quote_currency")
    run_reprocess(embedded_lake)
    rebuilt = storage.read(embedded_lake, SILVER_RATES).sort("extraction_id", "quote_currency")
    assert incremental.equals(rebuilt)


def test_range_reprocess_reflags_rows_outside_the_range(embedded_lake: Lake) -> None:
    """A range reprocess that brings in May 2 updates May 3, which lies outside the range."""
    writer = BronzeWriter(embedded_lake)
    writer.append([_v6_on(1, "0.9", extracted_on=1), _v6_on(3, "1.0", extracted_on=3)])
    run_transform(embedded_lake)
    writer.append([_v6_on(2, "1.0", extracted_on=4)])
    run_reprocess(embedded_lake, start=date(2024, 5, 4), end=date(2024, 5, 4))
    ranged = storage.read(embedded_lake, SILVER_RATES).sort("extraction_id", "quote_currency")
    may_3 = ranged.filter(
        pl.col("rate_date") == date(2024, 5, 3), pl.col("quote_currency") == "EUR"
    )
    assert may_3["is_jump"].to_list() == [False]
    run_reprocess(embedded_lake)
    rebuilt = storage.read(embedded_lake, SILVER_RATES).sort("extraction_id", "quote_currency")
    assert ranged.equals(rebuilt)
