"""Access-log entries and the batching writer (no commit needed)."""

from __future__ import annotations

import pytest

from makerates_lake.secret import Secret
from makerates_lake.store.access_log import AccessLog, make_entry
from makerates_lake.store.catalog import Lake


def test_entry_redacts_known_secrets_from_query_text(embedded_lake: Lake) -> None:
    """A DSN password in a logged query never reaches the log."""
    lake = Lake(
        settings=embedded_lake.settings.replace(publish_dsn=Secret("postgresql://u:hunter22@h/db")),
        catalog=embedded_lake.catalog,
    )
    entry = make_entry(lake, action="sql", table="gold.fact_rate", query_text="x hunter22 y")
    assert "hunter22" not in (entry.query_text or "")


def test_bare_string_record_ids_are_refused(embedded_lake: Lake) -> None:
    """``record_ids="abc"`` would log three one-letter ids; it is an error instead."""
    with pytest.raises(ValueError, match="not one string"):
        make_entry(embedded_lake, action="read", table="t", record_ids="abc")


def test_size_threshold_flushes_in_batches(embedded_lake: Lake) -> None:
    """With max_entries=3, five records make one flush of three and leave two waiting."""
    log = AccessLog(embedded_lake, max_entries=3)
    for _ in range(5):
        log.record(action="read", table="silver.rates")
    assert log.written == 3
    assert len(log.pending) == 2


def test_age_threshold_flushes_an_old_buffer(embedded_lake: Lake) -> None:
    """An entry older than max_age_s is written on the next record."""
    now = [0.0]
    log = AccessLog(embedded_lake, max_age_s=5, clock=lambda: now[0])
    log.record(action="read", table="silver.rates")
    assert log.written == 0
    now[0] = 6.0
    log.record(action="read", table="silver.rates")
    assert log.written == 2
