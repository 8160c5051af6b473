"""Settings: precedence, parsing, errors that name the key, and masked secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from makerates_lake.errors import ConfigError
from makerates_lake.secret import Secret
from makerates_lake.settings import load_settings


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_put_the_embedded_lake_under_home(tmp_path: Path) -> None:
    """With nothing configured, the catalog is SQLite and the warehouse a folder in home."""
    settings = load_settings(environ={}, home=tmp_path)
    assert settings.resolved_catalog_uri == f"sqlite:///{tmp_path / 'catalog.db'}"
    assert settings.resolved_warehouse == (tmp_path / "warehouse").as_uri()
    assert settings.resolved_bronze_warehouse == settings.resolved_warehouse
    assert not settings.is_rest_catalog


def test_explicit_beats_environment_beats_file(tmp_path: Path) -> None:
    """Explicit arguments win over MAKERATES_* variables, which win over the file."""
    config = _write(
        tmp_path / "c.toml",
        'catalog_name = "from-file"\nrate_limit_calls = 7\ns3_region = "file-region"\n',
    )
    env = {"MAKERATES_CATALOG_NAME": "from-env", "MAKERATES_RATE_LIMIT_CALLS": "9"}
    settings = load_settings(config, environ=env, catalog_name="explicit")
    assert settings.catalog_name == "explicit"
    assert settings.rate_limit_calls == 9
    assert settings.s3_region == "file-region"


def test_config_file_from_environment_and_makerates_section(tmp_path: Path) -> None:
    """MAKERATES_CONFIG names the file; a [makerates] table inside it is read."""
    config = _write(tmp_path / "c.toml", '[makerates]\nretention_policy = "keep-7-years"\n')
    settings = load_settings(environ={"MAKERATES_CONFIG": str(config)})
    assert settings.retention_policy == "keep-7-years"


def test_invalid_value_names_key_and_source() -> None:
    """A value that does not parse raises ConfigError naming the key and where it came from."""
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"MAKERATES_RATE_LIMIT_CALLS": "many"})
    assert info.value.key == "rate_limit_calls"  # type: ignore[attr-defined]
    assert "MAKERATES_RATE_LIMIT_CALLS" in str(info.value)
    assert "defaults" in str(info.value)


def test_non_positive_limit_is_rejected() -> None:
    """Zero or negative limits are configuration errors, not silent misbehaviour."""
    with pytest.raises(ConfigError, match="rate_limit_period_s"):
        load_settings(environ={}, rate_limit_period_s=0)


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_not_finite_or_negative_numbers_are_rejected(value: str) -> None:
    """nan passes a plain ``<= 0`` test; it, infinity and negatives are refused by name."""
    with pytest.raises(ConfigError, match="jump_threshold") as info:
        load_settings(environ={"MAKERATES_JUMP_THRESHOLD": value})
    assert "MAKERATES_JUMP_THRESHOLD" in str(info.value)


@pytest.mark.parametrize("bases", ["US,E;R", "USD,EURO", " , "])
def test_run_bases_must_be_currency_codes(bases: str) -> None:
    """A base list ``makerates run`` could not ingest is refused when settings load."""
    with pytest.raises(ConfigError, match="run_bases"):
        load_settings(environ={"MAKERATES_RUN_BASES": bases})


def test_valid_values_stay_accepted() -> None:
    """The new checks refuse nothing valid: codes in any case, with spaces and a trailing
    comma; an integer too large for a float."""
    values = {"MAKERATES_RUN_BASES": " usd, Eur ,", "MAKERATES_MAX_RESPONSE_BYTES": "9" * 400}
    settings = load_settings(environ=values)
    assert settings.run_bases == " usd, Eur ,"
    assert settings.max_response_bytes == int("9" * 400)


def test_unreadable_config_files_are_config_errors(tmp_path: Path) -> None:
    """A folder or a binary file given as the config file is a ConfigError naming the
    path, not an OSError or a UnicodeDecodeError."""
    binary = tmp_path / "c.toml"
    binary.write_bytes(bytes(range(128, 256)))
    for path, reason in [(tmp_path, "cannot be read"), (binary, "not valid TOML")]:
        with pytest.raises(ConfigError, match=reason) as info:
            load_settings(path, environ={})
        assert str(path) in str(info.value)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    """A typo in the config file is reported with the file's path."""
    config = _write(tmp_path / "c.toml", 'catalog_nmae = "x"\n')
    with pytest.raises(ConfigError, match="catalog_nmae") as info:
        load_settings(config, environ={})
    assert str(config) in str(info.value)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    """A config file that does not exist names MAKERATES_CONFIG and the path."""
    with pytest.raises(ConfigError, match="not found"):
        load_settings(environ={"MAKERATES_CONFIG": str(tmp_path / "nope.toml")})


def test_settings_are_frozen(tmp_path: Path) -> None:
    """Settings cannot be changed after they are built."""
    settings = load_settings(environ={}, home=tmp_path)
    with pytest.raises(AttributeError):
        settings.catalog_name = "other"  # type: ignore[misc]


def test_secrets_never_appear_in_repr() -> None:
    """Secret fields and passwords inside URIs are masked in repr and str."""
    settings = load_settings(
        environ={"MAKERATES_EXCHANGERATE_API_KEY": "sk-live-abcdef123456"},
        catalog_uri="postgresql+psycopg://cat:pw-in-uri-998877@db:5432/iceberg",
        vault_token="hvs.token-value-42",
    )
    assert isinstance(settings.exchangerate_api_key, Secret)
    assert settings.exchangerate_api_key.reveal() == "sk-live-abcdef123456"
    shown = repr(settings) + str(settings)
    for secret in ("sk-live-abcdef123456", "pw-in-uri-998877", "hvs.token-value-42"):
        assert secret not in shown


def test_replace_parses_like_explicit_arguments(tmp_path: Path) -> None:
    """replace() returns a parsed copy and leaves the original alone."""
    settings = load_settings(environ={}, home=tmp_path)
    changed = settings.replace(rate_limit_calls="5", s3_secret_access_key="abc")
    assert changed.rate_limit_calls == 5
    assert changed.s3_secret_access_key == Secret("abc")
    assert settings.rate_limit_calls == 100


def test_secret_values_lists_every_secret_and_the_dsn_password() -> None:
    """secret_values() holds each Secret field and the password inside publish_dsn, no more."""
    settings = load_settings(
        environ={},
        vault_token="hvs.vault-token-1",
        exchangerate_api_key="erapi-key-22",
        publish_dsn="postgresql://publisher:dsn-pass-333@db:5432/makerates",
        s3_access_key_id="not-a-secret-id",
    )
    values = settings.secret_values()
    assert {"hvs.vault-token-1", "erapi-key-22", "dsn-pass-333"} <= set(values)
    assert "postgresql://publisher:dsn-pass-333@db:5432/makerates" in values
    assert "not-a-secret-id" not in values


@pytest.mark.parametrize(
    ("dsn", "spellings"),
    [
        # libpq cannot parse it, and its error quotes the password as written.
        ("postgresql://u:S3cret%ZZPW@127.0.0.1:1/x", {"S3cret%ZZPW"}),
        ("postgresql://u:p%40ss-9@h/x", {"p@ss-9", "p%40ss-9"}),
        ("host=h password='a b-9' dbname=x", {"a b-9", "'a b-9'"}),
    ],
)
def test_the_dsn_password_is_a_secret_in_every_spelling(dsn: str, spellings: set[str]) -> None:
    """The publish DSN's password is scrubbed as libpq reads it and as written, even when
    libpq cannot parse the DSN (its error then quotes the raw password)."""
    assert spellings <= set(load_settings(environ={}, publish_dsn=dsn).secret_values())


def test_a_relative_home_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative --home is taken from the working folder: its warehouse is a file URI
    (a relative path has none, and every command failed in as_uri)."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={}, home="lake")
    assert settings.home == tmp_path / "lake"
    assert settings.resolved_warehouse == (tmp_path / "lake" / "warehouse").as_uri()


def test_an_unknown_source_in_the_chain_is_refused_when_settings_load() -> None:
    """extract_chain names only known sources (ingest failed with a ValueError traceback);
    an explicit unknown name given to the chain builder is a ConfigError too."""
    from makerates_lake.extract.extractor import chain_from_settings

    with pytest.raises(ConfigError, match="extract_chain") as raised:
        load_settings(environ={"MAKERATES_EXTRACT_CHAIN": "nope,frankfurter"})
    assert "MAKERATES_EXTRACT_CHAIN" in str(raised.value)
    settings = load_settings(environ={"MAKERATES_EXTRACT_CHAIN": " frankfurter , ecb-daily "})
    assert [s.name for s in chain_from_settings(settings)] == ["frankfurter", "ecb-daily"]
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        chain_from_settings(settings, ["nope"])
