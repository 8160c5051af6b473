"""Open the lake: the only place that builds a PyIceberg catalog.

Three layouts, one code path:

* embedded default: SQL catalog on SQLite + a local warehouse folder;
* production: SQL catalog on PostgreSQL + S3/MinIO, bronze in its own (WORM) bucket;
* an Iceberg REST catalog by URI.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.table import Table
from sqlalchemy.engine import make_url

from makerates_lake.errors import LakeError, MakeratesError
from makerates_lake.redact import redact_url
from makerates_lake.settings import Settings, load_settings
from makerates_lake.tables import ALL_TABLES, BRONZE_EXTRACTIONS, NAMESPACES, TableSpec

if TYPE_CHECKING:
    import duckdb
    from mypy_boto3_s3 import S3Client

_FSSPEC_IO = "pyiceberg.io.fsspec.FsspecFileIO"


def catalog_properties(settings: Settings) -> dict[str, str]:
    """PyIceberg catalog properties for these settings (secrets included: never log them)."""
    uri = settings.resolved_catalog_uri
    props: dict[str, str] = {"warehouse": settings.resolved_warehouse}
    if settings.is_rest_catalog:
        props.update({"type": "rest", "uri": uri})
        if settings.catalog_token:
            props["token"] = settings.catalog_token.reveal()
    else:
        if settings.catalog_password:
            uri = make_url(uri).set(password=settings.catalog_password.reveal()).render_as_string(
                hide_password=False
            )
        props.update({"type": "sql", "uri": uri, "init_catalog_tables": "true"})
    if _uses_s3(settings):
        # FsspecFileIO (s3fs) sends a checksum with every PutObject, which S3 Object Lock
        # needs before it applies a bucket's default retention; PyArrowFileIO does not.
        props["py-io-impl"] = _FSSPEC_IO
        props.update(_s3_properties(settings))
    return props


def _uses_s3(settings: Settings) -> bool:
    return any(
        location.startswith(("s3://", "s3a://"))
        for location in (settings.resolved_warehouse, settings.resolved_bronze_warehouse)
    )


def _s3_properties(settings: Settings) -> dict[str, str]:
    props = {"s3.region": settings.s3_region}
    if settings.s3_endpoint:
        props["s3.endpoint"] = settings.s3_endpoint
    if settings.s3_access_key_id:
        props["s3.access-key-id"] = settings.s3_access_key_id
    if settings.s3_secret_access_key:
        props["s3.secret-access-key"] = settings.s3_secret_access_key.reveal()
    return props


def _location(settings: Settings, spec: TableSpec) -> str:
    if spec.in_bronze_bucket:
        root = settings.resolved_bronze_warehouse
    else:
        root = settings.resolved_warehouse
    return f"{root.rstrip('/')}/{spec.namespace}/{spec.name}"


@dataclass
class Lake:
    """An open catalog plus the settings it was opened with.

    Every stage receives a ``Lake``; nothing else builds a catalog.
    """

    settings: Settings
    catalog: Catalog
    _tables: dict[str, Table] = field(default_factory=dict, repr=False)

    def table(self, spec: TableSpec | str, *, refresh: bool = True) -> Table:
        """Load a table by spec or ``namespace.name``; ``refresh`` re-reads its metadata."""
        identifier = spec.identifier if isinstance(spec, TableSpec) else spec
        cached = self._tables.get(identifier)
        try:
            if cached is not None:
                return cached.refresh() if refresh else cached
            table = self.catalog.load_table(identifier)
        except NoSuchTableError:
            raise LakeError(
                "table does not exist; open the lake with create=True first",
                table=identifier,
                catalog=redact_url(self.settings.resolved_catalog_uri),
            ) from None
        except Exception as exc:
            raise metadata_error(self.catalog, self.settings, identifier, exc) from None
        self._tables[identifier] = table
        return table

    def bronze(self, *, refresh: bool = True) -> Table:
        """The ``bronze.extractions`` table."""
        return self.table(BRONZE_EXTRACTIONS, refresh=refresh)

    def location_of(self, spec: TableSpec) -> str:
        """Where a table's files live."""
        return _location(self.settings, spec)

    def s3_client(self) -> S3Client:
        """A boto3 S3 client for the configured endpoint (Object Lock, side-door checks)."""
        return s3_client(self.settings)

    @functools.cached_property
    def bronze_object_lock(self) -> bool:
        """True when bronze lives in an S3 bucket with Object Lock enabled."""
        location = self.settings.resolved_bronze_warehouse
        if not location.startswith(("s3://", "s3a://")):
            return False
        from botocore.exceptions import ClientError

        bucket = urlsplit(location).netloc
        try:
            config = self.s3_client().get_object_lock_configuration(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ObjectLockConfigurationNotFoundError":
                return False
            raise LakeError(
                f"cannot read the Object Lock configuration: {exc}",
                bucket=bucket,
                endpoint=self.settings.s3_endpoint,
            ) from None
        return config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"

    def duckdb(self, **options: Any) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with a view per table; see :func:`makerates_lake.federate.connect`.

        Extensions load from the offline wheels only; ``as_of=AsOf(...)`` pins every view.
        """
        from makerates_lake.federate import connect

        return connect(self, **options)

    def storage_options(self) -> dict[str, str]:
        """Object-store options for engines that read the files directly (Polars, DuckDB)."""
        if not _uses_s3(self.settings):
            return {}
        options = {"aws_region": self.settings.s3_region}
        if self.settings.s3_endpoint:
            options["aws_endpoint_url"] = self.settings.s3_endpoint
            options["aws_allow_http"] = str(self.settings.s3_endpoint.startswith("http://")).lower()
        if self.settings.s3_access_key_id:
            options["aws_access_key_id"] = self.settings.s3_access_key_id
        if self.settings.s3_secret_access_key:
            options["aws_secret_access_key"] = self.settings.s3_secret_access_key.reveal()
        return options


def s3_client(settings: Settings) -> S3Client:
    """A boto3 S3 client for the settings' endpoint and credentials."""
    import boto3

    kwargs: dict[str, Any] = {"region_name": settings.s3_region}
    if settings.s3_endpoint:
        kwargs["endpoint_url"] = settings.s3_endpoint
    if settings.s3_access_key_id:
        kwargs["aws_access_key_id"] = settings.s3_access_key_id
    if settings.s3_secret_access_key:
        kwargs["aws_secret_access_key"] = settings.s3_secret_access_key.reveal()
    return boto3.client("s3", **kwargs)


def open_lake(settings: Settings | None = None, *, create: bool = True) -> Lake:
    """Open the catalog and, with ``create``, make every namespace and table that is missing.

    Args:
        settings: Settings to use; default :func:`load_settings` (environment, file, defaults).
        create: Create namespaces and tables that do not exist yet (idempotent, race-safe).

    Raises:
        LakeError: The catalog or its storage cannot be reached; names which one.
    """
    settings = settings or load_settings()
    if not settings.is_rest_catalog and settings.resolved_catalog_uri.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    for location in (settings.resolved_warehouse, settings.resolved_bronze_warehouse):
        if location.startswith("file://"):
            Path(urlsplit(location).path).mkdir(parents=True, exist_ok=True)
    try:
        catalog = load_catalog(settings.catalog_name, **catalog_properties(settings))
    except Exception as exc:
        raise LakeError(
            f"cannot open the catalog: {type(exc).__name__}: {_scrub(exc, settings)}",
            catalog=redact_url(settings.resolved_catalog_uri),
        ) from None
    lake = Lake(settings=settings, catalog=catalog)
    if create:
        _create_all(lake)
    return lake


def _scrub(exc: BaseException, settings: Settings) -> str:
    from makerates_lake.redact import redact_text

    text = redact_url(str(exc)) if "://" in str(exc) else str(exc)
    return redact_text(text, settings.secret_values())


def _create_all(lake: Lake) -> None:
    catalog = lake.catalog
    try:
        for namespace in NAMESPACES:
            # Another process may create it between the check and the create.
            with contextlib.suppress(NamespaceAlreadyExistsError):
                catalog.create_namespace_if_not_exists(namespace)
        for spec in ALL_TABLES:
            try:
                if catalog.table_exists(spec.identifier):
                    continue
            except Exception as exc:
                # The catalog names the table, but its metadata file is missing or damaged.
                raise metadata_error(catalog, lake.settings, spec.identifier, exc) from None
            with contextlib.suppress(TableAlreadyExistsError):  # another process won the race
                catalog.create_table(
                    spec.identifier,
                    schema=spec.schema,
                    location=_location(lake.settings, spec),
                    partition_spec=spec.partition_spec,
                    sort_order=spec.sort_order,
                    properties=spec.properties,
                )
    except LakeError:
        raise
    except Exception as exc:
        raise LakeError(
            f"cannot create the lake's tables: {type(exc).__name__}: {_scrub(exc, lake.settings)}",
            catalog=redact_url(lake.settings.resolved_catalog_uri),
            warehouse=lake.settings.resolved_warehouse,
        ) from None


def _metadata_location(catalog: Catalog, identifier: str) -> str | None:
    """The metadata file the SQL catalog points ``identifier`` at, read from its row."""
    try:
        from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        if not isinstance(catalog, SqlCatalog):
            return None
        namespace, _, name = identifier.rpartition(".")
        with Session(catalog.engine) as session:
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
            f"{type(exc).__name__}: {_scrub(exc, settings)}",
            dependency=dependency,
            table=identifier,
            transient=True,
            **where,
        )
    return LakeError(
        f"the metadata file of table {identifier} {reason} (changed or deleted outside "
        f"the library?): {type(exc).__name__}: {_scrub(exc, settings)}",
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
    if module.startswith(("botocore", "aiobotocore", "aiohttp", "s3fs")) or isinstance(
        exc, OSError
    ):
        if _uses_s3(settings):
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
            f"{dependency} failed while {doing}: {type(exc).__name__}: {_scrub(exc, settings)}",
            dependency=dependency,
            transient=True,
            **where,
        ) from None
