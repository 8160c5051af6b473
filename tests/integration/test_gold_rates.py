"""Rates for people on the bundled ECB sample, checked against the CSV cells by hand."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli import main
from makerates_lake.gold.errors import NoRateError
from makerates_lake.pipeline import sample_ecb_history
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, rules_for
from makerates_lake.store.access_log import read_access_log
from makerates_lake.store.catalog import Lake
from tests.integration.reliability_helpers import settings_env

pytestmark = pytest.mark.integration

FRIDAY, SATURDAY = date(2026, 10, 23), date(2026, 10, 24)


@pytest.fixture(scope="module")
def cells() -> dict[str, dict[str, str]]:
    """The sample's CSV as {date: {currency: text}}, read with the csv module."""
    with zipfile.ZipFile(sample_ecb_history()) as archive:
        name = archive.namelist()[0]
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    return {row["Date"]: {k.strip(): v.strip() for k, v in row.items() if k} for row in rows}


@pytest.fixture
def lake(embedded_lake: Lake) -> Lake:
    """The embedded lake holding the bundled sample through gold."""
    mr.backfill(embedded_lake)
    return embedded_lake


def _cross(numerator: str, denominator: str) -> Decimal:
    """numerator / denominator, rounded half-even to the transform's significant digits
    (and 18 places at most), computed here with Python's decimal module."""
    digits = rules_for(CURRENT_TRANSFORM_VERSION).cross_significant_digits
    with localcontext() as context:
        context.prec = 50
        exact = Decimal(numerator) / Decimal(denominator)
    exponent = max(exact.adjusted() - digits + 1, -18)
    return exact.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def test_a_days_rates_are_the_csv_cells(lake: Lake, cells: dict[str, dict[str, str]]) -> None:
    """EUR rates on a weekday are the CSV's cells, exactly, with their bronze row."""
    found = mr.rates(lake, on=FRIDAY, quotes=["USD", "JPY"])
    day = cells[FRIDAY.isoformat()]
    assert found["rate"].to_list() == [Decimal(day["USD"]), Decimal(day["JPY"])]
    assert set(found["method"]) == {"direct"}
    assert all(len(ids) == 1 for ids in found["extraction_ids"].to_list())


def test_a_weekend_fails_without_fallback_and_takes_friday_with_it(
    lake: Lake, cells: dict[str, dict[str, str]]
) -> None:
    """Saturday has no rate; with fallback="previous" the answer names Friday."""
    with pytest.raises(NoRateError, match="no rate"):
        mr.rates(lake, on=SATURDAY, quotes=["USD"])
    found = mr.rates(lake, on=SATURDAY, quotes=["USD"], fallback="previous").row(0, named=True)
    assert found["rate_date"] == FRIDAY
    assert found["rate"] == Decimal(cells[FRIDAY.isoformat()]["USD"])


def test_a_pair_through_eur_and_a_conversion(lake: Lake, cells: dict[str, dict[str, str]]) -> None:
    """USD -> JPY is JPY / USD of the same day, rounded by the transform's rule; a
    conversion multiplies the amount by it exactly, and names both legs' bronze rows."""
    day = cells[FRIDAY.isoformat()]
    expected = _cross(day["JPY"], day["USD"])
    (rate,) = mr.rates(lake, on=FRIDAY, base="USD", quotes=["JPY"])["rate"].to_list()
    assert rate == expected
    done = mr.convert(lake, "250.50", "USD", "JPY", on=FRIDAY)
    assert done.result == Decimal("250.50") * expected
    assert done.quote.method == "pivot:EUR"
    assert len(done.quote.extraction_ids) == 1  # both legs are one ECB file's rows


def test_closing_and_average_rates_of_a_period(
    lake: Lake, cells: dict[str, dict[str, str]]
) -> None:
    """September 2026 closes at its last business day; its average is the exact mean of
    its daily rates, rounded half-even to 18 places."""
    september = sorted(d for d in cells if d.startswith("2026-09"))
    closing = mr.closing_rates(lake, "2026-09", quotes=["USD"]).row(0, named=True)
    assert closing["rate_date"].isoformat() == september[-1]
    assert closing["rate"] == Decimal(cells[september[-1]]["USD"])
    values = [Decimal(cells[d]["USD"]) for d in september]
    with localcontext() as context:
        context.prec = 60
        mean = (sum(values, Decimal(0)) / len(values)).quantize(
            Decimal("1e-18"), rounding=ROUND_HALF_EVEN
        )
    average = mr.average_rates(lake, "2026-09", quotes=["USD"]).row(0, named=True)
    assert average["rate"] == mean
    assert average["days"] == len(september)
    quarter = mr.average_rates(lake, "2026-Q3", quotes=["USD"]).row(0, named=True)
    assert quarter["period_start"] == date(2026, 7, 1)
    assert quarter["period_end"] == date(2026, 9, 30)


def test_each_answer_writes_one_access_log_entry(lake: Lake) -> None:
    """A rates or convert call is one audited read of gold."""
    before = read_access_log(lake).num_rows
    mr.rates(lake, on=FRIDAY, quotes=["USD"])
    mr.convert(lake, "1", "EUR", "USD", on=FRIDAY)
    actions = read_access_log(lake).column("action").to_pylist()
    assert len(actions) == before + 2
    assert actions.count("rates") == 1
    assert actions.count("convert") == 1


def test_cli_rates_and_convert(lake: Lake, cells: dict[str, dict[str, str]]) -> None:
    """The CLI prints exact values; a missing rate is an error and exit 1."""
    env = settings_env(lake.settings)
    shown = CliRunner().invoke(
        main, ["rates", "--date", FRIDAY.isoformat(), "--quote", "usd", "--format", "json"], env=env
    )
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.output)
    assert row["rate"] == cells[FRIDAY.isoformat()]["USD"].rstrip("0").rstrip(".")
    converted = CliRunner().invoke(
        main,
        ["convert", "100", "EUR", "USD", "--date", FRIDAY.isoformat(), "--format", "csv"],
        env=env,
    )
    assert converted.exit_code == 0, converted.output
    assert "amount,source,target,result" in converted.output
    missing = CliRunner().invoke(
        main, ["rates", "--date", SATURDAY.isoformat(), "--quote", "USD"], env=env
    )
    assert missing.exit_code == 1
    assert "NoRateError" in missing.output


def test_a_base_that_is_only_quoted_is_priced_in_every_currency(lake: Lake) -> None:
    """GBP has no rates of its own in ECB data: every currency is reachable through EUR."""
    found = mr.rates(lake, on=FRIDAY, base="GBP")
    quotes = found["quote_currency"].to_list()
    assert {"EUR", "USD", "JPY"} <= set(quotes)
    assert len(quotes) > 20
    assert set(found["method"]) <= {"inverse", "pivot:EUR"}


def test_a_day_without_rates_and_no_quotes_is_an_error_or_the_last_day(lake: Lake) -> None:
    """Without quotes a Saturday is still an error, never an empty answer; with the
    fallback every quote comes from Friday."""
    with pytest.raises(NoRateError, match="no rates for this base"):
        mr.rates(lake, on=SATURDAY)
    found = mr.rates(lake, on=SATURDAY, fallback="previous")
    assert found.height > 20
    assert set(found["rate_date"]) == {FRIDAY}


def test_a_conversion_keeps_every_digit_and_refuses_non_numbers(lake: Lake) -> None:
    """Python's default 28 digits would round a long amount; NaN is not an amount."""
    from makerates_lake.errors import ConfigError

    amount = Decimal("123456789012345.123456789")
    done = mr.convert(lake, amount, "GBP", "JPY", on=FRIDAY)
    with localcontext() as context:
        context.prec = 100
        assert done.result == amount * done.quote.rate
    with pytest.raises(ConfigError, match="finite"):
        mr.convert(lake, "NaN", "EUR", "USD")


def test_periods_that_cannot_close_are_errors(lake: Lake) -> None:
    """A period past the data is not closed; October 2026 closes on its last Friday."""
    from makerates_lake.errors import ConfigError

    with pytest.raises(NoRateError, match="not closed"):
        mr.closing_rates(lake, "2026-12", quotes=["USD"])
    october = mr.closing_rates(lake, "2026-10", quotes=["USD"]).row(0, named=True)
    assert october["rate_date"] == date(2026, 10, 30)
    with pytest.raises(ConfigError, match="period"):
        mr.average_rates(lake, "0000", quotes=["USD"])


def test_cli_json_keeps_lists_as_lists(lake: Lake) -> None:
    """extraction_ids stay a JSON array."""
    shown = CliRunner().invoke(
        main, ["rates", "--date", FRIDAY.isoformat(), "--quote", "JPY", "--base", "USD",
               "--format", "json"], env=settings_env(lake.settings),
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    (row,) = json.loads(shown.output)
    assert isinstance(row["extraction_ids"], list)


def test_a_windowed_load_does_not_stand_in_for_the_whole_file(embedded_lake: Lake) -> None:
    """The same bytes with another window are another load: after a two-day load, a
    load of the whole file is stored and silver gets every day; repeating it is not."""
    from makerates_lake.store.scan import read
    from makerates_lake.store.tables import SILVER_RATES

    windowed = mr.backfill(embedded_lake, start=date(2026, 10, 1), end=date(2026, 10, 2))
    assert not windowed.already_stored
    whole = mr.backfill(embedded_lake)
    assert not whole.already_stored
    assert mr.backfill(embedded_lake).already_stored
    dates = read(embedded_lake, SILVER_RATES, columns=["rate_date"]).get_column("rate_date")
    assert dates.min() == date(2023, 1, 2)
    assert dates.max() == date(2026, 10, 30)


def _cli_rows(output: str, shown: str) -> dict[str, str]:
    """The one row a convert command printed as a table, CSV or JSON."""
    if shown == "json":
        (row,) = json.loads(output)
        return {key: str(value) for key, value in row.items()}
    if shown == "csv":
        (row,) = csv.DictReader(io.StringIO(output))
        return row
    header, line = output.splitlines()
    return dict(zip(header.split(), line.split(), strict=True))


@pytest.mark.parametrize("shown", ["table", "csv", "json"])
def test_cli_convert_prints_every_digit(lake: Lake, shown: str) -> None:
    """A 30-digit amount: the CLI prints amount, rate and result exactly as the library
    returns them, and the result is the exact product (28 digits would round it)."""
    amount = "123456789012345678901234567.891"
    done = mr.convert(lake, amount, "USD", "JPY", on=FRIDAY)
    printed = CliRunner().invoke(
        main, ["convert", amount, "USD", "JPY", "--date", FRIDAY.isoformat(), "--format", shown],
        env=settings_env(lake.settings),
    )  # fmt: skip
    assert printed.exit_code == 0, printed.output
    row = _cli_rows(printed.output, shown)
    assert row["amount"] == amount
    assert Decimal(row["rate"]) == done.quote.rate
    with localcontext() as context:
        context.prec = 100
        exact = Decimal(amount) * Decimal(row["rate"])
    assert Decimal(row["result"]) == exact == done.result
    assert len(Decimal(row["result"]).normalize(context).as_tuple().digits) > 28


def test_bad_amounts_are_config_errors_in_the_library_and_the_cli(lake: Lake) -> None:
    """Text that is not a number and huge exponents are the documented ConfigError,
    never a decimal signal; the CLI prints it and exits 1."""
    from makerates_lake.errors import ConfigError

    for amount in ("abc", "Infinity", "1E+1000000", "1E-1000000"):
        with pytest.raises(ConfigError, match="the amount .*amount='" + re.escape(amount)):
            mr.convert(lake, amount, "EUR", "USD", on=FRIDAY)
    done = CliRunner().invoke(
        main, ["convert", "1E+1000000", "EUR", "USD"], env=settings_env(lake.settings)
    )
    assert done.exit_code == 1
    assert isinstance(done.exception, SystemExit), done.exception
    assert done.output.startswith("ConfigError: the amount is out of range"), done.output


def test_a_currency_into_itself_needs_gold_to_hold_it_that_day(lake: Lake) -> None:
    """XYZ -> XYZ, or any pair on a date gold does not cover, is a NoRateError; EUR -> EUR
    on a date with rates stays the identity."""
    with pytest.raises(NoRateError, match="no rate"):
        mr.rates(lake, quotes=["EUR"], on=date(2099, 1, 1))
    with pytest.raises(NoRateError, match="no rate"):
        mr.convert(lake, "100", "XYZ", "XYZ", on=FRIDAY)
    same = mr.convert(lake, "100", "EUR", "EUR", on=FRIDAY)
    assert (same.result, same.quote.method, same.quote.rate_date) == (
        Decimal(100),
        "identity",
        FRIDAY,
    )
    done = CliRunner().invoke(
        main, ["convert", "100", "XYZ", "XYZ", "--date", "2099-01-01"],
        env=settings_env(lake.settings),
    )  # fmt: skip
    assert done.exit_code == 1
    assert done.output.startswith("NoRateError: no rate for this pair"), done.output


def test_a_time_before_gold_is_not_reported_as_an_empty_gold(lake: Lake) -> None:
    """Before gold's first snapshot the error says so; only a gold with no snapshot at
    all is told to run the transform."""
    with pytest.raises(NoRateError, match="gold had no rates yet at time 2020-01-01") as raised:
        mr.rates(lake, quotes=["USD"], as_of="2020-01-01")
    assert "makerates transform" not in str(raised.value)
