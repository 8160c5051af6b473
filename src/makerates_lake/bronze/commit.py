"""Write data files once, commit them as often as a race requires.

``Table.append`` writes the data files and commits in one call, so a writer that loses
a race would write its files again on every retry and leave the earlier ones orphaned.
Splitting the two keeps the retried critical section short: only manifests and the
metadata file are written again.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.utils.properties import property_as_bool

from makerates_lake import datafiles
from makerates_lake.tables import BRONZE_EXTRACTIONS
from makerates_lake.transaction import open_transaction

_MERGE_ENABLED = "commit.manifest-merge.enabled"


def write_data_files(table: Table, rows: pa.Table) -> list[DataFile]:
    """Write ``rows`` as bronze data files laid out by the table's partition spec (no
    commit), with bronze's per-column Parquet layout."""
    return datafiles.write_data_files(table.metadata, table.io, rows, BRONZE_EXTRACTIONS.parquet)


def commit_data_files(table: Table, files: list[DataFile]) -> None:
    """Commit already written data files as one append snapshot.

    Honours ``commit.manifest-merge.enabled`` like ``Table.append`` does, so maintenance
    settings that bound the number of manifests apply here too.

    Raises:
        CommitFailedException: The table changed since ``table`` was loaded.
    """
    merge = property_as_bool(table.metadata.properties, _MERGE_ENABLED, False)
    with open_transaction(table) as transaction:
        update = transaction.update_snapshot()
        producer = update.merge_append() if merge else update.fast_append()
        with producer as append:
            for data_file in files:
                append.append_data_file(data_file)
