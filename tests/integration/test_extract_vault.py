"""Keys from a Vault-compatible KV v2 endpoint on loopback, through the real hvac client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stamina
from click.testing import CliRunner

from makerates_lake.cli.extract import commands
from makerates_lake.extract.errors import KeyRotationError, SecretError
from makerates_lake.extract.jobs import ingest
from makerates_lake.extract.secrets import VaultKeyProvider, vault_client
from makerates_lake.secret import Secret
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import open_lake
from tests.integration.extract_servers import (
    FakeVault,
    LoopbackCa,
    Reply,
    Router,
    Running,
    make_ca,
    serve,
)
from tests.unit.extract import payloads as p

pytestmark = pytest.mark.integration

TOKEN = "hvs.test-token-0123456789"
OLD_KEY = "old-key-aaaaaaaaaaaa"
NEW_KEY = "new-key-bbbbbbbbbbbb"


@pytest.fixture(autouse=True)
def real_attempt_counts() -> Iterator[None]:
    """Retries keep the configured attempt count but never sleep."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA made for this module."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def vault() -> FakeVault:
    """A KV v2 store holding a 10-day-old key."""
    fake = FakeVault(TOKEN, role_id="role-1", secret_id="secret-id-xyz")
    created = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    fake.put("makerates/exchangerate-api", {"api_key": OLD_KEY, "created_at": created})
    return fake


@pytest.fixture
def vault_server(vault: FakeVault, ca: LoopbackCa) -> Iterator[Running]:
    """The fake Vault over HTTPS."""
    with serve(vault, tls=ca.server_context()) as running:
        yield running


def _settings(tmp_path: Path, vault_server: Running, ca: LoopbackCa, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path / "lake",
        "vault_addr": vault_server.url,
        "vault_token": TOKEN,
        "vault_ca_file": ca.ca_file,
        "http_ca_file": ca.ca_file,
    }
    values.update(extra)
    return load_settings(**values)


def _provider(settings: Settings, **kwargs: Any) -> VaultKeyProvider:
    return VaultKeyProvider(vault_client(settings), settings.vault_key_path, **kwargs)


def test_token_auth_reads_the_key(tmp_path: Path, vault_server: Running, ca: LoopbackCa) -> None:
    """With a token, hvac reads the current key, its age and version over TLS."""
    keys = _provider(_settings(tmp_path, vault_server, ca)).load()
    assert keys.current == Secret(OLD_KEY)
    assert keys.version == 1
    assert keys.age(datetime.now(UTC)) is not None
    assert OLD_KEY not in repr(keys)


def test_approle_auth_reads_the_key(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa
) -> None:
    """AppRole login yields a token that reads the key."""
    settings = _settings(
        tmp_path, vault_server, ca, vault_token=None, vault_role_id="role-1",
        vault_secret_id="secret-id-xyz",
    )
    assert _provider(settings).load().current == Secret(OLD_KEY)


def test_bad_credentials_are_a_secret_error(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa
) -> None:
    """A wrong token or AppRole secret is a SecretError that shows neither."""
    with pytest.raises(SecretError) as raised:
        _provider(_settings(tmp_path, vault_server, ca, vault_token="hvs.wrong-token")).load()
    assert "wrong-token" not in str(raised.value)
    with pytest.raises(SecretError):
        vault_client(_settings(
            tmp_path, vault_server, ca, vault_token=None, vault_role_id="role-1",
            vault_secret_id="bad-secret-id",
        ))


def test_rotation_keeps_previous_key_for_the_grace_window(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa, vault: FakeVault
) -> None:
    """Rotation writes version 2 with the old key usable for 24 h, and not after."""
    now = datetime(2026, 5, 1, tzinfo=UTC)
    provider = _provider(_settings(tmp_path, vault_server, ca), now=lambda: now)
    keys = provider.rotate(Secret(NEW_KEY))
    assert keys.version == 2
    assert keys.current == Secret(NEW_KEY)
    assert keys.previous == Secret(OLD_KEY)
    assert keys.previous_usable(now + timedelta(hours=23))
    assert not keys.previous_usable(now + timedelta(hours=24, seconds=1))
    assert len(vault.versions["makerates/exchangerate-api"]) == 2


def test_failed_rotation_is_an_alert(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa, vault: FakeVault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When Vault refuses the write, ``secrets rotate`` logs an error and exits 1."""
    vault.fail_writes = True
    settings = _settings(tmp_path, vault_server, ca)
    key_file = tmp_path / "new-key"
    key_file.write_text(NEW_KEY)
    secrets = next(c for c in commands if c.name == "secrets")
    with caplog.at_level(logging.ERROR):
        result = CliRunner().invoke(
            secrets, ["rotate", "--new-key-file", str(key_file)], obj=settings
        )
    assert result.exit_code == 1
    assert "KeyRotationError" in result.output
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert NEW_KEY not in result.output
    assert OLD_KEY not in result.output


def test_concurrent_rotation_loses_on_check_and_set(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa, vault: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rotation whose read is stale (someone wrote since) is refused, not overwritten."""
    provider = _provider(_settings(tmp_path, vault_server, ca))
    real_read = provider._read

    def stale_read() -> Any:
        found = real_read()
        vault.put("makerates/exchangerate-api", {"api_key": "other-rotator-key-1"})
        return found

    monkeypatch.setattr(provider, "_read", stale_read)
    with pytest.raises(KeyRotationError):
        provider.rotate(Secret(NEW_KEY))
    assert vault.versions["makerates/exchangerate-api"][-1]["api_key"] == "other-rotator-key-1"


def test_cli_rotate_then_status(tmp_path: Path, vault_server: Running, ca: LoopbackCa) -> None:
    """``secrets rotate`` then ``secrets status`` report the version, never the key."""
    settings = _settings(tmp_path, vault_server, ca)
    secrets = next(c for c in commands if c.name == "secrets")
    rotated = CliRunner().invoke(secrets, ["rotate"], obj=settings, input=f"{NEW_KEY}\n")
    assert rotated.exit_code == 0, rotated.output
    assert "version 2" in rotated.output
    status = CliRunner().invoke(secrets, ["status"], obj=settings)
    assert status.exit_code == 0, status.output
    assert "previous key usable: True" in status.output
    assert NEW_KEY not in rotated.output + status.output


def test_key_older_than_90_days_is_an_alert(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa, vault: FakeVault
) -> None:
    """A 91-day-old key makes ``secrets status`` exit 1 with KeyRotationError."""
    old = (datetime.now(UTC) - timedelta(days=91)).isoformat()
    vault.put("makerates/exchangerate-api", {"api_key": OLD_KEY, "created_at": old})
    secrets = next(c for c in commands if c.name == "secrets")
    result = CliRunner().invoke(secrets, ["status"], obj=_settings(tmp_path, vault_server, ca))
    assert result.exit_code == 1
    assert "KeyRotationError" in result.output


def test_ingest_uses_previous_key_only_in_grace_window(
    tmp_path: Path, vault_server: Running, ca: LoopbackCa, vault: FakeVault
) -> None:
    """After a rotation the provider rejecting the new key makes ingest retry with the old one."""
    router = Router()
    router.add(f"/v6/{NEW_KEY}/latest/USD", Reply(403, p.erapi_error("invalid-key")))
    router.add(f"/v6/{OLD_KEY}/latest/USD", Reply(body=p.ERAPI_LATEST))
    settings = _settings(tmp_path, vault_server, ca)
    _provider(settings).rotate(Secret(NEW_KEY))
    with serve(router, tls=ca.server_context()) as api:
        lake = open_lake(settings.replace(exchangerate_api_url=api.url))
        report = ingest(lake, ["USD"], sources=["exchangerate-api"])
        assert report.run.results[0].answered_by == "exchangerate-api"
        rows = sorted(lake.bronze().scan().to_arrow().to_pylist(), key=lambda r: r["retry_attempt"])
        assert [r["error_code"] for r in rows] == ["invalid-key", None]
        assert [r["retry_attempt"] for r in rows] == [0, 1]
        # Past the grace window the old key is no longer offered.
        data = dict(vault.versions["makerates/exchangerate-api"][-1])
        data["previous_valid_until"] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        vault.put("makerates/exchangerate-api", data)
        with pytest.raises(Exception, match="every tier failed"):
            ingest(lake, ["USD"], sources=["exchangerate-api"])
    assert [s.path for s in api.seen].count(f"/v6/{OLD_KEY}/latest/USD") == 1
