"""Second engines on the REST layout's tables, read the way a user of each would.

* DuckDB 1.5.5: ``ATTACH`` of the Iceberg REST catalog with an OAuth2 secret (client
  credentials against the catalog's token endpoint) and an S3 secret for the data files;
  extensions from the offline wheels only.
* Sail: Spark SQL over Spark Connect; its server runs in a child process
  (:mod:`tests.integration.sail_server`) whose environment alone holds ``SAIL_*`` and
  ``AWS_*``, and authenticates to the catalog with a bearer token.
* PyIceberg: the same tables through the lake's own catalog, the reference.

Each reader returns :class:`FactRates` or :class:`BronzeRows`, so a test compares whole
values. Counts and sums are computed by the engine itself (SQL ``count`` and ``sum``);
PyIceberg, which has no aggregation, is summed in Python at a precision that cannot round.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import os
import selectors
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import duckdb
import pytest
from pyspark.sql import SparkSession

from makerates_lake.federate.extensions import load_offline, offline_config
from makerates_lake.federate.sqltext import create_s3_secret, literal
from makerates_lake.store.catalog import Lake

FACT_COLUMNS: Final = (
    "rate_date", "base_currency", "quote_currency", "source_name", "rate", "extraction_id",
)  # fmt: skip
"""gold.fact_rate's columns compared row by row (``rate`` is the fifth)."""
ALIAS: Final = "lake"
"""The catalog's name inside DuckDB and Sail."""
_SAIL_SCRIPT: Final = Path(__file__).with_name("sail_server.py")


@dataclass(frozen=True)
class FactRates:
    """gold.fact_rate at one snapshot: row count and sum of ``rate`` as the engine
    computed them, and every row's :data:`FACT_COLUMNS`, sorted."""

    count: int
    rate_sum: Decimal
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class BronzeRows:
    """bronze.extractions: row count and, sorted, each row's ``(extraction_id,
    response_checksum, SHA-256 of raw_response as the engine read it)``."""

    count: int
    rows: list[tuple[str, str, str]]

    @property
    def extraction_ids(self) -> set[str]:
        """Every extraction_id read."""
        return {row[0] for row in self.rows}


@dataclass(frozen=True)
class RestCatalog:
    """Where an engine finds the lake: the REST catalog, its table bucket, and S3."""

    uri: str
    warehouse: str
    """``s3://<table bucket>`` (no trailing slash)."""
    s3_endpoint: str
    key_id: str
    secret: str
    region: str

    @property
    def token_endpoint(self) -> str:
        """The catalog's OAuth2 token endpoint (client credentials)."""
        return f"{self.uri}/v1/oauth/tokens"


# --- PyIceberg, the reference -----------------------------------------------------------


def pyiceberg_fact(lake: Lake, tag: str | None = None) -> FactRates:
    """gold.fact_rate as PyIceberg reads it, at the current snapshot or at ``tag``."""
    table = lake.catalog.load_table(("gold", "fact_rate"))
    snapshot_id = None
    if tag is not None:
        snapshot = table.snapshot_by_name(tag)
        assert snapshot is not None, f"no tag {tag}"
        snapshot_id = snapshot.snapshot_id
    data = table.scan(selected_fields=FACT_COLUMNS, snapshot_id=snapshot_id).to_arrow()
    rows = sorted(zip(*(data.column(name).to_pylist() for name in FACT_COLUMNS), strict=True))
    with decimal.localcontext() as context:
        context.prec = 100  # far above 38 digits times the row count's digits: exact
        total = sum((row[4] for row in rows), Decimal(0))
    return FactRates(count=data.num_rows, rate_sum=total, rows=rows)


def pyiceberg_bronze(lake: Lake) -> BronzeRows:
    """bronze.extractions as PyIceberg reads it (the SHA-256 computed here, in Python)."""
    columns = ("extraction_id", "response_checksum", "raw_response")
    data = lake.catalog.load_table(("bronze", "extractions")).scan(selected_fields=columns)
    table = data.to_arrow()
    rows = sorted(
        (extraction_id, checksum, hashlib.sha256(body).hexdigest())
        for extraction_id, checksum, body in zip(
            *(table.column(name).to_pylist() for name in columns), strict=True
        )
    )
    return BronzeRows(count=table.num_rows, rows=rows)


# --- DuckDB: ATTACH of the REST catalog ---------------------------------------------------


def duckdb_attach_statements(catalog: RestCatalog) -> list[str]:
    """The SQL that attaches the REST catalog as :data:`ALIAS` (docs/scale-out.md)."""
    oauth = ", ".join(
        [
            "TYPE iceberg",
            f"CLIENT_ID {literal(catalog.key_id)}",
            f"CLIENT_SECRET {literal(catalog.secret)}",
            f"OAUTH2_SERVER_URI {literal(catalog.token_endpoint)}",
        ]
    )
    return [
        f"CREATE SECRET rest_oauth ({oauth})",
        # The catalog hands out no credentials for the files: DuckDB reads them with these.
        create_s3_secret(catalog.s3_endpoint, catalog.key_id, catalog.secret, catalog.region),
        f"ATTACH {literal(catalog.warehouse + '/')} AS {ALIAS} "
        f"(TYPE iceberg, SECRET rest_oauth, ENDPOINT {literal(catalog.uri)}, READ_ONLY)",
    ]


def duckdb_attached(catalog: RestCatalog, extension_directory: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the REST catalog attached, extensions from the wheels."""
    con = duckdb.connect(config=offline_config(extension_directory))
    load_offline(con, ("avro", "iceberg", "httpfs"), directory=extension_directory)
    for statement in duckdb_attach_statements(catalog):
        con.execute(statement)
    return con


def duckdb_fact(con: duckdb.DuckDBPyConnection, snapshot_id: int | None = None) -> FactRates:
    """gold.fact_rate through the attached catalog, now or ``AT (VERSION => snapshot_id)``."""
    at = "" if snapshot_id is None else f" AT (VERSION => {int(snapshot_id)})"
    source = f"{ALIAS}.gold.fact_rate{at}"
    totals = con.execute(f"SELECT count(*), sum(rate) FROM {source}").fetchone()
    assert totals is not None
    rows = con.execute(f"SELECT {', '.join(FACT_COLUMNS)} FROM {source}").fetchall()
    return FactRates(count=totals[0], rate_sum=totals[1], rows=sorted(rows))


def duckdb_bronze(con: duckdb.DuckDBPyConnection) -> BronzeRows:
    """bronze.extractions through the attached catalog, the SHA-256 computed by DuckDB."""
    source = f"{ALIAS}.bronze.extractions"
    count = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    assert count is not None
    rows = con.execute(
        f"SELECT extraction_id, response_checksum, sha256(raw_response) FROM {source}"
    ).fetchall()
    return BronzeRows(count=count[0], rows=sorted(rows))


def rest_ref_snapshot(catalog: RestCatalog, token: str, table: str, ref: str) -> int:
    """The snapshot id a tag or branch names, as the REST catalog's loadTable returns it.

    DuckDB 1.5.5's iceberg extension time-travels by snapshot id or time only (a tag name
    in ``AT (VERSION => ...)`` is refused as not an integer), so a DuckDB user resolves
    a tag through the catalog first.
    """
    headers = {"Authorization": f"Bearer {token}"}
    query = urllib.parse.urlencode({"warehouse": catalog.warehouse})
    config = _get_json(f"{catalog.uri}/v1/config?{query}", headers)
    prefix = config.get("overrides", {}).get("prefix", "")
    namespace, _, name = table.partition(".")
    base = f"{catalog.uri}/v1/{prefix}/" if prefix else f"{catalog.uri}/v1/"
    loaded = _get_json(f"{base}namespaces/{namespace}/tables/{name}", headers)
    snapshot_id: int = loaded["metadata"]["refs"][ref]["snapshot-id"]
    return snapshot_id


def _get_json(url: str, headers: Mapping[str, str]) -> Any:
    # Only the catalog's own http:// URI on loopback reaches here.
    request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


# --- Sail: Spark SQL over Spark Connect ---------------------------------------------------


def sail_environment(catalog: RestCatalog, token: str) -> dict[str, str]:
    """The settings Sail's server reads from its environment (docs/scale-out.md)."""
    entry = ", ".join(
        [
            'type="iceberg-rest"',
            f'name="{ALIAS}"',
            f'uri="{catalog.uri}"',
            f'warehouse="{catalog.warehouse}/"',
            f'bearer_access_token="{token}"',
        ]
    )
    return {
        "SAIL_CATALOG__LIST": f"[{{{entry}}}]",
        "SAIL_CATALOG__DEFAULT_CATALOG": ALIAS,
        # Sail's S3 client reads these each time it opens a data file.
        "AWS_ACCESS_KEY_ID": catalog.key_id,
        "AWS_SECRET_ACCESS_KEY": catalog.secret,
        "AWS_REGION": catalog.region,
        "AWS_ENDPOINT_URL": catalog.s3_endpoint,
        "AWS_ALLOW_HTTP": "true",
        # With a region given there is nothing to ask the instance metadata service, and
        # it must not be tried: the tests stay on loopback.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@contextmanager
def sail_session(
    environment: Mapping[str, str], log: Path, timeout: float = 60.0
) -> Iterator[SparkSession]:
    """A Spark Connect session on a Sail server started for it with ``environment``.

    The server is a child process: the variables are given to it alone and never set in
    this process. It stops when the session ends (its standard input is closed). The one
    variable the Spark Connect client sets in this process is removed again then.
    """
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(_SAIL_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env={**os.environ, **environment},
        )
    try:
        port = _read_port(process, log, timeout)
        with pytest.MonkeyPatch.context() as patch:
            # pyspark-client marks its process as a Connect client in os.environ and
            # never unsets it: set it here first so the context removes it afterwards.
            patch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
            spark = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").create()
            try:
                yield spark
            finally:
                spark.stop()
    finally:
        _stop(process)


def _read_port(process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = process.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        tail = log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"Sail's server did not start (exit {process.poll()}): {tail}")
    return int(line)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    if process.stdout is not None:
        process.stdout.close()


def sail_fact(spark: SparkSession, tag: str | None = None) -> FactRates:
    """gold.fact_rate through Sail, now or ``VERSION AS OF '<tag>'`` (Sail resolves it)."""
    version = "" if tag is None else f" VERSION AS OF {_spark_string(tag)}"
    source = f"gold.fact_rate{version}"
    totals = spark.sql(f"SELECT count(*) AS n, sum(rate) AS s FROM {source}").collect()[0]
    rows = spark.sql(f"SELECT {', '.join(FACT_COLUMNS)} FROM {source}").collect()
    return FactRates(count=totals["n"], rate_sum=totals["s"], rows=sorted(map(tuple, rows)))


def sail_bronze(spark: SparkSession) -> BronzeRows:
    """bronze.extractions through Sail, the SHA-256 computed by Sail (``sha2``)."""
    source = "bronze.extractions"
    count = spark.sql(f"SELECT count(*) AS n FROM {source}").collect()[0]["n"]
    rows = spark.sql(
        f"SELECT extraction_id, response_checksum, sha2(raw_response, 256) FROM {source}"
    ).collect()
    return BronzeRows(count=count, rows=sorted((r[0], r[1], r[2]) for r in rows))


def _spark_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
