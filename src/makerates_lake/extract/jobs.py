"""Extraction jobs that write bronze: ``ingest`` (the chain once) and the ECB backfill.

Records are written in ONE bronze commit per job (commit per batch, never per row),
and they are written before any failure is raised, so nothing tried is lost. These
write bronze only; :func:`makerates_lake.pipeline.ingest` and
:func:`~makerates_lake.pipeline.backfill_bronze` also maintain bronze when it is due,
and are what the CLI runs.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from makerates_lake.bronze.writer import AppendResult, BronzeWriter
from makerates_lake.errors import ConfigError
from makerates_lake.extract.attempts import AttemptRunner, RequestOutcome
from makerates_lake.extract.errors import AllTiersFailedError, SecretError, error_code_of
from makerates_lake.extract.extractor import (
    ExtractionRun,
    Extractor,
    LazyKeyProvider,
    chain_from_settings,
    key_age_limit,
)
from makerates_lake.extract.http import HttpClient, ProgressCallback
from makerates_lake.extract.ratelimit import RateLimiters
from makerates_lake.extract.secrets import check_key_age, key_provider_from_settings
from makerates_lake.extract.sources import EcbHistory
from makerates_lake.source_names import EXCHANGERATE_API
from makerates_lake.store.catalog import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    """What :func:`ingest` did.

    Attributes:
        run: Every tier result and record.
        append: The bronze commit.
    """

    run: ExtractionRun
    append: AppendResult


def ingest(
    lake: Lake,
    bases: Sequence[str],
    *,
    sources: Sequence[str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_loopback: bool = False,
) -> IngestReport:
    """Run the tier chain once per base and write every attempt to bronze in one commit.

    Args:
        lake: The open lake; its settings configure sources, limits and retries.
        bases: Base currencies.
        sources: Source names in tier order; default ``settings.extract_chain``.
        ssl_context: TLS context (tests); default from settings.
        allow_insecure_loopback: Permit plain http to loopback (tests only).

    Raises:
        AllTiersFailedError: After writing, when every tier failed for some base.
        KeyRotationError: After writing, when the ExchangeRate-API key is overdue.
    """
    settings = lake.settings
    keys = LazyKeyProvider(lambda: key_provider_from_settings(settings))
    chain = chain_from_settings(settings, sources, keys)
    with HttpClient(
        settings, ssl_context=ssl_context, allow_insecure_loopback=allow_insecure_loopback
    ) as client:
        run = Extractor(settings, client, chain).run(bases)
    append = BronzeWriter(lake).append(run.records)
    log.info(
        "ingest written",
        extra={"run_id": run.run_id, "rows": append.written, "failed_bases": len(run.failed)},
    )
    run.raise_if_failed()
    if any(source.name == EXCHANGERATE_API for source in chain):
        try:
            current = keys.load()
        except SecretError:
            return IngestReport(run, append)
        check_key_age(current, max_age=key_age_limit(settings))
    return IngestReport(run, append)


@dataclass(frozen=True)
class BackfillReport:
    """What :func:`backfill_ecb` did.

    Attributes:
        outcome: The attempts (one for a local file).
        append: The bronze commit.
    """

    outcome: RequestOutcome
    append: AppendResult


def backfill_window(start: date | None, end: date | None) -> dict[str, str]:
    """The request parameters a backfill records for the days it asks for (not sent)."""
    return {f"backfill_{k}": v.isoformat() for k, v in (("start", start), ("end", end)) if v}


def backfill_ecb(
    lake: Lake,
    *,
    start: date | None = None,
    end: date | None = None,
    path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_loopback: bool = False,
) -> BackfillReport:
    """Store the ECB history file (by URL or from ``path``) as one bronze record.

    The whole file is kept verbatim; ``start``/``end`` are recorded in ``request_params``
    (``backfill_start``/``backfill_end``, not sent) as the window asked for: silver takes
    only those days (:mod:`makerates_lake.silver.ecb_payloads`).

    Raises:
        ConfigError: ``start`` is after ``end`` (checked before anything is stored: bronze
            is append-only, and the file would be kept for a window that holds no day).
        AllTiersFailedError: After writing, when the file could not be fetched or read.
    """
    if start is not None and end is not None and start > end:
        raise ConfigError(
            "the backfill window is reversed: start is after end",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    settings = lake.settings
    source = EcbHistory(settings.ecb_history_url)
    request = source.local(path) if path is not None else source.latest()
    request = replace(request, record_params=backfill_window(start, end))
    with HttpClient(
        settings, ssl_context=ssl_context, allow_insecure_loopback=allow_insecure_loopback
    ) as client:
        runner = AttemptRunner(
            settings,
            client,
            RateLimiters(settings.rate_limit_calls, settings.rate_limit_period_s),
        )
        outcome = runner.run(source, request, tier="backfill", on_progress=on_progress)
    append = BronzeWriter(lake).append(outcome.records)
    if outcome.error is not None:
        raise AllTiersFailedError(
            "the ECB history could not be loaded",
            failures=f"[('{source.name}', '{error_code_of(outcome.error)}')]",
            error=str(outcome.error),
        )
    return BackfillReport(outcome, append)
