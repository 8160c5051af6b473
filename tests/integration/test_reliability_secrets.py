"""Secrets and transport: no secret stored or shown anywhere; TLS rules and pinning.

One run on the production layout (PostgreSQL catalog, S3 with the WORM bronze bucket,
a PostgreSQL publish target) reads the ExchangeRate-API key from a (fake, HTTPS) Vault,
ingests with it (a failed attempt, a retry and a success), backfills, transforms,
publishes, verifies, and provokes errors that carry the key's URL or a wrong token.
A scan then proves neither the key nor the Vault token appears in any warehouse file
(Parquet and manifests decoded), the catalog database, the published tables, the logs
or any command output and exception text. Transport rules are checked alongside: TLS
below 1.3 and plain http are refused unless http to loopback is explicitly allowed, and
certificate pinning (issue 20) lets a pinned host through only with a key it names.

Keys that hostile providers echo back are in ``test_reliability_secrets_echo.py``.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from makerates_lake.cli import main
from makerates_lake.errors import MakeratesError
from makerates_lake.extract.jobs import ingest
from makerates_lake.settings import Settings
from makerates_lake.store.catalog import Lake, open_lake
from tests.conftest import S3_SECRET
from tests.integration.bronze_helpers import all_stored_bytes
from tests.integration.echo_providers import API_KEY, other_pin, pinned_server
from tests.integration.extract_servers import (
    FakeVault,
    LoopbackCa,
    Reply,
    Router,
    Running,
    make_ca,
    serve,
)
from tests.integration.reliability_helpers import SAMPLE_ZIP, settings_env
from tests.unit.extract import payloads

pytestmark = pytest.mark.integration

VAULT_TOKEN = "hvs.TOKEN-SECRET-0b7a6c2e91d8"
SECRETS = (API_KEY, VAULT_TOKEN, S3_SECRET)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA for the loopback HTTPS servers."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def vault(ca: LoopbackCa) -> Iterator[Running]:
    """A fake Vault over HTTPS holding the API key."""
    fake = FakeVault(VAULT_TOKEN)
    created = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    fake.put("makerates/exchangerate-api", {"api_key": API_KEY, "created_at": created})
    with serve(fake, tls=ca.server_context()) as running:
        yield running


@pytest.fixture
def provider(ca: LoopbackCa) -> Iterator[Running]:
    """ExchangeRate-API on loopback: USD fails once then answers; EUR always fails."""
    router = Router()
    router.add(
        f"/v6/{API_KEY}/latest/USD",
        [Reply(503, b"busy", content_type="text/plain"), Reply(body=payloads.ERAPI_LATEST)],
    )
    router.add(f"/v6/{API_KEY}/latest/EUR", Reply(500, b"upstream broke"))
    with serve(router, tls=ca.server_context()) as running:
        yield running


def _published_text(dsn: str) -> str:
    """Every row of every table and view in the publish schema, as text."""
    with psycopg.connect(dsn) as conn:
        names = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'makerates'"
        ).fetchall()
        chunks = [
            repr(conn.execute(f'SELECT * FROM makerates."{name}"').fetchall()) for (name,) in names
        ]
    assert chunks, "nothing was published"
    return "\n".join(chunks)


def _settings(
    base: Settings, provider: Running, vault: Running, ca: LoopbackCa, dsn: str
) -> Settings:
    return base.replace(
        exchangerate_api_url=provider.url,
        vault_addr=vault.url,
        vault_token=VAULT_TOKEN,
        vault_ca_file=ca.ca_file,
        http_ca_file=ca.ca_file,
        publish_dsn=dsn,
    )


def test_no_secret_anywhere_after_a_full_run(
    pg_s3_settings: Settings,
    pg_database: str,
    provider: Running,
    vault: Running,
    ca: LoopbackCa,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """API key and Vault token appear in no file, catalog row, published row, log or error."""
    caplog.set_level(logging.DEBUG)
    settings = _settings(pg_s3_settings, provider, vault, ca, pg_database)
    env = settings_env(settings)
    runner = CliRunner()
    outputs: list[str] = []

    def run(*args: str, expect: int = 0) -> None:
        result = runner.invoke(main, ["-vv", *args], env=env)
        outputs.append(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception) + str(result.exception))
        assert result.exit_code == expect, result.output

    run("ingest", "--source", "exchangerate-api", "--base", "USD")
    run("ingest", "--source", "exchangerate-api", "--base", "EUR", expect=1)  # error has the URL
    run("backfill", "ecb", "--file", str(SAMPLE_ZIP))
    run("transform")
    run("publish", "--days", "30")
    run("audit", "verify")
    # A wrong token: the error must not echo it (nor the right one).
    bad = settings_env(settings.replace(vault_token="hvs.WRONG-" + VAULT_TOKEN))
    wrong = runner.invoke(main, ["ingest", "--source", "exchangerate-api"], env=bad)
    assert wrong.exit_code == 1
    outputs.append(wrong.output)

    lake = open_lake(settings)
    assert len(lake.bronze().scan().to_arrow()) >= 4  # failure, retry, EUR failures, backfill
    stored = all_stored_bytes(lake)
    published = _published_text(pg_database)
    texts = {
        "warehouse files and catalog": stored.decode("utf-8", "replace"),
        "published tables": published,
        "logs": caplog.text + "".join(repr(r.__dict__) for r in caplog.records),
        "command output and errors": "\n".join(outputs),
    }
    for secret in SECRETS:
        assert secret.encode() not in stored
        for where, text in texts.items():
            assert secret not in text, f"{secret[:6]}... leaked into {where}"
    assert "[REDACTED]" in texts["warehouse files and catalog"]  # the key's URL was stored


@pytest.fixture
def tls12_source(ca: LoopbackCa) -> Iterator[Running]:
    """open.er-api on a server that speaks TLS 1.2 at most."""
    router = Router()
    router.add("/v6/latest/USD", Reply(body=payloads.OPEN_ER_LATEST))
    with serve(router, tls=ca.server_context(max_tls=ssl.TLSVersion.TLSv1_2)) as running:
        yield running


@pytest.fixture
def http_source() -> Iterator[Running]:
    """open.er-api over plain http on loopback."""
    router = Router()
    router.add("/v6/latest/USD", Reply(body=payloads.OPEN_ER_LATEST))
    with serve(router) as running:
        yield running


def _ok_rows(lake: Lake) -> int:
    rows = lake.bronze().scan().to_arrow().to_pylist()
    return sum(1 for r in rows if r["http_status_code"] == 200)


def test_tls_below_1_3_is_refused(
    embedded_settings: Settings, tls12_source: Running, ca: LoopbackCa
) -> None:
    """A TLS 1.2-only source is refused: exit 1, no successful row, the server saw nothing."""
    settings = embedded_settings.replace(open_er_api_url=tls12_source.url, http_ca_file=ca.ca_file)
    result = CliRunner().invoke(
        main, ["ingest", "--source", "open-er-api"], env=settings_env(settings)
    )
    assert result.exit_code == 1, result.output
    assert "tls" in result.output.lower() or "ssl" in result.output.lower()
    assert _ok_rows(open_lake(settings)) == 0
    assert tls12_source.seen == []


def test_plain_http_is_refused_unless_allowed_for_loopback(
    embedded_settings: Settings, http_source: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain http: refused by the CLI; allowed only with allow_insecure_loopback on loopback."""
    settings = embedded_settings.replace(open_er_api_url=http_source.url)
    result = CliRunner().invoke(
        main, ["ingest", "--source", "open-er-api"], env=settings_env(settings)
    )
    assert result.exit_code == 1, result.output
    assert "insecure-transport" in result.output
    assert http_source.seen == []
    lake = open_lake(settings)
    assert _ok_rows(lake) == 0

    ingest(lake, ["USD"], sources=["open-er-api"], allow_insecure_loopback=True)
    assert _ok_rows(lake) == 1
    # The loopback exception never extends to other hosts. Name resolution is disabled so
    # that, were the rule broken, nothing would leave this machine: the test fails instead.
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a non-loopback http source was contacted")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    remote = settings.replace(open_er_api_url="http://rates.example.invalid")
    with pytest.raises(MakeratesError):
        ingest(open_lake(remote), ["USD"], sources=["open-er-api"], allow_insecure_loopback=True)
    assert _ok_rows(lake) == 1


# --- certificate pinning ------------------------------------------------------------------


@pytest.fixture
def pinned(ca: LoopbackCa) -> Iterator[tuple[Running, str]]:
    """open.er-api on a server with its own key, reached as ``localhost``; and its pin."""
    context, pin = pinned_server(ca)
    router = Router()
    router.add("/v6/latest/USD", Reply(body=payloads.OPEN_ER_LATEST))
    with serve(router, tls=context) as running:
        yield running, pin


@pytest.fixture
def unpinned_fallback(ca: LoopbackCa) -> Iterator[Running]:
    """Frankfurter on another server, reached as ``127.0.0.1`` (no pins for that host)."""
    router = Router()
    router.add("/v1/latest", Reply(body=payloads.FRANKFURTER_V1_LATEST))
    with serve(router, tls=ca.server_context()) as running:
        yield running


def _pinned_ingest(
    lake: Lake, pinned: Running, fallback: Running, ca: LoopbackCa, pins: str | None
) -> tuple[str | None, list[dict[str, object]]]:
    settings = lake.settings.replace(
        open_er_api_url=pinned.url.replace("127.0.0.1", "localhost"),
        frankfurter_url=fallback.url,
        http_ca_file=ca.ca_file,
        http_pins=pins,
    )
    report = ingest(open_lake(settings), ["USD"], sources=["open-er-api", "frankfurter"])
    rows = lake.bronze(refresh=True).scan().to_arrow().to_pylist()
    primary_first = sorted(rows, key=lambda r: r["source_tier"] != "primary")
    return report.run.results[0].answered_by, primary_first


@pytest.mark.parametrize(
    "which", ["right", "backup", "none", "other-host"], ids=lambda w: f"pins-{w}"
)
def test_a_matching_pin_or_no_pin_lets_the_request_through(
    lake: Lake,
    pinned: tuple[Running, str],
    unpinned_fallback: Running,
    ca: LoopbackCa,
    which: str,
) -> None:
    """The right pin, a backup pin beside a stale one, or no pin for the host: as today."""
    server, pin = pinned
    pins = {
        "right": f"localhost={pin}",
        "backup": f"localhost={other_pin('retired key')},{pin}",
        "none": None,
        "other-host": f"rates.example={other_pin('x')}",
    }[which]
    answered_by, rows = _pinned_ingest(lake, server, unpinned_fallback, ca, pins)
    assert answered_by == "open-er-api"
    assert [(r["source_name"], r["error_code"]) for r in rows] == [("open-er-api", None)]
    assert len(server.seen) == 1


def test_a_wrong_pin_refuses_before_sending_records_it_and_fails_over(
    lake: Lake, pinned: tuple[Running, str], unpinned_fallback: Running, ca: LoopbackCa
) -> None:
    """A key matching no pin: nothing sent, a certificate-pin-mismatch row, the next tier."""
    server, pin = pinned
    wrong = f"localhost={other_pin('attacker key')}; 127.0.0.2={pin}"
    answered_by, rows = _pinned_ingest(lake, server, unpinned_fallback, ca, wrong)
    assert server.seen == []  # refused after the handshake, before any request byte
    assert answered_by == "frankfurter"
    primary, fallback = rows
    assert primary["error_code"] == "certificate-pin-mismatch"
    assert primary["http_status_code"] is None
    assert primary["raw_response"] == b""
    assert primary["retry_attempt"] == 0  # not retried: a retry cannot change the key
    assert "pins configured for localhost" in str(primary["error_message"])
    assert pin.removeprefix("sha256/") in str(primary["error_message"])  # what was presented
    assert (fallback["source_name"], fallback["error_code"]) == ("frankfurter", None)


def test_a_malformed_pin_is_a_config_error_naming_the_key(embedded_settings: Settings) -> None:
    """A pin without its prefix or of the wrong size is refused when settings load."""
    for bad in ("localhost=abc", "localhost=sha256/AAAA", "=sha256/" + "A" * 43 + "="):
        with pytest.raises(MakeratesError, match="http_pins"):
            embedded_settings.replace(http_pins=bad)
