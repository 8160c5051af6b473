"""Legal holds on bronze (an audit freeze) through the MinIO SDK, checked on SeaweedFS
with a second, independent client (boto3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from makerates_lake.bronze import BronzeWriter
from makerates_lake.cli import main
from makerates_lake.store.catalog import Lake
from makerates_lake.store.worm import split_s3_uri
from tests.integration.bronze_helpers import make_record
from tests.integration.reliability_helpers import settings_env
from tests.s3_tools import boto3_client

pytestmark = pytest.mark.integration

JAN, MAR = datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 3, 15, 12, tzinfo=UTC)


def _status(lake: Lake) -> dict[date, str]:
    """Legal hold status of each live bronze data file, by the extraction day it holds."""
    client = boto3_client(lake.settings)
    found: dict[date, str] = {}
    for task in lake.bronze().scan().plan_files():
        bucket, key = split_s3_uri(task.file.file_path)
        hold: str
        try:
            hold = client.get_object_legal_hold(Bucket=bucket, Key=key)["LegalHold"]["Status"]
        except client.exceptions.ClientError as exc:
            # Never held: the server has no legal hold configuration for the object.
            hold = "OFF" if "NoSuchObjectLegalHold" in str(exc) else str(exc)
        day = date(1970, 1, 1) + timedelta(days=task.file.partition[0])  # day transform
        found[day] = hold
    return found


def test_hold_and_release_a_window_of_bronze(pg_s3_lake: Lake) -> None:
    """``bronze hold --from --to`` holds exactly the files of that window; ``release``
    lifts it; the files outside the window are never touched."""
    writer = BronzeWriter(pg_s3_lake)
    writer.append([make_record(1, extraction_timestamp=JAN)])
    writer.append([make_record(2, extraction_timestamp=MAR)])
    env = settings_env(pg_s3_lake.settings)
    window = ["--from", "2026-03-01", "--to", "2026-04-01"]

    held = CliRunner().invoke(main, ["bronze", "hold", *window], env=env)
    assert held.exit_code == 0, held.output
    assert held.output.strip() == "legal hold on 1 bronze data files"
    assert _status(pg_s3_lake) == {JAN.date(): "OFF", MAR.date(): "ON"}

    released = CliRunner().invoke(main, ["bronze", "release", *window], env=env)
    assert released.exit_code == 0, released.output
    assert released.output.strip() == "legal hold lifted from 1 bronze data files"
    assert _status(pg_s3_lake) == {JAN.date(): "OFF", MAR.date(): "OFF"}


def test_hold_without_object_lock_is_a_clear_error(embedded_lake: Lake) -> None:
    """On local files there is nothing to hold: a BronzeError and exit 1, not a no-op."""
    BronzeWriter(embedded_lake).append([make_record()])
    result = CliRunner().invoke(main, ["bronze", "hold"], env=settings_env(embedded_lake.settings))
    assert result.exit_code == 1
    assert "BronzeError: legal holds need bronze in an S3 bucket with Object Lock" in result.output


def test_init_says_whether_bronze_is_worm(pg_s3_lake: Lake, embedded_lake: Lake) -> None:
    """``makerates init`` states the WORM status: on in an Object Lock bucket, off on files."""
    for lake, expected in ((pg_s3_lake, "WORM:      on"), (embedded_lake, "WORM:      off")):
        result = CliRunner().invoke(main, ["init"], env=settings_env(lake.settings))
        assert result.exit_code == 0, result.output
        assert expected in result.output
