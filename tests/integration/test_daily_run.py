"""``makerates run`` end to end: loopback HTTPS sources, a real PostgreSQL publish, the
lake on both layouts; each stage's effect and the exit code of a clean, a degraded and a
failed run; two runs started together; status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import psycopg
import pytest
from click.testing import CliRunner

from makerates_lake.cli.run import run_command, status_command
from makerates_lake.pipeline.runstate import read_state
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_FACT_RATE, SILVER_RATES
from tests.integration.extract_servers import LoopbackCa, Running, make_ca, serve
from tests.integration.run_helpers import (
    KEY,
    Switchable,
    Webhook,
    settings_env,
    sources_router,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "docs/status.schema.json").read_text())


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCa:
    """A CA made for this module."""
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def sources(ca: LoopbackCa) -> Iterator[tuple[Running, Switchable]]:
    """The loopback HTTPS sources, every tier answering at first."""
    app = Switchable(sources_router())
    with serve(app, tls=ca.server_context()) as running:
        yield running, app


def _source_settings(server: Running, ca: LoopbackCa) -> dict[str, Any]:
    return {
        "exchangerate_api_url": server.url,
        "open_er_api_url": server.url,
        "exchangerate_api_key": KEY,
        "extract_chain": "exchangerate-api,open-er-api",
        "http_ca_file": ca.ca_file,
        "http_connect_timeout_s": 3,
        "http_read_timeout_s": 5,
    }


def _count(lake: Lake, spec: Any) -> int:
    return len(lake.table(spec, refresh=True).scan().to_arrow())


def _published(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM makerates.rates_last_90_days").fetchone()
    return int(row[0]) if row else -1


def _run(lake: Lake) -> tuple[int, list[str]]:
    result = CliRunner().invoke(run_command, [], obj=lake)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.splitlines()


def _state(lines: list[str], stage: str) -> str:
    line = next(line for line in lines if line.startswith(f"{stage}: "))
    return line.split(": ")[1]


def test_run_clean_degraded_and_failed_with_every_stage_checked(
    lake_settings: Settings,
    pg_database: str,
    sources: tuple[Running, Switchable],
    ca: LoopbackCa,
) -> None:
    """Clean run: every stage does its work, exit 0; primary down: the fallback answers,
    exit 3; every tier down: exit 1 and an alert; nothing published twice."""
    server, app = sources
    with serve(hook := Webhook(), tls=ca.server_context()) as receiver:
        lake = open_lake(
            lake_settings.replace(
                publish_dsn=pg_database,
                alert_webhook_url=f"{receiver.url}/hook",
                alert_webhook_format="json",
                **_source_settings(server, ca),
            )
        )
        code, lines = _run(lake)
        assert code == 0, "\n".join(lines)
        assert [line.split(":")[0] for line in lines] == [
            "ingest", "transform", "checks", "publish", "maintain", "verify", "alerts",
        ]  # fmt: skip
        assert {_state(lines, s) for s in ("ingest", "transform", "checks", "publish")} == {"ok"}
        assert _state(lines, "maintain") == "ok"
        assert _state(lines, "verify") == "ok"
        assert _count(lake, BRONZE_EXTRACTIONS) == 2  # USD and EUR, primary answered
        assert _count(lake, SILVER_RATES) == 6  # three quotes each (the base to itself too)
        facts = _count(lake, GOLD_FACT_RATE)
        assert facts > 0
        assert _published(pg_database) > 0
        state = read_state(lake)
        assert state.last_compaction is not None
        assert state.last_expiry is not None
        assert state.last_verify is not None
        assert state.last_verify.ok
        assert hook.bodies == []

        app.router = sources_router(primary=False)
        code, lines = _run(lake)
        assert code == 3, "\n".join(lines)
        assert _state(lines, "ingest") == "degraded"
        assert "answered by open-er-api" in lines[0]
        assert "down: exchangerate-api" in lines[0]
        assert _state(lines, "maintain") == "skipped"  # compacted a moment ago: not due
        assert _state(lines, "verify") == "skipped"
        rows = lake.bronze().scan().to_arrow().to_pylist()
        tiers = Counter((r["source_name"], r["error_code"] is None) for r in rows)
        assert tiers[("exchangerate-api", True)] == 2
        assert tiers[("open-er-api", True)] == 2
        assert tiers[("exchangerate-api", False)] >= 2  # every attempt of both bases is a row
        assert hook.bodies == []  # a fallback answering is degraded, not an alert

        app.router = sources_router(primary=False, fallback=False)
        code, lines = _run(lake)
        assert code == 1, "\n".join(lines)
        assert _state(lines, "ingest") == "failed"
        assert _state(lines, "publish") == "ok"  # the view still shows the last good gold
        assert hook.events() == ["all_tiers_failed"]
        assert KEY not in hook.bodies[0].decode()


def _pg_catalog_settings(tmp_path: Path, pg_database: str, **extra: Any) -> Settings:
    return load_settings(
        home=tmp_path / "lake",
        catalog_uri=pg_database.replace("postgresql://", "postgresql+psycopg://", 1),
        warehouse=(tmp_path / "warehouse").as_uri(),
        **extra,
    )


def test_two_runs_started_together_on_postgres_one_runs_the_other_stops(
    tmp_path: Path, pg_database: str, ca: LoopbackCa
) -> None:
    """Two ``makerates run`` processes at once on a PostgreSQL catalog: one runs (exit 0),
    the other stops at once with exit 5 and the documented message; nothing doubled."""
    with serve(sources_router(delay_s=1.5), tls=ca.server_context()) as server:
        settings = _pg_catalog_settings(tmp_path, pg_database, **_source_settings(server, ca))
        open_lake(settings)  # tables exist before the race, as after `makerates init`
        env = {**os.environ, **settings_env(settings)}
        command = [sys.executable, "-c", "from makerates_lake.cli import main; main()", "run"]
        runs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outcomes = sorted((p.wait(timeout=180), *p.communicate()) for p in runs)
    (first, out, _), (second, _, err) = outcomes
    assert (first, second) == (0, 5), outcomes
    assert b"RunInProgressError: another `run` is running on this lake" in err
    assert out.count(b"ingest: ok") == 1
    lake = open_lake(settings)
    assert _count(lake, BRONZE_EXTRACTIONS) == 2
    assert _count(lake, SILVER_RATES) == 6


def test_status_json_matches_its_schema_and_the_seeded_facts(
    tmp_path: Path, pg_database: str, sources: tuple[Running, Switchable], ca: LoopbackCa
) -> None:
    """After a clean run: status JSON validates, names each source's last success, the
    publish and the verify; exit 0. After the primary fails: it needs attention, exit 3."""
    server, app = sources
    key_file = tmp_path / "erapi.key"
    key_file.write_text(KEY)
    settings = _pg_catalog_settings(tmp_path, pg_database, publish_dsn=pg_database,
                                    **_source_settings(server, ca))  # fmt: skip
    lake = open_lake(settings)
    assert _run(lake)[0] == 0
    result = CliRunner().invoke(status_command, ["--format", "json"], obj=lake)
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    jsonschema.validate(status, SCHEMA)
    assert status["ok"] is True
    assert status["attention"] == []
    bronze = lake.bronze().scan().to_arrow().to_pylist()
    newest = max(r["extraction_timestamp"] for r in bronze)
    by_source = {s["source"]: s for s in status["sources"]}
    assert by_source["exchangerate-api"]["last_success_at"] == newest.isoformat()
    assert by_source["exchangerate-api"]["failures_24h"] == 0
    assert by_source["open-er-api"]["last_attempt_at"] is None
    gold = lake.table(GOLD_FACT_RATE, refresh=True).current_snapshot()
    assert gold is not None
    assert status["publish"]["gold_snapshot_id"] == gold.snapshot_id
    assert status["verify"]["ok"] is True
    assert status["freshness"]["stale"] is False
    assert status["key"]["configured"] is True

    app.router = sources_router(primary=False)
    assert _run(lake)[0] == 3
    result = CliRunner().invoke(status_command, ["--format", "json"], obj=lake)
    assert result.exit_code == 3
    status = json.loads(result.output)
    jsonschema.validate(status, SCHEMA)
    failed = [
        r for r in lake.bronze().scan().to_arrow().to_pylist()
        if r["source_name"] == "exchangerate-api" and r["error_code"] is not None
    ]  # fmt: skip
    assert failed
    assert status["attention"] == [
        f"source exchangerate-api: the last attempt failed ({len(failed)} failures in 24 h)"
    ]


def test_log_format_json_writes_one_object_per_record_with_an_event(
    tmp_path: Path, ca: LoopbackCa
) -> None:
    """``makerates --log-format json -v run`` with every tier down: every log record on
    stderr is one JSON object with an event name (the alert, the tier failures, the end)."""
    with serve(sources_router(primary=False, fallback=False), tls=ca.server_context()) as server:
        settings = load_settings(home=tmp_path / "lake", **_source_settings(server, ca))
        env = {**os.environ, **settings_env(settings)}
        command = [sys.executable, "-c", "from makerates_lake.cli import main; main()"]
        done = subprocess.run(
            [*command, "--log-format", "json", "-v", "run"],
            env=env, capture_output=True, timeout=180, check=False,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.decode().splitlines() if line.strip()]
    assert not [line for line in lines if line.startswith(("WARNING ", "ERROR ", "INFO "))]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    events = {record["event"] for record in records}
    assert {"alert", "run_finished", "every_tier_failed"} <= events
    assert all({"time", "level", "logger", "event", "message"} <= set(r) for r in records)
    assert KEY not in done.stderr.decode()
