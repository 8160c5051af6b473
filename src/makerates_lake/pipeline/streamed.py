"""A full reprocess in bounded memory: silver and gold rebuilt a batch at a time.

Memory holds one batch of bronze rows while they are checked, then one batch of
silver rows (whole months of rate dates) while they are flagged and their facts built,
whatever the length of the history; the rows in between wait on local disk
(:mod:`makerates_lake.silver.spill`). Every table is replaced by one overwrite commit at
the end, silver first, then gold, as the one-frame rebuild commits them.
"""

from __future__ import annotations

import contextlib
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from makerates_lake.gold.build import GoldResult
from makerates_lake.gold.stream import GoldRebuild
from makerates_lake.pipeline.checks_wap import SILVER_EVIDENCE, EvidenceCollector
from makerates_lake.progress import StageProgress
from makerates_lake.silver.build import SilverResult
from makerates_lake.silver.stream import SilverRebuild
from makerates_lake.store.catalog import Lake


@dataclass(frozen=True)
class BatchLimits:
    """How much a streamed reprocess holds at a time.

    Attributes:
        bronze_rows: Bronze rows (whole data files) checked at a time: 4,000 payloads of
            160 rates are 640,000 rates.
        silver_rows: Silver rows (whole months of rate dates) flagged and turned into
            facts at a time. Halving it from a million cost little time and kept the
            peak further under issue 23's bound (benchmarks/README.md).
    """

    bronze_rows: int = 4_000
    silver_rows: int = 500_000


#: The limits :func:`~makerates_lake.pipeline.run_reprocess` uses unless told otherwise.
DEFAULT_LIMITS = BatchLimits()


def stream_rebuild(
    lake: Lake,
    transform_version: int,
    *,
    limits: BatchLimits = DEFAULT_LIMITS,
    on_progress: StageProgress | None = None,
    evidence: EvidenceCollector | None = None,
) -> tuple[SilverResult, GoldResult]:
    """Rebuild all of silver and gold from bronze, a batch at a time (see the module).

    Each batch's facts are built on a worker thread from its sorted rows, and its
    silver files written on another, while the main thread sets the flags of the next
    batch, read from the spill meanwhile: Polars and PyArrow release the GIL, so on two
    cores they overlap. Each stage holds at most one batch. Files written by a run that fails are
    deleted; what was committed stays (silver before gold, as in the one-frame path).
    ``evidence`` receives each batch's silver and gold rows as written, and the ids of
    the bronze rows read, for the write-audit-publish checks.
    """
    settings = lake.settings
    stale_after = timedelta(hours=settings.stale_after_hours)
    with tempfile.TemporaryDirectory(prefix="makerates-reprocess-") as spill:
        silver = SilverRebuild(lake, transform_version, Path(spill))
        gold = GoldRebuild(lake, transform_version)
        try:
            silver.check_bronze(limits.bronze_rows, on_progress)
            with (
                ThreadPoolExecutor(1, thread_name_prefix="gold-stream") as pool,
                ThreadPoolExecutor(1, thread_name_prefix="silver-write") as writer,
            ):
                started: list[Future[None]] = []

                def build_gold(rows: pl.DataFrame) -> None:
                    # The previous batch's facts first: one batch at a time on the worker.
                    while started:
                        started.pop().result()
                    started.append(pool.submit(_facts_and_evidence, gold, rows, evidence))

                try:
                    with contextlib.closing(silver.batches(limits.silver_rows)) as batches:
                        for batch in batches:
                            written = silver.flag_and_write(
                                batch,
                                jump_threshold=settings.jump_threshold,
                                stale_after=stale_after,
                                on_sorted=build_gold,
                                writer=writer,
                            )
                            if evidence is not None and written.height:
                                evidence.add_jumps(int(written.get_column("is_jump").sum()))
                finally:
                    while started:  # also on an error: no writer left behind
                        started.pop().result()
                silver.wait_for_writes()
            silver_result = silver.commit(on_progress)
            if evidence is not None and silver_result.done.height:
                evidence.add_bronze_ids(silver_result.done)
            gold_result = gold.commit(on_progress)
        except BaseException:
            silver.discard()
            gold.discard()
            raise
    return silver_result, gold_result


def _facts_and_evidence(
    gold: GoldRebuild, rows: pl.DataFrame, evidence: EvidenceCollector | None
) -> None:
    """A batch's facts, and its summary for the checks, on the gold worker (the only
    thread that adds rows to ``evidence``; the main thread adds only the jump counts)."""
    facts = gold.add(rows)
    if evidence is not None:
        evidence.add_rows(rows.select(SILVER_EVIDENCE), facts)
