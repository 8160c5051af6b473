"""The stages in order: ingest or backfill into bronze, then silver and gold.

These are the jobs the CLI and notebooks run. Each stage commits on its own, so a
failure after bronze keeps what was extracted; running the same job again is safe.
The scheduled run that chains them with publish, upkeep and alerts is
:mod:`makerates_lake.pipeline.daily`; ``makerates status`` is :mod:`.status`.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

from makerates_lake import store
from makerates_lake.errors import ConfigError, MakeratesError
from makerates_lake.extract.http import ProgressCallback
from makerates_lake.extract.jobs import (
    BackfillReport,
    IngestReport,
    backfill_ecb,
    backfill_window,
)
from makerates_lake.extract.jobs import ingest as ingest_bronze
from makerates_lake.gold.build import GoldResult, build_gold, replace_gold
from makerates_lake.maintenance.run import maybe_maintain
from makerates_lake.pipeline.checks_wap import EvidenceCollector
from makerates_lake.pipeline.streamed import DEFAULT_LIMITS, BatchLimits, stream_rebuild
from makerates_lake.pipeline.wap import published_after_checks
from makerates_lake.progress import StageProgress
from makerates_lake.silver.build import (
    SilverResult,
    mark_transformed,
    rebuild_silver,
    transform,
)
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION, TRANSFORM_RULES, rules_for
from makerates_lake.source_names import ECB_HISTORY
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, equal
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_TABLES, SILVER_TABLES

SAMPLE_ECB_HISTORY = "eurofxref-hist-sample.zip"


@dataclass(frozen=True)
class RunResult:
    """A transform or reprocess over silver and gold."""

    silver: SilverResult
    gold: GoldResult
    tag: str | None = None
    #: Each silver and gold table's snapshot the run left (reprocess: what it tags).
    heads: dict[str, int | None] = field(default_factory=dict)
    #: The checks' evidence, collected while a streamed reprocess wrote its rows.
    evidence: EvidenceCollector | None = field(default=None, repr=False, compare=False)


def _dates(result: RunResult) -> tuple[date | None, date | None]:
    return result.silver.first_date, result.silver.last_date


# Both write on a branch of their own; main moves when the checks pass (pipeline/wap.py).
@published_after_checks("transform", _dates)
def run_transform(
    lake: Lake,
    *,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    on_progress: StageProgress | None = None,
) -> RunResult:
    """Transform new bronze rows into silver, then refresh gold for the dates touched.

    ``mr.transform(lake)`` after ``mr.ingest(lake, ["USD"])``; running it again with
    nothing new does nothing. ``on_progress`` receives each stage's steps.
    """
    silver = transform(lake, transform_version=transform_version, on_progress=on_progress)
    gold = GoldResult(0, None, None)
    if silver.first_date is not None:
        gold = build_gold(
            lake,
            first=silver.first_date,
            last=silver.last_date,
            transform_version=transform_version,
            on_progress=on_progress,
        )
    # Last: a run killed before this point leaves its bronze rows pending, and the next
    # run redoes what is missing (appends skip the extraction_ids already stored).
    mark_transformed(lake, silver.done, transform_version=transform_version)
    return RunResult(silver, gold)


def run_reprocess(
    lake: Lake,
    *,
    start: date | None = None,
    end: date | None = None,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    on_progress: StageProgress | None = None,
    limits: BatchLimits = DEFAULT_LIMITS,
) -> RunResult:
    """Rebuild silver (bronze extracted ``start..end``, default all) and all of gold.

    Zero API calls: reads bronze only. Tags the previous snapshot of every silver and
    gold table ``pre-reprocess-<UTC timestamp>`` and, once the checks passed and
    ``main`` moved, the published one ``transform-v<N>``, so both stay readable by name
    (a held reprocess tags nothing new). A full rebuild streams
    (:func:`.streamed.stream_rebuild`, ``limits`` bounds its batches).

    Raises:
        ConfigError: ``start`` is after ``end`` (nothing would be rebuilt, yet tags moved).
    """
    rules_for(transform_version)  # an unknown version fails before anything is tagged
    if start is not None and end is not None and start > end:
        raise ConfigError(
            "the days to reprocess are reversed: start is after end",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    result = _reprocess_on_branch(
        lake,
        start=start,
        end=end,
        transform_version=transform_version,
        on_progress=on_progress,
        limits=limits,
    )
    tag = f"transform-v{transform_version}"
    for spec in (*SILVER_TABLES, *GOLD_TABLES):
        # The snapshots the run published, not main's head now: another run may have
        # published on top of them since.
        store.move_tag(lake, spec, tag, result.heads.get(spec.identifier))
    return replace(result, tag=tag)


def _collected(result: RunResult) -> EvidenceCollector | None:
    return result.evidence


@published_after_checks("reprocess", lambda _: (None, None), _collected)
def _reprocess_on_branch(
    lake: Lake,
    *,
    start: date | None,
    end: date | None,
    transform_version: int,
    on_progress: StageProgress | None,
    limits: BatchLimits,
) -> RunResult:
    """:func:`run_reprocess`'s rebuild, on the run's branch (main moves after checks)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    specs = (*SILVER_TABLES, *GOLD_TABLES)
    for spec in specs:
        previous = store.current_snapshot_id(lake, spec)
        if previous is not None:
            store.move_tag(lake, spec, f"pre-reprocess-{stamp}", previous)

    evidence = None
    if start is None and end is None:
        # Bronze a batch at a time, silver and gold whole months at a time: memory is
        # one batch's, not the history's (pipeline/streamed.py), and so is what the
        # checks keep of them.
        evidence = EvidenceCollector()
        silver, gold = stream_rebuild(
            lake, transform_version, limits=limits, on_progress=on_progress, evidence=evidence
        )
    else:
        silver, _ = rebuild_silver(
            lake,
            start=start,
            end=end,
            transform_version=transform_version,
            on_progress=on_progress,
        )
        gold = replace_gold(lake, None, transform_version, on_progress=on_progress)
    mark_transformed(lake, silver.done, transform_version=transform_version)
    # Inside the run's branch the current snapshot is the branch's head: what the
    # fast-forward makes main's, and what run_reprocess tags once it did.
    heads = {spec.identifier: store.current_snapshot_id(lake, spec) for spec in specs}
    return RunResult(silver, gold, heads=heads, evidence=evidence)


def ingest(
    lake: Lake,
    bases: Sequence[str],
    *,
    sources: Sequence[str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_loopback: bool = False,
) -> IngestReport:
    """Extract once per base through the tier chain into bronze (one commit), then
    maintain bronze if enough snapshots piled up since its last maintenance.

    See :func:`makerates_lake.extract.jobs.ingest` for the arguments and errors. The
    maintenance step also runs when the job raises one of the library's errors (it
    wrote what it fetched first), never on an interrupt, and never raises.

    Example: ``report = mr.ingest(lake, ["USD", "EUR"])`` then ``mr.transform(lake)``.
    """
    with _then_maintain_bronze(lake):
        return ingest_bronze(
            lake,
            bases,
            sources=sources,
            ssl_context=ssl_context,
            allow_insecure_loopback=allow_insecure_loopback,
        )


def backfill_bronze(
    lake: Lake,
    *,
    start: date | None = None,
    end: date | None = None,
    path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_loopback: bool = False,
) -> BackfillReport:
    """Store the ECB history in bronze (one record), then maintain bronze when due.

    See :func:`makerates_lake.extract.jobs.backfill_ecb` for the arguments and errors.
    """
    with _then_maintain_bronze(lake):
        return backfill_ecb(
            lake,
            start=start,
            end=end,
            path=path,
            on_progress=on_progress,
            ssl_context=ssl_context,
            allow_insecure_loopback=allow_insecure_loopback,
        )


@contextmanager
def _then_maintain_bronze(lake: Lake) -> Iterator[None]:
    """Maintain bronze when due after the block, also when it raised one of the
    library's errors (a job writes what it fetched before raising), never after an
    interrupt. Maintenance itself never raises."""
    try:
        yield
    except MakeratesError:
        maybe_maintain(lake, BRONZE_EXTRACTIONS)
        raise
    maybe_maintain(lake, BRONZE_EXTRACTIONS)


def sample_ecb_history() -> Path:
    """Path of the ECB history slice shipped with the package (real rates, 2023 onwards)."""
    return Path(str(resources.files("makerates_lake") / "data" / SAMPLE_ECB_HISTORY))


@dataclass(frozen=True)
class BackfillResult:
    """What :func:`backfill` did.

    Attributes:
        extraction_id: The bronze record holding the file (new or already stored).
        already_stored: True when bronze held these exact bytes, so nothing was written.
        transform: What silver and gold did.
    """

    extraction_id: str
    already_stored: bool
    transform: RunResult


def stored_file_extraction(
    lake: Lake,
    source_name: str,
    checksum: str,
    *,
    start: date | None = None,
    end: date | None = None,
) -> str | None:
    """The extraction_id of a successful bronze record of ``source_name`` with these bytes
    and the same backfill window (none, or ``start``..``end``): the window decides what
    silver takes from the file, so the same bytes with another window are another load."""
    wanted = backfill_window(start, end)
    rows = (
        lake.bronze()
        .scan(
            row_filter=all_of(
                equal("source_name", source_name), equal("response_checksum", checksum)
            ),
            selected_fields=("extraction_id", "http_status_code", "error_code", "request_params"),
        )
        .to_arrow()
        .to_pylist()
    )
    for row in rows:
        stored = json.loads(row["request_params"]) if row["request_params"] else {}
        window = {k: v for k, v in stored.items() if k.startswith("backfill_")}
        if row["http_status_code"] == 200 and row["error_code"] is None and window == wanted:
            return str(row["extraction_id"])
    return None


def backfill_once(
    lake: Lake,
    path: Path | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[str, BackfillReport | None]:
    """Store the ECB history in bronze (:func:`backfill_bronze`) unless bronze holds a
    local file's exact bytes with the same window already.

    A download (no ``path``) is always stored: its bytes are known only once fetched.

    Returns:
        The extraction_id holding the file, and the store's report (None when bronze
        already held it).
    """
    if path is not None and path.is_file():
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        stored = stored_file_extraction(lake, ECB_HISTORY, checksum, start=start, end=end)
        if stored is not None:
            return stored, None
    report = backfill_bronze(lake, start=start, end=end, path=path, on_progress=on_progress)
    return report.outcome.records[-1].extraction_id, report


def backfill(
    lake: Lake,
    path: Path | str | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
) -> BackfillResult:
    """Load an ECB history file (default: the bundled sample) through bronze, silver and gold.

    Args:
        lake: The open lake.
        path: A local ``eurofxref-hist.zip`` or CSV (a Path or its text); default the
            bundled 2023+ sample.
        start: First day to take into silver (bronze keeps the whole file).
        end: Last day to take into silver.

    A file whose exact bytes bronze already holds with the same window is not stored
    again, so re-running a backfill duplicates nothing; silver and gold still pick up
    anything not yet transformed.

    Example: ``mr.backfill(lake, Path("eurofxref-hist.zip"), start=date(2020, 1, 1),
    end=date(2022, 12, 31))``: bronze keeps the whole file, silver takes 2020-2022.
    """
    file = Path(path) if path is not None else sample_ecb_history()
    extraction_id, report = backfill_once(lake, file, start=start, end=end)
    return BackfillResult(extraction_id, report is None, run_transform(lake))


def reprocess(
    lake: Lake,
    *,
    transform_version: int = CURRENT_TRANSFORM_VERSION,
    start: date | None = None,
    end: date | None = None,
) -> RunResult:
    """Rebuild silver and gold from bronze alone (no API calls), under a transform version.

    ``mr.reprocess(lake, transform_version=1)`` rebuilds under version 1's rules and tags
    the result ``transform-v1`` (and the state before it ``pre-reprocess-<time>``), so
    ``lake.read("gold.fact_rate", as_of="transform-v1")`` reads it back later.

    Args:
        lake: The open lake.
        transform_version: The rules to apply (:data:`TRANSFORM_RULES` lists them).
        start: First bronze extraction day to rebuild from; default all.
        end: Last bronze extraction day; default all.

    Raises:
        UnknownTransformVersionError: Unknown transform version (nothing is changed).
    """
    return run_reprocess(lake, start=start, end=end, transform_version=transform_version)


def transform_rules() -> dict[int, str]:
    """Every transform version and what its rules do, for ``mr.reprocess``."""
    return {version: rules.description for version, rules in TRANSFORM_RULES.items()}
