"""Lookups decode string columns as dictionaries without changing any value."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from makerates_lake.audit.lookup import _open


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"quote": ["EUR", "GBP", "EUR"], "n": [1, 2, 3]}), path)
    return path


def test_known_string_columns_come_back_as_dictionaries_with_the_same_values(
    tmp_path: Path,
) -> None:
    """A named string column is a dictionary column holding exactly the stored strings."""
    with pa.OSFile(str(_file(tmp_path))) as stream:
        rows = _open(stream, ["quote"]).read()
    assert pa.types.is_dictionary(rows.schema.field("quote").type)
    assert rows.to_pylist() == [
        {"quote": "EUR", "n": 1}, {"quote": "GBP", "n": 2}, {"quote": "EUR", "n": 3}
    ]  # fmt: skip


def test_a_file_without_a_named_column_is_opened_plainly(tmp_path: Path) -> None:
    """A column renamed since the file was written: plain strings, no error."""
    with pa.OSFile(str(_file(tmp_path))) as stream:
        rows = _open(stream, ["renamed", "quote"]).read()
    assert not pa.types.is_dictionary(rows.schema.field("quote").type)
    assert rows.column("quote").to_pylist() == ["EUR", "GBP", "EUR"]
