"""Several processes writing bronze at once lose and duplicate nothing, on both S3 layouts:
PostgreSQL + S3 (our commit lock queues the writers) and the REST catalog (no lock of
ours: the server refuses a stale commit and the retry loop rebuilds it)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from makerates_lake.settings import Settings
from makerates_lake.store.catalog import Lake
from tests.integration.bronze_helpers import append_worker, make_record, same_batch_worker


def _plain(settings: Settings) -> dict[str, str]:
    """Settings as explicit string arguments a child process can rebuild them from."""
    assert settings.catalog_uri
    assert settings.s3_secret_access_key
    assert settings.s3_endpoint
    values = {
        "home": str(settings.home),
        "catalog_uri": settings.catalog_uri,
        "warehouse": settings.resolved_warehouse,
        "bronze_warehouse": settings.resolved_bronze_warehouse,
        "s3_endpoint": settings.s3_endpoint,
        "s3_access_key_id": settings.s3_access_key_id or "",
        "s3_secret_access_key": settings.s3_secret_access_key.reveal(),
    }
    if settings.catalog_auth:
        values["catalog_auth"] = settings.catalog_auth
    return values


@pytest.fixture(params=["pg_s3_lake", "rest_s3_lake"])
def s3_lake(request: pytest.FixtureRequest) -> Lake:
    """Each S3 layout in turn."""
    lake: Lake = request.getfixturevalue(request.param)
    return lake


def test_four_processes_times_25_appends_give_100_rows(s3_lake: Lake) -> None:
    """4 processes x 25 one-row commits into one table: exactly 100 rows, 100 distinct ids."""
    values = _plain(s3_lake.settings)
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(append_worker, values, worker, 25) for worker in range(4)]
        written_ids = [i for future in futures for i in future.result(timeout=600)]
    ids = s3_lake.bronze().scan().to_arrow().column("extraction_id").to_pylist()
    assert len(ids) == 100
    assert len(set(ids)) == 100
    assert set(ids) == set(written_ids)


def test_two_processes_writing_the_same_batch_store_it_once(s3_lake: Lake) -> None:
    """When two writers race with the same extraction_ids, each id is stored exactly once."""
    records = [make_record(i) for i in range(10)]
    values = _plain(s3_lake.settings)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(same_batch_worker, values, records) for _ in range(2)]
        written = sorted(future.result(timeout=300) for future in futures)
    assert written == [0, 10]
    ids = s3_lake.bronze().scan().to_arrow().column("extraction_id").to_pylist()
    assert sorted(ids) == sorted(r.extraction_id for r in records)
