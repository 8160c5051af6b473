"""Every validation rule rejects what it should and keeps the rest; flags keep rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from makerates_lake.silver.transform import transform_bronze
from makerates_lake.silver.validate import JUMP_WINDOW, SILVER_COLUMNS
from tests.silver_helpers import V6_URL, frame, record, v6_latest


def _run(*records: object, **kwargs: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    batch = transform_bronze(frame(*records), transform_version=2, **kwargs)  # type: ignore[arg-type]
    return batch.rates, batch.rejects


@pytest.mark.parametrize(
    ("rates", "rule", "field", "value"),
    [
        ('{"EUR":0.9,"XYZ":1.2}', "invalid_currency_code", "quote_currency", "XYZ"),
        ('{"EUR":0.9,"eur":0.9}', "invalid_currency_code", "quote_currency", "eur"),
        ('{"EUR":0.9,"XXX":1.2}', "invalid_currency_code", "quote_currency", "XXX"),
        ('{"EUR":0.9,"XTS":1.2}', "invalid_currency_code", "quote_currency", "XTS"),
        ('{"EUR":0.9,"GBP":"abc"}', "rate_not_a_number", "rate", '"abc"'),
        ('{"EUR":0.9,"GBP":NaN}', "rate_not_a_number", "rate", "NaN"),
        ('{"EUR":0.9,"GBP":null}', "rate_not_a_number", "rate", None),
        ('{"EUR":0.9,"GBP":0}', "rate_not_positive", "rate", "0"),
        ('{"EUR":0.9,"GBP":-0.5}', "rate_not_positive", "rate", "-0.5"),
        ('{"EUR":0.9,"GBP":0.1234567890123456789}', "rate_precision_exceeded", "rate",
         "0.1234567890123456789"),
        ('{"EUR":0.9,"GBP":123456789012345678901}', "rate_out_of_range", "rate",
         "123456789012345678901"),
        ('{"EUR":0.9,"USD":1.01}', "base_to_base_not_one", "rate", "1.01"),
        ('{"EUR":0.9,"GBP":0.7,"GBP":0.8}', "duplicate_quote", "quote_currency", "GBP"),
    ],
)  # fmt: skip
def test_row_rules(rates: str, rule: str, field: str, value: str | None) -> None:
    """A row breaking one rule is rejected with rule, field and value; EUR is kept."""
    good, bad = _run(record(v6_latest(rates)))
    assert good["quote_currency"].to_list() == ["EUR"]
    assert set(bad["rule"]) == {rule}
    assert set(bad["field"]) == {field}
    if value is not None:
        assert value in set(bad["offending_value"])
    assert bad["extraction_id"].null_count() == 0


def test_base_mismatch() -> None:
    """A payload whose base differs from the requested base is rejected row by row."""
    good, bad = _run(record(v6_latest('{"EUR":0.9,"JPY":150}', base="GBP")))  # URL asks USD
    assert good.height == 0
    assert bad["rule"].to_list() == ["base_mismatch", "base_mismatch"]
    assert bad["offending_value"].unique().to_list() == ["GBP"]


def test_base_to_base_one_is_kept() -> None:
    """USD->USD = 1 (also written 1.000) is a valid row."""
    good, bad = _run(record(v6_latest('{"USD":1.000,"EUR":0.9}')))
    assert bad.height == 0
    assert sorted(good["rate_text"].to_list()) == ["0.9", "1.000"]


def test_future_rate_date() -> None:
    """A rate dated more than a day after the extraction is rejected."""
    future = int(datetime(2024, 5, 6, tzinfo=UTC).timestamp())
    good, bad = _run(record(v6_latest('{"EUR":0.9}', unix=future)))
    assert good.height == 0
    assert bad["rule"].to_list() == ["future_rate_date"]


def test_next_day_date_is_allowed() -> None:
    """A rate dated the day after extraction (a provider east of UTC) is kept."""
    tomorrow = int(datetime(2024, 5, 4, 1, tzinfo=UTC).timestamp())
    good, _ = _run(record(v6_latest('{"EUR":0.9}', unix=tomorrow)))
    assert good.height == 1


def test_invalid_rate_date() -> None:
    """A Frankfurter day without a usable date is rejected as invalid_rate_date."""
    body = '{"amount":1.0,"base":"EUR","date":"2024-02-30","rates":{"USD":1.07}}'
    _, bad = _run(
        record(body, source="frankfurter", version="v1", url="https://api.frankfurter.dev/v1/x")
    )
    assert bad["rule"].to_list() == ["invalid_rate_date"]


def test_historical_codes_are_valid() -> None:
    """Historical ISO codes quoted in the ECB history (CYP, ROL) pass the code rule."""
    body = "Date,CYP,ROL,\n1999-01-04,0.58231,13111,\n"
    good, bad = _run(record(body, source="ecb-history", version=None, url="file:///h.csv"))
    assert bad.height == 0
    assert sorted(good["quote_currency"].to_list()) == ["CYP", "ROL"]


def test_rate_decimal_equals_text() -> None:
    """The decimal column equals the text: 18 places survive, exponent forms are expanded."""
    good, _ = _run(record(v6_latest('{"EUR":0.123456789012345678,"JPY":1.5e2,"GBP":0.86720}')))
    values = dict(zip(good["quote_currency"], good["rate"], strict=True))
    texts = dict(zip(good["quote_currency"], good["rate_text"], strict=True))
    assert values["EUR"] == Decimal("0.123456789012345678")
    assert values["JPY"] == Decimal("150")
    assert texts["GBP"] == "0.86720"
    assert list(good.columns) == list(SILVER_COLUMNS)


def _day(day: int, rate: str) -> object:
    when = datetime(2024, 5, day, 18, tzinfo=UTC)
    unix = int(datetime(2024, 5, day, tzinfo=UTC).timestamp())
    return record(v6_latest('{"EUR":' + rate + "}", unix=unix), when=when, url=V6_URL)


def test_jump_is_flagged_not_rejected() -> None:
    """A day-over-day change above the threshold is kept with is_jump."""
    good, bad = _run(_day(1, "0.90"), _day(2, "0.91"), _day(3, "1.20"), jump_threshold=0.1)
    assert bad.height == 0
    flags = dict(zip(good["rate_date"].cast(pl.String), good["is_jump"], strict=True))
    assert flags == {"2024-05-01": False, "2024-05-02": False, "2024-05-03": True}


def test_stale_latest_answer_is_flagged() -> None:
    """A latest answer whose provider time is older than the threshold is kept, is_stale."""
    old = int((datetime(2024, 5, 3, tzinfo=UTC) - timedelta(days=6)).timestamp())
    good, _ = _run(record(v6_latest('{"EUR":0.9}', unix=old)), stale_after=timedelta(hours=96))
    assert good["is_stale"].to_list() == [True]
    fresh, _ = _run(record(v6_latest('{"EUR":0.9}')), stale_after=timedelta(hours=96))
    assert fresh["is_stale"].to_list() == [False]


def test_jump_is_not_compared_across_a_gap_longer_than_the_window() -> None:
    """Two observations further apart than JUMP_WINDOW are not a day-over-day jump."""
    gap = JUMP_WINDOW.days + 1
    first = record(v6_latest('{"EUR":0.9}', unix=1714521600), when=datetime(2024, 5, 1, tzinfo=UTC))
    later = 1714521600 + gap * 86400
    second = record(
        v6_latest('{"EUR":1.5}', unix=later), when=datetime(2024, 5, 1 + gap, tzinfo=UTC)
    )
    near = record(
        v6_latest('{"EUR":0.9}', unix=later + 86400),
        when=datetime(2024, 5, 2 + gap, tzinfo=UTC),
    )
    batch = transform_bronze(frame(first, second, near), transform_version=1)
    eur = batch.rates.filter(pl.col("quote_currency") == "EUR").sort("rate_date")
    assert eur["is_jump"].to_list() == [False, False, True]


@pytest.mark.parametrize(
    ("text", "out_of_range"),
    [
        ("12345678901234567890", False),  # 20 integer digits: the most decimal(38,18) holds
        ("123456789012345678901", True),
        ("00000000000000000000001.5", False),  # leading zeros are not digits of the value
        ("+0000123456789012345678901", True),
        ("+000000000000000000000000.5", False),
        ("12345678901234567890.123456789012345678", False),
        ("123456789012345678901.5", True),
    ],
)
def test_integer_digits_are_counted_without_signs_and_leading_zeros(
    text: str, out_of_range: bool
) -> None:
    """rate_out_of_range counts the significant digits before the dot, as Decimal does."""
    from makerates_lake.silver.parse import parse_bronze
    from makerates_lake.silver.validate import validate

    parsed = parse_bronze(frame(record(v6_latest('{"EUR":0.9}')))).rates
    rates = parsed.with_columns(pl.lit(text).alias("rate_text"))
    checked = validate(rates, transform_version=2)
    assert (Decimal(text).adjusted() + 1 > 20) == out_of_range  # the cases are right
    if out_of_range:
        assert checked.rejects.get_column("rule").to_list() == ["rate_out_of_range"]
    else:
        assert checked.rejects.height == 0
        assert checked.rates.get_column("rate").to_list() == [Decimal(text)]


def _rules(*texts: str) -> list[str | None]:
    """The rule each rate text breaks (None when it is kept), validated in one batch."""
    from makerates_lake.silver.parse import parse_bronze
    from makerates_lake.silver.validate import validate

    parsed = parse_bronze(frame(record(v6_latest('{"EUR":0.9}')))).rates
    rows = pl.concat([parsed.with_columns(pl.lit(text).alias("rate_text")) for text in texts])
    rows = rows.with_columns(pl.lit("EUR").alias("quote_currency")).with_row_index("_n")
    # One extraction, distinct dates: no row is a duplicate of another.
    rows = rows.with_columns(
        (pl.date(2024, 1, 1) + pl.duration(days=pl.col("_n"))).cast(pl.String).alias("rate_date")
    ).drop("_n")
    checked = validate(rows, transform_version=2)
    # By date: offending_value keeps only the first 200 characters of a text.
    by_date = dict(zip(checked.rejects["rate_date"], checked.rejects["rule"], strict=True))
    return [by_date.get(day) for day in rows["rate_date"].str.to_date()]


@pytest.mark.parametrize(
    "text",
    [
        "1\u0662\u0663",  # Arabic-Indic digits: not a decimal(38,18) number
        "1\u0662\u0663.\u0665",
        "\u0661e2",
        "1_0e2",  # Python's Decimal takes underscores; a rate text does not
    ],
)
def test_digits_of_other_scripts_are_not_a_number(text: str) -> None:
    """They are rejected row by row; before, such a rate stopped the whole batch."""
    assert _rules(text, "0.5") == ["rate_not_a_number", None]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("1e999999999", "rate_out_of_range"),
        ("1e99999999999999999999", "rate_out_of_range"),  # more than Decimal takes
        ("1e" + "9" * 5000, "rate_out_of_range"),  # more digits than int() takes
        ("1e-" + "9" * 5000, "rate_precision_exceeded"),
        ("1e-999999999", "rate_precision_exceeded"),
        ("-1e999999999", "rate_not_positive"),
        ("0e999999999", "rate_not_positive"),
        ("0e-999999999", "rate_not_positive"),
        ("1.00000000000000000000000000000000000000000001e21", "rate_precision_exceeded"),
    ],
)
def test_huge_exponents_are_rejected_without_writing_them_out(text: str, rule: str) -> None:
    """1e999999999 would be a gigabyte of zeros written out; it is rejected as it would be."""
    assert _rules(text) == [rule]


@pytest.mark.parametrize("exponent", [-60, -41, -40, -20, -19, 18, 19, 20, 21, 40, 60])
@pytest.mark.parametrize("mantissa", ["1", "-1", "0", "12.5", "9.99", "0.003"])
def test_an_exponent_form_breaks_the_rule_its_written_out_form_breaks(
    mantissa: str, exponent: int
) -> None:
    """Whether written out in full or stood in for, the first rule broken is the same."""
    text = f"{mantissa}e{exponent}"
    written_out = format(Decimal(text), "f")
    assert _rules(text, written_out) == [_rules(written_out)[0]] * 2
