"""The publish DSN's password never shows in DuckDB: not in databases, secrets or settings.

DuckDB shows an ATTACH path in ``duckdb_databases()``; the federation layer therefore
attaches the DSN without its password and hands the password over in a DuckDB secret.
These tests run against a PostgreSQL of their own whose role must give its password
(scram-sha-256), so a query through ``pg`` proves the password still reached the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import duckdb
import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import makerates_lake as mr
from makerates_lake import federate
from makerates_lake.cli.federate import sql_command
from makerates_lake.federate import sqltext
from makerates_lake.federate.errors import AttachError
from makerates_lake.settings import Settings
from tests.services import PostgresServer, ServiceStartError

pytestmark = pytest.mark.integration

ROLE = "makerates_reader"
DATABASE = "published"
PASSWORD = "Pg-Zq7x 'quoted' back\\slash=%"
"""Distinctive, and with every character a DSN or SQL literal must escape."""
LEAKS = ("Pg-Zq7x", quote(PASSWORD, safe=""))
"""The password's start, and its percent-encoded URI spelling: neither may show anywhere."""


@pytest.fixture(scope="module")
def guarded_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL for this module only, where :data:`ROLE` must log in with its password.

    Always a new cluster (even when ``MAKERATES_TEST_PG_DSN`` names one): the shared
    test server trusts every local connection, and only a cluster of our own can have
    its ``pg_hba.conf`` changed. Not starting is a failure, never a skip.
    """
    try:
        server = PostgresServer.start()
    except ServiceStartError as exc:
        pytest.fail(f"the dedicated PostgreSQL could not start: {exc}", pytrace=False)
    hba = server.data_dir / "data" / "pg_hba.conf"
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n{hba.read_text()}")
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(PASSWORD)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(ROLE)
            )
        )
    with psycopg.connect(_key_value_dsn(server), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA makerates")
        conn.execute("CREATE TABLE makerates.canary AS SELECT 42 AS answer")
    yield server
    server.stop()


def _key_value_dsn(server: PostgresServer, password: str = PASSWORD) -> str:
    return make_conninfo(
        host="127.0.0.1", port=server.port, dbname=DATABASE, user=ROLE, password=password
    )


def _uri_dsn(server: PostgresServer) -> str:
    return f"postgresql://{ROLE}:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/{DATABASE}"


@pytest.fixture(params=["uri", "key-value"])
def dsn(request: pytest.FixtureRequest, guarded_postgres: PostgresServer) -> str:
    """The publish DSN in both spellings libpq accepts."""
    if request.param == "uri":
        return _uri_dsn(guarded_postgres)
    return _key_value_dsn(guarded_postgres)


def _assert_no_leak(cells: object) -> None:
    text = str(cells)
    for leak in LEAKS:
        assert leak not in text, f"the publish password shows in DuckDB output: {text}"


def test_password_is_required(guarded_postgres: PostgresServer) -> None:
    """The server refuses the role without its password: the attach below needs it."""
    no_password = make_conninfo(
        host="127.0.0.1", port=guarded_postgres.port, dbname=DATABASE, user=ROLE
    )
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(no_password).close()


def test_publish_password_shows_in_no_query_result(
    embedded_settings: Settings, guarded_postgres: PostgresServer, dsn: str
) -> None:
    """duckdb_databases/secrets/settings never hold the password; ``pg`` still answers."""
    lake = mr.open_lake(embedded_settings.replace(publish_dsn=dsn))
    for query in (
        "SELECT * FROM duckdb_databases()",
        "SELECT * FROM duckdb_secrets()",
        "SELECT * FROM duckdb_settings()",
    ):
        _assert_no_leak(lake.sql(query).rows())
    attached = lake.sql("SELECT path FROM duckdb_databases() WHERE database_name = 'pg'")
    assert conninfo_to_dict(attached.item()) == {
        "host": "127.0.0.1",
        "port": str(guarded_postgres.port),
        "dbname": DATABASE,
        "user": ROLE,
    }
    assert lake.sql("SELECT answer FROM pg.makerates.canary").rows() == [(42,)]


def test_cli_prints_no_password(embedded_settings: Settings, dsn: str) -> None:
    """``makerates sql`` over duckdb_databases() shows the attach without the password."""
    lake = mr.open_lake(embedded_settings.replace(publish_dsn=dsn))
    out = CliRunner().invoke(
        sql_command,
        ["SELECT database_name, path FROM duckdb_databases()", "--format", "csv"],
        obj=lake,
    )
    assert out.exit_code == 0, out.output
    assert "pg," in out.output
    _assert_no_leak(out.output)


def test_secret_is_gone_once_attached(embedded_settings: Settings, dsn: str) -> None:
    """No SQL can reuse the password: the secret is dropped, the attach keeps working.

    While it exists, DuckDB shows the secret's password redacted, and redaction cannot
    be turned off on a running database.
    """
    lake = mr.open_lake(embedded_settings.replace(publish_dsn=dsn))
    con = federate.connect(lake)
    try:
        names = con.execute("SELECT name FROM duckdb_secrets()").fetchall()
        assert ("makerates_pg",) not in names
        assert con.execute("SELECT answer FROM pg.makerates.canary").fetchall() == [(42,)]
        con.execute(sqltext.create_postgres_secret({"password": PASSWORD}))
        shown = con.execute(
            "SELECT secret_string FROM duckdb_secrets() WHERE name = 'makerates_pg'"
        ).fetchall()
        assert "password=redacted" in shown[0][0]
        _assert_no_leak(shown)
        with pytest.raises(duckdb.Error, match="allow_unredacted_secrets"):
            con.execute("SET allow_unredacted_secrets = true")
    finally:
        con.close()


def test_wrong_password_error_is_scrubbed(
    embedded_settings: Settings, guarded_postgres: PostgresServer
) -> None:
    """A refused password gives AttachError, and its message does not hold the password."""
    wrong = "Pg-Zq7x-wrong 'one'"
    lake = mr.open_lake(
        embedded_settings.replace(publish_dsn=_key_value_dsn(guarded_postgres, wrong))
    )
    with pytest.raises(AttachError) as raised:
        federate.connect(lake).close()
    assert "Pg-Zq7x" not in str(raised.value)
    assert "password authentication failed" in str(raised.value)


def test_dsn_without_password_needs_no_secret(
    embedded_settings: Settings, guarded_postgres: PostgresServer
) -> None:
    """A DSN without a password (trusted superuser) attaches as it is, with no secret."""
    base, _, _ = guarded_postgres.admin_dsn.rpartition("/")
    lake = mr.open_lake(embedded_settings.replace(publish_dsn=f"{base}/{DATABASE}"))
    con = federate.connect(lake)
    try:
        assert con.execute("SELECT answer FROM pg.makerates.canary").fetchall() == [(42,)]
        path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'pg'")
        assert conninfo_to_dict(str(path.fetchall()[0][0]))["dbname"] == DATABASE
    finally:
        con.close()
