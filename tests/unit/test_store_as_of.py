"""``as_of`` values: what each kind means, and a typed ConfigError for the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import makerates_lake as mr
from makerates_lake.errors import ConfigError
from makerates_lake.store.refs import AsOf, as_of_from


def test_each_kind_of_as_of() -> None:
    """Digits are a snapshot id, dates are UTC instants, anything else (or tag:) a tag."""
    assert as_of_from(12) == AsOf(snapshot_id=12)
    assert as_of_from("12") == AsOf(snapshot_id=12)
    assert as_of_from("tag:12") == AsOf(tag="12")
    assert as_of_from("2026-10-30") == AsOf(timestamp=datetime(2026, 10, 30, tzinfo=UTC))
    assert as_of_from("transform-v1") == AsOf(tag="transform-v1")
    assert as_of_from(None) is None


@pytest.mark.parametrize("value", [True, 1.5, datetime(2026, 1, 1), ["main"]])
def test_other_values_are_config_errors(value: object) -> None:
    """A bool, a float, a naive datetime or a list is a ConfigError (still a ValueError),
    not an AttributeError from deep inside."""
    with pytest.raises(ConfigError, match=r"as_of|timezone-aware") as raised:
        as_of_from(value)  # type: ignore[arg-type]
    assert isinstance(raised.value, ValueError)


def test_access_log_refuses_a_naive_since(tmp_path: Path) -> None:
    """``mr.access_log(since=...)`` needs an aware time: a ConfigError says so."""
    lake = mr.open_lake(mr.load_settings(home=tmp_path / "lake"))
    with pytest.raises(ConfigError, match="timezone-aware"):
        mr.access_log(lake, since=datetime(2026, 1, 1))
