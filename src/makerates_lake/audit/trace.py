"""Trace one published rate to the bytes it came from: gold fact -> silver row -> bronze row.

Each hop is a point lookup (:mod:`makerates_lake.store.lookup`) that partition, file and
row-group statistics prune: gold by ``rate_date`` (year partitions) plus the pair, silver by
``rate_date``, bronze by ``extraction_timestamp`` (day partitions) plus the extraction id.
Every silver row a fact can name (the direct rate, or both legs of a cross rate) is from
the fact's date, so silver's rows of that date are read once, on a worker thread while the
caller reads gold, and each leg is picked from them. The bronze rows are read while silver
is still decoding, on the fact's ``observed_at`` as their timestamp; a leg whose silver row
has another timestamp reads its bronze row again with that one, so the answer is always
the one the silver row gives. Nothing scans a whole table unless a row is missing its
timestamp.

Each leg also shows the provider's value where the stored bytes write it (the ECB CSV's
line and cell inside the zip, the JSON member, the XML element, with byte offsets; see
:mod:`~makerates_lake.audit.provider_context`), from one reading of the body per bronze
row, however many legs it serves.

Verdicts, worst first:

* ``missing``: a link of the chain does not exist (silver or bronze row gone);
* ``tampered``: the stored body no longer hashes to its stored checksum;
* ``transform_mismatch``: what we store (silver or gold) differs from what the provider
  sent, with both values;
* ``purged``: the bronze row is gone because a retention purge removed it, which the
  access log records (when, by whom, and the entry that gives the reason);
* ``ok``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import pyarrow as pa

from makerates_lake.audit import lineage
from makerates_lake.audit.errors import RecordNotFoundError
from makerates_lake.audit.fact_lookup import find_fact
from makerates_lake.audit.lineage import BronzeEvidence
from makerates_lake.audit.provider_context import ProviderContext
from makerates_lake.audit.retention import purges_of
from makerates_lake.audit.trace_points import companions
from makerates_lake.store.access_log import log_access
from makerates_lake.store.catalog import Lake
from makerates_lake.store.lookup import find_tables, rows_where
from makerates_lake.store.pointers import current_tables
from makerates_lake.store.refs import AsOf, resolve_as_of
from makerates_lake.store.scrub import scrub
from makerates_lake.store.tables import BRONZE_EXTRACTIONS, GOLD_FACT_RATE, SILVER_RATES
from makerates_lake.store.types import Table

OK: Final = "ok"
TRANSFORM_MISMATCH: Final = "transform_mismatch"
TAMPERED: Final = "tampered"
MISSING: Final = "missing"
PURGED: Final = "purged"
_SEVERITY: Final = {OK: 0, PURGED: 1, TRANSFORM_MISMATCH: 2, TAMPERED: 3, MISSING: 4}
_READER_LOCK: Final = threading.Lock()
_readers: dict[int, ThreadPoolExecutor] = {}


def _silver_reader() -> ThreadPoolExecutor:
    """The worker that reads silver while the caller reads gold.

    Both reads are mostly Parquet decoding, which runs without the GIL, so on two cores
    they overlap. One worker: concurrent traces queue their silver reads rather than start
    a thread each. One per process: a forked child does not inherit the parent's thread.
    """
    pid = os.getpid()
    with _READER_LOCK:
        reader = _readers.get(pid)
        if reader is None:
            _readers.clear()
            reader = _readers[pid] = ThreadPoolExecutor(1, thread_name_prefix="trace-silver")
        return reader


def worst(verdicts: list[str]) -> str:
    """The most severe of ``verdicts`` (``ok`` for none)."""
    return max(verdicts, key=_SEVERITY.__getitem__, default=OK)


@dataclass(frozen=True)
class LegTrace:
    """One silver row behind a fact and the bronze record behind it.

    Attributes:
        role: ``direct``, or ``quote_leg`` / ``base_leg`` of a cross rate.
        base_currency: Base of the silver row (the pivot for a cross-rate leg).
        quote_currency: Quote of the silver row.
        extraction_id: The bronze row named by the fact.
        silver: The silver row, None when missing.
        bronze: The bronze evidence, None when missing.
        provider_text: The rate as the stored payload really holds it (re-parsed now).
        verdict: This leg's verdict.
        problems: What is wrong, in words, with both values where they differ.
        provider_context: Where the stored bytes write ``provider_text``: the CSV line
            and cell (in a zip's CSV member), the JSON member or the XML element, with
            byte offsets; None when the bytes hold no such rate.
    """

    role: str
    base_currency: str
    quote_currency: str
    extraction_id: str
    silver: dict[str, Any] | None
    bronze: BronzeEvidence | None
    provider_text: str | None
    verdict: str
    problems: tuple[str, ...] = ()
    provider_context: ProviderContext | None = None

    @property
    def stored_rate(self) -> Decimal | None:
        """The rate silver stores."""
        return None if self.silver is None else self.silver["rate"]


@dataclass(frozen=True)
class TraceResult:
    """A fact, its lineage, the snapshots read, and the verdict.

    Attributes:
        rate_date: The date traced.
        base_currency: Base currency of the fact.
        quote_currency: Quote currency of the fact.
        as_of: How the point in time was given, or None for now.
        snapshots: Snapshot id read per table.
        fact: The ``gold.fact_rate`` row.
        legs: One entry per silver row behind the fact.
        verdict: Worst verdict of the fact and its legs.
        problems: Fact-level problems (gold differs from silver).
    """

    rate_date: date
    base_currency: str
    quote_currency: str
    as_of: str | None
    snapshots: dict[str, int | None]
    fact: dict[str, Any]
    legs: tuple[LegTrace, ...]
    verdict: str
    problems: tuple[str, ...] = field(default=())

    def to_dict(self, *, body_chars: int | None = 2000) -> dict[str, Any]:
        """A JSON-ready form; bodies are cut to ``body_chars`` characters (None: whole)."""
        return {
            "rate_date": self.rate_date.isoformat(),
            "base_currency": self.base_currency,
            "quote_currency": self.quote_currency,
            "as_of": self.as_of,
            "verdict": self.verdict,
            "problems": list(self.problems),
            "snapshots": self.snapshots,
            "fact": lineage.jsonable(self.fact),
            "legs": [
                {
                    "role": leg.role,
                    "base_currency": leg.base_currency,
                    "quote_currency": leg.quote_currency,
                    "extraction_id": leg.extraction_id,
                    "verdict": leg.verdict,
                    "problems": list(leg.problems),
                    "provider_text": leg.provider_text,
                    "provider_context": None
                    if leg.provider_context is None
                    else leg.provider_context.to_dict(),
                    "silver": None if leg.silver is None else lineage.jsonable(leg.silver),
                    "bronze": None if leg.bronze is None else leg.bronze.to_dict(body_chars),
                }
                for leg in self.legs
            ],
        }


def _legs_of(fact: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(role, silver base, silver quote, extraction_id) for every silver row behind a fact."""
    if not fact["is_derived"]:
        return [("direct", fact["base_currency"], fact["quote_currency"], fact["extraction_id"])]
    pivot = fact["pivot_currency"]
    legs = [("base_leg", pivot, fact["base_currency"], fact["base_extraction_id"])]
    if fact["quote_currency"] != pivot:  # the way back to the pivot has no quote leg
        legs.insert(0, ("quote_leg", pivot, fact["quote_currency"], fact["extraction_id"]))
    return legs


class _BronzeReads:
    """Bronze evidence by extraction id and timestamp, each read at most once per trace.

    The timestamp only prunes the read to a day partition, so the same key always gives
    the same answer within one trace (one snapshot): a read made early on a guessed
    timestamp is reused exactly when the silver row's timestamp turns out to equal it.
    """

    def __init__(self, bronze: Table, snapshot_id: int | None) -> None:
        self._bronze = bronze
        self._snapshot_id = snapshot_id
        self._done: dict[tuple[str, datetime | None], BronzeEvidence | None] = {}

    def evidence(self, extraction_id: str, stamp: datetime | None) -> BronzeEvidence | None:
        """The bronze row ``extraction_id``, looked up with ``stamp`` as its timestamp."""
        key = (extraction_id, stamp)
        if key not in self._done:
            self._done[key] = lineage.bronze_evidence(
                self._bronze, self._snapshot_id, extraction_id, stamp
            )
        return self._done[key]

    def guess(self, extraction_id: str, stamp: datetime) -> None:
        """Read ahead on a guessed timestamp; a failure is left for the real read to meet.

        The guess may name a partition the real read never touches, so an error there
        (a damaged file of another day) must not fail a trace that would not have read it.
        """
        with contextlib.suppress(Exception):
            self.evidence(extraction_id, stamp)


def _trace_leg(
    silver_day: list[pa.Table],
    bronze: _BronzeReads,
    day: date,
    role: str,
    base: str,
    quote: str,
    extraction_id: str,
) -> LegTrace:
    """One leg, its silver row picked from ``silver_day`` (silver's rows of ``day``)."""
    rows = rows_where(
        silver_day,
        {"base_currency": base, "quote_currency": quote, "extraction_id": extraction_id},
    )
    silver_row = rows[0] if rows else None
    stamp = silver_row["extraction_timestamp"] if silver_row else None
    evidence = bronze.evidence(extraction_id, stamp)
    provider = None if evidence is None else lineage.provider_text(evidence, day, base, quote)
    context = None if evidence is None else lineage.provider_context(evidence, day, quote, provider)
    problems: list[str] = []
    if silver_row is None:
        problems.append(f"silver.rates has no {base}/{quote} row from extraction {extraction_id}")
    if evidence is None:
        problems.append(f"bronze.extractions has no row {extraction_id}")
        return LegTrace(role, base, quote, extraction_id, silver_row, None, None, MISSING,
                        tuple(problems))  # fmt: skip
    verdicts = [MISSING] if silver_row is None else []
    if evidence.tampered:
        verdicts.append(TAMPERED)
        problems.append(
            f"stored checksum {evidence.stored_checksum} but the stored bytes hash to "
            f"{evidence.recomputed_checksum}"
        )
    if silver_row is not None:
        mismatch = lineage.compare_to_provider(provider, silver_row)
        if mismatch:
            verdicts.append(TRANSFORM_MISMATCH)
            problems.append(mismatch)
    return LegTrace(role, base, quote, extraction_id, silver_row, evidence, provider,
                    worst(verdicts), tuple(problems), context)  # fmt: skip


def _with_purges(lake: Lake, legs: list[LegTrace]) -> tuple[LegTrace, ...]:
    """``legs``, those whose bronze row a retention purge removed marked ``purged`` with
    the purge's record (the access log is read only when a bronze row is gone)."""
    gone = [leg.extraction_id for leg in legs if leg.bronze is None]
    if not gone:
        return tuple(legs)
    try:
        purges = purges_of(lake, gone)
    except Exception as exc:  # the log is evidence, not the trace: the legs stay missing
        unread = (
            "the access log could not be read to look for a retention purge: "
            f"{type(exc).__name__}: {scrub(str(exc), lake)}"
        )
        return tuple(
            dataclasses.replace(leg, problems=(*leg.problems, unread))
            if leg.bronze is None
            else leg
            for leg in legs
        )
    return tuple(
        dataclasses.replace(
            leg,
            verdict=PURGED if leg.silver is not None else MISSING,
            problems=(*leg.problems, purges[leg.extraction_id]),
        )
        if leg.bronze is None and leg.extraction_id in purges
        else leg
        for leg in legs
    )


def trace(
    lake: Lake,
    rate_date: date,
    base: str,
    quote: str,
    *,
    source: str | None = None,
    as_of: AsOf | None = None,
) -> TraceResult:
    """Trace the gold rate for ``rate_date`` and ``base``/``quote`` back to bronze.

    Gold is read as of ``as_of``; silver and bronze as of the moment that gold snapshot
    became gold's ``main`` (silver by the same tag when it has one, or from the branch of a
    held run; :mod:`~makerates_lake.audit.trace_points`), which is the silver a
    write-audit-publish run published with it: gold's current snapshot id, a tag on it or
    the present time trace as ``main`` does, and a trace before a reprocess shows the
    lineage then.
    Logs one access-log entry (action ``trace``).

    Args:
        lake: The open lake.
        rate_date: The provider's date of the rate.
        base: Base currency (ISO code).
        quote: Quote currency (ISO code).
        source: A source name; default the fact gold marks ``is_best``.
        as_of: Snapshot id, tag or time of gold; default now.

    Raises:
        RecordNotFoundError: Gold has no such fact at that point in time.
        SnapshotNotFoundError: Unknown snapshot id or tag.
        AccessLogError: The trace could not be logged (the trace fails).
    """
    base, quote = base.upper(), quote.upper()
    tables = current_tables(lake, (GOLD_FACT_RATE, SILVER_RATES, BRONZE_EXTRACTIONS))
    gold = tables[GOLD_FACT_RATE.identifier]
    silver = tables[SILVER_RATES.identifier]
    bronze = tables[BRONZE_EXTRACTIONS.identifier]
    gold_snapshot = resolve_as_of(gold, as_of)
    gold_id = gold_snapshot.snapshot_id if gold_snapshot else None
    silver_id, bronze_id = companions(gold, silver, bronze, gold_id, as_of)
    snapshots = {
        GOLD_FACT_RATE.identifier: gold_id,
        SILVER_RATES.identifier: silver_id,
        BRONZE_EXTRACTIONS.identifier: bronze_id,
    }
    query = (
        f"trace {base} {quote} --date {rate_date.isoformat()}"
        f"{f' --source {source}' if source else ''}"
        f"{f' --as-of {as_of.describe()}' if as_of else ''}"
    )
    silver_read = _silver_reader().submit(
        find_tables, silver, snapshots[SILVER_RATES.identifier], {"rate_date": rate_date}
    )
    bronze_reads = _BronzeReads(bronze, snapshots[BRONZE_EXTRACTIONS.identifier])
    try:
        fact = find_fact(gold, snapshots[GOLD_FACT_RATE.identifier], rate_date, base, quote, source)
        wanted = _legs_of(fact)
        # Read the bronze rows while silver's are still being decoded, on the fact's
        # observed_at: a direct fact's is its silver row's extraction_timestamp (a cross
        # rate's is the later leg's). Each leg below asks again with its silver row's own
        # timestamp and reuses this read only when that is the same.
        if fact["observed_at"] is not None:
            for extraction_id in dict.fromkeys(leg[3] for leg in wanted):
                bronze_reads.guess(extraction_id, fact["observed_at"])
    except BaseException as exc:
        wait([silver_read])  # no read of this trace outlives it
        if isinstance(exc, RecordNotFoundError):
            log_access(lake, action="trace", table=GOLD_FACT_RATE.identifier, query_text=query)
        raise
    silver_day = silver_read.result()
    legs = _with_purges(
        lake,
        [
            _trace_leg(silver_day, bronze_reads, rate_date, role, leg_base, leg_quote, eid)
            for role, leg_base, leg_quote, eid in wanted
        ],
    )
    fact_problems = lineage.check_fact(fact, legs)
    verdict = worst([leg.verdict for leg in legs] + ([TRANSFORM_MISMATCH] if fact_problems else []))
    log_access(
        lake,
        action="trace",
        table=GOLD_FACT_RATE.identifier,
        record_ids=sorted({leg.extraction_id for leg in legs}),
        query_text=query,
    )
    return TraceResult(
        rate_date=rate_date,
        base_currency=base,
        quote_currency=quote,
        as_of=as_of.describe() if as_of else None,
        snapshots=snapshots,
        fact=fact,
        legs=legs,
        verdict=verdict,
        problems=tuple(fact_problems),
    )
