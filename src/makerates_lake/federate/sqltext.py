"""DuckDB statements built from lake metadata and settings (pure; no connection).

Everything that reaches SQL text goes through :func:`literal` or :func:`identifier`,
because DuckDB's ``CREATE VIEW``/``ATTACH``/``CREATE SECRET`` take no bound parameters.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

PG_ALIAS: Final = "pg"
"""Name under which the publish PostgreSQL database is attached."""

AT_SUFFIX: Final = "_at"
"""``gold.fact_rate_at(<snapshot id>)`` reads ``gold.fact_rate`` as of that snapshot."""

S3_SECRET_NAME: Final = "makerates_s3"  # noqa: S105 - the secret's name, not its value


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


def attach_postgres(dsn: str) -> str:
    """Attach the publish database read-only as :data:`PG_ALIAS`."""
    return f"ATTACH {literal(dsn)} AS {identifier(PG_ALIAS)} (TYPE postgres, READ_ONLY)"
