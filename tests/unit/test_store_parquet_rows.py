"""Point reads of one Parquet file: same values as a plain read, footers never stale."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyiceberg.io.pyarrow import PyArrowFileIO

from makerates_lake.store.parquet_rows import (
    DICTIONARY_MIN_ROWS,
    FOOTERS,
    SHAPES,
    SHORT,
    Footer,
    MissingFieldError,
    matching,
    read_matching,
)

_IO = PyArrowFileIO()
_ROWS = DICTIONARY_MIN_ROWS * 3
_QUOTES = ["EUR", "GBP", "JPY", "CHF"]


@pytest.fixture(autouse=True)
def _no_kept_footers() -> Iterator[None]:
    FOOTERS.clear()
    yield
    FOOTERS.clear()


def _field(name: str, kind: pa.DataType, field_id: int) -> pa.Field:
    return pa.field(name, kind, metadata={b"PARQUET:field_id": str(field_id).encode()})


def _write(path: Path, rate_text: str = "0.9") -> Path:
    """Three row groups of one day each; quotes repeat (dictionary), rate_text is unique."""
    days = [date(2024, 1, 1 + i // DICTIONARY_MIN_ROWS) for i in range(_ROWS)]
    schema = pa.schema(
        [
            _field("rate_date", pa.date32(), 1),
            _field("quote_currency", pa.large_string(), 2),
            _field("rate_text", pa.large_string(), 3),
        ]
    )
    rows = pa.table(
        {
            "rate_date": days,
            "quote_currency": [_QUOTES[i % len(_QUOTES)] for i in range(_ROWS)],
            "rate_text": [f"{rate_text}{i}" for i in range(_ROWS)],
        },
        schema=schema,
    )
    pq.write_table(rows, path, row_group_size=DICTIONARY_MIN_ROWS, compression="zstd")
    return path


_COLUMNS = {1: "rate_date", 2: "quote_currency", 3: "rate_text"}


def test_repeated_reads_return_exactly_the_stored_rows(tmp_path: Path) -> None:
    """First read (footer parsed) and later reads (footer kept) give the same values."""
    path = str(_write(tmp_path / "a.parquet"))
    keys = {1: date(2024, 1, 2), 2: "JPY"}
    first = read_matching(_IO, path, _COLUMNS, keys)
    again = read_matching(_IO, path, _COLUMNS, keys)
    assert first is not None
    assert again is not None
    expected = [
        {"rate_date": date(2024, 1, 2), "quote_currency": "JPY", "rate_text": f"0.9{i}"}
        for i in range(DICTIONARY_MIN_ROWS, 2 * DICTIONARY_MIN_ROWS)
        if i % len(_QUOTES) == 2
    ]
    assert first.to_pylist() == expected
    assert again.to_pylist() == expected
    # The repeated quotes were decoded as a dictionary, the unique texts were not.
    assert pa.types.is_dictionary(again.schema.field("quote_currency").type)
    assert not pa.types.is_dictionary(again.schema.field("rate_text").type)


def test_delta_encoded_texts_are_read_again_without_a_dictionary(tmp_path: Path) -> None:
    """Short texts stored with DELTA_BYTE_ARRAY (as bronze's ids are) cannot be decoded
    as a dictionary: the second read, from the kept footer, reads them plain too."""
    path = tmp_path / "delta.parquet"
    rows = pq.read_table(_write(tmp_path / "plain.parquet"))
    pq.write_table(
        rows,
        path,
        row_group_size=DICTIONARY_MIN_ROWS,
        use_dictionary=["rate_text"],
        column_encoding={"quote_currency": "DELTA_BYTE_ARRAY"},
    )
    keys = {1: date(2024, 1, 2), 2: "JPY"}
    first = read_matching(_IO, str(path), _COLUMNS, keys)
    again = read_matching(_IO, str(path), _COLUMNS, keys)
    assert first is not None
    assert again is not None
    assert again.to_pylist() == first.to_pylist()
    assert again.num_rows == DICTIONARY_MIN_ROWS // len(_QUOTES)
    assert not pa.types.is_dictionary(again.schema.field("quote_currency").type)


def test_row_groups_outside_the_key_are_not_read(tmp_path: Path) -> None:
    """A date no row group holds reads nothing; names come back as the caller's."""
    path = str(_write(tmp_path / "a.parquet"))
    assert read_matching(_IO, path, _COLUMNS, {1: date(2023, 12, 31)}) is None
    renamed = read_matching(_IO, path, {3: "text_now"}, {1: date(2024, 1, 3), 2: "EUR"})
    assert renamed is not None
    assert renamed.column_names == ["text_now"]
    assert renamed.num_rows == DICTIONARY_MIN_ROWS // len(_QUOTES)


def test_a_file_rewritten_in_place_is_read_as_it_is_now(tmp_path: Path) -> None:
    """A kept footer is dropped when the file changed: the new bytes are what is read."""
    path = _write(tmp_path / "a.parquet")
    keys = {1: date(2024, 1, 1), 2: "EUR"}
    before = read_matching(_IO, str(path), _COLUMNS, keys)
    _write(path, rate_text="7.77")  # same path, other bytes (and another size)
    after = read_matching(_IO, str(path), _COLUMNS, keys)
    assert before is not None
    assert after is not None
    assert after.column("rate_text")[0].as_py() == "7.770"
    assert before.column("rate_text")[0].as_py() == "0.90"


def test_a_kept_footer_is_used_only_while_the_file_ends_in_its_bytes(tmp_path: Path) -> None:
    """Same size, other footer bytes: the kept footer is not trusted but parsed afresh."""
    path = _write(tmp_path / "a.parquet")
    keys = {1: date(2024, 1, 3), 2: "EUR"}
    assert read_matching(_IO, str(path), _COLUMNS, keys) is not None
    kept = FOOTERS.get(str(path))
    assert kept is not None
    assert path.read_bytes().endswith(kept.tail)
    # A footer of another file, passed off as this one's with this one's size.
    other = pq.read_metadata(_write(tmp_path / "b.parquet", rate_text="123456"))
    FOOTERS.put(str(path), Footer.parse(other, kept.size, b"not the tail" + kept.tail[12:]))
    rows = read_matching(_IO, str(path), _COLUMNS, keys)
    assert rows is not None
    assert rows.column("rate_text")[0].as_py() == f"0.9{2 * DICTIONARY_MIN_ROWS}"
    assert FOOTERS.get(str(path)) is not None
    assert FOOTERS.get(str(path)).tail == kept.tail  # type: ignore[union-attr]


def test_a_file_without_a_needed_field_id_is_left_to_the_general_scan(tmp_path: Path) -> None:
    """Written before a column was added: the lookup says so instead of guessing."""
    path = str(_write(tmp_path / "a.parquet"))
    with pytest.raises(MissingFieldError):
        read_matching(_IO, path, {**_COLUMNS, 9: "added_later"}, {1: date(2024, 1, 1)})


def test_matching_treats_dictionaries_plain_strings_and_nulls_alike() -> None:
    """Null never equals; a dictionary with a repeated value still finds every row."""
    plain = pa.table({"q": ["EUR", None, "GBP", "EUR"], "n": [1, 2, 3, 4]})
    coded = pa.table(
        {
            "q": pa.DictionaryArray.from_arrays(
                pa.array([0, 1, 2, 0]), pa.array(["EUR", "GBP", "EUR"])
            ),
            "n": [1, 2, 3, 4],
        }
    )
    assert matching(plain, {"q": "EUR"}).column("n").to_pylist() == [1, 4]
    assert matching(coded, {"q": "EUR"}).column("n").to_pylist() == [1, 3, 4]
    assert matching(coded, {"q": "EUR", "n": 3}).column("n").to_pylist() == [3]
    assert matching(plain, {}).num_rows == 4


def test_every_comparison_path_agrees_with_the_compute_kernel() -> None:
    """Short and long strings, dictionaries with nulls, booleans: the kernel's answer."""
    rng = random.Random(3)
    for size in (0, 1, 7, SHORT, SHORT + 1, 3 * SHORT):
        texts = [rng.choice(["EUR", "GBP", "", "ÉUR", None]) for _ in range(size)]
        flags = [rng.choice([True, False]) for _ in range(size)]
        for column in (
            pa.array(texts, pa.string()),
            pa.array(texts, pa.large_string()),
            pa.array(texts, pa.string()).dictionary_encode(),
            pa.array([t or "EUR" for t in texts], pa.large_string()).dictionary_encode(),
            pa.array(flags, pa.bool_()),
            pa.array([f if i % 5 else None for i, f in enumerate(flags)], pa.bool_()),
        ):
            rows = pa.table({"c": column, "n": list(range(size))})
            for value in ("EUR", "ÉUR", "", "XXX", True, False):
                if pa.types.is_boolean(column.type) != isinstance(value, bool):
                    continue
                plain = column.dictionary_decode() if hasattr(column, "dictionary") else column
                wanted = pc.fill_null(pc.equal(plain, pa.scalar(value, plain.type)), False)
                expected = rows.filter(wanted).column("n").to_pylist()
                assert matching(rows, {"c": value}).column("n").to_pylist() == expected


def test_a_kept_shape_serves_only_files_of_the_very_same_schema(tmp_path: Path) -> None:
    """Same names but other field ids or types: each file gets its own names and leaves."""
    SHAPES.clear()

    def write(name: str, ids: tuple[int, int], text: pa.DataType) -> pq.FileMetaData:
        schema = pa.schema([_field("a", pa.int64(), ids[0]), _field("b", text, ids[1])])
        pq.write_table(pa.table({"a": [1], "b": ["x"]}, schema=schema), tmp_path / name)
        return pq.read_metadata(tmp_path / name)

    first = Footer.parse(write("1.parquet", (1, 2), pa.string()), 0, b"")
    again = Footer.parse(write("2.parquet", (1, 2), pa.string()), 0, b"")
    other_ids = Footer.parse(write("3.parquet", (7, 8), pa.string()), 0, b"")
    other_type = Footer.parse(write("4.parquet", (1, 2), pa.binary()), 0, b"")
    assert first.names == again.names == {1: "a", 2: "b"}
    assert again.names is first.names  # derived once for the shared schema
    assert other_ids.names == {7: "a", 8: "b"}
    assert SHAPES.of(pq.read_metadata(tmp_path / "4.parquet")).texts == ()
    assert other_type.names == {1: "a", 2: "b"}
    SHAPES.clear()
