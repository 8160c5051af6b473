"""DuckDB statement text: quoting of identifiers and literals, views, secrets, attach."""

from __future__ import annotations

import duckdb
import pytest
from psycopg.conninfo import conninfo_to_dict

from makerates_lake.federate import sqltext


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("gold", '"gold"'), ('we"ird', '"we""ird"'), ("a b;--", '"a b;--"'), ("", '""')],
)
def test_identifier_doubles_quotes(name: str, quoted: str) -> None:
    """Identifiers are always double-quoted, with inner quotes doubled."""
    assert sqltext.identifier(name) == quoted


def test_literal_and_identifier_survive_duckdb_round_trip() -> None:
    """Hostile text comes back from DuckDB unchanged as a literal and as a column name."""
    hostile = "x'); DROP TABLE t; --\"y"
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {sqltext.literal(hostile)} AS {sqltext.identifier(hostile)}"
    ).to_arrow_table()
    assert row.column_names == [hostile]
    assert row.to_pylist() == [{hostile: hostile}]


def test_iceberg_scan_pins_snapshot_as_integer() -> None:
    """The snapshot id is rendered as an int and the path as a literal."""
    assert sqltext.iceberg_scan("s3://b/m.json") == "iceberg_scan('s3://b/m.json')"
    assert sqltext.iceberg_scan("/l/it's.json", 42) == (
        "iceberg_scan('/l/it''s.json', snapshot_from_id = 42)"
    )


def test_create_view_empty_ignores_snapshot() -> None:
    """A view for a time before the first snapshot reads no snapshot and no rows."""
    statement = sqltext.create_view("gold", "fact_rate", "/m.json", 7, empty=True)
    assert statement == (
        'CREATE OR REPLACE VIEW "gold"."fact_rate" AS '
        "SELECT * FROM iceberg_scan('/m.json') LIMIT 0"
    )
    pinned = sqltext.create_view("gold", "fact_rate", "/m.json", 7, empty=False)
    assert pinned.endswith("snapshot_from_id = 7)")


def test_at_macro_is_named_after_the_table() -> None:
    """``<table>_at(snapshot_id)`` is a quoted table macro over the fixed metadata file."""
    statement = sqltext.create_at_macro("gold", "fact_rate", "/m.json")
    assert statement.startswith('CREATE OR REPLACE MACRO "gold"."fact_rate_at"(snapshot_id)')
    assert "snapshot_from_id = snapshot_id" in statement


@pytest.mark.parametrize(
    ("endpoint", "netloc", "ssl"),
    [
        ("http://127.0.0.1:9000", "127.0.0.1:9000", "false"),
        ("https://minio.example:443", "minio.example:443", "true"),
        ("minio:9000", "minio:9000", "false"),
    ],
)
def test_s3_secret_statement(endpoint: str, netloc: str, ssl: str) -> None:
    """Endpoint host:port, path-style URLs and SSL follow the endpoint's scheme."""
    statement = sqltext.create_s3_secret(endpoint, "key", "se'cret", "eu-west-1")
    assert f"ENDPOINT '{netloc}'" in statement
    assert f"USE_SSL {ssl}" in statement
    assert "SECRET 'se''cret'" in statement
    assert "URL_STYLE 'path'" in statement


def test_s3_secret_without_endpoint_or_keys() -> None:
    """AWS itself: only the region, no endpoint, no key material."""
    statement = sqltext.create_s3_secret(None, None, None, "us-east-1")
    assert statement == ("CREATE OR REPLACE SECRET \"makerates_s3\" (TYPE S3, REGION 'us-east-1')")


PASSWORD = "pw-Zq7'x y\\z"
"""A distinctive password with a quote, a space and a backslash."""


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:pw-Zq7%27x%20y%5Cz@h:5433/db?application_name=it%27s",
        "host=h port=5433 dbname=db user=u password='pw-Zq7\\'x y\\\\z' application_name='it\\'s'",
    ],
    ids=["uri", "key-value"],
)
def test_split_dsn_keeps_the_password_out_of_the_attach(dsn: str) -> None:
    """Both DSN spellings give a key=value ATTACH path without the password."""
    conninfo, secrets = sqltext.split_postgres_dsn(dsn)
    assert secrets == {"password": PASSWORD}
    statement = sqltext.attach_postgres(conninfo, with_secret=True)
    assert "pw-Zq7" not in statement
    assert "password" not in statement.lower()
    assert conninfo_to_dict(conninfo) == {
        "host": "h",
        "port": "5433",
        "dbname": "db",
        "user": "u",
        "application_name": "it's",
    }
    assert statement == (
        f'ATTACH {sqltext.literal(conninfo)} AS "pg" '
        '(TYPE postgres, SECRET "makerates_pg", READ_ONLY)'
    )
    assert "''" in statement  # the quote libpq escaped is doubled as a SQL literal


def test_postgres_secret_quotes_every_secret_option() -> None:
    """Secret options go into CREATE SECRET as quoted literals, under their libpq names."""
    statement = sqltext.create_postgres_secret({"password": PASSWORD, "sslpassword": "k'ey"})
    assert statement == (
        'CREATE OR REPLACE SECRET "makerates_pg" (TYPE postgres, '
        f"PASSWORD {sqltext.literal(PASSWORD)}, SSLPASSWORD 'k''ey')"
    )
    assert sqltext.drop_postgres_secret() == 'DROP SECRET IF EXISTS "makerates_pg"'


def test_split_dsn_without_secrets_attaches_without_a_secret() -> None:
    """No password: no secret options, and the ATTACH names no secret."""
    conninfo, secrets = sqltext.split_postgres_dsn("postgresql://u@h/db")
    assert secrets == {}
    assert sqltext.attach_postgres(conninfo, with_secret=False) == (
        f'ATTACH {sqltext.literal(conninfo)} AS "pg" (TYPE postgres, READ_ONLY)'
    )


@pytest.mark.parametrize(
    "dsn",
    [
        "host=h password='pw-Zq7 unterminated",
        "postgresql://u:pw-Zq7@h/db?bogus=pw-Zq7",
        "host=h scram_client_key=pw-Zq7",
    ],
    ids=["unterminated", "unknown-option", "unredacted-secret"],
)
def test_split_dsn_errors_never_quote_the_dsn(dsn: str) -> None:
    """An unusable DSN is a ValueError whose message holds no part of it."""
    with pytest.raises(ValueError, match="the DSN") as raised:
        sqltext.split_postgres_dsn(dsn)
    assert "pw-Zq7" not in str(raised.value)
