"""DuckDB federation: views on both layouts, as-of, PostgreSQL attached, offline extensions."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from makerates_lake import federate
from makerates_lake import store as storage
from makerates_lake.cli.federate import sql_command
from makerates_lake.federate.extensions import EXTENSIONS, MANIFEST, load_offline, offline_config
from makerates_lake.publish import publish
from makerates_lake.settings import Settings
from makerates_lake.store.access_log import read_access_log
from makerates_lake.store.catalog import Lake, open_lake
from makerates_lake.store.refs import AsOf
from makerates_lake.store.tables import GOLD_FACT_RATE
from tests.conftest import S3_SECRET
from tests.integration.federate_publish_helpers import fill_gold

pytestmark = pytest.mark.integration


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_views_match_iceberg_on_both_layouts(lake: Lake, tmp_path: Path) -> None:
    """Every gold view returns what PyIceberg reads, on SQLite+local and PostgreSQL+S3."""
    fill_gold(lake)
    expected = lake.table(GOLD_FACT_RATE).scan().to_arrow().num_rows
    con = federate.connect(lake, extension_directory=tmp_path / "ext")
    assert _count(con, "SELECT count(*) FROM gold.fact_rate") == expected > 0
    assert _count(con, "SELECT count(*) FROM bronze.extractions") == 1
    assert "makerates-test" not in str(con.execute("FROM duckdb_secrets()").fetchall()) or (
        S3_SECRET not in str(con.execute("FROM duckdb_secrets()").fetchall())
    )


@pytest.fixture
def two_snapshots(embedded_settings: Settings, pg_database: str) -> tuple[Lake, int, int]:
    """Gold with two fact snapshots (the second without the last date), PostgreSQL set."""
    lake = open_lake(embedded_settings.replace(publish_dsn=pg_database))
    first = fill_gold(lake)
    facts = storage.read(lake, GOLD_FACT_RATE)
    last = facts.get_column("rate_date").max()
    second = storage.overwrite(lake, GOLD_FACT_RATE, facts.filter(facts["rate_date"] != last))
    assert second is not None
    return lake, first, second


def test_as_of_and_postgres_in_one_statement(two_snapshots: tuple[Lake, int, int]) -> None:
    """One statement joins an old gold snapshot with the published PostgreSQL view."""
    lake, first, _second = two_snapshots
    published = publish(lake, as_of=AsOf(snapshot_id=first), days=5)
    con = federate.connect(lake)
    matched = federate.run_sql(
        lake,
        f"SELECT count(*) AS n, count(*) FILTER (WHERE g.rate = p.rate) AS same "
        f"FROM pg.makerates.rates_last_90_days AS p JOIN gold.fact_rate_at({first}) AS g "
        f"USING (rate_date, base_currency, quote_currency) WHERE g.is_best",
        con=con,
    ).to_pylist()
    assert matched == [{"n": published.rows, "same": published.rows}]
    now = _count(con, "SELECT count(*) FROM gold.fact_rate")
    assert now < _count(con, f"SELECT count(*) FROM gold.fact_rate_at({first})")
    pinned = federate.connect(lake, as_of=AsOf(snapshot_id=first), attach_postgres=False)
    assert _count(pinned, "SELECT count(*) FROM gold.fact_rate") > now
    tagged = federate.connect(lake, as_of=AsOf(tag=published.tag), attach_postgres=False)
    assert _count(tagged, "SELECT max(snapshot_id) FROM makerates.views") == first
    entries = read_access_log(lake).to_pylist()
    sql_tables = {e["table_name"] for e in entries if e["action"] == "sql"}
    assert sql_tables == {"gold.fact_rate", "pg.makerates.rates_last_90_days"}


def test_as_of_view_resolves_times_like_the_cli(two_snapshots: tuple[Lake, int, int]) -> None:
    """as_of_view pins one table by time; a time before any snapshot gives an empty view."""
    lake, first, _second = two_snapshots
    con = federate.connect(lake, attach_postgres=False)
    table = lake.table(GOLD_FACT_RATE)
    # When main came to point at it (write-audit-publish commits on a branch first, so
    # that is later than the snapshot's own commit time): what a reader saw.
    first_time = next(e.timestamp_ms for e in table.metadata.snapshot_log if e.snapshot_id == first)
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(first_time / 1000, tz=UTC)
    assert federate.as_of_view(con, lake, "gold.fact_rate", AsOf(timestamp=moment), "f1") == first
    current = _count(con, "SELECT count(*) FROM gold.fact_rate")
    assert _count(con, "SELECT count(*) FROM f1") > current
    early = AsOf(timestamp=datetime(2000, 1, 1, tzinfo=UTC))
    assert federate.as_of_view(con, lake, "gold.fact_rate", early, "f0") is None
    assert _count(con, "SELECT count(*) FROM f0") == 0


def test_sql_command_formats_and_errors(embedded_lake: Lake) -> None:
    """`makerates sql` prints csv/json; a bad query prints QueryError and exits 1."""
    fill_gold(embedded_lake)
    runner = CliRunner()
    query = "SELECT base_currency, count(*) AS n FROM gold.fact_rate GROUP BY 1 ORDER BY 1 LIMIT 1"
    out = runner.invoke(sql_command, [query, "--format", "csv"], obj=embedded_lake)
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == "base_currency,n"
    bad = runner.invoke(sql_command, ["SELECT * FROM gold.nope"], obj=embedded_lake)
    assert bad.exit_code == 1
    assert bad.output.startswith("QueryError: ")


# --- offline: nothing may try to download an extension --------------------------------


@pytest.fixture
def canary() -> Iterator[tuple[str, list[str]]]:
    """An extension repository on loopback that records every request made to it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_no_extension_is_downloaded(
    embedded_lake: Lake, tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    """From an empty directory the four load from wheels; unknown ones fail fast, offline."""
    url, hits = canary
    directory = tmp_path / "empty-ext"
    con = federate.connect(embedded_lake, extension_directory=directory)
    loaded = dict(
        con.execute(
            "SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded "
            "AND install_path NOT LIKE '(BUILT-IN)'"
        ).fetchall()
    )
    assert set(loaded) == {"avro", "iceberg", "httpfs", "postgres_scanner"}
    assert all(path.startswith(str(directory)) for path in loaded.values())
    con.execute(f"SET custom_extension_repository = '{url}'")
    con.execute(f"SET autoinstall_extension_repository = '{url}'")
    started = time.monotonic()
    for statement in ("LOAD spatial", "SELECT st_point(1, 2)", "FROM read_xlsx('x.xlsx')"):
        with pytest.raises(duckdb.Error):
            con.execute(statement)
    assert time.monotonic() - started < 2
    assert hits == []
    # The canary works: a connection pointed at it does reach it on INSTALL.
    config: dict[str, str | bool | int | float | list[str]] = {
        "custom_extension_repository": url,
        "extension_directory": str(tmp_path / "p"),
    }
    plain = duckdb.connect(config=config)
    with pytest.raises(duckdb.Error):
        plain.execute("INSTALL spatial")
    assert hits


def test_second_connect_copies_nothing(embedded_lake: Lake, tmp_path: Path) -> None:
    """Only the first connect per directory installs; a changed hash forces a reinstall."""
    directory = tmp_path / "ext"
    federate.connect(embedded_lake, extension_directory=directory).close()
    manifest = directory / MANIFEST
    recorded = json.loads(manifest.read_text())
    assert set(recorded["extensions"]) == set(EXTENSIONS)
    con = duckdb.connect(config=offline_config(directory))
    assert load_offline(con, directory=directory) == []
    recorded["extensions"]["avro"]["sha256"] = "0" * 64
    recorded["extensions"]["avro"]["mtime_ns"] = 0
    manifest.write_text(json.dumps(recorded))
    con = duckdb.connect(config=offline_config(directory))
    assert load_offline(con, directory=directory) == ["avro"]
    assert json.loads(manifest.read_text())["extensions"]["avro"]["sha256"] != "0" * 64


def test_explicit_install_stays_local(embedded_lake: Lake, tmp_path: Path) -> None:
    """Even INSTALL typed into `makerates sql` looks in a local folder, not the internet."""
    con = federate.connect(embedded_lake, extension_directory=tmp_path / "ext")
    with pytest.raises(duckdb.IOException, match="local extension"):
        con.execute("INSTALL spatial")


def test_works_with_the_network_unshared(embedded_lake: Lake, tmp_path: Path) -> None:
    """In a network namespace with no interface up, connect() loads and queries."""
    unshare = shutil.which("unshare")
    probe = (
        None
        if unshare is None
        else subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    )
    if unshare is None or probe is None or probe.returncode != 0:
        reason = (
            "no unshare(1) on this machine (util-linux)"
            if probe is None
            else f"unshare --net is refused here: {probe.stderr.decode()[:200]}"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                f"CI must prove the offline guarantee, but {reason}; run as root or "
                "with CAP_SYS_ADMIN and install util-linux",
                pytrace=False,
            )
        pytest.skip(reason)
    assert unshare is not None
    fill_gold(embedded_lake)
    script = (
        "import sys; from makerates_lake.store.catalog import open_lake; "
        "from makerates_lake.settings import load_settings; from makerates_lake import federate; "
        f"lake = open_lake(load_settings(home={str(embedded_lake.settings.home)!r})); "
        f"ext = __import__('pathlib').Path({str(tmp_path / 'x')!r}); "
        "con = federate.connect(lake, extension_directory=ext); "
        "print(con.execute('SELECT count(*) FROM gold.fact_rate').fetchone()[0])"
    )
    done = subprocess.run(
        [unshare, "--net", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(lake_rows(embedded_lake))


def lake_rows(lake: Lake) -> int:
    """Rows of gold.fact_rate as PyIceberg reads them."""
    return int(lake.table(GOLD_FACT_RATE).scan().to_arrow().num_rows)
