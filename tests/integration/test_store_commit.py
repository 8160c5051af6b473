"""The one commit path: PyIceberg's own retry is off, and our retry waits outside the lock."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime

import polars as pl
import pytest
from pyiceberg.exceptions import CommitFailedException

from makerates_lake.errors import CommitConflictError
from makerates_lake.store import commit as commit_module
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit_files, to_arrow, write_files
from makerates_lake.store.tables import SILVER_REJECTS
from makerates_lake.store.types import Table

RETRIES = "commit.retry.num-retries"


def test_a_transaction_commits_once_and_leaves_the_table_properties_alone(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyIceberg 0.12 would retry a lost data commit inside the commit lock (4 times by
    default); ours makes one attempt, and the stored properties keep no trace of it, so
    other engines keep their own retries."""
    table = embedded_lake.table(SILVER_REJECTS, refresh=True)
    assert RETRIES not in table.properties
    stored = table.metadata
    calls: list[int] = []

    def losing_commit(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise CommitFailedException("another writer won")

    monkeypatch.setattr(table, "_do_commit", losing_commit)
    rows = write_files(table, to_arrow(_reject_rows(), SILVER_REJECTS), SILVER_REJECTS)
    with pytest.raises(CommitFailedException):
        commit_files(table, rows)
    assert calls == [1]
    assert table.metadata is stored  # the one-attempt copy did not outlive the commit
    monkeypatch.undo()
    commit_files(embedded_lake.table(SILVER_REJECTS, refresh=True), rows)
    assert RETRIES not in embedded_lake.table(SILVER_REJECTS, refresh=True).properties


def test_a_lost_race_is_retried_with_the_lock_released_between_attempts(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt runs under the lock on a fresh table; the lock is free between them,
    so the backoff never holds it."""
    events: list[str] = []

    @contextlib.contextmanager
    def recording_lock(lake: Lake, identifier: str) -> Iterator[None]:
        events.append("lock")
        try:
            yield
        finally:
            events.append("unlock")

    monkeypatch.setattr(commit_module, "table_commit_lock", recording_lock)
    tables: list[Table] = []

    def attempt(table: Table) -> str:
        events.append("attempt")
        tables.append(table)
        if len(tables) < 3:
            raise CommitFailedException("another writer won")
        return "done"

    assert commit_module.commit(embedded_lake, SILVER_REJECTS, attempt) == "done"
    assert events == ["lock", "attempt", "unlock"] * 3


def test_a_commit_that_keeps_losing_names_the_table(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the configured attempts the error says which table and how many tries."""
    fewer = dataclasses.replace(embedded_lake.settings, commit_retry_attempts=3)
    monkeypatch.setattr(embedded_lake, "settings", fewer)

    def attempt(table: Table) -> None:
        raise CommitFailedException("another writer won")

    with pytest.raises(CommitConflictError) as caught:
        commit_module.commit(embedded_lake, SILVER_REJECTS, attempt)
    assert caught.value.context["table"] == SILVER_REJECTS.identifier
    assert caught.value.context["attempts"] == 3


def _reject_rows() -> pl.DataFrame:
    """One silver reject, enough to stage a data commit."""
    return pl.DataFrame(
        {
            "extraction_id": ["00000000-0000-7000-8000-000000000001"],
            "extraction_timestamp": [datetime(2026, 1, 5, tzinfo=UTC)],
            "source_name": ["frankfurter"],
            "source_version": [None],
            "source_tier": ["primary"],
            "rule": ["rate_not_a_number"],
            "field": ["rate"],
            "offending_value": ["abc"],
            "detail": [None],
            "base_currency": ["EUR"],
            "quote_currency": ["USD"],
            "rate_date": [date(2026, 1, 5)],
            "transform_version": [1],
        },
        schema_overrides={"source_version": pl.String, "detail": pl.String},
    )
