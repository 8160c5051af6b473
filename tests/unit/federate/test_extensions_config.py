"""Offline DuckDB settings: nothing auto-installs, every repository is a local folder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from makerates_lake.federate.extensions import offline_config


def test_offline_config_turns_off_autoload_and_points_repositories_locally(
    tmp_path: Path,
) -> None:
    """Auto-install/-load are off and both repositories are a never-created local path."""
    config = offline_config(tmp_path)
    assert config["extension_directory"] == str(tmp_path)
    assert config["autoinstall_known_extensions"] is False
    assert config["autoload_known_extensions"] is False
    assert config["allow_community_extensions"] is False
    for key in ("custom_extension_repository", "autoinstall_extension_repository"):
        repository = Path(str(config[key]))
        assert repository.is_relative_to(tmp_path)
        assert not repository.exists()


def test_duckdb_accepts_the_config_and_install_fails_locally(tmp_path: Path) -> None:
    """DuckDB takes every setting, and INSTALL looks in the local folder (no network)."""
    con = duckdb.connect(config=offline_config(tmp_path))
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('autoinstall_known_extensions', 'autoload_known_extensions')"
        ).fetchall()
    )
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    with pytest.raises(duckdb.IOException, match="no-download-repository"):
        con.execute("INSTALL spatial")
