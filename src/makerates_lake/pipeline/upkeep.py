"""The run's upkeep stages: maintenance and a whole-lake verify, each when due.

Due by the policy in :mod:`makerates_lake.pipeline.runstate` (compaction daily, snapshot
expiry and orphan removal weekly, verify weekly, by default). A part is marked done only
after it succeeded, so a failed part is tried again by the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from makerates_lake.audit.verify import verify_lake
from makerates_lake.errors import MakeratesError
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.maintenance.run import run_maintenance
from makerates_lake.pipeline.alerts import VERIFY_FAILED, Alert
from makerates_lake.pipeline.outcome import FAILED, OK, SKIPPED, StageOutcome
from makerates_lake.pipeline.runstate import (
    LAST_COMPACTION,
    LAST_EXPIRY,
    VerifyRecord,
    mark,
    read_state,
    record_verify,
)
from makerates_lake.store.catalog import Lake


def maintain_when_due(lake: Lake, now: datetime) -> StageOutcome:
    """Compact when compaction is due; expire snapshots and remove orphans when expiry is."""
    settings = lake.settings
    try:
        state = read_state(lake)
        compact = state.compaction_due(settings, now)
        expire = state.expiry_due(settings, now)
        if not compact and not expire:
            return StageOutcome(
                "maintain",
                SKIPPED,
                f"not due (last compaction {_shown(state.last_compaction)}, "
                f"last expiry {_shown(state.last_expiry)})",
            )
        policy = MaintenancePolicy(snapshot_window=timedelta(days=settings.snapshot_retention_days))
        report = run_maintenance(
            lake, policy=policy, compact=compact, expire=expire, orphans=expire, now=now
        )
        if compact:
            mark(lake, LAST_COMPACTION, now)
        if expire:
            mark(lake, LAST_EXPIRY, now)
    except MakeratesError as exc:
        return StageOutcome("maintain", FAILED, f"{type(exc).__name__}: {exc}")
    parts = [p for p, due in (("compaction", compact), ("expiry and orphans", expire)) if due]
    rewritten = sum(r.files_removed for r in report.compaction)
    expired = sum(r.expired for r in report.expiry)
    return StageOutcome(
        "maintain",
        OK,
        f"{' + '.join(parts)}: {rewritten} files compacted, {expired} snapshots expired, "
        f"{report.orphans_removed} orphan files removed",
    )


def verify_when_due(lake: Lake, now: datetime, alerts: list[Alert]) -> StageOutcome:
    """Verify the whole lake when due; a tampered, missing or orphaned thing is an alert."""
    settings = lake.settings
    try:
        state = read_state(lake)
        if not state.verify_due(settings, now):
            last = state.last_verify
            shown = f"{_shown(last.at)} ({'ok' if last.ok else 'problems'})" if last else "never"
            return StageOutcome("verify", SKIPPED, f"not due (last verify {shown})")
        report = verify_lake(lake)
        problems = report.offenders()
        record_verify(lake, VerifyRecord(now, report.ok, len(problems), tuple(problems[:5])))
    except MakeratesError as exc:
        return StageOutcome("verify", FAILED, f"{type(exc).__name__}: {exc}")
    checked = f"{report.bronze.rows_checked} bronze rows in {report.bronze.files_checked} files"
    if report.ok:
        return StageOutcome("verify", OK, f"{checked}: all sound")
    alerts.append(
        Alert(
            VERIFY_FAILED,
            f"verify found {len(problems)} problems (tampered, missing or orphaned)",
            {f"problem {n + 1}": text for n, text in enumerate(problems[:5])},
        )
    )
    return StageOutcome("verify", FAILED, f"{checked}: {len(problems)} problems: {problems[0]}")


def _shown(when: datetime | None) -> str:
    return "never" if when is None else when.astimezone(UTC).isoformat(timespec="seconds")
