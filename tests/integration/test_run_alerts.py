"""Alerts of the scheduled run, received by a loopback HTTPS webhook: exactly the expected
ones for each case, none holding a secret; an undeliverable alert shows in the exit code;
cross-source disagreement flagged at 5 % and not within the threshold."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli.audit import audit_group
from makerates_lake.cli.extract import secrets_group
from makerates_lake.cli.run import status_command
from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import Lake, open_lake
from tests.integration.extract_servers import FakeVault, LoopbackCa, Running, make_ca, serve
from tests.integration.run_helpers import (
    HOOK_TOKEN,
    KEY,
    RATES,
    Switchable,
    Webhook,
    sources_router,
)

pytestmark = pytest.mark.integration

PG_PASSWORD = "pg-pw-7e6d5c4b3a29"
VAULT_TOKEN = "hvs.vault-token-0a1b2c3d4e5f"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA made for this module."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def hook(ca: LoopbackCa) -> Iterator[tuple[Webhook, Running]]:
    """The webhook receiver on loopback HTTPS."""
    receiver = Webhook()
    with serve(receiver, tls=ca.server_context()) as running:
        yield receiver, running


def _lake(tmp_path: Path, ca: LoopbackCa, hook_url: str, sources: Running, **extra: Any) -> Lake:
    values: dict[str, Any] = {
        "home": tmp_path / "lake",
        "exchangerate_api_url": sources.url,
        "open_er_api_url": sources.url,
        "exchangerate_api_key": KEY,
        "extract_chain": "exchangerate-api,open-er-api",
        "http_ca_file": ca.ca_file,
        "http_connect_timeout_s": 3,
        "http_read_timeout_s": 5,
        "alert_webhook_url": f"{hook_url}/services/{HOOK_TOKEN}",
        "alert_webhook_format": "json",
        "run_bases": "USD",
    }
    values.update(extra)
    return open_lake(load_settings(**values))


def _no_secret_in(receiver: Webhook) -> None:
    for body in receiver.bodies:
        text = body.decode()
        for secret in (KEY, HOOK_TOKEN, PG_PASSWORD, VAULT_TOKEN):
            assert secret not in text


def test_every_tier_failed_is_one_alert(
    tmp_path: Path, ca: LoopbackCa, hook: tuple[Webhook, Running]
) -> None:
    """After a clean run, every tier down: exactly one all_tiers_failed alert, exit 1."""
    receiver, hook_server = hook
    app = Switchable(sources_router())
    with serve(app, tls=ca.server_context()) as src:
        lake = _lake(tmp_path, ca, hook_server.url, src)
        assert mr.run(lake).exit_code == 0
        app.router = sources_router(primary=False, fallback=False)
        report = mr.run(lake)
    assert report.exit_code == 1
    assert receiver.events() == ["all_tiers_failed"]
    assert b"USD" in receiver.bodies[0]
    _no_secret_in(receiver)


def test_stale_data_is_one_alert(
    tmp_path: Path, ca: LoopbackCa, hook: tuple[Webhook, Running]
) -> None:
    """Sources answering with a rate ten days old: one data_stale alert, exit 3."""
    receiver, hook_server = hook
    old = datetime.now(UTC) - timedelta(days=10)
    with serve(sources_router(when=old), tls=ca.server_context()) as src:
        report = mr.run(_lake(tmp_path, ca, hook_server.url, src))
    assert report.exit_code == 3
    assert receiver.events() == ["data_stale"]
    _no_secret_in(receiver)


def test_overdue_key_is_one_alert(
    tmp_path: Path, ca: LoopbackCa, hook: tuple[Webhook, Running]
) -> None:
    """A key file last changed 100 days ago: one key_rotation_overdue alert, exit 3; the
    data is still ingested."""
    receiver, hook_server = hook
    key_file = tmp_path / "erapi.key"
    key_file.write_text(KEY)
    old = time.time() - 100 * 86400
    os.utime(key_file, (old, old))
    with serve(sources_router(), tls=ca.server_context()) as src:
        lake = _lake(tmp_path, ca, hook_server.url, src, exchangerate_api_key=None,
                     exchangerate_api_key_file=key_file)  # fmt: skip
        report = mr.run(lake)
    assert report.exit_code == 3
    assert receiver.events() == ["key_rotation_overdue"]
    assert report.stage("transform") is not None
    _no_secret_in(receiver)


def test_failed_publish_is_one_alert(
    tmp_path: Path, ca: LoopbackCa, hook: tuple[Webhook, Running]
) -> None:
    """A publish database that refuses connections: one publish_failed alert, exit 1, and
    the DSN's password appears nowhere."""
    receiver, hook_server = hook
    dsn = f"postgresql://publisher:{PG_PASSWORD}@127.0.0.1:9/makerates"  # nothing listens on 9
    with serve(sources_router(), tls=ca.server_context()) as src:
        report = mr.run(_lake(tmp_path, ca, hook_server.url, src, publish_dsn=dsn))
    assert report.exit_code == 1
    assert receiver.events() == ["publish_failed"]
    assert PG_PASSWORD not in "\n".join(report.lines())
    _no_secret_in(receiver)


def test_tampered_bronze_found_by_verify_is_one_alert(
    tmp_path: Path, ca: LoopbackCa, hook: tuple[Webhook, Running]
) -> None:
    """A bronze body rewritten after a clean run: the whole-lake ``audit verify`` fails,
    sends one verify_failed alert naming the row, and status shows the failed verify."""
    receiver, hook_server = hook
    with serve(sources_router(), tls=ca.server_context()) as src:
        lake = _lake(tmp_path, ca, hook_server.url, src)
        assert mr.run(lake).exit_code == 0
    path = next(iter(lake.bronze().scan().plan_files())).file.file_path
    local = path.removeprefix("file://")
    table = pq.read_table(local)
    bodies = [b.replace(b"0.9083", b"0.9999") for b in table.column("raw_response").to_pylist()]
    index = table.schema.get_field_index("raw_response")
    pq.write_table(table.set_column(index, table.schema.field(index),
                                    pa.array(bodies, pa.binary())), local)  # fmt: skip
    result = CliRunner().invoke(audit_group, ["verify"], obj=lake)
    assert result.exit_code == 1, result.output
    assert receiver.events() == ["verify_failed"]
    assert b"tampered" in receiver.bodies[0]
    status = CliRunner().invoke(status_command, ["--format", "json"], obj=lake)
    assert status.exit_code == 3
    assert json.loads(status.output)["verify"]["ok"] is False
    _no_secret_in(receiver)


def test_failed_key_rotation_is_one_alert(
    tmp_path: Path, ca: LoopbackCa, hook: tuple[Webhook, Running]
) -> None:
    """``makerates secrets rotate`` against a Vault that refuses the write: exit 1 and one
    key_rotation_failed alert without the new key or the token."""
    receiver, hook_server = hook
    vault = FakeVault(VAULT_TOKEN)
    vault.put("makerates/exchangerate-api", {"api_key": KEY})
    vault.fail_writes = True
    new_key = tmp_path / "new.key"
    new_key.write_text("n3w-key-1a2b3c4d5e6f7a8b")
    with serve(vault, tls=ca.server_context()) as vault_server:
        settings = load_settings(
            home=tmp_path / "lake",
            vault_addr=vault_server.url,
            vault_token=VAULT_TOKEN,
            vault_ca_file=ca.ca_file,
            http_ca_file=ca.ca_file,
            alert_webhook_url=f"{hook_server.url}/services/{HOOK_TOKEN}",
            alert_webhook_format="json",
        )
        result = CliRunner().invoke(
            secrets_group, ["rotate", "--new-key-file", str(new_key)], obj=settings
        )
    assert result.exit_code == 1, result.output
    assert receiver.events() == ["key_rotation_failed"]
    assert b"n3w-key" not in receiver.bodies[0]
    _no_secret_in(receiver)


def test_undeliverable_alert_is_logged_and_in_the_exit_code(
    tmp_path: Path, ca: LoopbackCa, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook answering 503 every time: retried, then logged as undelivered; a run that
    was only degraded exits 4 instead of 3. Slack-format bodies carry a text field."""
    receiver = Webhook(statuses=[503])
    old = datetime.now(UTC) - timedelta(days=10)
    with (
        serve(receiver, tls=ca.server_context()) as hook_server,
        serve(sources_router(when=old), tls=ca.server_context()) as src,
    ):
        lake = _lake(tmp_path, ca, hook_server.url, src, alert_webhook_format="slack",
                     alert_retry_attempts=3)  # fmt: skip
        report = mr.run(lake)
    assert report.exit_code == 4
    assert report.delivery.undelivered == ["data_stale"]
    assert len(receiver.bodies) == 3
    assert "data_stale" in json.loads(receiver.bodies[0])["text"]
    undelivered = [r for r in caplog.records if r.getMessage() == "alert could not be delivered"]
    assert len(undelivered) == 1
    assert HOOK_TOKEN not in caplog.text
    _no_secret_in(receiver)


@pytest.mark.parametrize(("fallback_usd_eur", "flagged"), [("0.953715", True), ("0.9101", False)])
def test_two_sources_disagreeing_by_five_percent_are_flagged(
    tmp_path: Path,
    ca: LoopbackCa,
    hook: tuple[Webhook, Running],
    fallback_usd_eur: str,
    flagged: bool,
) -> None:
    """Two sources 5 % apart on USD/EUR the same day: flagged by the run (one alert) and
    listed by ``audit disagreements`` with both values and both extraction ids; 0.2 %
    apart (within the 2 % default): neither."""
    receiver, hook_server = hook
    other = {"USD": {**RATES["USD"], "EUR": fallback_usd_eur}, "EUR": RATES["EUR"]}
    with serve(sources_router(fallback_rates=other), tls=ca.server_context()) as src:
        lake = _lake(tmp_path, ca, hook_server.url, src)
        mr.run(lake, sources=["open-er-api"])
        report = mr.run(lake, sources=["exchangerate-api"])
    assert receiver.events() == (["cross_source_disagreement"] if flagged else [])
    assert report.exit_code == (3 if flagged else 0)
    today = datetime.now(UTC).date().isoformat()
    result = CliRunner().invoke(
        audit_group,
        ["disagreements", "--from", today, "--to", today, "--format", "json"],
        obj=lake,
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    if not flagged:
        assert rows == []
        return
    (row,) = rows
    bronze = lake.bronze().scan().to_arrow().to_pylist()
    ids = {r["source_name"]: r["extraction_id"] for r in bronze}
    assert row["base_currency"] == "USD"
    assert row["quote_currency"] == "EUR"
    assert (row["source_a"], row["rate_a"]) == ("exchangerate-api", "0.9083")
    assert (row["source_b"], row["rate_b"]) == ("open-er-api", fallback_usd_eur)
    assert row["extraction_id_a"] == ids["exchangerate-api"]
    assert row["extraction_id_b"] == ids["open-er-api"]
    assert row["relative_difference"] == "0.050000"
    _no_secret_in(receiver)
