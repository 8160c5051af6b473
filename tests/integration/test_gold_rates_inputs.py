"""The notebook API over a backfilled lake: rates derived by the transform version gold
holds, typed errors for bad arguments, and period averages only of periods that ended."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli import main
from makerates_lake.errors import ConfigError
from makerates_lake.gold.errors import NoRateError
from makerates_lake.pipeline import run_reprocess
from makerates_lake.store.catalog import Lake
from tests.integration.reliability_helpers import settings_env

pytestmark = pytest.mark.integration

FRIDAY = date(2026, 10, 30)


@pytest.fixture
def lake(embedded_lake: Lake) -> Lake:
    """The embedded lake holding the bundled sample through gold."""
    mr.backfill(embedded_lake)
    return embedded_lake


def test_rates_after_a_reprocess_to_version_1_follow_version_1(lake: Lake) -> None:
    """Gold, trace, rates (now and as of the tag), convert and the CLI agree: 157.25."""
    run_reprocess(lake, transform_version=1)
    stored = mr.trace(lake, FRIDAY, "USD", "JPY").fact["rate"]
    assert stored == Decimal("157.25")
    for as_of in (None, "transform-v1"):
        row = mr.rates(lake, on=FRIDAY, base="USD", quotes=["JPY"], as_of=as_of).row(0, named=True)
        assert row["rate"] == stored, as_of
    assert mr.convert(lake, "1", "USD", "JPY", on=FRIDAY).result == stored
    shown = CliRunner().invoke(
        main,
        ["rates", "--base", "USD", "--quote", "JPY", "--as-of", "transform-v1", "--format", "csv"],
        env=settings_env(lake.settings),
    )
    assert shown.exit_code == 0, shown.output
    assert ",157.25," in shown.output
    assert "157.2502" not in shown.output


def test_bad_arguments_are_config_errors(lake: Lake) -> None:
    """Each names what is wrong; none is a plain ValueError, TypeError or AttributeError."""
    with pytest.raises(ConfigError, match="fallback"):
        mr.rates(lake, quotes=["USD"], fallback="next")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fallback"):
        mr.convert(lake, "1", "EUR", "USD", fallback="next")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="source"):
        mr.convert(lake, "1", None, "USD")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ISO date"):
        mr.rates(lake, on="30/10/2026", quotes=["USD"])
    with pytest.raises(ConfigError, match="on must be"):
        mr.rates(lake, on=20261030, quotes=["USD"])  # type: ignore[arg-type]


def test_dates_as_text_or_datetimes_and_a_single_quote_code(lake: Lake) -> None:
    """ISO text (as mr.trace takes it) and a datetime mean their date; "USD" is one code."""
    expected = mr.rates(lake, on=FRIDAY, quotes=["USD"])
    assert expected.height == 1
    assert mr.rates(lake, on="2026-10-30", quotes=["USD"]).equals(expected)
    assert mr.rates(lake, on=datetime(2026, 10, 30, 15, tzinfo=UTC), quotes=["USD"]).equals(
        expected
    )
    assert mr.rates(lake, on=FRIDAY, quotes="USD").equals(expected)
    done = mr.convert(lake, "2", "EUR", "USD", on="2026-10-30")
    assert done.result == 2 * expected["rate"][0]


def test_an_average_of_a_period_not_ended_is_refused_and_no_quotes_keeps_types(
    lake: Lake,
) -> None:
    """2026-Q4 ends after gold's newest date (Oct 30), so neither rate exists yet."""
    with pytest.raises(NoRateError, match="not closed"):
        mr.closing_rates(lake, "2026-Q4", quotes=["USD"])
    with pytest.raises(NoRateError, match="not closed"):
        mr.average_rates(lake, "2026-Q4", quotes=["USD"])
    assert mr.average_rates(lake, "2026-10", quotes=["USD"])["days"][0] == 22
    empty = mr.average_rates(lake, "2026-09", quotes=[])
    assert empty.height == 0
    assert list(empty.schema.items()) == [
        ("base_currency", pl.String),
        ("quote_currency", pl.String),
        ("period_start", pl.Date),
        ("period_end", pl.Date),
        ("rate", pl.Decimal(38, 18)),
        ("days", pl.Int64),
        ("extraction_ids", pl.List(pl.String)),
    ]
    assert mr.closing_rates(lake, "2026-09", quotes=[]).schema["base_currency"] == pl.String
