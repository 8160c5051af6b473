"""Trace, as-of, diff and verify on both layouts (embedded, PostgreSQL + S3)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from makerates_lake.audit.diff import diff_snapshots
from makerates_lake.audit.errors import RecordNotFoundError
from makerates_lake.audit.reading import read_polars
from makerates_lake.audit.trace import trace
from makerates_lake.audit.verify import verify_lake
from makerates_lake.cli.audit import commands
from makerates_lake.pipeline import run_reprocess
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf
from makerates_lake.store.tables import GOLD_FACT_RATE
from tests.audit_helpers import (
    FIRST_DAY,
    alter_silver_rate,
    build_small_lake,
    rewrite_bronze_body,
)


def test_trace_of_an_untouched_rate_is_ok_with_full_lineage(lake: Lake) -> None:
    """A clean lake traces gold -> silver -> bronze with matching checksums and values."""
    records = build_small_lake(lake)
    result = trace(lake, FIRST_DAY, "usd", "eur")
    assert result.verdict == "ok"
    (leg,) = result.legs
    assert leg.extraction_id == records[0].extraction_id
    assert leg.provider_text == "0.9120"
    assert leg.bronze is not None
    assert leg.bronze.raw_response == records[0].raw_response
    assert leg.bronze.recomputed_checksum == records[0].response_checksum
    assert all(sid is not None for sid in result.snapshots.values())


def test_value_altered_in_silver_is_a_transform_mismatch_with_both_numbers(lake: Lake) -> None:
    """Silver changed behind the transform's back: the provider's and the stored value show."""
    records = build_small_lake(lake)
    alter_silver_rate(lake, records[0].extraction_id, "EUR", Decimal("0.5"))
    result = trace(lake, FIRST_DAY, "USD", "EUR")
    assert result.verdict == "transform_mismatch"
    text = " ".join(result.legs[0].problems)
    assert "0.9120" in text
    assert "0.500000000000000000" in text


def test_bronze_body_rewritten_in_storage_is_tampered(lake: Lake) -> None:
    """A Parquet file rewritten through a side door is caught by the recomputed checksum."""
    records = build_small_lake(lake)
    target = records[1]
    rewrite_bronze_body(
        lake, target.extraction_id, target.raw_response.replace(b"0.9220", b"0.9999")
    )
    result = trace(lake, FIRST_DAY + timedelta(days=1), "USD", "EUR")
    assert result.verdict == "tampered"
    leg = result.legs[0]
    assert leg.bronze is not None
    assert leg.bronze.stored_checksum == target.response_checksum
    assert leg.bronze.recomputed_checksum != target.response_checksum
    report = verify_lake(lake)
    assert not report.ok
    assert [m.extraction_id for m in report.bronze.mismatches] == [target.extraction_id]


def test_trace_as_of_before_a_reprocess_returns_the_old_value_and_lineage(lake: Lake) -> None:
    """A cross rate rounded by v1 is traced as of the pre-reprocess tag after a v2 rebuild."""
    records = build_small_lake(lake)
    run_reprocess(lake, transform_version=1)
    v1 = trace(lake, FIRST_DAY, "EUR", "GBP")
    before_v2 = lake.table(GOLD_FACT_RATE).current_snapshot()
    assert before_v2 is not None
    run_reprocess(lake, transform_version=2)
    now = trace(lake, FIRST_DAY, "EUR", "GBP")
    old = trace(lake, FIRST_DAY, "EUR", "GBP", as_of=AsOf(snapshot_id=before_v2.snapshot_id))
    assert now.fact["rate"] != v1.fact["rate"]
    assert old.fact["rate"] == v1.fact["rate"]
    assert old.fact["transform_version"] == 1
    assert old.verdict == "ok"
    assert {leg.extraction_id for leg in old.legs} == {records[0].extraction_id}
    assert old.snapshots[GOLD_FACT_RATE.identifier] == before_v2.snapshot_id
    by_tag = trace(lake, FIRST_DAY, "EUR", "GBP", as_of=AsOf(tag="transform-v1"))
    assert by_tag.fact["rate"] == v1.fact["rate"]


def test_diff_of_a_reprocess_lists_changed_cross_rates_by_key(lake: Lake) -> None:
    """Diffing gold across a reprocess shows the re-rounded cross rates as changed rows."""
    build_small_lake(lake)
    run_reprocess(lake, transform_version=1)
    run_reprocess(lake, transform_version=2)
    result = diff_snapshots(lake, GOLD_FACT_RATE, AsOf(tag="transform-v1"))
    assert result.added.is_empty()
    assert result.removed.is_empty()
    assert result.changed.height > 0
    assert set(result.changed.get_column("transform_version_to").to_list()) == {2}
    direct = result.changed.filter(result.changed.get_column("base_currency") == "USD")
    assert "rate_from" in result.changed.columns
    assert direct.filter(direct.get_column("rate_from") != direct.get_column("rate_to")).is_empty()


def test_as_of_read_by_time_sees_what_a_reader_saw_then(embedded_lake: Lake) -> None:
    """Reading gold at the time of an older snapshot returns that snapshot's rows."""
    build_small_lake(embedded_lake)
    run_reprocess(embedded_lake, transform_version=1)
    snapshot = embedded_lake.table(GOLD_FACT_RATE).current_snapshot()
    assert snapshot is not None
    from datetime import UTC, datetime

    # When main moved to it (write-audit-publish: after its checks, later than its commit).
    moved_ms = embedded_lake.table(GOLD_FACT_RATE).metadata.snapshot_log[-1].timestamp_ms
    moment = datetime.fromtimestamp(moved_ms / 1000 + 0.001, UTC)
    run_reprocess(embedded_lake, transform_version=2)
    then = read_polars(embedded_lake, GOLD_FACT_RATE, AsOf(timestamp=moment))
    assert set(then.get_column("transform_version").to_list()) == {1}
    assert set(read_polars(embedded_lake, GOLD_FACT_RATE).get_column("transform_version")) == {2}


def test_verify_lists_silver_rows_whose_extraction_is_not_in_bronze(
    embedded_lake: Lake,
) -> None:
    """A silver row naming an unknown extraction id is reported as an orphan."""
    import pyarrow as pa

    from makerates_lake.store.tables import SILVER_RATES

    build_small_lake(embedded_lake)
    assert verify_lake(embedded_lake).ok
    table = embedded_lake.table(SILVER_RATES)
    rows = table.scan().to_arrow().slice(0, 1)
    ghost = "00000000-0000-4000-8000-000000000000"
    rows = rows.set_column(0, rows.schema.field(0), pa.array([ghost], rows.schema.field(0).type))
    table.append(rows)
    report = verify_lake(embedded_lake)
    assert not report.ok
    assert [(o.table, o.extraction_id) for o in report.orphans] == [("silver.rates", ghost)]


def test_trace_of_an_unknown_pair_raises_not_found(embedded_lake: Lake) -> None:
    """No fact for the pair and date is an error naming them, not an empty result."""
    build_small_lake(embedded_lake)
    with pytest.raises(RecordNotFoundError, match="no gold fact"):
        trace(embedded_lake, FIRST_DAY, "USD", "CHF")


def test_a_trace_as_of_a_time_before_gold_existed_says_so(embedded_lake: Lake) -> None:
    """As of a time before gold's first snapshot, the error says gold had no snapshot yet
    and names its first, instead of "no gold fact" for a lake that has the fact."""
    from datetime import UTC, datetime

    build_small_lake(embedded_lake)
    with pytest.raises(RecordNotFoundError, match="no snapshot yet") as caught:
        trace(
            embedded_lake,
            FIRST_DAY,
            "usd",
            "eur",
            as_of=AsOf(timestamp=datetime(2020, 1, 1, tzinfo=UTC)),
        )
    assert caught.value.context["first_snapshot_at"] > "2020-01-01"
    assert trace(embedded_lake, FIRST_DAY, "usd", "eur").verdict == "ok"


def test_a_date_without_a_rate_names_the_nearest_dates_that_have_one(
    embedded_lake: Lake,
) -> None:
    """A weekend inside the history names the Friday before and the Monday after; a day
    past its end names the last date and no later one."""
    from datetime import date

    from makerates_lake.pipeline import backfill

    backfill(embedded_lake)  # the bundled ECB sample, 2023-01 to 2026-10
    with pytest.raises(RecordNotFoundError) as weekend:
        trace(embedded_lake, date(2026, 10, 24), "EUR", "USD")  # a Saturday
    assert "2026-10-23 before, 2026-10-26 after" in str(weekend.value)
    with pytest.raises(RecordNotFoundError) as past_the_end:
        trace(embedded_lake, date(2026, 10, 31), "EUR", "USD")
    assert "2026-10-30 before, none after" in str(past_the_end.value)


def test_a_rate_whose_bronze_row_a_retention_purge_removed_is_purged_and_says_when(
    embedded_lake: Lake,
) -> None:
    """After a retention purge of its bronze row, a rate traces as ``purged`` (not
    ``missing``), with when, by whom and the access-log entry holding the reason (not the
    reason itself: it can name a person); ``audit verify`` counts the silver and gold rows
    naming it as purged, not as orphans. The other day's rate is still ``ok``."""
    from makerates_lake.audit.render import render_trace
    from makerates_lake.audit.retention import purge_bronze
    from makerates_lake.audit.verify import verify_lake
    from makerates_lake.store.access_log import read_access_log

    records = build_small_lake(embedded_lake, days=2, retention_policy="keep-1-years")
    purged = records[0].extraction_id
    purge_bronze(embedded_lake, reason="GDPR-7 Jane Doe", extraction_ids=[purged])
    (asked,) = read_access_log(embedded_lake, action="retention_purge").to_pylist()
    result = trace(embedded_lake, FIRST_DAY, "usd", "eur")
    assert result.verdict == "purged"
    (leg,) = result.legs
    assert leg.bronze is None
    assert leg.silver is not None
    assert any("purged from bronze at" in p and asked["audit_id"] in p for p in leg.problems), (
        leg.problems
    )
    text = render_trace(result)
    assert f"bronze {purged}: PURGED" in text
    assert "Jane Doe" not in text
    assert trace(embedded_lake, FIRST_DAY + timedelta(days=1), "usd", "eur").verdict == "ok"
    report = verify_lake(embedded_lake)
    assert report.ok, report.offenders()
    assert {o.extraction_id for o in report.purged} == {purged}
    group = {c.name: c for c in commands}["audit"]
    shown = CliRunner().invoke(group, ["verify", "--json"], obj=embedded_lake)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["purged_extractions"] == [purged]


def test_a_purge_that_failed_does_not_explain_a_row_that_vanished_later(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purge whose commit failed left only its request in the access log; a bronze row
    removed afterwards some other way is ``missing``, and an orphan for verify."""
    import makerates_lake.audit.retention as retention
    from makerates_lake.audit.verify import verify_lake
    from makerates_lake.store.commit import commit, commit_files
    from makerates_lake.store.expressions import is_in
    from makerates_lake.store.tables import BRONZE_EXTRACTIONS

    records = build_small_lake(embedded_lake, days=1, retention_policy="keep-1-years")
    gone = records[0].extraction_id

    def refused(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("commit refused")

    with monkeypatch.context() as patched:
        patched.setattr(retention, "commit", refused)
        with pytest.raises(RuntimeError, match="commit refused"):
            retention.purge_bronze(embedded_lake, reason="GDPR-8", extraction_ids=[gone])
    commit(
        embedded_lake,
        BRONZE_EXTRACTIONS,
        lambda t: commit_files(t, where=is_in("extraction_id", [gone])),
    )
    result = trace(embedded_lake, FIRST_DAY, "usd", "eur")
    assert result.verdict == "missing"
    assert not verify_lake(embedded_lake).ok


def test_an_unreadable_access_log_leaves_a_gone_row_missing_and_says_so(
    embedded_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the access log cannot be read to look for a purge, the trace still answers:
    the leg stays ``missing`` and a problem says the log could not be read."""
    import makerates_lake.audit.trace as trace_module
    from makerates_lake.store.commit import commit, commit_files
    from makerates_lake.store.expressions import is_in
    from makerates_lake.store.tables import BRONZE_EXTRACTIONS

    records = build_small_lake(embedded_lake, days=1)
    gone = records[0].extraction_id
    commit(
        embedded_lake,
        BRONZE_EXTRACTIONS,
        lambda t: commit_files(t, where=is_in("extraction_id", [gone])),
    )

    def unreadable(*_args: object, **_kwargs: object) -> dict[str, str]:
        raise FileNotFoundError("s3://warehouse/audit/access_log/data/x.parquet")

    monkeypatch.setattr(trace_module, "purges_of", unreadable)
    result = trace(embedded_lake, FIRST_DAY, "usd", "eur")
    assert result.verdict == "missing"
    (leg,) = result.legs
    assert any("access log could not be read" in p for p in leg.problems), leg.problems
