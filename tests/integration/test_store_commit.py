"""The one commit path: PyIceberg's own retry is off, and our retry waits outside the lock."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import pytest
from pyiceberg.exceptions import CommitFailedException

from makerates_lake.errors import CommitConflictError
from makerates_lake.store import commit as commit_module
from makerates_lake.store._pyiceberg import open_transaction
from makerates_lake.store.catalog import PYICEBERG_RETRY_OFF, Lake, open_lake
from makerates_lake.store.tables import ALL_TABLES, SILVER_REJECTS
from makerates_lake.store.types import Table

RETRIES = "commit.retry.num-retries"


def test_every_table_turns_pyiceberg_retry_off(embedded_lake: Lake) -> None:
    """Created tables carry commit.retry.num-retries=0, so PyIceberg never retries inside
    our commit lock (and never re-applies files our duplicate checks did not see)."""
    assert PYICEBERG_RETRY_OFF == {RETRIES: "0"}
    for spec in ALL_TABLES:
        assert embedded_lake.table(spec).properties.get(RETRIES) == "0", spec.identifier


def test_a_table_created_before_gets_the_setting_on_first_load(embedded_lake: Lake) -> None:
    """A lake from before the setting existed gets it the first time a process loads it."""
    table = embedded_lake.table(SILVER_REJECTS)
    with open_transaction(table) as transaction:
        transaction.remove_properties(RETRIES)
    assert embedded_lake.table(SILVER_REJECTS).properties.get(RETRIES) is None
    reopened = open_lake(embedded_lake.settings)  # a new process: nothing loaded yet
    assert reopened.table(SILVER_REJECTS).properties.get(RETRIES) == "0"


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
