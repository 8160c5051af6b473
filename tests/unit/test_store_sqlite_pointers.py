"""The kept SQLite connection answers the pointer query exactly as SQLAlchemy does."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from makerates_lake.store._sqlite_pointers import catalog_file, pointer_rows
from makerates_lake.store.pointers import metadata_locations

_SCHEMA = Schema(NestedField(1, "n", LongType(), required=False))


def _catalog(uri: str, warehouse: Path) -> SqlCatalog:
    return SqlCatalog("test", uri=uri, warehouse=warehouse.as_uri(), init_catalog_tables="true")


def test_every_commit_is_seen_by_the_next_query(tmp_path: Path) -> None:
    """A commit by another catalog object (another process, for SQLite) shows at once."""
    uri = f"sqlite:///{tmp_path / 'catalog.db'}"
    reader, writer = _catalog(uri, tmp_path), _catalog(uri, tmp_path)
    writer.create_namespace("ns")
    table = writer.create_table("ns.t", _SCHEMA)
    assert metadata_locations(reader, ["ns.t"]) == {"ns.t": table.metadata_location}
    for value in range(3):
        table.append(pa.table({"n": pa.array([value], pa.int64())}))
        expected = writer.load_table("ns.t").metadata_location
        assert pointer_rows(reader.name, reader.engine, ["t"]) == [("ns", "t", expected)]
        assert metadata_locations(reader, ["ns.t", "ns.absent"]) == {"ns.t": expected}


def test_only_a_plain_sqlite_file_takes_the_kept_connection(tmp_path: Path) -> None:
    """In-memory and optioned URLs go through SQLAlchemy; a missing file is not created."""
    assert catalog_file(_catalog("sqlite:///:memory:", tmp_path).engine) is None
    optioned = _catalog(f"sqlite:///{tmp_path / 'a.db'}?timeout=3", tmp_path)
    assert catalog_file(optioned.engine) is None
    plain = _catalog(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    assert catalog_file(plain.engine) == str(tmp_path / "b.db")
    (tmp_path / "b.db").unlink()  # gone behind the catalog's back
    assert pointer_rows(plain.name, plain.engine, ["t"]) is None
    assert not (tmp_path / "b.db").exists()


def test_a_catalog_file_replaced_at_the_same_path_is_the_one_read(tmp_path: Path) -> None:
    """A kept connection follows the path, not the file it first opened."""
    path = tmp_path / "catalog.db"
    first = _catalog(f"sqlite:///{path}", tmp_path / "one")
    first.create_namespace("ns")
    first.create_table("ns.t", _SCHEMA)
    assert pointer_rows(first.name, first.engine, ["t"]) is not None
    first.engine.dispose()
    path.rename(tmp_path / "old.db")
    second = _catalog(f"sqlite:///{path}", tmp_path / "two")  # a new, empty catalog file
    assert pointer_rows(second.name, second.engine, ["t"]) == []
