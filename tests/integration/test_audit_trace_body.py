"""`audit trace --json`: the raw body is cut to --body-chars, or given whole on request."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from makerates_lake.cli.audit import commands
from makerates_lake.store.catalog import Lake
from tests.audit_helpers import FIRST_DAY, build_small_lake


@pytest.mark.parametrize("option", [["--full-body"], ["--body-chars", "0"]])
def test_full_body_gives_every_byte_of_the_stored_response(
    embedded_lake: Lake, option: list[str]
) -> None:
    """--full-body and --body-chars 0 return the whole body, untruncated; a limit cuts it."""
    records = build_small_lake(embedded_lake, days=1)
    body = records[0].raw_response.decode()
    assert len(body) > 10
    group = {c.name: c for c in commands}["audit"]
    args = ["trace", "USD", "EUR", "--date", FIRST_DAY.isoformat(), "--json"]
    runner = CliRunner()
    cut = runner.invoke(group, [*args, "--body-chars", "10"], obj=embedded_lake)
    assert cut.exit_code == 0, cut.output
    cut_bronze = json.loads(cut.output)["legs"][0]["bronze"]
    assert cut_bronze["raw_response"] == body[:10]
    assert cut_bronze["raw_response_truncated"] is True
    whole = runner.invoke(group, [*args, "--body-chars", "10", *option], obj=embedded_lake)
    assert whole.exit_code == 0, whole.output
    bronze = json.loads(whole.output)["legs"][0]["bronze"]
    assert bronze["raw_response"] == body
    assert bronze["raw_response_truncated"] is False
    assert bronze["raw_response_size"] == len(records[0].raw_response)


def test_negative_body_chars_is_refused(embedded_lake: Lake) -> None:
    """A negative limit is a usage error, not a silently cut body."""
    group = {c.name: c for c in commands}["audit"]
    result = CliRunner().invoke(
        group, ["trace", "USD", "EUR", "--date", FIRST_DAY.isoformat(), "--body-chars", "-1"],
        obj=embedded_lake,
    )
    assert result.exit_code == 2
    assert "--body-chars" in result.output
