"""Write-audit-publish: silver and gold change on a run's branch and reach ``main`` only
after the checks pass (issue 22, docs/audit.md)."""

from __future__ import annotations

import dataclasses
import signal
import socket
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import makerates_lake as mr
from makerates_lake.cli import main
from makerates_lake.lakehouse import Lakehouse
from makerates_lake.maintenance.expire import expire_all
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.pipeline import backfill, backfill_once, run_transform
from makerates_lake.pipeline.wap import WapChecksFailedError, promote
from makerates_lake.pipeline.wap_results import read_checks
from makerates_lake.store.branches import BRANCHED_TABLES, MAIN, ref_snapshot_id, wap_branches
from makerates_lake.store.catalog import Lake
from makerates_lake.store.tables import SILVER_RATES
from tests.integration.reliability_helpers import (
    SAMPLE_ZIP,
    run_cli,
    settings_env,
    spawn_cli,
    table_rows,
)

pytestmark = pytest.mark.integration

NEW_DAY = "2026-11-02"


def ecb_next_day(folder: Path, day: str, *, keep: float = 1.0) -> Path:
    """The sample as CSV with ``day`` prepended, carrying the newest day's rates; only
    the first ``keep`` share of its currencies has a rate (the rest ``N/A``)."""
    with zipfile.ZipFile(SAMPLE_ZIP) as archive:
        name = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
        text = archive.read(name).decode()
    header, _, rest = text.partition("\n")
    newest = rest.split("\n", 1)[0].split(",")
    quoted = [i for i, v in enumerate(newest) if i > 0 and v not in {"", "N/A"}]
    dropped = set(quoted[int(len(quoted) * keep) :])
    values = [day, *("N/A" if i in dropped else v for i, v in enumerate(newest) if i > 0)]
    path = folder / f"ecb-{day}-{keep}.csv"
    path.write_text(f"{header}\n{','.join(values)}\n{rest}")
    return path


def _mains(lake: Lake) -> dict[str, int | None]:
    return {s.identifier: ref_snapshot_id(lake.table(s), MAIN) for s in BRANCHED_TABLES}


def _house(lake: Lake) -> Lakehouse:
    """The public entry object on the fixture's layout (``lake.read`` and friends)."""
    return mr.open_lake(lake.settings)


def _day_rows(frame: pl.DataFrame, day: str) -> pl.DataFrame:
    return frame.filter(pl.col("rate_date") == datetime.fromisoformat(day).date())


def test_half_the_currencies_fail_the_check_and_main_is_unchanged(
    lake: Lake, tmp_path: Path
) -> None:
    """A payload dropping half the currencies: check fails, main and readers unchanged,
    the branch holds the rows, the stored result names the rule."""
    lake = _house(lake)
    backfill(lake)
    mains = _mains(lake)
    before = lake.read("silver.rates")
    day = datetime.fromisoformat(NEW_DAY).date()
    path = ecb_next_day(tmp_path, NEW_DAY, keep=0.5)
    with pytest.raises(WapChecksFailedError) as failed:
        backfill(lake, path, start=day, end=day)
    branch = failed.value.context["branch"]
    assert "currencies" in str(failed.value)

    assert _mains(lake) == mains
    assert lake.read("silver.rates").equals(before)
    assert _day_rows(lake.read("gold.fact_rate"), NEW_DAY).is_empty()
    assert _day_rows(mr.rates(lake, quotes=["USD"]), NEW_DAY).is_empty()
    held = _day_rows(lake.read("silver.rates", as_of=branch), NEW_DAY)
    assert held.height > 0
    assert {b.name for b in wap_branches(lake)} == {branch}
    checks = read_checks(lake, branch)
    failing = checks.filter(~pl.col("passed"))
    assert failing.get_column("check_name").to_list() == ["currencies"]
    assert set(checks.get_column("outcome")) == {"held"}

    # Published anyway, with a reason in the access log.
    moved = promote(lake, branch, reason="TICKET-1 provider outage, half is fine")
    assert SILVER_RATES.identifier in moved
    assert _day_rows(lake.read("silver.rates"), NEW_DAY).height == held.height
    log = mr.access_log(lake, action="wap_promote")
    assert log.filter(pl.col("query_text").str.contains("TICKET-1")).height == len(moved)


def test_clean_transform_fast_forwards_and_as_of_reads_work(lake: Lake, tmp_path: Path) -> None:
    """A clean transform moves main to its branch (branch removed, checks stored as
    passed); reads as of a time and a tag before it still give the old state."""
    lake = _house(lake)
    backfill(lake)
    first = lake.read("gold.fact_rate")
    mr.reprocess(lake, transform_version=2)
    tagged = lake.read("gold.fact_rate", as_of="transform-v2")
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    day = datetime.fromisoformat(NEW_DAY).date()
    backfill(lake, ecb_next_day(tmp_path, NEW_DAY), start=day, end=day)

    assert wap_branches(lake) == []
    now = lake.read("gold.fact_rate")
    assert _day_rows(now, NEW_DAY).height > 0
    assert now.height > first.height
    assert lake.read("gold.fact_rate", as_of=moment).equals(tagged)
    assert _day_rows(lake.read("gold.fact_rate", as_of="transform-v2"), NEW_DAY).is_empty()
    checks = read_checks(lake)
    assert checks.get_column("passed").all()
    assert set(checks.get_column("outcome")) == {"passed"}


def test_two_transforms_started_together_neither_lost_nor_doubled(sql_lake: Lake) -> None:
    """Two transform processes over the same pending bronze: both exit 0, silver holds
    each row once, and main of every table is consistent with one clean run."""
    sql_lake = _house(sql_lake)
    backfill_once(sql_lake, SAMPLE_ZIP)
    children = [spawn_cli(sql_lake.settings, "transform") for _ in range(2)]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    silver = table_rows(sql_lake, SILVER_RATES)
    key = ["extraction_id", "base_currency", "quote_currency", "rate_date"]
    assert silver.height == silver.unique(key).height > 0
    assert wap_branches(sql_lake) == []
    gold = sql_lake.read("gold.fact_rate")
    assert _day_rows(gold, "2026-10-30").height > 0
    assert run_transform(sql_lake).silver.first_date is None  # nothing left pending


@pytest.mark.parametrize("point", ["wap-before-publish", "wap-mid-publish"])
def test_killed_before_fast_forward_leaves_main_and_next_run_resumes(
    sql_lake: Lake, point: str
) -> None:
    """SIGKILL after the branch commits and checks, before main moves (or after the first
    table moved): the branch holds the run; the next run finishes the move, nothing
    doubled, every table consistent."""
    sql_lake = _house(sql_lake)
    backfill_once(sql_lake, SAMPLE_ZIP)
    killed = run_cli(sql_lake.settings, "transform", crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    # Before the move main is the empty table it was; midway only the first table moved.
    first, *rest = BRANCHED_TABLES
    assert sql_lake.read(first.identifier).is_empty() == (point == "wap-before-publish")
    for spec in rest:
        assert sql_lake.read(spec.identifier).is_empty(), spec.identifier
    branches = {b.name for b in wap_branches(sql_lake)}
    assert len(branches) == 1
    (branch,) = branches
    assert sql_lake.read("gold.fact_rate", as_of=branch).height > 0  # the last to move

    rerun = CliRunner().invoke(main, ["transform"], env=settings_env(sql_lake.settings))
    assert rerun.exit_code == 0, rerun.output
    assert wap_branches(sql_lake) == []
    silver = table_rows(sql_lake, SILVER_RATES)
    key = ["extraction_id", "base_currency", "quote_currency", "rate_date"]
    assert silver.height == silver.unique(key).height > 0
    assert _day_rows(sql_lake.read("gold.fact_rate"), "2026-10-30").height > 0


def test_cli_lists_checks_and_branches_reads_and_promotes_a_held_run(
    embedded_lake: Lake, tmp_path: Path
) -> None:
    """``audit checks`` says why a run was held, ``audit branches`` lists it, ``audit read
    --as-of <branch>`` reads it, ``audit promote`` needs --force and then publishes."""
    lake = _house(embedded_lake)
    backfill(lake)
    day = datetime.fromisoformat(NEW_DAY).date()
    with pytest.raises(WapChecksFailedError) as failed:
        backfill(lake, ecb_next_day(tmp_path, NEW_DAY, keep=0.5), start=day, end=day)
    branch = failed.value.context["branch"]
    env = settings_env(lake.settings)
    runner = CliRunner()

    checks = runner.invoke(main, ["audit", "checks", "--branch", branch], env=env)
    assert checks.exit_code == 0, checks.output
    assert any("currencies" in line and "FAIL" in line for line in checks.output.splitlines())
    listed = runner.invoke(main, ["audit", "branches"], env=env)
    assert branch in listed.output
    read = runner.invoke(
        main, ["audit", "read", "silver.rates", "--as-of", branch, "--format", "csv",
               "--limit", "100000"], env=env,
    )  # fmt: skip
    assert read.exit_code == 0, read.output
    assert NEW_DAY in read.output

    refused = runner.invoke(main, ["audit", "promote", branch, "--reason", "x"], env=env)
    assert refused.exit_code != 0
    assert _day_rows(lake.read("silver.rates"), NEW_DAY).is_empty()
    done = runner.invoke(
        main, ["audit", "promote", branch, "--force", "--reason", "TICKET-2"], env=env
    )
    assert done.exit_code == 0, done.output
    assert _day_rows(lake.read("silver.rates"), NEW_DAY).height > 0
    assert wap_branches(lake) == []


def test_maintain_removes_wap_branches_older_than_their_age(
    embedded_lake: Lake, tmp_path: Path
) -> None:
    """A held branch survives ``maintain`` while young and is removed once older than
    ``branch_max_age_days``; main is not touched."""
    lake = _house(embedded_lake)
    backfill(lake)
    day = datetime.fromisoformat(NEW_DAY).date()
    with pytest.raises(WapChecksFailedError):
        backfill(lake, ecb_next_day(tmp_path, NEW_DAY, keep=0.5), start=day, end=day)
    mains = _mains(lake)
    policy = MaintenancePolicy()
    expire_all(lake, BRANCHED_TABLES, policy)
    assert wap_branches(lake) != []
    expire_all(lake, BRANCHED_TABLES, policy, now=datetime.now(UTC) + timedelta(days=8))
    assert wap_branches(lake) == []
    assert _mains(lake) == mains


def test_a_failed_build_leaves_main_and_no_branch(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gold failing after silver committed on the branch: the error propagates, main
    holds nothing of the run, and the partial branch is removed."""
    import makerates_lake.pipeline as pipeline
    from makerates_lake.errors import TransformError

    def broken_gold(*_args: object, **_kwargs: object) -> None:
        raise TransformError("gold broke")

    backfill_once(embedded_lake, SAMPLE_ZIP)
    monkeypatch.setattr(pipeline, "build_gold", broken_gold)
    with pytest.raises(TransformError, match="gold broke"):
        run_transform(embedded_lake)
    assert wap_branches(embedded_lake) == []
    assert table_rows(embedded_lake, SILVER_RATES).is_empty()


@pytest.mark.parametrize("grace", ["publish_grace_minutes=0", ""])
def test_another_hosts_run_killed_mid_publish_is_finished_after_the_grace(
    sql_lake: Lake, grace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of another host (its pid cannot be asked) killed after its checks passed,
    with only the first table moved: the next run finishes the move once the checks are
    older than ``publish_grace_minutes``, and leaves it alone while they are younger."""
    import makerates_lake.pipeline.wap_recovery as recovery

    backfill_once(sql_lake, SAMPLE_ZIP)
    killed = run_cli(sql_lake.settings, "transform", crash_at="wap-mid-publish")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    (branch,) = {b.name for b in wap_branches(sql_lake)}
    first = BRANCHED_TABLES[0]
    assert ref_snapshot_id(sql_lake.table(first, refresh=True), MAIN) is not None  # moved
    monkeypatch.setattr(socket, "gethostname", lambda: "another-host")
    assert recovery.owner_state(branch) == "unknown"

    heads = {
        s.identifier: ref_snapshot_id(sql_lake.table(s, refresh=True), branch)
        for s in BRANCHED_TABLES
    }
    before = _mains(sql_lake)
    lake = mr.open_lake(dataclasses.replace(sql_lake.settings, wap_thresholds=grace))
    result = run_transform(lake)
    assert result.silver.rates == 0  # silver.rates had moved: nothing is doubled
    if grace:
        assert result.silver.first_date is None  # the log moved too: nothing pending
        assert wap_branches(lake) == []
        for table, main in _mains(lake).items():
            assert main == (heads[table] or before[table]), table  # every table moved
    else:
        # Within the grace a live run may still be publishing it: the branch is left
        # alone; the log had not moved, so this run redid the extraction on top of the
        # moved silver (no row twice) and published the rest itself.
        assert {b.name for b in wap_branches(lake)} == {branch}
        assert result.silver.extractions == 1
    silver = table_rows(lake, SILVER_RATES)
    key = ["extraction_id", "base_currency", "quote_currency", "rate_date"]
    assert silver.height == silver.unique(key).height > 0
    assert lake.read("gold.fact_rate").height > 0


def test_a_held_reprocess_leaves_the_transform_tag_on_the_published_snapshot(
    embedded_lake: Lake,
) -> None:
    """``transform-vN`` names what main published: a reprocess whose checks fail moves
    neither main nor the tag; a published one tags main's new snapshot."""
    lake = mr.open_lake(embedded_lake.settings)
    backfill(lake)
    published = mr.reprocess(lake)
    mains = _mains(lake)
    for spec in BRANCHED_TABLES:
        tag = lake.tags(spec.identifier).filter(pl.col("name") == published.tag)
        main = mains[spec.identifier]
        assert tag.get_column("snapshot_id").to_list() == ([] if main is None else [main])

    strict = mr.open_lake(dataclasses.replace(lake.settings, wap_thresholds="min_currency_share=2"))
    with pytest.raises(WapChecksFailedError):
        mr.reprocess(strict)
    assert _mains(lake) == mains
    for spec in BRANCHED_TABLES:
        tag = lake.tags(spec.identifier).filter(pl.col("name") == published.tag)
        main = mains[spec.identifier]
        assert tag.get_column("snapshot_id").to_list() == ([] if main is None else [main])


@pytest.mark.parametrize(("factor", "held"), [("1.1", True), ("1.001", False)])
def test_a_second_source_disagreeing_on_most_pairs_is_held(
    lake: Lake, factor: str, held: bool
) -> None:
    """Frankfurter's answer for the ECB's newest day, every rate 10 % off: the
    ``disagreements`` check holds the run (main unchanged, the rule named); 0.1 % off
    (within the 2 % default) is published."""
    from decimal import Decimal

    from makerates_lake.bronze.record import BronzeRecord
    from makerates_lake.bronze.writer import BronzeWriter

    lake = _house(lake)
    backfill(lake)
    day = "2026-10-30"
    ecb = _day_rows(lake.read("silver.rates"), day).filter(pl.col("base_currency") == "EUR")
    assert ecb.height >= 20
    rates = ",".join(
        f'"{r["quote_currency"]}":{Decimal(r["rate_text"]) * Decimal(factor)}'
        for r in ecb.iter_rows(named=True)
    )
    body = f'{{"amount":1.0,"base":"EUR","date":"{day}","rates":{{{rates}}}}}'
    record = BronzeRecord.create(
        source_name="frankfurter",
        source_version="v1",
        request_url="https://api.frankfurter.app/latest",
        raw_response=body.encode(),
        http_status_code=200,
        extraction_timestamp=datetime(2026, 10, 30, 17, tzinfo=UTC),
    )
    BronzeWriter(lake).append([record])
    mains = _mains(lake)
    if not held:
        run_transform(lake)
        assert _mains(lake) != mains
        return
    with pytest.raises(WapChecksFailedError) as failed:
        run_transform(lake)
    assert "disagreements" in str(failed.value)
    assert _mains(lake) == mains
    checks = read_checks(lake, failed.value.context["branch"])
    failing = checks.filter(~pl.col("passed"))
    assert failing.get_column("check_name").to_list() == ["disagreements"]
    (detail,) = failing.get_column("detail").to_list()
    assert f"{ecb.height} of {ecb.height} source pairs differ" in detail


def test_a_live_run_whose_publish_another_host_began_finishes_it(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another host's recovery moved the first table's main to this live run's branch
    before the run published: the run finishes the other tables instead of dropping
    their branches and rebuilding (gold would lose the run's rows for good)."""
    import makerates_lake.pipeline.wap as wap
    from makerates_lake.store.branches import fast_forward

    real_publish = wap.publish_branch

    def recovery_first(lake: Lake, branch: str, *args: object, **kwargs: object) -> None:
        fast_forward(lake, BRANCHED_TABLES[0], branch, expected_main=None, behind=True)
        real_publish(lake, branch, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(wap, "publish_branch", recovery_first)
    backfill_once(embedded_lake, SAMPLE_ZIP)
    result = run_transform(embedded_lake)
    assert result.silver.rates > 0
    assert wap_branches(embedded_lake) == []
    assert table_rows(embedded_lake, SILVER_RATES).height == result.silver.rates
    gold = mr.open_lake(embedded_lake.settings).read("gold.fact_rate")
    assert _day_rows(gold, "2026-10-30").height > 0
    assert run_transform(embedded_lake).silver.first_date is None  # nothing left pending

