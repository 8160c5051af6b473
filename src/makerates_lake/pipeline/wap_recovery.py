"""Finish or remove what a killed write-audit-publish run left behind (docs/audit.md).

A branch tells who owns it by its name (``wap-<UTC time>-<host>-<pid>-<random>``) and
how far its run got by ``audit.wap_checks``:

* no stored checks: the run died while building. ``main`` was never touched and its
  bronze rows are still pending there, so the next run redoes them; the branch is
  removed when its owner is known dead (same host, process gone), else ``maintain``
  expires it after ``branch_max_age_days``;
* every check passed: the run died while publishing (possibly after some tables
  moved). ``main`` of each table moves to the branch where it is an ancestor of it,
  when the owner is known dead, or, for a run of another host whose liveness cannot be
  asked, once its checks are older than ``publish_grace_minutes``: moving ``main``
  takes a live run seconds, so a branch that passed long ago and is still there was
  abandoned midway;
* a check failed: the branch is held for inspection (``audit promote``, ``maintain``).
"""

from __future__ import annotations

import logging
import os
import re
import socket
from datetime import UTC, datetime, timedelta

import polars as pl

from makerates_lake.pipeline.wap_results import read_checks
from makerates_lake.store.branches import (
    BRANCHED_TABLES,
    WAP_PREFIX,
    BranchMovedError,
    fast_forward,
    remove_branch,
    wap_branches,
)
from makerates_lake.store.catalog import Lake
from makerates_lake.wap_thresholds import Thresholds

log = logging.getLogger(__name__)


def host_label() -> str:
    """This host's name as it appears in branch names (letters and digits, at most 20)."""
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:20] or "host"


def owner_state(branch: str) -> str:
    """``dead`` (this host's run, its process gone), ``alive`` (this host's, running) or
    ``unknown`` (another host's run, or a name this library did not make)."""
    parts = branch.removeprefix(WAP_PREFIX).split("-")
    if len(parts) != 4 or parts[1] != host_label() or not parts[2].isdigit():
        return "unknown"
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        return "alive"  # a process of another user has that pid: not ours to judge
    return "alive"


def _publish_abandoned(results: pl.DataFrame, owner: str, grace: timedelta, now: datetime) -> bool:
    """Whether a branch whose checks all passed was left midway through publishing."""
    if owner == "dead":
        return True
    if owner == "alive":
        return False
    checked = results.get_column("checked_at").max()
    if not isinstance(checked, datetime):
        return False
    if checked.tzinfo is None:
        checked = checked.replace(tzinfo=UTC)
    return now - checked >= grace


def recover(lake: Lake, limits: Thresholds, *, now: datetime | None = None) -> list[str]:
    """Finish the publishing of abandoned passed branches; remove this host's dead runs'
    unchecked branches; leave held branches alone (see the module's rules).

    Returns:
        The branches finished or removed.
    """
    now = now or datetime.now(UTC)
    grace = timedelta(minutes=limits.publish_grace_minutes)
    handled = []
    for name in sorted({info.name for info in wap_branches(lake)}):
        owner = owner_state(name)
        results = read_checks(lake, name)
        if results.height == 0:
            if owner == "dead":
                for spec in BRANCHED_TABLES:
                    remove_branch(lake, spec, name)
                log.info("removed a dead run's unchecked branch", extra={"branch": name})
                handled.append(name)
            continue
        if not results.get_column("passed").all():
            continue
        if not _publish_abandoned(results, owner, grace, now):
            continue
        for spec in BRANCHED_TABLES:
            try:
                fast_forward(lake, spec, name, expected_main=None, behind=True)
            except BranchMovedError:
                # main went elsewhere meanwhile: this branch cannot be finished without
                # overwriting another run's change, so it goes (its rows are pending).
                remove_branch(lake, spec, name)
        log.info("finished an abandoned run's publish", extra={"branch": name})
        handled.append(name)
    return handled
