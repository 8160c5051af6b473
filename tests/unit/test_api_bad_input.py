"""Bad arguments to the notebook API are typed library errors raised before any work."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import makerates_lake as mr
from makerates_lake.errors import ConfigError, LakeError

# Every source on a closed loopback port: should a check regress, the run it guards
# reaches nothing outside this machine.
_NOWHERE = "https://127.0.0.1:9"
_SOURCES = ("exchangerate_api_url", "open_er_api_url", "frankfurter_url", "ecb_daily_url",
            "ecb_history_url")  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> mr.Lakehouse:
    """An embedded lake with every table and no rows, its sources on loopback."""
    urls: dict[str, Any] = {name: f"{_NOWHERE}/{name}" for name in _SOURCES}
    return mr.open_lake(mr.load_settings(home=tmp_path / "lake", **urls))


@pytest.mark.parametrize("since", [date(2026, 1, 1), "2026-01-01", datetime(2026, 1, 1)])
def test_access_log_needs_an_aware_datetime(lake: mr.Lakehouse, since: object) -> None:
    """A date, a text or a naive datetime is a ConfigError, not an AttributeError."""
    with pytest.raises(ConfigError, match="timezone-aware datetime"):
        mr.access_log(lake, since=since)  # type: ignore[arg-type]


def test_verify_needs_aware_times(lake: mr.Lakehouse) -> None:
    """A naive bound is a ConfigError, not PyIceberg's ValueError."""
    with pytest.raises(ConfigError, match="timezone-aware"):
        mr.verify(lake, datetime(2026, 1, 1))


def test_reading_a_column_the_table_lacks_names_it(lake: mr.Lakehouse) -> None:
    """An unknown column is a LakeError naming it and listing the table's columns."""
    with pytest.raises(LakeError, match="no such column") as raised:
        lake.read("gold.fact_rate", columns=["rate", "nope"])
    assert "nope" in str(raised.value)
    assert "quote_currency" in str(raised.value)


def test_a_naive_run_clock_is_refused_before_anything_runs(lake: mr.Lakehouse) -> None:
    """``mr.run(now=<naive>)`` failed with a TypeError after it had ingested."""
    with pytest.raises(ConfigError, match="now must be a timezone-aware datetime"):
        mr.run(lake, ["USD"], now=datetime(2026, 1, 1))
    assert lake.bronze(refresh=True).current_snapshot() is None
