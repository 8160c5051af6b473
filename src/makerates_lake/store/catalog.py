"""Open the lake: the only place that builds a PyIceberg catalog and creates its tables.

Three layouts, one code path:

* embedded default: SQL catalog on SQLite + a local warehouse folder;
* production: SQL catalog on PostgreSQL + S3/MinIO, bronze in its own (WORM) bucket;
* an Iceberg REST catalog by URI.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.table import Table
from sqlalchemy.engine import make_url

from makerates_lake.errors import ConfigError, LakeError
from makerates_lake.redact import redact_url
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.branches import present
from makerates_lake.store.failures import metadata_error, scrub_error
from makerates_lake.store.s3 import S3Access, uses_s3
from makerates_lake.store.tables import ALL_TABLES, BRONZE_EXTRACTIONS, NAMESPACES, TableSpec

if TYPE_CHECKING:
    from minio import Minio

_FSSPEC_IO = "pyiceberg.io.fsspec.FsspecFileIO"


def catalog_properties(settings: Settings) -> dict[str, str]:
    """PyIceberg catalog properties for these settings (secrets included: never log them)."""
    uri = settings.resolved_catalog_uri
    props: dict[str, str] = {"warehouse": settings.resolved_warehouse}
    if settings.is_rest_catalog:
        check_rest_layout(settings)
        props.update({"type": "rest", "uri": uri, **rest_auth_properties(settings)})
    else:
        if settings.catalog_password:
            uri = (
                make_url(uri)
                .set(password=settings.catalog_password.reveal())
                .render_as_string(hide_password=False)
            )
        props.update({"type": "sql", "uri": uri, "init_catalog_tables": "true"})
    if uses_s3(settings):
        # FsspecFileIO (s3fs) sends a checksum with every PutObject, which S3 Object Lock
        # needs before it applies a bucket's default retention; PyArrowFileIO does not.
        props["py-io-impl"] = _FSSPEC_IO
        props.update(S3Access.from_settings(settings).pyiceberg_properties())
    return props


REST_AUTH_MODES = ("none", "token", "oauth2", "sigv4")


def rest_auth_properties(settings: Settings) -> dict[str, str]:
    """PyIceberg REST catalog properties for ``settings.catalog_auth`` (secrets included).

    Raises:
        ConfigError: An unknown mode, or a mode without the credentials it needs.
    """
    mode = settings.catalog_auth or ("token" if settings.catalog_token else "none")
    if mode not in REST_AUTH_MODES:
        raise ConfigError(
            "unknown catalog_auth", key="catalog_auth", value=mode, known=", ".join(REST_AUTH_MODES)
        )
    if mode == "none":
        return {}
    if mode == "token":
        if not settings.catalog_token:
            raise ConfigError("catalog_auth = token needs catalog_token", key="catalog_token")
        return {"token": settings.catalog_token.reveal()}
    if mode == "oauth2":
        if not settings.catalog_credential:
            raise ConfigError(
                "catalog_auth = oauth2 needs catalog_credential (client_id:client_secret)",
                key="catalog_credential",
            )
        return {
            "credential": settings.catalog_credential.reveal(),
            "oauth2-server-uri": f"{settings.resolved_catalog_uri.rstrip('/')}/v1/oauth/tokens",
        }
    if not (settings.s3_access_key_id and settings.s3_secret_access_key):
        raise ConfigError(
            "catalog_auth = sigv4 signs with the S3 credentials: set s3_access_key_id and "
            "s3_secret_access_key",
            key="catalog_auth",
        )
    return {
        "rest.sigv4-enabled": "true",
        "rest.signing-name": settings.catalog_signing_name,
        "rest.signing-region": settings.s3_region,
        "client.access-key-id": settings.s3_access_key_id,
        "client.secret-access-key": settings.s3_secret_access_key.reveal(),
        "client.region": settings.s3_region,
    }


def check_rest_layout(settings: Settings) -> None:
    """A REST catalog places every table itself (S3 Tables style catalogs, SeaweedFS's
    among them, refuse writes anywhere else), so a separate ``bronze_warehouse`` would
    be silently ignored: it is refused instead. Bronze then shares the catalog's
    warehouse; WORM needs the SQL catalog layout (docs/scale-out.md).

    Raises:
        ConfigError: ``bronze_warehouse`` names another place than ``warehouse``.
    """
    if settings.resolved_bronze_warehouse.rstrip("/") != settings.resolved_warehouse.rstrip("/"):
        raise ConfigError(
            "a REST catalog places bronze in its own warehouse: leave bronze_warehouse "
            "unset (WORM bronze needs the SQL catalog layout)",
            key="bronze_warehouse",
            value=settings.resolved_bronze_warehouse,
        )


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
    _object_store: Minio | None = field(default=None, repr=False)

    def table(self, spec: TableSpec | str, *, refresh: bool = True) -> Table:
        """Load a table by spec or ``namespace.name``; ``refresh`` re-reads its metadata.

        Inside :func:`~makerates_lake.store.branches.on_branch`, a silver or gold table
        shows the branch's head as its current snapshot.
        """
        identifier = spec.identifier if isinstance(spec, TableSpec) else spec
        cached = self._tables.get(identifier)
        try:
            if cached is not None:
                return present(cached.refresh() if refresh else cached)
            table = present(self.catalog.load_table(identifier))
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

    def cached_tables(self) -> list[Table]:
        """The tables loaded so far (kept between calls)."""
        return list(self._tables.values())

    def bronze(self, *, refresh: bool = True) -> Table:
        """The ``bronze.extractions`` table."""
        return self.table(BRONZE_EXTRACTIONS, refresh=refresh)

    def location_of(self, spec: TableSpec) -> str:
        """Where a table's files live (as its metadata says: a REST catalog chooses)."""
        return self.table(spec, refresh=False).location()

    def object_store(self) -> Minio:
        """A MinIO SDK client for the configured S3 endpoint (Object Lock, retention,
        legal holds, listings), made once per lake: its connection pool is reused by
        verify's and orphan removal's per-file calls."""
        if self._object_store is None:
            self._object_store = S3Access.from_settings(self.settings).minio_client()
        return self._object_store

    @functools.cached_property
    def bronze_object_lock(self) -> bool:
        """True when bronze lives in an S3 bucket with Object Lock enabled."""
        location = self.settings.resolved_bronze_warehouse
        if not location.startswith(("s3://", "s3a://")):
            return False
        from minio.error import S3Error

        from makerates_lake.store.worm import object_lock_enabled

        bucket = urlsplit(location).netloc
        try:
            return object_lock_enabled(self.object_store(), bucket)
        except S3Error as exc:
            raise LakeError(
                f"cannot read the Object Lock configuration: {exc.code}: {exc.message}",
                bucket=bucket,
                endpoint=self.settings.s3_endpoint,
            ) from None

    def storage_options(self) -> dict[str, str]:
        """Object-store options for engines that read the files directly (Polars, DuckDB)."""
        if not uses_s3(self.settings):
            return {}
        return S3Access.from_settings(self.settings).object_store_options()


def open_lake(settings: Settings | None = None, *, create: bool = True) -> Lake:
    """Open the catalog and, with ``create``, make every namespace and table that is missing.

    Args:
        settings: Settings to use; default :func:`load_settings` (environment, file, defaults).
        create: Create namespaces and tables that do not exist yet (idempotent, race-safe).

    Raises:
        LakeError: The catalog or its storage cannot be reached; names which one.
    """
    settings = settings or load_settings()
    folders = [
        Path(urlsplit(location).path)
        for location in (settings.resolved_warehouse, settings.resolved_bronze_warehouse)
        if location.startswith("file://")
    ]
    if not settings.is_rest_catalog and settings.resolved_catalog_uri.startswith("sqlite"):
        folders.insert(0, settings.home)
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission, a read-only place
            raise LakeError(
                f"cannot create the lake folder: {exc.strerror or exc}", folder=str(folder)
            ) from None
    properties = catalog_properties(settings)  # a ConfigError names the setting as it is
    try:
        catalog = load_catalog(settings.catalog_name, **properties)
    except Exception as exc:
        raise LakeError(
            f"cannot open the catalog: {type(exc).__name__}: {scrub_error(exc, settings)}",
            catalog=redact_url(settings.resolved_catalog_uri),
        ) from None
    lake = Lake(settings=settings, catalog=catalog)
    if create:
        _create_all(lake)
    return lake


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
                    # A REST catalog places each table itself (S3 Tables style catalogs
                    # refuse writes anywhere else); a SQL catalog goes where we say.
                    location=None
                    if lake.settings.is_rest_catalog
                    else _location(lake.settings, spec),
                    partition_spec=spec.partition_spec,
                    sort_order=spec.sort_order,
                    properties=spec.properties,
                )
    except LakeError:
        raise
    except Exception as exc:
        raise LakeError(
            f"cannot create the lake's tables: {type(exc).__name__}: "
            f"{scrub_error(exc, lake.settings)}",
            catalog=redact_url(lake.settings.resolved_catalog_uri),
            warehouse=lake.settings.resolved_warehouse,
        ) from None
