"""A second engine on the same tables: DuckDB (ATTACH of the Iceberg REST catalog) and
Sail (Spark SQL over Spark Connect) read the REST layout's lake and return exactly what
PyIceberg returns: row counts, exact decimal sums, key columns and bronze's bytes.

The lake is built once for the module: the bundled ECB sample loaded for 2023-2024,
reprocessed (tag ``transform-v2``), then loaded whole, so the current snapshot and the
tag differ; bronze also holds a few API-shaped records.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import makerates_lake as mr
from makerates_lake.bronze import BronzeWriter
from makerates_lake.store.catalog import Lake, open_lake
from tests.integration.bronze_helpers import make_record
from tests.integration.engines import (
    BronzeRows,
    FactRates,
    RestCatalog,
    duckdb_attached,
    duckdb_bronze,
    duckdb_fact,
    pyiceberg_bronze,
    pyiceberg_fact,
    rest_ref_snapshot,
    sail_bronze,
    sail_environment,
    sail_fact,
    sail_session,
)
from tests.seaweed import ACCESS_KEY, REGION, SECRET_KEY, SeaweedServer

pytestmark = pytest.mark.integration

TAG = "transform-v2"


@pytest.fixture(scope="module")
def engine_lake(seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """A REST-layout lake (its own table bucket) with gold at a tag and moved on since."""
    home = tmp_path_factory.mktemp("engine-lake")
    # Module scope runs before the autouse isolated_environment fixture: keep a developer's
    # own settings and ~/.pyiceberg.yaml out in the same way while the lake is built.
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("MAKERATES_", "PYICEBERG_")):
                patch.delenv(key)
        patch.setenv("HOME", str(home))
        patch.setenv("MAKERATES_PIPELINE_VERSION", "test")
        settings = seaweed.rest_settings(home / "lake", prefix="engines", environ={})
        lake = open_lake(settings)
        mr.backfill(lake, start=date(2023, 1, 1), end=date(2024, 12, 31))
        mr.reprocess(lake, transform_version=2)
        mr.backfill(lake)  # the whole sample: gold moves past the tag
        BronzeWriter(lake).append([make_record(n) for n in range(3)])
        yield lake


@pytest.fixture(scope="module")
def catalog(engine_lake: Lake, seaweed: SeaweedServer) -> RestCatalog:
    """How the second engines reach the module's lake."""
    return RestCatalog(
        uri=seaweed.rest_uri,
        warehouse=engine_lake.settings.resolved_warehouse.rstrip("/"),
        s3_endpoint=seaweed.s3_endpoint,
        key_id=ACCESS_KEY,
        secret=SECRET_KEY,
        region=REGION,
    )


@pytest.fixture(scope="module")
def expected(engine_lake: Lake) -> tuple[FactRates, FactRates, BronzeRows]:
    """What PyIceberg reads: gold now, gold at the tag, bronze."""
    now, tagged = pyiceberg_fact(engine_lake), pyiceberg_fact(engine_lake, TAG)
    # The tag must name an older, smaller gold, or reading it proves nothing.
    assert 0 < tagged.count < now.count
    return now, tagged, pyiceberg_bronze(engine_lake)


def _assert_same_facts(engine: FactRates, reference: FactRates) -> None:
    assert engine.count == reference.count
    assert type(engine.rate_sum) is Decimal  # never through a float
    assert engine.rate_sum == reference.rate_sum
    assert engine.rows == reference.rows


def _assert_same_bronze(engine: BronzeRows, reference: BronzeRows) -> None:
    assert engine.count == reference.count == 5  # two backfill loads, three records
    assert engine.extraction_ids == reference.extraction_ids
    assert engine.rows == reference.rows
    # Each engine's hash of raw_response is the stored checksum: the bytes came through.
    assert all(checksum == digest for _id, checksum, digest in engine.rows)


def test_duckdb_attach_reads_what_pyiceberg_reads(
    engine_lake: Lake,
    catalog: RestCatalog,
    seaweed: SeaweedServer,
    expected: tuple[FactRates, FactRates, BronzeRows],
    tmp_path: Path,
) -> None:
    """DuckDB with the REST catalog ATTACHed (OAuth2 secret, offline extensions) returns
    PyIceberg's counts, exact decimal sums and rows for gold now and at the tag, and
    bronze's ids, checksums and bytes; the test process's environment is untouched."""
    environment = dict(os.environ)
    now, tagged, bronze = expected
    table = engine_lake.catalog.load_table(("gold", "fact_rate"))
    tag_snapshot = rest_ref_snapshot(catalog, seaweed.oauth_token(), "gold.fact_rate", TAG)
    assert tag_snapshot == table.refs()[TAG].snapshot_id

    con = duckdb_attached(catalog, tmp_path / "extensions")
    try:
        _assert_same_facts(duckdb_fact(con), now)
        _assert_same_facts(duckdb_fact(con, tag_snapshot), tagged)
        _assert_same_bronze(duckdb_bronze(con), bronze)
    finally:
        con.close()
    assert dict(os.environ) == environment


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_sail_reads_what_pyiceberg_reads(
    catalog: RestCatalog,
    seaweed: SeaweedServer,
    expected: tuple[FactRates, FactRates, BronzeRows],
    tmp_path: Path,
) -> None:
    """Sail (Spark Connect, REST catalog with a bearer token, tag by name) returns
    PyIceberg's counts, exact decimal sums and rows for gold now and at the tag, and
    bronze's ids, checksums and bytes; its settings reach only its own process."""
    environment = dict(os.environ)
    now, tagged, bronze = expected
    settings = sail_environment(catalog, seaweed.oauth_token())
    with sail_session(settings, tmp_path / "sail.log") as spark:
        _assert_same_facts(sail_fact(spark), now)
        _assert_same_facts(sail_fact(spark, TAG), tagged)
        _assert_same_bronze(sail_bronze(spark), bronze)
    assert dict(os.environ) == environment
    assert not any(key.startswith("SAIL_") for key in os.environ)
