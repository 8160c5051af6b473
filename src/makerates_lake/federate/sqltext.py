"""DuckDB statements built from lake metadata and settings (pure; no connection).

Everything that reaches SQL text goes through :func:`literal` or :func:`identifier`,
because DuckDB's ``CREATE VIEW``/``ATTACH``/``CREATE SECRET`` take no bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

PG_ALIAS: Final = "pg"
"""Name under which the publish PostgreSQL database is attached."""

AT_SUFFIX: Final = "_at"
"""``gold.fact_rate_at(<snapshot id>)`` reads ``gold.fact_rate`` as of that snapshot."""

S3_SECRET_NAME: Final = "makerates_s3"  # noqa: S105 - the secret's name, not its value

PG_SECRET_NAME: Final = "makerates_pg"  # noqa: S105 - the secret's name, not its value
"""DuckDB secret that carries the publish DSN's password while it is attached."""

PG_SECRET_FIELDS: Final = ("password", "sslpassword", "oauth_client_secret")
"""libpq options that are secrets and that DuckDB redacts in a postgres secret.

They go into :data:`PG_SECRET_NAME`, never into the ATTACH path: DuckDB shows that path
to anyone who queries ``duckdb_databases()``.
"""

_PG_UNREDACTED_SECRETS: Final = ("scram_client_key", "scram_server_key")
"""libpq secrets DuckDB would show both in the ATTACH path and in ``duckdb_secrets()``."""


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def qualified(namespace: str, name: str) -> str:
    """``"namespace"."name"``."""
    return f"{identifier(namespace)}.{identifier(name)}"


def iceberg_scan(metadata_location: str, snapshot_id: int | None = None) -> str:
    """``iceberg_scan`` of one metadata file, at a snapshot when given."""
    if snapshot_id is None:
        return f"iceberg_scan({literal(metadata_location)})"
    return f"iceberg_scan({literal(metadata_location)}, snapshot_from_id = {int(snapshot_id)})"


def create_view(
    namespace: str, name: str, metadata_location: str, snapshot_id: int | None, *, empty: bool
) -> str:
    """A view of a table at a snapshot; ``empty`` for a time before its first snapshot."""
    body = f"SELECT * FROM {iceberg_scan(metadata_location, None if empty else snapshot_id)}"
    if empty:
        body += " LIMIT 0"
    return f"CREATE OR REPLACE VIEW {qualified(namespace, name)} AS {body}"


def create_at_macro(namespace: str, name: str, metadata_location: str) -> str:
    """Table macro ``<namespace>.<name>_at(snapshot_id)``: time travel by snapshot id."""
    scan = f"iceberg_scan({literal(metadata_location)}, snapshot_from_id = snapshot_id)"
    return (
        f"CREATE OR REPLACE MACRO {qualified(namespace, name + AT_SUFFIX)}(snapshot_id) "
        f"AS TABLE SELECT * FROM {scan}"
    )


def create_s3_secret(
    endpoint: str | None, key_id: str | None, secret: str | None, region: str
) -> str:
    """``CREATE SECRET`` for S3/MinIO: ``ENDPOINT host:port``, path-style URLs.

    Args:
        endpoint: ``http(s)://host:port``; None for AWS itself.
        key_id: Access key id.
        secret: Secret access key (goes into the statement only, never into a message).
        region: Region name.
    """
    parts = ["TYPE S3", f"REGION {literal(region)}"]
    if key_id:
        parts.append(f"KEY_ID {literal(key_id)}")
    if secret:
        parts.append(f"SECRET {literal(secret)}")
    if endpoint:
        url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        parts += [
            f"ENDPOINT {literal(url.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {str(url.scheme == 'https').lower()}",
        ]
    return f"CREATE OR REPLACE SECRET {identifier(S3_SECRET_NAME)} ({', '.join(parts)})"


def split_postgres_dsn(dsn: str) -> tuple[str, dict[str, str]]:
    """Split a libpq DSN into its connection string without secrets, and its secrets.

    The DuckDB postgres extension puts a secret's fields *before* the ATTACH path, so the
    path must be ``key=value`` text (a URI after them is not valid libpq), and an option
    in the path overrides the same option in the secret.

    Args:
        dsn: A libpq DSN, URI (``postgresql://user:pw@host/db``) or ``key=value`` form.

    Returns:
        The ``key=value`` connection string holding none of :data:`PG_SECRET_FIELDS`, and
        those of them the DSN sets (empty when it has no password).

    Raises:
        ValueError: The DSN cannot be parsed, or holds a secret DuckDB would not redact.
            The message never quotes the DSN, which may be the secret itself.
    """
    from psycopg import Error as PsycopgError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        options = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except PsycopgError:
        # psycopg's message may echo a piece of the DSN (a password included).
        raise ValueError("the DSN is not a valid libpq connection string") from None
    unredacted = sorted(set(options) & set(_PG_UNREDACTED_SECRETS))
    if unredacted:
        raise ValueError(f"the DSN sets {', '.join(unredacted)}, which DuckDB would show")
    secrets: dict[str, str] = {n: options.pop(n) for n in PG_SECRET_FIELDS if n in options}
    return make_conninfo("", **options), secrets


def create_postgres_secret(secrets: Mapping[str, str]) -> str:
    """``CREATE SECRET`` :data:`PG_SECRET_NAME` holding the DSN's secret options.

    Args:
        secrets: Options from :func:`split_postgres_dsn` (values go into the statement
            only, never into a message).
    """
    parts = ["TYPE postgres"] + [f"{name.upper()} {literal(secrets[name])}" for name in secrets]
    return f"CREATE OR REPLACE SECRET {identifier(PG_SECRET_NAME)} ({', '.join(parts)})"


def drop_postgres_secret() -> str:
    """Drop :data:`PG_SECRET_NAME`; an attached database keeps its resolved connection."""
    return f"DROP SECRET IF EXISTS {identifier(PG_SECRET_NAME)}"


def attach_postgres(conninfo: str, *, with_secret: bool) -> str:
    """Attach the publish database read-only as :data:`PG_ALIAS`.

    Args:
        conninfo: The secret-free ``key=value`` string from :func:`split_postgres_dsn`;
            DuckDB shows it as the database's path.
        with_secret: Read the secret options from :data:`PG_SECRET_NAME`.
    """
    secret = f", SECRET {identifier(PG_SECRET_NAME)}" if with_secret else ""
    return (
        f"ATTACH {literal(conninfo)} AS {identifier(PG_ALIAS)} (TYPE postgres{secret}, READ_ONLY)"
    )
