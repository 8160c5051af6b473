"""Failures of the catalog database and the object store, as errors that name them.

A raw driver exception (SQLAlchemy, psycopg, sqlite3, botocore, minio, an ``OSError``) says
neither which dependency failed nor where it lives, and its message can hold a DSN.
These helpers turn it into a :class:`~makerates_lake.errors.LakeError` that names the
dependency, is scrubbed of secrets, and is marked transient.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pyiceberg.catalog import Catalog

from makerates_lake.errors import LakeError, MakeratesError
from makerates_lake.redact import redact_url
from makerates_lake.settings import Settings
from makerates_lake.store._pyiceberg import sql_catalog_engine, sql_catalog_tables
from makerates_lake.store.s3 import uses_s3


def scrub_error(exc: BaseException, settings: Settings) -> str:
    from makerates_lake.redact import redact_text

    text = redact_url(str(exc)) if "://" in str(exc) else str(exc)
    return redact_text(text, settings.secret_values())


def _metadata_location(catalog: Catalog, identifier: str) -> str | None:
    """The metadata file the SQL catalog points ``identifier`` at, read from its row."""
    try:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        engine = sql_catalog_engine(catalog)
        if engine is None:
            return None
        IcebergTables = sql_catalog_tables()  # noqa: N806 - the model's own name
        namespace, _, name = identifier.rpartition(".")
        with Session(engine) as session:
            row = session.scalar(
                select(IcebergTables).where(
                    IcebergTables.catalog_name == catalog.name,
                    IcebergTables.table_namespace == namespace,
                    IcebergTables.table_name == name,
                )
            )
        return str(row.metadata_location) if row is not None else None
    except Exception:  # only for the message: the original failure is what matters
        return None


def metadata_error(
    catalog: Catalog, settings: Settings, identifier: str, exc: BaseException
) -> LakeError:
    """A :class:`LakeError` for a table whose metadata cannot be read, naming the file.

    A catalog or storage outage is named as such (see :func:`dependency_errors`); anything
    else means the metadata file itself is missing or damaged.
    """
    found = _dependency_of(exc, settings)
    location = _metadata_location(catalog, identifier)
    reason = "is missing" if isinstance(exc, FileNotFoundError) else "cannot be read"
    if found is not None and not isinstance(exc, FileNotFoundError):
        dependency, where = found
        return LakeError(
            f"{dependency} failed while loading table {identifier}: "
            f"{type(exc).__name__}: {scrub_error(exc, settings)}",
            dependency=dependency,
            table=identifier,
            transient=True,
            **where,
        )
    return LakeError(
        f"the metadata file of table {identifier} {reason} (changed or deleted outside "
        f"the library?): {type(exc).__name__}: {scrub_error(exc, settings)}",
        table=identifier,
        metadata=redact_url(location) if location else "unknown",
    )


def _dependency_of(exc: BaseException, settings: Settings) -> tuple[str, dict[str, str]] | None:
    """Which dependency a raw library exception comes from, and where it lives."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError | sqlite3.Error) or type(exc).__module__.startswith(
        "psycopg"
    ):
        uri = settings.resolved_catalog_uri
        kind = "PostgreSQL" if uri.startswith("postgresql") else "SQLite"
        return f"the {kind} catalog database", {"catalog": redact_url(uri)}
    module = type(exc).__module__
    if module.startswith(("botocore", "aiobotocore", "aiohttp", "s3fs", "minio")) or isinstance(
        exc, OSError
    ):
        if uses_s3(settings):
            return "S3 object storage", {"endpoint": settings.s3_endpoint or "AWS"}
        return "the warehouse storage", {"warehouse": settings.resolved_warehouse}
    return None


@contextlib.contextmanager
def dependency_errors(settings: Settings, doing: str) -> Iterator[None]:
    """Turn a raw catalog-database or storage failure into a :class:`LakeError` naming it.

    Library errors and anything that is not a catalog or storage failure pass unchanged.
    The error is marked transient: the dependency may be back on the next run.
    """
    try:
        yield
    except MakeratesError:
        raise
    except Exception as exc:
        found = _dependency_of(exc, settings)
        if found is None:
            raise
        dependency, where = found
        raise LakeError(
            f"{dependency} failed while {doing}: {type(exc).__name__}: "
            f"{scrub_error(exc, settings)}",
            dependency=dependency,
            transient=True,
            **where,
        ) from None
