"""Tampering: bronze files changed or deleted outside the library are caught by audit verify.

Each test edits storage behind the library's back (a local file, or a new S3 object
version / delete marker on the WORM bucket), then runs ``makerates audit verify`` and
checks it exits 1 and names what is wrong: the extraction_id whose bytes changed, or the
path of the damaged, missing or unreadable file.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from makerates_lake.bronze.writer import BronzeWriter
from makerates_lake.cli import main
from makerates_lake.store.catalog import Lake
from tests.integration.bronze_helpers import make_record
from tests.integration.reliability_helpers import (
    delete_object,
    overwrite_object,
    read_object,
    settings_env,
)

pytestmark = pytest.mark.integration


#: Both commands must catch tampering: ``bronze verify`` and the full ``audit verify``.
COMMANDS = ("bronze", "audit")
#: Damaged or missing files must be named by both commands, never crash them.
COMMANDS_ON_DAMAGED_FILES = (
    pytest.param("bronze", id="bronze"),
    pytest.param("audit", id="audit"),
)


def _verify(lake: Lake, command: str = "audit") -> Result:
    return CliRunner().invoke(main, [command, "verify"], env=settings_env(lake.settings))


def _assert_named_failure(result: Result, *names: str) -> None:
    # A clean, named failure: exit 1 through the CLI's error path, never a traceback.
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    for name in names:
        assert name.lower() in result.output.lower(), (name, result.output)


@pytest.fixture
def stored(lake: Lake) -> list[str]:
    """Two bronze commits of two rows each; the untouched lake verifies clean."""
    ids = []
    for batch in range(2):
        records = [make_record(batch * 10 + n) for n in range(2)]
        BronzeWriter(lake).append(records)
        ids += [r.extraction_id for r in records]
    result = _verify(lake)
    assert result.exit_code == 0, result.output
    return ids


def _data_files(lake: Lake) -> list[str]:
    return sorted(task.file.file_path for task in lake.bronze(refresh=True).scan().plan_files())


@pytest.mark.parametrize("command", COMMANDS)
def test_changed_body_is_named_by_extraction_id(
    lake: Lake, stored: list[str], command: str
) -> None:
    """A row whose bytes were rewritten (checksum left alone) is reported by its id."""
    path = _data_files(lake)[0]
    table = pq.read_table(pa.BufferReader(read_object(lake, path)))
    bodies = table.column("raw_response").to_pylist()
    victim = table.column("extraction_id")[0].as_py()
    bodies[0] = bodies[0].replace(b"0.86720", b"0.96720")  # a forged rate
    forged = table.set_column(
        table.schema.get_field_index("raw_response"),
        table.schema.field("raw_response"),
        pa.array(bodies, table.schema.field("raw_response").type),
    )
    sink = io.BytesIO()
    pq.write_table(forged, sink)
    overwrite_object(lake, path, sink.getvalue())

    _assert_named_failure(_verify(lake, command), victim, "tamper")
    assert victim in stored


@pytest.mark.parametrize("command", COMMANDS_ON_DAMAGED_FILES)
def test_corrupted_data_file_is_named_by_path(
    lake: Lake, stored: list[str], command: str
) -> None:
    """Flipped bytes in a Parquet file: the file is reported by path."""
    del stored
    path = _data_files(lake)[1]
    data = bytearray(read_object(lake, path))
    middle = len(data) // 2
    data[middle : middle + 16] = b"\xff" * 16
    overwrite_object(lake, path, bytes(data))
    _assert_named_failure(_verify(lake, command), path.rsplit("/", 1)[-1])


@pytest.mark.parametrize("command", COMMANDS_ON_DAMAGED_FILES)
def test_deleted_data_file_is_named_by_path(lake: Lake, stored: list[str], command: str) -> None:
    """A deleted Parquet file is reported as missing, by path."""
    del stored
    path = _data_files(lake)[0]
    delete_object(lake, path)
    _assert_named_failure(_verify(lake, command), path.rsplit("/", 1)[-1], "missing")


@pytest.mark.parametrize("command", COMMANDS_ON_DAMAGED_FILES)
def test_deleted_manifest_is_named_by_path(lake: Lake, stored: list[str], command: str) -> None:
    """A deleted manifest (metadata) file is reported by path instead of crashing verify."""
    del stored
    table = lake.bronze(refresh=True)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    manifest = snapshot.manifests(table.io)[0].manifest_path
    delete_object(lake, manifest)
    _assert_named_failure(_verify(lake, command), manifest.rsplit("/", 1)[-1], "missing")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", ["garbled", "deleted"])
def test_damaged_table_metadata_file_is_named(
    lake: Lake, stored: list[str], damage: str, command: str
) -> None:
    """The current metadata.json garbled or deleted: verify fails naming that file."""
    del stored
    location = lake.bronze(refresh=True).metadata_location
    if damage == "garbled":
        overwrite_object(lake, location, read_object(lake, location)[:-40] + b"}}}")
    else:
        delete_object(lake, location)
    _assert_named_failure(
        _verify(lake, command), location.rsplit("/", 1)[-1], "bronze.extractions"
    )
