"""The REST layout with OAuth2 client credentials (``catalog_auth = "oauth2"``): PyIceberg
fetches a token from the catalog's token endpoint with ``catalog_credential``. The layout
fixture covers SigV4; these prove the other way PyIceberg authenticates, on the same
catalog and table bucket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import makerates_lake as mr
from makerates_lake.bronze import BronzeWriter
from makerates_lake.errors import LakeError
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import open_lake
from tests.integration.bronze_helpers import make_record
from tests.seaweed import ACCESS_KEY, SECRET_KEY

pytestmark = pytest.mark.integration

WRONG_SECRET = "wrong-secret-4f1d9c"


def _oauth2_settings(rest: Settings, credential: str, home: Path) -> Settings:
    """``rest``'s catalog and table bucket, authenticated by OAuth2 client credentials."""
    assert rest.s3_secret_access_key is not None
    return load_settings(
        environ={},
        home=home,
        catalog_uri=rest.resolved_catalog_uri,
        catalog_auth="oauth2",
        catalog_credential=credential,
        warehouse=rest.resolved_warehouse,
        s3_endpoint=rest.s3_endpoint,
        s3_access_key_id=rest.s3_access_key_id,
        s3_secret_access_key=rest.s3_secret_access_key.reveal(),
    )


def test_oauth2_lake_commits_and_reads_back(rest_s3_settings: Settings, tmp_path: Path) -> None:
    """A lake opened with client credentials creates its tables, commits a bronze append
    and reads it back; a SigV4 lake on the same catalog sees the same rows."""
    settings = _oauth2_settings(rest_s3_settings, f"{ACCESS_KEY}:{SECRET_KEY}", tmp_path / "o")
    lake = mr.open_lake(settings)
    records = [make_record(n) for n in range(3)]

    result = BronzeWriter(lake).append(records)

    assert result.written == 3
    assert result.snapshot_id is not None
    stored = lake.read("bronze.extractions", columns=["extraction_id", "response_checksum"])
    assert dict(zip(stored["extraction_id"], stored["response_checksum"], strict=True)) == {
        r.extraction_id: r.response_checksum for r in records
    }
    current = open_lake(rest_s3_settings, create=False).bronze().current_snapshot()
    assert current is not None
    assert current.snapshot_id == result.snapshot_id


@pytest.mark.parametrize(
    "credential",
    [f"{ACCESS_KEY}:{WRONG_SECRET}", f"unknown-client:{WRONG_SECRET}"],
    ids=["wrong-secret", "unknown-client"],
)
def test_wrong_oauth2_credential_is_a_lake_error_without_the_secret(
    rest_s3_settings: Settings, tmp_path: Path, credential: str
) -> None:
    """A refused client credential raises LakeError naming the catalog and the OAuth2
    refusal; neither the message nor the repr holds the secret given or the real one."""
    settings = _oauth2_settings(rest_s3_settings, credential, tmp_path / "o")

    with pytest.raises(LakeError) as raised:
        mr.open_lake(settings)

    error = raised.value
    text = f"{error} {error!r}"
    assert "cannot open the catalog" in str(error)
    assert "OAuthError" in str(error)
    assert "credentials" in str(error).lower()
    assert rest_s3_settings.resolved_catalog_uri in str(error)
    assert WRONG_SECRET not in text
    assert SECRET_KEY not in text
    assert error.__cause__ is None  # the client's exception, which may hold it, is not chained
