"""compose/ and catalog/ agree: services, ports, buckets, databases and variable names.

No container engine runs here, so the stack is checked, not started.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from makerates_lake.settings import ENV_PREFIX, Settings, load_settings
from makerates_lake.store.catalog import catalog_properties
from tests.seaweed import MINI_FLAGS

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "compose"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _published(service: str, container_port: int) -> int:
    for mapping in _services()[service].get("ports", []):
        host, _, inside = str(mapping).rpartition(":")
        if int(inside) == container_port:
            return int(host)
    raise AssertionError(f"{service} does not publish {container_port}")


def test_every_service_has_a_health_check_or_is_a_one_shot_job() -> None:
    """Long-running services have health checks; set-up jobs do not restart."""
    for name, service in _services().items():
        assert "healthcheck" in service or service.get("restart") == "no", name


def test_dependencies_exist_and_wait_for_health() -> None:
    """Every depends_on names a real service and waits on health or completion."""
    services = _services()
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency


def test_minio_matches_the_production_catalog_file() -> None:
    """Endpoint port and bucket names in postgres-minio.toml are what compose creates."""
    settings = load_settings(ROOT / "catalog/postgres-minio.toml", environ={})
    assert settings.s3_endpoint is not None
    assert urlsplit(settings.s3_endpoint).port == _published("minio", 9000)
    setup = "\n".join(_services()["minio-setup"]["command"])
    bronze_bucket = urlsplit(settings.resolved_bronze_warehouse).netloc
    lake_bucket = urlsplit(settings.resolved_warehouse).netloc
    assert f"mc mb --ignore-existing --with-lock local/{bronze_bucket}" in setup
    assert f"mc retention set --default COMPLIANCE 1d local/{bronze_bucket}" in setup
    assert f"local/{lake_bucket}" in setup
    assert f"--with-lock local/{lake_bucket}" not in setup


def test_postgres_matches_the_catalog_uri() -> None:
    """Catalog database, user and port in the catalog file are created by init.sh."""
    settings = load_settings(ROOT / "catalog/postgres-minio.toml", environ={})
    uri = urlsplit(settings.resolved_catalog_uri.replace("postgresql+psycopg", "postgresql"))
    assert uri.port == _published("postgres", 5432)
    init = (COMPOSE / "postgres/init.sh").read_text()
    assert f"CREATE ROLE {uri.username} LOGIN" in init
    assert f"CREATE DATABASE {uri.path.lstrip('/')} OWNER {uri.username}" in init
    rest_env = _services()["iceberg-rest"]["environment"]
    assert rest_env["CATALOG_URI"].endswith(f":5432{uri.path}")


def test_rest_catalog_and_trino_point_at_the_same_catalog_and_buckets() -> None:
    """rest.toml, the REST service and Trino's catalog agree on URI and warehouse."""
    settings = load_settings(ROOT / "catalog/rest.toml", environ={})
    assert urlsplit(settings.resolved_catalog_uri).port == _published("iceberg-rest", 8181)
    rest_env = _services()["iceberg-rest"]["environment"]
    assert rest_env["CATALOG_WAREHOUSE"] == settings.resolved_warehouse
    trino = dict(
        line.split("=", 1)
        for line in (COMPOSE / "trino/catalog/iceberg.properties").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert trino["iceberg.catalog.type"] == "rest"
    assert trino["iceberg.rest-catalog.uri"] == "http://iceberg-rest:8181"
    assert trino["iceberg.rest-catalog.warehouse"] == settings.resolved_warehouse
    assert trino["s3.endpoint"] == rest_env["CATALOG_S3_ENDPOINT"]


@pytest.mark.parametrize("service", ["makerates", "makerates-seaweedfs"])
def test_makerates_service_uses_only_real_settings(service: str) -> None:
    """Every MAKERATES_* variable given to the app names a Settings field (or the config)."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    environment = _services()[service]["environment"]
    for key in environment:
        if key == "MAKERATES_CONFIG":
            assert (ROOT / str(environment[key]).removeprefix("/app/")).exists()
            continue
        assert key.startswith(ENV_PREFIX)
        assert key.removeprefix(ENV_PREFIX).lower() in fields, key


def _seaweed_flags() -> dict[str, str]:
    """``weed mini``'s ``-name=value`` flags in the seaweedfs service's command."""
    command = [str(part) for part in _services()["seaweedfs"]["command"]]
    assert command[0] == "mini"
    return dict(flag.lstrip("-").split("=", 1) for flag in command[1:])


def test_seaweedfs_profile_matches_its_catalog_file() -> None:
    """The seaweedfs profile runs weed mini with telemetry off and the flags the tests use,
    publishes the S3 and Iceberg REST ports rest-seaweedfs.toml names, and creates the
    table bucket that file's warehouse is; its CLI service reaches the same ports inside."""
    settings = load_settings(ROOT / "catalog/rest-seaweedfs.toml", environ={})
    services = _services()
    for name in ("seaweedfs", "makerates-seaweedfs"):
        assert services[name]["profiles"] == ["seaweedfs"], name
    flags = _seaweed_flags()
    assert flags["master.telemetry"] == "false"
    # The same switches as tests/seaweed.py's SeaweedServer.start (ports aside).
    assert {k: flags.get(k) for k in MINI_FLAGS} == MINI_FLAGS
    assert f"s3://{flags['tableBucket']}" == settings.resolved_warehouse.rstrip("/")
    assert settings.s3_endpoint is not None
    s3_port, rest_port = int(flags["s3.port"]), int(flags["s3.port.iceberg"])
    assert urlsplit(settings.s3_endpoint).port == _published("seaweedfs", s3_port)
    assert urlsplit(settings.resolved_catalog_uri).port == _published("seaweedfs", rest_port)
    environment = services["makerates-seaweedfs"]["environment"]
    assert environment["MAKERATES_CONFIG"] == "/app/catalog/rest-seaweedfs.toml"
    assert environment["MAKERATES_CATALOG_URI"] == f"http://seaweedfs:{rest_port}"
    assert environment["MAKERATES_S3_ENDPOINT"] == f"http://seaweedfs:{s3_port}"
    assert services["makerates-seaweedfs"]["depends_on"] == {
        "seaweedfs": {"condition": "service_healthy"}
    }
    # The server's admin identity is the key the library signs with.
    server_env = services["seaweedfs"]["environment"]
    assert server_env["AWS_ACCESS_KEY_ID"] == environment["MAKERATES_S3_ACCESS_KEY_ID"]
    assert server_env["AWS_SECRET_ACCESS_KEY"] == environment["MAKERATES_S3_SECRET_ACCESS_KEY"]


def test_seaweedfs_catalog_file_is_a_sigv4_rest_catalog_on_its_table_bucket() -> None:
    """rest-seaweedfs.toml gives a REST catalog signed with SigV4 for s3tables, selected
    by the table bucket alone, with bronze in the same bucket."""
    settings = load_settings(
        ROOT / "catalog/rest-seaweedfs.toml", environ={"MAKERATES_S3_SECRET_ACCESS_KEY": "x"}
    )
    props = catalog_properties(settings)
    assert props["type"] == "rest"
    assert props["rest.sigv4-enabled"] == "true"
    assert props["rest.signing-name"] == "s3tables"
    assert props["warehouse"].rstrip("/") == "s3://warehouse"
    assert settings.resolved_bronze_warehouse.rstrip("/") == "s3://warehouse"


def test_seaweedfs_ports_do_not_collide_with_the_default_stack() -> None:
    """The profile can run beside minio and iceberg-rest: no host port is published twice."""
    published = [
        str(mapping).rpartition(":")[0]
        for service in _services().values()
        for mapping in service.get("ports", [])
    ]
    assert len(published) == len(set(published)), published


def test_vault_seed_writes_the_path_and_field_the_library_reads() -> None:
    """The seeded KV v2 path and field name are those the key provider reads."""
    environment = _services()["makerates"]["environment"]
    path = environment["MAKERATES_VAULT_KEY_PATH"]
    assert path == Settings().vault_key_path
    seed = (COMPOSE / "vault/seed.sh").read_text()
    assert f"vault kv put -mount=secret {path}" in seed
    assert re.search(r"\bapi_key=", seed)
    assert "kv-v2" in seed


def test_every_variable_in_compose_is_in_the_example_env() -> None:
    """${VAR} references in compose are all listed in .env.example, and no secret is inline."""
    text = (COMPOSE / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))
    example = {
        line.split("=", 1)[0]
        for line in (COMPOSE / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert used <= example, used - example
    assert not re.search(r"(PASSWORD|SECRET|TOKEN)[A-Z_]*: [^$\s]", text)


def test_the_scheduler_runs_makerates_run_every_four_hours_with_supercronic() -> None:
    """The makerates service is supercronic (a maintained scheduler, no home-made loop) on
    compose/crontab, which runs ``makerates run`` every four hours; the image installs the
    binary checked against its checksum, and the service restarts and has a health check."""
    service = _services()["makerates"]
    command = service["command"]
    assert command[0] == "supercronic"
    assert command[-1] == "/app/crontab"
    assert service["restart"] == "unless-stopped"
    assert "9746" in " ".join(service["healthcheck"]["test"])
    assert "127.0.0.1:9746" in command
    dockerfile = (COMPOSE / "Dockerfile").read_text()
    assert "COPY compose/crontab /app/crontab" in dockerfile
    assert "sha1sum -c -" in dockerfile
    assert "aptible/supercronic/releases/download" in dockerfile
    entries = [
        line.split()
        for line in (COMPOSE / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(entries) == 1
    minute, hour, day, month, weekday, *job = entries[0]
    assert (minute, hour, day, month, weekday) == ("0", "*/4", "*", "*", "*")
    assert job[0] == "makerates"
    assert job[-1] == "run"
    assert service["environment"]["MAKERATES_RUN_BASES"] == "USD,EUR"
