"""Bad input at the CLI ends in one clear line and a non-zero exit, and changes nothing:
a home that is not a lake, reversed ranges, unknown tables, unusable key files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from makerates_lake.errors import ConfigError
from makerates_lake.pipeline import run_reprocess
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import open_lake
from makerates_lake.store.tables import GOLD_FACT_RATE


def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    from makerates_lake.cli import main

    return CliRunner().invoke(main, list(args), prog_name="makerates", env=env)


@pytest.fixture
def lake_home(tmp_path: Path) -> Path:
    """An embedded lake with every table and no rows."""
    home = tmp_path / "lake"
    open_lake(load_settings(home=home, _explicit_only=True))
    return home


@pytest.mark.parametrize(
    "command",
    [
        ["rates", "--quote", "USD"],
        ["sql", "SELECT 1"],
        ["audit", "verify"],
        ["bronze", "verify"],
        ["status"],
        ["transform"],
    ],
)
def test_a_home_without_a_lake_is_refused_and_left_alone(
    tmp_path: Path, command: list[str]
) -> None:
    """A mistyped --home is not made into a new, empty lake: the command says there is
    no lake there and how to make one, and creates nothing."""
    home = tmp_path / "no-lake-here"
    result = _cli("--home", str(home), *command)
    assert result.exit_code != 0
    assert f"LakeError: no lake at {home}" in result.output
    assert "makerates init" in result.output
    assert not home.exists()


def test_init_still_creates_the_lake(tmp_path: Path) -> None:
    """Commands that write (init here) create the lake as before."""
    home = tmp_path / "new"
    assert _cli("--home", str(home), "init").exit_code == 0
    assert (home / "catalog.db").exists()
    assert "no lake" not in _cli("--home", str(home), "rates", "--quote", "USD").output


def test_a_file_in_the_way_of_the_home_is_a_lake_error(tmp_path: Path) -> None:
    """A home (from MAKERATES_HOME: --home itself is checked by click) that is a file
    gives LakeError naming the folder, not a FileExistsError traceback."""
    home = tmp_path / "a-file"
    home.write_text("not a folder")
    result = _cli("init", env={"MAKERATES_HOME": str(home)})
    assert result.exit_code == 1
    assert result.output.startswith("LakeError: cannot create the lake folder")
    assert str(home) in result.output
    assert home.read_text() == "not a folder"


@pytest.mark.parametrize("command", [["bronze", "verify"], ["audit", "verify"]])
def test_a_reversed_range_is_refused_not_reported_clean(
    lake_home: Path, command: list[str]
) -> None:
    """An empty range checks nothing: refused, not 'checked 0 rows ... ok'."""
    result = _cli("--home", str(lake_home), *command, "--from", "2026-12-31", "--to", "2026-01-01")
    assert result.exit_code == 1
    assert result.output.startswith("ConfigError: the range to verify is empty")


def test_a_reversed_reprocess_moves_no_tag(lake_home: Path) -> None:
    """A reprocess of reversed days fails before tagging anything."""
    lake = open_lake(load_settings(home=lake_home, _explicit_only=True))
    before = dict(lake.table(GOLD_FACT_RATE).metadata.refs)
    with pytest.raises(ConfigError, match="reversed"):
        run_reprocess(lake, start=date(2026, 12, 31), end=date(2026, 1, 1))
    result = _cli(
        "--home", str(lake_home), "reprocess", "--from", "2026-12-31", "--to", "2026-01-01"
    )
    assert result.exit_code == 1
    assert "ConfigError: the days to reprocess are reversed" in result.output
    assert dict(lake.table(GOLD_FACT_RATE, refresh=True).metadata.refs) == before


def test_unknown_tables_are_named_and_short_names_work(lake_home: Path) -> None:
    """audit read/diff name an unknown table and list the real ones; a short name reads."""
    for command in (["read", "nosuch.table"], ["diff", "nosuch.table", "--from", "main"]):
        result = _cli("--home", str(lake_home), "audit", *command)
        assert result.exit_code == 1
        assert result.output.startswith("LakeError: no such table (table=nosuch.table")
        assert "gold.fact_rate" in result.output
    assert _cli("--home", str(lake_home), "audit", "read", "fact_rate").exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(128, 256)), "is not UTF-8 text"),
        (b" \n", "holds no key"),
        (b"abc\x00\x07def", "holds characters that cannot be in a key"),
    ],
)
def test_unusable_key_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    """A binary or empty key file is a usage error naming the option, not a traceback."""
    key = tmp_path / "new.key"
    key.write_bytes(content)
    result = _cli("--home", str(tmp_path), "secrets", "rotate", "--new-key-file", str(key))
    assert result.exit_code == 2
    assert f"Invalid value for --new-key-file: {message}" in result.output
    assert "Traceback" not in result.output


def test_a_catalog_uri_with_options_or_escapes_finds_its_lake(tmp_path: Path) -> None:
    """The catalog file is found as SQLAlchemy finds it: a query string and percent
    escapes in the URI do not make an existing lake look missing."""
    home = tmp_path / "my lake"
    assert _cli("--home", str(home), "init").exit_code == 0
    for uri in (
        f"sqlite:///{home}/catalog.db?timeout=30",
        f"sqlite:///{tmp_path}/my%20lake/catalog.db",
    ):
        result = _cli(
            "--home", str(home), "rates", "--quote", "USD", env={"MAKERATES_CATALOG_URI": uri}
        )
        assert "no lake" not in result.output, uri


def test_a_reversed_backfill_stores_nothing_and_a_text_path_loads(lake_home: Path) -> None:
    """A reversed window is refused before bronze (append-only) keeps a copy of the file;
    a path given as text loads like a Path."""
    import makerates_lake as mr
    from makerates_lake.pipeline import sample_ecb_history

    lake = open_lake(load_settings(home=lake_home, _explicit_only=True))
    with pytest.raises(ConfigError, match="backfill window is reversed"):
        mr.backfill(lake, start=date(2026, 1, 1), end=date(2025, 1, 1))
    assert lake.bronze(refresh=True).current_snapshot() is None
    result = mr.backfill(lake, str(sample_ecb_history()))
    assert result.transform.silver.rates > 0


@pytest.mark.parametrize("days", ["nan", "inf", "1e9", "-1"])
def test_an_orphan_age_out_of_range_is_a_usage_error(lake_home: Path, days: str) -> None:
    """nan, infinity, a negative or a huge age is refused before maintenance runs."""
    result = _cli("--home", str(lake_home), "maintain", "--orphan-min-age-days", days)
    assert result.exit_code == 2
    assert "is not a number of days from 0 to 36500" in result.output


def test_audit_read_writes_binary_columns_as_base64(lake_home: Path) -> None:
    """bronze's raw_response comes out of csv and json as base64 of its exact bytes."""
    import base64
    import io
    import json

    import polars as pl

    import makerates_lake as mr

    lake = open_lake(load_settings(home=lake_home, _explicit_only=True))
    mr.backfill(lake)
    stored = lake.bronze().scan(selected_fields=("raw_response",)).to_arrow()[0][0].as_py()
    as_json = _cli(
        "--home", str(lake_home), "audit", "read", "bronze.extractions", "--format", "json"
    )
    assert as_json.exit_code == 0, as_json.output
    assert base64.b64decode(json.loads(as_json.output)[0]["raw_response"]) == stored
    as_csv = _cli(
        "--home", str(lake_home), "audit", "read", "bronze.extractions", "--format", "csv"
    )
    assert as_csv.exit_code == 0, as_csv.output
    rows = pl.read_csv(io.StringIO(as_csv.output))
    assert base64.b64decode(rows.get_column("raw_response")[0]) == stored
