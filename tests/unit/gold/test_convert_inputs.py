"""Conversions keep every digit, refuse amounts that are not numbers or out of range with a
ConfigError, and price a currency in itself only where gold holds it on that date."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from click.testing import CliRunner

from makerates_lake.cli import main
from makerates_lake.cli.rates import _echo, _plain
from makerates_lake.errors import ConfigError
from makerates_lake.gold.convert import AMOUNT_DIGITS, amount_of, exact_product
from makerates_lake.gold.errors import NoRateError
from tests.unit.gold.books import FRIDAY, friday_book

SATURDAY = date(2026, 10, 31)
LONG = Decimal("123456789012345678901234567.891")  # 30 digits: more than the default 28


def _exactly(amount: Decimal, rate: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 500
        return amount * rate


# -- 1: exact digits, in the library and in every CLI format --------------------------


def test_plain_text_of_a_decimal_keeps_every_digit() -> None:
    """normalize() rounded to 28 digits; the text drops only trailing zeros."""
    result = _exactly(LONG, Decimal("1.1172"))
    assert str(result) == "137925924684592592468459259.2478252"
    assert _plain(LONG, joined=False) == "123456789012345678901234567.891"
    assert _plain(result, joined=True) == "137925924684592592468459259.2478252"
    assert _plain(Decimal("1.117200000000000000"), joined=False) == "1.1172"
    assert _plain(Decimal("100"), joined=False) == "100"
    assert _plain(Decimal("1E+2"), joined=False) == "100"


@pytest.mark.parametrize("output", ["table", "csv", "json"])
def test_every_output_format_prints_the_exact_values(
    output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Amount, rate and result appear digit for digit in table, CSV and JSON."""
    rate = Decimal("157.250268528000000000")
    result = _exactly(LONG, rate)
    _echo([{"amount": LONG, "result": result, "rate": rate}], output)
    shown = capsys.readouterr().out
    texts = ["123456789012345678901234567.891", f"{result:f}".rstrip("0"), "157.250268528"]
    if output == "json":
        (row,) = json.loads(shown)
        assert [row["amount"], row["result"], row["rate"]] == texts
    else:
        assert all(text in shown for text in texts), shown


def test_a_book_conversion_is_the_exact_product() -> None:
    """The product keeps every digit, also at the largest amounts allowed."""
    book = friday_book()
    assert book.convert(LONG, "EUR", "USD", FRIDAY) == _exactly(LONG, Decimal("1.1172"))
    widest = Decimal("9" * AMOUNT_DIGITS + "." + "9" * AMOUNT_DIGITS)
    pivot = book.rate("USD", "JPY", FRIDAY).rate
    assert book.convert(widest, "USD", "JPY", FRIDAY) == _exactly(widest, pivot)


# -- 2: malformed and out-of-range amounts are ConfigErrors ---------------------------


NOT_NUMBERS = ["abc", "", "1.2.3", "12 EUR"]
NOT_FINITE = ["NaN", "sNaN", "Infinity", "-Infinity"]
OUT_OF_RANGE = [
    "1E+1000000", "1E-1000000", "1E+100", "9" * (AMOUNT_DIGITS + 1),
    "0." + "0" * AMOUNT_DIGITS + "1",
]  # fmt: skip


@pytest.mark.parametrize("amount", NOT_NUMBERS + NOT_FINITE + OUT_OF_RANGE)
def test_a_bad_amount_is_a_config_error_naming_it(amount: str) -> None:
    """Never decimal.InvalidOperation or decimal.Overflow: the documented ConfigError,
    whose message names the amount (its first characters if it is long)."""
    with pytest.raises(ConfigError, match="the amount") as raised:
        friday_book().convert(amount, "EUR", "USD", FRIDAY)
    assert f"amount='{amount[:30]}" in str(raised.value)
    if amount not in NOT_NUMBERS:  # a Decimal given as such is checked the same way
        with pytest.raises(ConfigError, match="the amount"):
            exact_product(Decimal(amount), Decimal("1.1172"))


@pytest.mark.parametrize("amount", ["1E+1000000", "abc", "NaN"])
def test_the_cli_prints_a_bad_amount_as_a_config_error(amount: str, tmp_path: Path) -> None:
    """ErrorType: message and exit 1, no traceback (and no lake needed to say so)."""
    done = CliRunner().invoke(
        main, ["--home", str(tmp_path / "lake"), "convert", amount, "EUR", "USD"]
    )
    assert done.exit_code == 1, done.output
    assert done.output.startswith("ConfigError: the amount"), done.output
    assert amount in done.output
    assert isinstance(done.exception, SystemExit), done.exception  # not a decimal signal


# -- 3: a currency into itself needs gold to hold it on the date ----------------------


def test_identity_needs_a_known_code_on_a_covered_date() -> None:
    """An unknown or malformed code, or a date without rates, is a NoRateError as for any
    pair; a known code on a covered date (or the fallback's day) is rate 1."""
    book = friday_book()
    for source, on in [("XYZ", FRIDAY), ("US", FRIDAY), ("EUR", date(2099, 1, 1))]:
        with pytest.raises(NoRateError, match="no rate"):
            book.rate(source, source, on)
    with pytest.raises(NoRateError):
        book.rate("EUR", "EUR", SATURDAY)
    same = book.rate("JPY", "JPY", FRIDAY)
    assert (same.rate, same.rate_date, same.method) == (Decimal(1), FRIDAY, "identity")
    fallback = book.rate("USD", "USD", SATURDAY, fallback="previous")
    assert (fallback.rate, fallback.rate_date) == (Decimal(1), FRIDAY)
    assert book.convert(Decimal("12.50"), "EUR", "EUR", FRIDAY) == Decimal("12.50")


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "100", "US", "JPY"],
        ["convert", "100", "EUR", "12345"],
        ["rates", "--base", "12345"],
        ["rates", "--base", "EU", "--quote", "USD"],
    ],
)
def test_the_cli_checks_every_currency_code(args: list[str], tmp_path: Path) -> None:
    """SOURCE, TARGET and --base are checked as --quote is: a usage error, exit 2."""
    done = CliRunner().invoke(main, ["--home", str(tmp_path / "lake"), *args])
    assert done.exit_code == 2, done.output
    assert "is not a three-letter currency code" in done.output


def test_amounts_at_the_edges() -> None:
    """An int too long for str() is out of range, not a bare ValueError; trailing zeros
    after the point and zero itself count no digits, so 1.000...0 and 0.000...0 pass."""
    with pytest.raises(ConfigError, match="out of range"):
        amount_of(10**5000)
    assert amount_of("1." + "0" * 120) == 1
    assert amount_of("0." + "0" * 150) == 0
    with pytest.raises(ConfigError, match="out of range"):
        amount_of("0." + "0" * 100 + "1")
