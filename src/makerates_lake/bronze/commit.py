"""Write bronze's data files once; commit them as often as a race requires.

``Table.append`` writes the data files and commits in one call, so a writer that loses
a race would write its files again on every retry and leave the earlier ones orphaned.
Here the files are written first, and the retried critical section only commits them
(:func:`makerates_lake.transaction.append_files`: manifests and the metadata file).
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from makerates_lake import datafiles
from makerates_lake.tables import BRONZE_EXTRACTIONS


def write_data_files(table: Table, rows: pa.Table) -> list[DataFile]:
    """Write ``rows`` as bronze data files laid out by the table's partition spec (no
    commit), with bronze's per-column Parquet layout."""
    return datafiles.write_data_files(table.metadata, table.io, rows, BRONZE_EXTRACTIONS.parquet)
