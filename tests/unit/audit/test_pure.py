"""Pure audit helpers: diff of frames, provider comparison, verdict order, DDL, entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from makerates_lake.audit.diff import diff_frames
from makerates_lake.audit.errors import DiffKeyError
from makerates_lake.audit.lineage import compare_to_provider, jsonable
from makerates_lake.audit.trace import worst
from makerates_lake.store.access_log_pg import AUDIT_LOG_DDL

SQL_FILE = Path(__file__).parents[3] / "sql" / "audit_log.sql"


def test_diff_frames_splits_added_removed_and_changed_by_key() -> None:
    """Rows are matched by key; only differing columns appear in ``changed``."""
    before = pl.DataFrame({"k": [1, 2, 3], "v": ["a", "b", "c"], "w": [1, 1, 1]})
    after = pl.DataFrame({"k": [2, 3, 4], "v": ["b", "C", "d"], "w": [1, 1, 1]})
    added, removed, changed = diff_frames(before, after, ["k"])
    assert added.get_column("k").to_list() == [4]
    assert removed.get_column("k").to_list() == [1]
    assert changed.to_dicts() == [{"k": 3, "v_from": "c", "v_to": "C"}]


def test_diff_frames_treats_null_to_value_as_a_change() -> None:
    """A null that became a value is a change, not an equal pair."""
    before = pl.DataFrame({"k": [1], "v": [None]}, schema={"k": pl.Int64, "v": pl.String})
    after = pl.DataFrame({"k": [1], "v": ["x"]})
    assert diff_frames(before, after, ["k"])[2].height == 1


def test_diff_frames_refuses_a_key_that_is_not_unique() -> None:
    """Duplicate keys would make ``changed`` ambiguous, so they are an error."""
    frame = pl.DataFrame({"k": [1, 1], "v": ["a", "b"]})
    with pytest.raises(DiffKeyError, match="does not identify one row"):
        diff_frames(frame, frame, ["k"])


def test_compare_to_provider_reports_both_values() -> None:
    """A stored rate that differs from the payload names both numbers."""
    row = {"rate": Decimal("0.5"), "rate_text": "0.9120"}
    message = compare_to_provider("0.9120", row)
    assert message == "provider sent 0.9120, silver stores 0.5"
    assert compare_to_provider("0.9120", {"rate": Decimal("0.912"), "rate_text": "0.9120"}) is None


def test_compare_to_provider_catches_a_text_that_lost_its_trailing_zero() -> None:
    """Equal decimals with different text are still not what the provider wrote."""
    message = compare_to_provider("0.86720", {"rate": Decimal("0.8672"), "rate_text": "0.8672"})
    assert message is not None
    assert "0.86720" in message


def test_worst_orders_verdicts_by_severity() -> None:
    """missing > tampered > transform_mismatch > ok."""
    assert worst([]) == "ok"
    assert worst(["ok", "transform_mismatch"]) == "transform_mismatch"
    assert worst(["transform_mismatch", "tampered"]) == "tampered"
    assert worst(["tampered", "missing"]) == "missing"


def test_jsonable_turns_decimals_and_dates_into_text() -> None:
    """Decimals keep every digit as text; dates become ISO strings."""
    out = jsonable({"rate": Decimal("1.068300000000000000"), "d": date(2024, 5, 1), "n": 1})
    assert out == {"rate": "1.068300000000000000", "d": "2024-05-01", "n": 1}


def test_sql_file_holds_the_ddl_the_library_applies() -> None:
    """sql/audit_log.sql and the DDL in pg_log.py never drift apart."""
    assert AUDIT_LOG_DDL in SQL_FILE.read_text()


def test_diff_against_an_empty_side_lists_every_row_as_added() -> None:
    """A table empty at the older point (before its first snapshot) diffs cleanly: every
    row is added; the empty side's untyped mask made Polars refuse the 'or'."""
    after = pl.DataFrame({"k": [1, 2], "v": ["a", "b"]})
    added, removed, changed = diff_frames(after.clear(), after, ["k"])
    assert added.equals(after)
    assert removed.height == 0
    assert changed.height == 0
