"""The stored verdicts of write-audit-publish runs: one ``audit.wap_checks`` row per check.

Never branched: the record of why a run was or was not published is kept whatever
happens to the run's branch (``makerates audit checks``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from makerates_lake import store
from makerates_lake.pipeline.checks_wap import CheckResult
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit, commit_files, to_arrow, write_files
from makerates_lake.store.scan import scan
from makerates_lake.store.tables_wap import AUDIT_WAP_CHECKS


def store_results(
    lake: Lake, branch: str, kind: str, checks: list[CheckResult], outcome: str
) -> None:
    """One ``audit.wap_checks`` row per check, all with the same ``checked_at``."""
    now = datetime.now(UTC)
    frame = pl.DataFrame(
        [
            {
                "branch": branch,
                "checked_at": now,
                "run_kind": kind,
                "check_name": c.name,
                "passed": c.passed,
                "observed": c.observed,
                "threshold": c.threshold,
                "detail": c.detail,
                "outcome": outcome,
            }
            for c in checks
        ]
    )
    spec = AUDIT_WAP_CHECKS
    rows = to_arrow(frame, spec)
    commit(lake, spec, lambda table: commit_files(table, write_files(table, rows, spec)))


def read_checks(lake: Lake, branch: str | None = None) -> pl.DataFrame:
    """Stored check results, newest first (of one branch when given)."""
    if store.current_snapshot_id(lake, AUDIT_WAP_CHECKS) is None:
        return pl.DataFrame(schema=pl.Schema(AUDIT_WAP_CHECKS.schema.as_arrow()))
    frame = scan(lake, AUDIT_WAP_CHECKS)
    if branch is not None:
        frame = frame.filter(pl.col("branch") == branch)
    return frame.sort("checked_at", "check_name", descending=[True, False]).collect()
