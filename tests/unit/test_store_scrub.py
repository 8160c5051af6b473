"""Secrets never reach error messages: known values, URL and key=value passwords."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from makerates_lake.redact import REDACTED
from makerates_lake.settings import dsn_password, load_settings
from makerates_lake.store.catalog import Lake
from makerates_lake.store.scrub import lake_secrets, scrub


class _FakeLake:
    """Just the settings: scrubbing needs nothing else from a lake."""

    def __init__(self, home: Path, **settings: Any) -> None:
        self.settings = load_settings(home=home, environ={}, **settings)


def _lake(tmp_path: Path, **settings: Any) -> Lake:
    return cast(Lake, _FakeLake(tmp_path, **settings))


def test_known_secrets_and_dsn_password_are_masked(tmp_path: Path) -> None:
    """The S3 secret and the publish DSN's password vanish wherever they appear."""
    lake = _lake(
        tmp_path,
        s3_secret_access_key="s3-SECRET-value",
        publish_dsn="postgresql://app:pg-Pass-word@db:5432/rates",
    )
    assert "pg-Pass-word" in lake_secrets(lake)
    message = "auth failed for s3-SECRET-value; password was pg-Pass-word (really)"
    scrubbed = scrub(message, lake)
    assert "s3-SECRET-value" not in scrubbed
    assert "pg-Pass-word" not in scrubbed
    assert REDACTED in scrubbed


def test_unknown_url_and_keyword_passwords_are_masked(tmp_path: Path) -> None:
    """Passwords the settings never held are still masked in URLs and key=value DSNs."""
    lake = _lake(tmp_path)
    text = "connect postgresql://bob:hunter2@h/db failed; dsn host=h password='x y' user=u"
    scrubbed = scrub(text, lake)
    assert "hunter2" not in scrubbed
    assert "'x y'" not in scrubbed
    assert f"postgresql://bob:{REDACTED}@h/db" in scrubbed
    assert "user=u" in scrubbed


def test_dsn_password_of_both_dsn_forms() -> None:
    """The password comes out of URL and key=value DSNs; none when absent or unparsable."""
    assert dsn_password("postgresql://u:p%40ss@h/db") == "p@ss"
    assert dsn_password("host=h user=u password=pw dbname=d") == "pw"
    assert dsn_password("postgresql://u@h/db") is None
    assert dsn_password("host='unterminated") is None
