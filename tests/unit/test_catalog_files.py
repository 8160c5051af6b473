"""The catalog files in catalog/ load as settings and describe the layout they claim."""

from __future__ import annotations

from pathlib import Path

from makerates_lake.settings import load_settings
from makerates_lake.store.catalog import catalog_properties

CATALOG_DIR = Path(__file__).parents[2] / "catalog"


def test_embedded_file_is_sqlite_and_local() -> None:
    """embedded.toml gives a SQLite catalog and a file:// warehouse."""
    settings = load_settings(CATALOG_DIR / "embedded.toml", environ={})
    props = catalog_properties(settings)
    assert props["type"] == "sql"
    assert props["uri"].startswith("sqlite:///")
    assert settings.resolved_warehouse.startswith("file://")


def test_postgres_minio_file_uses_fsspec_io_and_a_separate_bronze_bucket() -> None:
    """postgres-minio.toml: PostgreSQL catalog, S3 via FsspecFileIO, bronze in its own bucket."""
    settings = load_settings(
        CATALOG_DIR / "postgres-minio.toml",
        environ={"MAKERATES_S3_SECRET_ACCESS_KEY": "from-env", "MAKERATES_CATALOG_PASSWORD": "pw"},
    )
    props = catalog_properties(settings)
    assert props["type"] == "sql"
    assert props["uri"].startswith("postgresql+psycopg://iceberg:pw@")
    assert props["py-io-impl"] == "pyiceberg.io.fsspec.FsspecFileIO"
    assert props["s3.secret-access-key"] == "from-env"
    bronze_bucket = settings.resolved_bronze_warehouse.split("/")[2]
    assert bronze_bucket != settings.resolved_warehouse.split("/")[2]


def test_rest_file_is_a_rest_catalog() -> None:
    """rest.toml gives a REST catalog on the same buckets."""
    settings = load_settings(CATALOG_DIR / "rest.toml", environ={})
    props = catalog_properties(settings)
    assert props["type"] == "rest"
    assert props["uri"] == "http://localhost:8181"


def test_no_catalog_file_holds_a_secret() -> None:
    """Secrets come from the environment: no file in catalog/ sets a secret field."""
    for path in CATALOG_DIR.glob("*.toml"):
        text = path.read_text()
        for key in ("secret_access_key =", "catalog_password =", "vault_token =", "api_key ="):
            assert key not in text, f"{path.name} sets {key}"
