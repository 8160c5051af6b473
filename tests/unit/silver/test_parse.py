"""Every source shape the extract side stores, parsed to exact rate text."""

from __future__ import annotations

import io
import zipfile

import polars as pl
import pytest

from makerates_lake import source_names
from makerates_lake.silver.parse import parse_bronze
from tests.silver_helpers import FIXTURES, frame, record, v6_latest


def _rates(*records: object) -> pl.DataFrame:
    return parse_bronze(frame(*records)).rates  # type: ignore[arg-type]


def _rejects(*records: object) -> pl.DataFrame:
    return parse_bronze(frame(*records)).rejects  # type: ignore[arg-type]


def _pairs(rates: pl.DataFrame) -> dict[str, str]:
    return dict(zip(rates["quote_currency"], rates["rate_text"], strict=True))


def test_v6_latest_flat_keeps_exact_text() -> None:
    """Flat v6 rates keep trailing zeros and 18 decimal places exactly as sent."""
    body = v6_latest('{"USD":1,"EUR":0.86720,"JPY":151.123456789012345678}')
    rates = _rates(record(body))
    assert _pairs(rates) == {"USD": "1", "EUR": "0.86720", "JPY": "151.123456789012345678"}
    assert rates["schema_version"].unique().to_list() == ["v6-latest-flat"]
    assert rates["rate_date"].unique().to_list() == ["2024-05-03"]
    assert rates["requested_base"].unique().to_list() == ["USD"]


def test_v6_nested_shape_is_read() -> None:
    """The nested shape {"EUR": {"rate": ..., "source": ...}} yields the inner rate."""
    body = v6_latest('{"EUR":{"rate":0.92,"source":"ECB"},"GBP":{"rate":0.79000}}')
    rates = _rates(record(body))
    assert _pairs(rates) == {"EUR": "0.92", "GBP": "0.79000"}
    assert rates["schema_version"][0] == "v6-latest-nested"


def test_v6_pair_endpoint() -> None:
    """A pair answer gives one rate for target_code, the amount result is ignored."""
    body = (
        '{"result":"success","time_last_update_unix":1714694401,"base_code":"EUR",'
        '"target_code":"GBP","conversion_rate":0.8543,"conversion_result":85.43}'
    )
    url = "https://v6.exchangerate-api.com/v6/[REDACTED]/pair/EUR/GBP/100"
    rates = _rates(record(body, url=url))
    assert _pairs(rates) == {"GBP": "0.8543"}
    assert rates["requested_base"][0] == "EUR"
    assert rates["schema_version"][0] == "v6-pair"


def test_v6_history_uses_year_month_day() -> None:
    """History answers are dated by their year/month/day fields, not by update time."""
    body = (
        '{"result":"success","year":2020,"month":3,"day":27,"base_code":"USD",'
        '"conversion_rates":{"EUR":0.9013}}'
    )
    url = "https://v6.exchangerate-api.com/v6/[REDACTED]/history/USD/2020/3/27"
    rates = _rates(record(body, url=url))
    assert rates["rate_date"][0] == "2020-03-27"
    assert rates["is_latest"][0] is False


def test_v6_history_with_amount_divides_exactly() -> None:
    """conversion_amounts for requested_amount 4 become per-unit rates by exact division."""
    body = (
        '{"result":"success","year":2020,"month":3,"day":27,"base_code":"USD",'
        '"requested_amount":4,"conversion_amounts":{"EUR":3.6052}}'
    )
    url = "https://v6.exchangerate-api.com/v6/[REDACTED]/history/USD/2020/3/27/4"
    assert _pairs(_rates(record(body, url=url))) == {"EUR": "0.9013"}


def test_open_er_api_reads_rates_key() -> None:
    """open.er-api puts rates under "rates" and the base in the URL path."""
    body = (
        '{"result":"success","provider":"https://www.exchangerate-api.com",'
        '"time_last_update_unix":1714694401,"time_eol_unix":0,"base_code":"GBP",'
        '"rates":{"GBP":1,"EUR":1.1705}}'
    )
    rates = _rates(
        record(body, source=source_names.OPEN_ER_API, url="https://open.er-api.com/v6/latest/GBP")
    )
    assert _pairs(rates) == {"GBP": "1", "EUR": "1.1705"}
    assert rates["schema_version"][0] == "v6-open-latest-flat"
    assert rates["requested_base"][0] == "GBP"


def test_frankfurter_v1_single_day_default_base_eur() -> None:
    """Frankfurter v1 without a base parameter was a request for EUR."""
    body = '{"amount":1.0,"base":"EUR","date":"2024-05-03","rates":{"USD":1.0765}}'
    rates = _rates(
        record(body, source=source_names.FRANKFURTER, version="v1",
               url="https://api.frankfurter.dev/v1/latest")
    )  # fmt: skip
    assert _pairs(rates) == {"USD": "1.0765"}
    assert rates["requested_base"][0] == "EUR"
    assert rates["rate_date"][0] == "2024-05-03"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("1", "1.0765"), ("1.00", "1.0765"), ("10", "0.10765"), ("4", "0.269125")],
)
def test_frankfurter_rates_are_per_one_unit_of_the_base(amount: str, expected: str) -> None:
    """An answer for ``amount`` units is divided back to one unit (1 keeps the text)."""
    body = f'{{"amount":{amount},"base":"EUR","date":"2024-05-03","rates":{{"USD":1.0765}}}}'
    rates = _rates(
        record(body, source=source_names.FRANKFURTER, version="v1",
               url="https://api.frankfurter.dev/v1/2024-05-03")
    )  # fmt: skip
    assert _pairs(rates) == {"USD": expected}


@pytest.mark.parametrize("amount", ["0", "-2", '"ten"', "null"])
def test_frankfurter_bad_amount_is_one_reject(amount: str) -> None:
    """An amount that is not a positive number makes the payload one unparseable reject."""
    body = f'{{"amount":{amount},"base":"EUR","date":"2024-05-03","rates":{{"USD":1.0765}}}}'
    parsed = parse_bronze(frame(record(body, source=source_names.FRANKFURTER, version="v1")))
    assert parsed.rates.height == 0
    assert parsed.rejects["rule"].to_list() == ["unparseable"]


def test_frankfurter_v1_series_with_from_parameter() -> None:
    """A v1 series gives one row per day and quote; ``from`` names the requested base."""
    body = (
        '{"amount":1.0,"base":"USD","start_date":"2024-01-02","end_date":"2024-01-03",'
        '"rates":{"2024-01-02":{"EUR":0.91,"GBP":0.79},"2024-01-03":{"EUR":0.9150}}}'
    )
    rates = _rates(
        record(body, source=source_names.FRANKFURTER, version="v1",
               url="https://api.frankfurter.dev/v1/2024-01-02..2024-01-03?from=USD")
    )  # fmt: skip
    assert rates.height == 3
    assert rates.filter(pl.col("rate_date") == "2024-01-03")["rate_text"].to_list() == ["0.9150"]
    assert rates["requested_base"].unique().to_list() == ["USD"]


def test_frankfurter_v2_array() -> None:
    """v2 answers are an array of {date, base, quote, rate} objects."""
    body = (
        '[{"date":"2026-06-01","base":"EUR","quote":"USD","rate":1.1601},'
        '{"date":"2026-06-01","base":"EUR","quote":"JPY","rate":170.10}]'
    )
    rates = _rates(
        record(body, source=source_names.FRANKFURTER, version="v2",
               url="https://api.frankfurter.dev/v2/rates?base=EUR")
    )  # fmt: skip
    assert _pairs(rates) == {"USD": "1.1601", "JPY": "170.10"}
    assert rates["schema_version"][0] == "frankfurter-v2"


def test_ecb_daily_xml() -> None:
    """The ECB daily XML (single quotes, Cube three deep) gives EUR-based rates."""
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><gesmes:Envelope "
        "xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' "
        "xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
        "<Cube time='2026-08-17'><Cube currency='USD' rate='1.1593'/>"
        "<Cube currency='GBP' rate='0.86720'/></Cube></Cube></gesmes:Envelope>"
    )
    rates = _rates(
        record(body, source=source_names.ECB_DAILY, version=None,
               url="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml")
    )  # fmt: skip
    assert _pairs(rates) == {"USD": "1.1593", "GBP": "0.86720"}
    assert rates["base_currency"].unique().to_list() == ["EUR"]
    assert rates["rate_date"].unique().to_list() == ["2026-08-17"]


def test_ecb_history_csv_skips_na_and_trailing_comma() -> None:
    """The wide history CSV: N/A cells and the trailing empty column give no rows."""
    body = "Date,USD,CYP,\n2024-01-02,1.0956,N/A,\n1999-01-04,1.1789,0.58231,\n"
    rates = _rates(
        record(body, source=source_names.ECB_HISTORY, version=None, url="file:///hist.csv",
               response_content_type="text/csv")
    )  # fmt: skip
    assert rates.height == 3
    assert sorted(_pairs(rates.filter(pl.col("rate_date") == "1999-01-04")).items()) == [
        ("CYP", "0.58231"),
        ("USD", "1.1789"),
    ]


def test_ecb_history_zip() -> None:
    """The zip as received is opened and its CSV read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("eurofxref-hist.csv", (FIXTURES / "ecb-hist-2024-01.csv").read_text())
    rates = _rates(
        record(buffer.getvalue(), source=source_names.ECB_HISTORY, version=None,
               url="file:///eurofxref-hist.zip", response_content_type="application/zip")
    )  # fmt: skip
    assert rates.height > 500
    assert rates.filter(
        (pl.col("rate_date") == "2024-01-02") & (pl.col("quote_currency") == "GBP")
    )["rate_text"].to_list() == ["0.86645"]


def test_ecb_history_keeps_only_the_backfill_window() -> None:
    """A backfill's recorded window (both ends inclusive) decides which days are read;
    a date that is no ISO date is read anyway, for validation to reject."""
    csv = (FIXTURES / "ecb-hist-2024-01.csv").read_text().replace("2024-02-08", "8 Feb 2024")
    rates = _rates(
        record(csv, source=source_names.ECB_HISTORY, version=None, url="file:///h.csv",
               request_params={"backfill_start": "2024-02-07", "backfill_end": "2024-02-09"})
    )  # fmt: skip
    assert sorted(set(rates["rate_date"].to_list())) == ["2024-02-07", "2024-02-09", "8 Feb 2024"]
    everything = _rates(
        record(csv, source=source_names.ECB_HISTORY, version=None, url="file:///h.csv")
    )
    assert everything["rate_date"].n_unique() > 3


@pytest.mark.parametrize(
    ("body", "rule", "value"),
    [
        ('{"result":"error","error-type":"invalid-key"}', "provider_error", "invalid-key"),
        ('{"result":"error","error":"unknown-code"}', "provider_error", "unknown-code"),
        ("<html>oops</html>", "unparseable", "<html>oops</html>"),
        ('{"result":"success","base_code":"USD"}', "unparseable", None),
        ('{"result":"success","base_code":"USD","conversion_rates":{}}', "no_rates", None),
        ("[1, 2]", "unparseable", None),
    ],
)
def test_payload_level_rejects(body: str, rule: str, value: str | None) -> None:
    """A payload with no usable rates becomes exactly one reject row and no rates."""
    parsed = parse_bronze(frame(record(body)))
    assert parsed.rates.height == 0
    assert parsed.rejects["rule"].to_list() == [rule]
    if value is not None:
        assert parsed.rejects["offending_value"][0] == value


def test_failed_extraction_is_one_reject() -> None:
    """A non-2xx or error_code extraction is accounted for by one extraction_failed reject."""
    failed = record('{"message":"not found"}', status=404)
    no_response = record(b"", status=None, error_code="ConnectError")
    rejects = _rejects(failed, no_response)
    assert rejects["rule"].to_list() == ["extraction_failed", "extraction_failed"]
    assert "404" in rejects["offending_value"][0]


def test_frankfurter_error_message_is_provider_error() -> None:
    """Frankfurter's {"message": ...} answered with 200 is a provider error."""
    rejects = _rejects(
        record('{"message":"not found"}', source=source_names.FRANKFURTER, version="v1",
               url="https://api.frankfurter.dev/v1/latest")
    )  # fmt: skip
    assert rejects["rule"].to_list() == ["provider_error"]


def test_bronze_metadata_is_carried() -> None:
    """Each rate row carries its extraction's id, source and tier."""
    rec = record(v6_latest('{"EUR":0.9}'), source_tier="fallback")
    rates = _rates(rec)
    assert rates.select("extraction_id", "source_name", "source_tier").row(0) == (
        rec.extraction_id,
        source_names.EXCHANGERATE_API,
        "fallback",
    )
