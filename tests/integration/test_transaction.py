"""The transaction every commit goes through: staged metadata applied once per change."""

from __future__ import annotations

from typing import Any

import pytest
from pyiceberg.table.update import update_table_metadata

from makerates_lake.store import _pyiceberg as transaction_module
from makerates_lake.store._pyiceberg import open_transaction
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import SILVER_REJECTS


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many updates each application of the staged updates applied."""
    calls: list[int] = []

    def counting(base: Any, updates: Any) -> Any:
        calls.append(len(updates))
        return update_table_metadata(base, updates)

    monkeypatch.setattr(transaction_module, "update_table_metadata", counting)
    return calls


def test_reads_share_one_application_until_an_update_is_staged(
    embedded_lake: Lake, applied: list[int]
) -> None:
    """A dozen reads of the staged metadata cost one application, not a dozen copies."""
    table = embedded_lake.table(SILVER_REJECTS, refresh=True)
    with open_transaction(table) as transaction:
        first = transaction.table_metadata
        assert all(transaction.table_metadata is first for _ in range(12))
        assert applied == [0]
        transaction.set_properties({"makerates.test": "staged"})
        staged = transaction.table_metadata
        assert staged is not first
        assert staged.properties["makerates.test"] == "staged"
        assert applied == [0, 1]
        assert transaction.table_metadata is staged
    assert embedded_lake.table(SILVER_REJECTS, refresh=True).properties["makerates.test"] == (
        "staged"
    )


def test_a_refreshed_table_is_never_read_through_stale_metadata(
    embedded_lake: Lake, applied: list[int]
) -> None:
    """When the table's metadata moves on (a refresh after another commit), so do reads."""
    table = embedded_lake.table(SILVER_REJECTS, refresh=True)
    transaction = open_transaction(table)
    before = transaction.table_metadata
    other = embedded_lake.table(SILVER_REJECTS, refresh=True)
    with open_transaction(other) as elsewhere:
        elsewhere.set_properties({"makerates.test": "elsewhere"})
    table.refresh()
    after = transaction.table_metadata
    assert after is not before
    assert after.properties["makerates.test"] == "elsewhere"
    assert applied[-1] == 0  # nothing staged in this transaction


@pytest.mark.parametrize("merge", [False, True])
def test_committed_files_merge_manifests_when_the_table_says_so(
    embedded_lake: Lake, merge: bool
) -> None:
    """Written files are committed as appends; manifests merge as Table.append would."""
    from makerates_lake.bronze.writer import records_to_arrow
    from makerates_lake.store.commit import commit_files, write_files
    from makerates_lake.store.tables import BRONZE_EXTRACTIONS
    from tests.integration.bronze_helpers import make_record

    table = embedded_lake.table(BRONZE_EXTRACTIONS, refresh=True)
    with open_transaction(table) as transaction:
        transaction.set_properties(
            {
                "commit.manifest-merge.enabled": str(merge).lower(),
                "commit.manifest.min-count-to-merge": "2",
            }
        )
    for n in range(4):
        files = write_files(table, records_to_arrow([make_record(n)]), BRONZE_EXTRACTIONS)
        commit_files(table, files, merge_manifests=True)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    manifests = snapshot.manifests(table.io)
    assert len(manifests) == (1 if merge else 4)
    assert table.scan().to_arrow().num_rows == 4
