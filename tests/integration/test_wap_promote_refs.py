"""``audit promote`` publishes only held write-audit-publish branches: ``main``, a tag or
an unknown name is refused before anything changes (promote fast-forwards ``main`` to
the ref and removes it, which deleted ``main`` or the tag from every table), and the
store never removes ``main`` or a tag whoever calls it (docs/audit.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli import main
from makerates_lake.lakehouse import Lakehouse
from makerates_lake.pipeline import backfill
from makerates_lake.pipeline.wap import NotAWapBranchError, WapChecksFailedError, promote
from makerates_lake.store.branches import (
    BRANCHED_TABLES,
    MAIN,
    ProtectedRefError,
    expire_wap_branches,
    fast_forward,
    remove_branch,
    wap_branches,
)
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import GOLD_FACT_RATE, SILVER_RATES
from tests.integration.reliability_helpers import settings_env
from tests.integration.test_wap import NEW_DAY, ecb_next_day

pytestmark = pytest.mark.integration

#: A tag that looks like a run's branch: the prefix alone must not make it promotable.
WAP_TAG = "wap-pinned"
REFUSED = ["main", "transform-v1", WAP_TAG, "wap-20260101T000000-nohost-1-abcdef", "nightly"]


def _held_lake(lake: Lake, folder: Path) -> tuple[Lakehouse, str]:
    """A lake with published rates, a ``transform-v1`` tag on every silver and gold
    table, a ``wap-`` tag on gold.fact_rate, and a held run's branch (its name)."""
    house = mr.open_lake(lake.settings)
    backfill(house)
    mr.reprocess(house, transform_version=1)
    day = datetime.fromisoformat(NEW_DAY).date()
    with pytest.raises(WapChecksFailedError) as failed:
        backfill(house, ecb_next_day(folder, NEW_DAY, keep=0.5), start=day, end=day)
    gold = house.table(GOLD_FACT_RATE, refresh=True)
    head = gold.metadata.refs[MAIN].snapshot_id
    gold.manage_snapshots().create_tag(head, WAP_TAG).commit()
    return house, str(failed.value.context["branch"])


def _state(house: Lakehouse) -> dict[str, Any]:
    """Every silver and gold table's refs (name, type, snapshot) and ``main``'s rows."""
    state: dict[str, Any] = {}
    for spec in BRANCHED_TABLES:
        refs = house.table(spec, refresh=True).metadata.refs
        state[spec.identifier] = (
            {name: (ref.snapshot_ref_type.value, ref.snapshot_id) for name, ref in refs.items()},
            house.read(spec.identifier).height,
        )
    return state


def _promote_works(house: Lakehouse, branch: str) -> None:
    """The held branch still publishes: main of silver gains the held day, and ``main``
    and every tag (``transform-v1``, the ``wap-`` one) survive the promote."""
    kept = {
        spec.identifier: {n for n in house.table(spec, refresh=True).metadata.refs if n != branch}
        for spec in BRANCHED_TABLES
    }
    moved = promote(house, branch, reason="TICKET-3 half the currencies are fine")
    assert SILVER_RATES.identifier in moved
    silver = house.read("silver.rates")
    day = datetime.fromisoformat(NEW_DAY).date()
    assert silver.filter(silver["rate_date"] == day).height > 0
    assert wap_branches(house) == []
    for spec in BRANCHED_TABLES:
        refs = set(house.table(spec, refresh=True).metadata.refs)
        assert refs == kept[spec.identifier], spec.identifier


@pytest.mark.parametrize("ref", REFUSED)
def test_promote_refuses_what_is_not_a_wap_branch_and_changes_nothing(
    embedded_lake: Lake, tmp_path: Path, ref: str
) -> None:
    """``main``, a tag (``transform-v1``, a ``wap-`` tag) and unknown names are refused
    with NotAWapBranchError naming the ref; refs and rows of every table are unchanged,
    and the held branch then promotes as before."""
    house, branch = _held_lake(embedded_lake, tmp_path)
    before = _state(house)
    with pytest.raises(NotAWapBranchError) as refused:
        promote(house, ref, reason="x")
    assert repr(ref) in str(refused.value)
    assert "promote takes" in str(refused.value)
    assert _state(house) == before
    assert mr.access_log(house, action="wap_promote").is_empty()  # refused before logging
    _promote_works(house, branch)


@pytest.mark.parametrize("ref", ["main", "transform-v1"])
def test_cli_promote_of_main_or_a_tag_fails_and_keeps_every_ref(
    embedded_lake: Lake, tmp_path: Path, ref: str
) -> None:
    """The reviewer's commands: ``audit promote main|transform-v1 --force`` print
    ``NotAWapBranchError: ...``, exit non-zero, and gold still holds its rates."""
    house, branch = _held_lake(embedded_lake, tmp_path)
    before = _state(house)
    env = settings_env(house.settings)
    runner = CliRunner()
    result = runner.invoke(main, ["audit", "promote", ref, "--force", "--reason", "x"], env=env)
    assert result.exit_code == 1, result.output
    assert "NotAWapBranchError:" in result.output
    assert repr(ref) in result.output
    assert f"published {ref}:" not in result.output
    assert _state(house) == before
    assert house.read("gold.fact_rate").height > 0
    done = runner.invoke(main, ["audit", "promote", branch, "--force", "--reason", "T"], env=env)
    assert done.exit_code == 0, done.output
    assert wap_branches(house) == []


def test_store_never_removes_main_or_a_tag(embedded_lake: Lake, tmp_path: Path) -> None:
    """Defence in depth: :func:`remove_branch` and :func:`fast_forward` raise
    ProtectedRefError for ``main`` and tags whoever calls them; a ``wap-`` tag is no
    run's branch, so expiry neither lists nor removes it."""
    house, branch = _held_lake(embedded_lake, tmp_path)
    before = _state(house)
    for spec in BRANCHED_TABLES:
        refs = house.table(spec, refresh=True).metadata.refs
        for ref in [r for r in (MAIN, "transform-v1") if r in refs or r == MAIN]:
            with pytest.raises(ProtectedRefError):
                remove_branch(house, spec, ref)
            with pytest.raises(ProtectedRefError):
                fast_forward(house, spec, ref, expected_main=None, behind=True)
    with pytest.raises(ProtectedRefError):
        remove_branch(house, GOLD_FACT_RATE, WAP_TAG)
    with pytest.raises(ProtectedRefError):
        fast_forward(house, GOLD_FACT_RATE, WAP_TAG, expected_main=None, behind=True)
    assert _state(house) == before
    assert {info.name for info in wap_branches(house)} == {branch}
    assert expire_wap_branches(house, timedelta(0), now=datetime.now(UTC) + timedelta(days=1))
    assert wap_branches(house) == []
    assert WAP_TAG in house.table(GOLD_FACT_RATE, refresh=True).metadata.refs
    for spec in BRANCHED_TABLES:
        refs, rows = before[spec.identifier]
        after = _state(house)[spec.identifier]
        assert after == ({n: r for n, r in refs.items() if n != branch}, rows), spec.identifier
