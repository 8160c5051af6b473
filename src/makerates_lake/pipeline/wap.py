"""Write-audit-publish: a run changes silver and gold on its branch, the checks
(:mod:`.checks_wap`) judge the branch, and ``main`` moves only when all pass.

The flow of :func:`checked_run` (docs/audit.md):

1. finish or remove what a killed run left (:func:`.wap_recovery.recover`);
2. note ``main`` of every silver and gold table, then build on ``wap-<run>``;
3. run every check on the branch and store the results in ``audit.wap_checks``;
4. all passed: fast-forward ``main`` of each table (guarded: ``main`` must still be where
   the run started; if another run published first, the branch is dropped and the run
   rebuilt on the new ``main``); else keep the branch and raise
   :class:`WapChecksFailedError`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Concatenate, Final, ParamSpec, TypeVar

import polars as pl

from makerates_lake import store
from makerates_lake.errors import MakeratesError, TransformError
from makerates_lake.pipeline.checks_wap import (
    SILVER_EVIDENCE,
    Evidence,
    EvidenceCollector,
    run_checks,
)
from makerates_lake.pipeline.wap_recovery import host_label, recover
from makerates_lake.pipeline.wap_results import store_results
from makerates_lake.store.access_log import log_access
from makerates_lake.store.branches import (
    BRANCHED_TABLES,
    MAIN,
    WAP_PREFIX,
    BranchMovedError,
    fast_forward,
    is_tag,
    may_move,
    on_branch,
    ref_snapshot_id,
    remove_branch,
)
from makerates_lake.store.catalog import Lake
from makerates_lake.store.scan import scan
from makerates_lake.store.tables import (
    BRONZE_EXTRACTIONS,
    GOLD_FACT_RATE,
    SILVER_RATES,
    SILVER_REJECTS,
)
from makerates_lake.wap_thresholds import Thresholds

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")
#: The dates a run touched (None: all), for the checks' reads.
Window = tuple[date | None, date | None]

#: Runs that lost the race to publish are rebuilt on the new ``main`` this many times.
#: Each loss means another run published, so rebuilding makes progress; with a few
#: commands at once (two backfills, a transform, a reprocess, a maintain that compacts)
#: one run can lose once to each of the others, which 3 did not always cover. The bound
#: only stops a run rebuilding forever under an endless stream of publishers.
_REBUILDS: Final = 10
_COUNTED: Final = (SILVER_RATES, SILVER_REJECTS, GOLD_FACT_RATE)
_HISTORY: Final = timedelta(days=31)


class WapChecksFailedError(TransformError):
    """A run's checks failed: ``main`` is untouched, the branch keeps the run's rows
    (``makerates audit checks`` says why; ``audit promote`` publishes it anyway)."""


class NotAWapBranchError(TransformError):
    """``audit promote`` was given a ref that is not a write-audit-publish branch
    (``main``, a tag, an unknown name): promote moves ``main`` to the branch and removes
    the branch, which would delete ``main`` or the tag from every table. Nothing was
    changed."""


def new_branch_name() -> str:
    """``wap-<UTC time>-<host>-<pid>-<random>``: the host and pid tell a later run
    whether the run that owns the branch is still alive (:mod:`.wap_recovery`)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{WAP_PREFIX}{stamp}-{host_label()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def checked_run(
    lake: Lake,
    kind: str,
    build: Callable[[], T],
    window: Callable[[T], Window],
    collected: Callable[[T], EvidenceCollector | None] | None = None,
) -> T:
    """Run ``build`` (a transform or reprocess) on a new branch, check the branch, and
    publish it to ``main`` when every check passes.

    Args:
        lake: The open lake.
        kind: ``transform`` or ``reprocess`` (stored with the results).
        build: Writes silver and gold; runs inside :func:`on_branch`.
        window: The rate dates ``build``'s result touched, for the checks.
        collected: The evidence ``build`` collected from the rows it wrote, if any (a
            streamed reprocess: reading all of silver back would hold the history);
            otherwise the checks read the window's rows from the branch.

    Raises:
        WapChecksFailedError: A check failed; ``main`` is untouched, the branch kept.
        BranchMovedError: Other runs kept publishing first, or a table moved while
            this run was publishing (then ``main`` of the tables named in ``moved``
            holds this run; the branch is kept and the next run finishes the move).
    """
    settings = lake.settings
    limits = Thresholds.parse(
        settings.wap_thresholds, rate_disagreement=settings.disagreement_threshold
    )
    recover(lake, limits)
    for attempt in range(1, _REBUILDS + 1):
        branch = new_branch_name()
        start = main_heads(lake)
        with on_branch(lake, branch):
            try:
                result = build()
            except MakeratesError:
                _drop(lake, branch)  # a failed build's branch is partial: no use to anyone
                raise
            changed = _branched(lake, branch)
            if not changed:
                return result  # nothing new: nothing to check or publish
            summary = collected(result) if collected is not None else None
            evidence = gather(lake, start, *window(result), collected=summary)
        checks = run_checks(evidence, limits)
        passed = all(check.passed for check in checks)
        store_results(lake, branch, kind, checks, "passed" if passed else "held")
        if not passed:
            failed = [check for check in checks if not check.passed]
            raise WapChecksFailedError(
                "checks failed; main is untouched and the branch keeps the run",
                branch=branch,
                failed="; ".join(f"{c.name}: {c.detail}" for c in failed),
            )
        heads = {t.identifier: _head(lake, t, branch) for t in changed}
        try:
            publish_branch(lake, branch, start, changed)
            return result
        except BranchMovedError as exc:
            if _taken_over(lake, branch, changed, heads):
                # Another host's recovery judged this run abandoned and began moving main
                # to this branch: finish what it left; a rebuild would drop the branch of
                # the tables it has not reached yet.
                for spec in changed:
                    fast_forward(lake, spec, branch, expected_main=None, behind=True)
                return result
            if getattr(exc, "moved", "") or attempt == _REBUILDS:
                raise
            # Another run published first and nothing of ours moved: rebuild on the new
            # main (its rows are not pending any more, so nothing is doubled).
            for spec in changed:
                remove_branch(lake, spec, branch)
            log.info("rebuilding on the new main", extra={"branch": branch, "attempt": attempt})
    raise AssertionError("unreachable")  # pragma: no cover


def published_after_checks(
    kind: str,
    window: Callable[[T], Window],
    collected: Callable[[T], EvidenceCollector | None] | None = None,
) -> Callable[[Callable[Concatenate[Lake, P], T]], Callable[Concatenate[Lake, P], T]]:
    """Make a silver-and-gold job a :func:`checked_run`: it writes on its own branch, and
    ``main`` moves only when the checks pass (``run_transform``, ``run_reprocess``)."""

    def wrap(job: Callable[Concatenate[Lake, P], T]) -> Callable[Concatenate[Lake, P], T]:
        def run(lake: Lake, /, *args: P.args, **kwargs: P.kwargs) -> T:
            return checked_run(lake, kind, lambda: job(lake, *args, **kwargs), window, collected)

        functools.update_wrapper(run, job)  # the job's name and docstring
        return run

    return wrap


def main_heads(lake: Lake) -> dict[str, int | None]:
    """``main``'s snapshot of every silver and gold table, by identifier."""
    return {
        spec.identifier: ref_snapshot_id(lake.table(spec, refresh=True), MAIN)
        for spec in BRANCHED_TABLES
    }


def _head(lake: Lake, spec: store.TableSpec, branch: str) -> int | None:
    return ref_snapshot_id(lake.table(spec, refresh=True), branch)


def _taken_over(
    lake: Lake, branch: str, tables: list[store.TableSpec], heads: dict[str, int | None]
) -> bool:
    """Whether some table's ``main`` was moved to this run's branch head by someone else
    (the branch is gone there and ``main`` is its head)."""
    for spec in tables:
        table = lake.table(spec, refresh=True)
        gone = branch not in table.metadata.refs
        if gone and ref_snapshot_id(table, MAIN) == heads.get(spec.identifier):
            return True
    return False


def _drop(lake: Lake, branch: str) -> None:
    """Remove ``branch`` from every table, best effort (``maintain`` removes leftovers)."""
    for spec in BRANCHED_TABLES:
        with contextlib.suppress(MakeratesError):
            remove_branch(lake, spec, branch)


def _branched(lake: Lake, branch: str) -> list[store.TableSpec]:
    return [s for s in BRANCHED_TABLES if branch in lake.table(s, refresh=True).metadata.refs]


def _held_tables(lake: Lake, branch: str) -> list[store.TableSpec]:
    """The tables holding write-audit-publish branch ``branch``, checked on every table
    before promote changes anything (a tag of the same name on one table refuses all).

    Raises:
        NotAWapBranchError: ``branch`` is ``main``, a tag, or no table's ``wap-`` branch.
    """

    def refuse(what: str) -> NotAWapBranchError:
        return NotAWapBranchError(
            f"promote takes a held write-audit-publish branch ({WAP_PREFIX}..., listed by "
            f"'makerates audit branches'); {branch!r} is {what}; nothing was changed",
            ref=branch,
        )

    if branch == MAIN:
        raise refuse("the published branch")
    tables = []
    for spec in BRANCHED_TABLES:
        table = lake.table(spec, refresh=True)
        if branch not in table.metadata.refs:
            continue
        if is_tag(table, branch):
            raise refuse(f"a tag of {spec.identifier}")
        tables.append(spec)
    if not branch.startswith(WAP_PREFIX):
        raise refuse(f"not a {WAP_PREFIX} branch")
    if not tables:
        raise refuse("no silver or gold table's branch")
    return tables


def publish_branch(
    lake: Lake, branch: str, start: dict[str, int | None], tables: list[store.TableSpec]
) -> None:
    """Fast-forward ``main`` of ``tables`` to ``branch``, after checking that none moved.

    Raises:
        BranchMovedError: A table's ``main`` moved since ``start`` (``moved`` names the
            tables already published, empty when none).
    """
    for spec in tables:  # all first: a refused run publishes nothing at all
        table = lake.table(spec, refresh=True)
        main = ref_snapshot_id(table, MAIN)
        if not may_move(table, branch, start[spec.identifier], behind=False):
            raise BranchMovedError(
                "another run published first; main is untouched",
                table=spec.identifier,
                branch=branch,
                expected_main=start[spec.identifier],
                main=main,
                moved="",
            )
    moved: list[str] = []
    for spec in tables:
        try:
            fast_forward(lake, spec, branch, expected_main=start[spec.identifier])
        except BranchMovedError as exc:
            context = {**exc.context, "moved": ",".join(moved)}
            raise BranchMovedError(exc.message, **context) from exc
        moved.append(spec.identifier)


def _scan(lake: Lake, spec: store.TableSpec, first: date | None, last: date | None) -> pl.LazyFrame:
    table = lake.table(spec, refresh=True)
    if table.current_snapshot() is None:
        return pl.LazyFrame(schema=pl.Schema(spec.schema.as_arrow()))
    frame = store.scan_table(lake, table)
    if first is not None:
        frame = frame.filter(pl.col("rate_date") >= first)
    if last is not None:
        frame = frame.filter(pl.col("rate_date") <= last)
    return frame


def _total(lake: Lake, spec: store.TableSpec, snapshot_id: int | None) -> int:
    table = lake.table(spec, refresh=False)
    snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.get("total-records") or 0)


def gather(
    lake: Lake,
    start: dict[str, int | None],
    first: date | None,
    last: date | None,
    *,
    collected: EvidenceCollector | None = None,
) -> Evidence:
    """What the checks need, on the active branch (call inside :func:`on_branch`): the
    rows ``collected`` summarised as they were written, or else the rows of the dates
    ``first..last`` read back; the tables' totals from their snapshots' summaries."""
    before = {s.identifier: _total(lake, s, start[s.identifier]) for s in _COUNTED}
    after = {s.identifier: _total(lake, s, store.current_snapshot_id(lake, s)) for s in _COUNTED}
    if collected is not None:
        return collected.evidence(totals_before=before, totals_after=after)
    silver = _scan(lake, SILVER_RATES, first, last).select(*SILVER_EVIDENCE, "is_jump").collect()
    history = (
        _scan(lake, SILVER_RATES, first - _HISTORY if first else None, last)
        .group_by("source_name", "base_currency", "rate_date")
        .agg(pl.col("quote_currency").n_unique().alias("quotes"))
        .collect()
    )
    gold = (
        _scan(lake, GOLD_FACT_RATE, first, last)
        .filter(~pl.col("is_derived"))
        .select("rate_date", "base_currency", "quote_currency", "source_name", "rate_text")
        .collect()
    )
    ids = silver.get_column("extraction_id").unique().implode()
    bronze_ids = (
        scan(lake, BRONZE_EXTRACTIONS)
        .select("extraction_id")
        .filter(pl.col("extraction_id").is_in(ids))
        .unique()
        .collect()
    )
    collector = EvidenceCollector()
    collector.add_rows(silver, gold)
    collector.add_jumps(int(silver.get_column("is_jump").sum()))
    collector.add_bronze_ids(bronze_ids)
    return collector.evidence(totals_before=before, totals_after=after, history=history)


def promote(lake: Lake, branch: str, *, reason: str) -> list[str]:
    """Publish a held branch although its checks failed (``audit promote --force``).

    The reason is written to the access log before ``main`` moves. ``main`` moves only
    where it is an ancestor of the branch, so no other run's change is overwritten.

    Returns:
        The tables whose ``main`` moved.

    Raises:
        ValueError: No reason.
        NotAWapBranchError: ``branch`` is not a ``wap-`` branch of any table (``main``,
            a tag, an unknown name); nothing was changed.
        BranchMovedError: A table's ``main`` is not an ancestor of the branch.
    """
    if not reason.strip():
        raise ValueError("a forced promote needs a reason")
    tables = _held_tables(lake, branch)
    for spec in tables:
        log_access(
            lake,
            action="wap_promote",
            table=spec.identifier,
            query_text=f"audit promote {branch} --force --reason {reason}",
        )
    moved = []
    for spec in tables:
        if fast_forward(lake, spec, branch, expected_main=None, behind=True):
            moved.append(spec.identifier)
    return moved
