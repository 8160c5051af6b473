"""The catalog files in catalog/ load as settings and describe the layout they claim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from makerates_lake.errors import ConfigError
from makerates_lake.settings import Settings, load_settings
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


def _rest(**values: Any) -> Settings:
    return load_settings(
        environ={},
        catalog_uri="http://127.0.0.1:8181",
        warehouse="s3://tables",
        s3_endpoint="http://127.0.0.1:8333",
        s3_access_key_id="key-id",
        s3_secret_access_key="s3-secret",
        **values,
    )


def test_rest_catalog_auth_modes_give_pyiceberg_their_properties() -> None:
    """sigv4 signs with the S3 keys for the signing name; oauth2 exchanges the client
    credentials at the catalog's token endpoint; token sends the bearer token."""
    sigv4 = catalog_properties(_rest(catalog_auth="sigv4"))
    assert sigv4["rest.sigv4-enabled"] == "true"
    assert sigv4["rest.signing-name"] == "s3tables"
    assert (sigv4["client.access-key-id"], sigv4["client.secret-access-key"]) == (
        "key-id",
        "s3-secret",
    )
    oauth2 = catalog_properties(_rest(catalog_auth="oauth2", catalog_credential="id:secret"))
    assert oauth2["credential"] == "id:secret"
    assert oauth2["oauth2-server-uri"] == "http://127.0.0.1:8181/v1/oauth/tokens"
    assert "token" not in oauth2
    assert "rest.sigv4-enabled" not in oauth2
    assert catalog_properties(_rest(catalog_token="bearer-1"))["token"] == "bearer-1"
    assert not {"token", "credential", "rest.sigv4-enabled"} & set(catalog_properties(_rest()))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"catalog_auth": "kerberos"}, "unknown catalog_auth"),
        ({"catalog_auth": "oauth2"}, "needs catalog_credential"),
        ({"catalog_auth": "token"}, "needs catalog_token"),
        ({"bronze_warehouse": "s3://bronze/warehouse"}, "leave bronze_warehouse unset"),
    ],
)
def test_rest_catalog_settings_that_cannot_work_are_refused(
    values: dict[str, Any], message: str
) -> None:
    """A mode without its credentials, an unknown mode, or a bronze location a REST
    catalog would ignore: a ConfigError naming the setting, never a silent difference."""
    with pytest.raises(ConfigError, match=message):
        catalog_properties(_rest(**values))


def test_sigv4_without_s3_keys_is_refused() -> None:
    """SigV4 signs with the S3 credentials: without them the mode cannot work."""
    settings = load_settings(environ={}, catalog_uri="http://127.0.0.1:8181", catalog_auth="sigv4")
    with pytest.raises(ConfigError, match="signs with the S3 credentials"):
        catalog_properties(settings)


def test_the_oauth2_client_secret_alone_is_a_known_secret() -> None:
    """A token endpoint may echo the secret without its client id: it is masked alone too."""
    settings = _rest(catalog_auth="oauth2", catalog_credential="client-7:VerySecretValue123")
    assert "VerySecretValue123" in settings.secret_values()
    assert "client-7:VerySecretValue123" in settings.secret_values()
