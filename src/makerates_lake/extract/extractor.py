"""The tier chain: primary first, then each fallback until one answers.

For each base currency the chain's sources are tried in order; the first is tier
``primary``, the others ``fallback``. A tier that fails after its retries hands over to
the next. Every attempt of every tier is returned as a bronze record, so bronze shows
exactly what was tried and why it failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.errors import ConfigError
from makerates_lake.extract.attempts import AttemptRunner
from makerates_lake.extract.errors import (
    AllTiersFailedError,
    ExtractError,
    SecretError,
    error_code_of,
)
from makerates_lake.extract.http import HttpClient
from makerates_lake.extract.ratelimit import RateLimiters
from makerates_lake.extract.secrets import ApiKeys, KeyProvider, key_provider_from_settings
from makerates_lake.extract.sources import (
    EcbDaily,
    EcbHistory,
    ExchangeRateApi,
    Frankfurter,
    OpenErApi,
    Source,
)
from makerates_lake.settings import Settings
from makerates_lake.source_names import (
    ALL_SOURCES,
    ECB_DAILY,
    ECB_HISTORY,
    EXCHANGERATE_API,
    FRANKFURTER,
    OPEN_ER_API,
)

log = logging.getLogger(__name__)


class LazyKeyProvider:
    """Builds the real key provider on first use, so a chain without a key still runs.

    Args:
        factory: Builds the provider (e.g. :func:`key_provider_from_settings`).
    """

    description = "lazy"

    def __init__(self, factory: Callable[[], KeyProvider]) -> None:
        self._factory = factory
        self._inner: KeyProvider | None = None

    @property
    def inner(self) -> KeyProvider:
        """The provider, built now if needed."""
        if self._inner is None:
            self._inner = self._factory()
            self.description = self._inner.description
        return self._inner

    def load(self) -> ApiKeys:
        """Load from the real provider."""
        return self.inner.load()

    def invalidate(self) -> None:
        """Forward a cache invalidation when the real provider caches."""
        invalidate = getattr(self._inner, "invalidate", None)
        if callable(invalidate):
            invalidate()


def build_source(name: str, settings: Settings, keys: KeyProvider | None = None) -> Source:
    """The source called ``name``, configured from settings.

    Raises:
        ValueError: ``name`` is not a known source.
    """
    if name == EXCHANGERATE_API:
        provider = keys or LazyKeyProvider(lambda: key_provider_from_settings(settings))
        return ExchangeRateApi(
            provider, settings.exchangerate_api_url, auth=settings.exchangerate_api_auth
        )
    if name == OPEN_ER_API:
        return OpenErApi(settings.open_er_api_url)
    if name == FRANKFURTER:
        return Frankfurter(settings.frankfurter_url, settings.frankfurter_version)
    if name == ECB_DAILY:
        return EcbDaily(settings.ecb_daily_url)
    if name == ECB_HISTORY:
        return EcbHistory(settings.ecb_history_url)
    raise ConfigError(f"unknown source {name!r}", known=", ".join(ALL_SOURCES))


def chain_from_settings(
    settings: Settings, names: Sequence[str] | None = None, keys: KeyProvider | None = None
) -> list[Source]:
    """The configured chain (``extract_chain``), or the named sources in that order."""
    chosen = list(names) if names else [
        n.strip() for n in settings.extract_chain.split(",") if n.strip()
    ]
    if not chosen:
        raise ConfigError("the tier chain is empty", key="extract_chain")
    return [build_source(n, settings, keys) for n in chosen]


@dataclass(frozen=True)
class TierResult:
    """The outcome of the chain for one base currency.

    Attributes:
        base: The base currency asked for.
        records: Every attempt of every tier, in order.
        answered_by: The source that answered, or None when every tier failed.
        failures: ``(source, error_code)`` of each tier that failed.
    """

    base: str
    records: tuple[BronzeRecord, ...]
    answered_by: str | None
    failures: tuple[tuple[str, str], ...]


@dataclass
class ExtractionRun:
    """Results of one run over several base currencies.

    Attributes:
        run_id: Stamped on every record.
        results: One per base.
    """

    run_id: str
    results: list[TierResult] = field(default_factory=list)

    @property
    def records(self) -> list[BronzeRecord]:
        """All records of the run."""
        return [r for result in self.results for r in result.records]

    @property
    def failed(self) -> list[TierResult]:
        """Bases for which every tier failed."""
        return [r for r in self.results if r.answered_by is None]

    def raise_if_failed(self) -> None:
        """Raise when any base got no answer from any tier.

        Raises:
            AllTiersFailedError: Names the bases and each tier's error code.
        """
        failed = self.failed
        if failed:
            raise AllTiersFailedError(
                "every tier failed",
                bases=",".join(r.base for r in failed),
                failures="; ".join(f"{r.base}: {list(r.failures)}" for r in failed),
                run_id=self.run_id,
            )


class Extractor:
    """Runs the tier chain.

    Args:
        settings: Settings (retries, limits, classification).
        client: The hardened HTTP client.
        chain: Sources in tier order; the first is primary.
        limiters: Per-source limiters; default from ``rate_limit_calls``/``rate_limit_period_s``.
        run_id: Stamped on every record; default a new UUID.
    """

    def __init__(
        self,
        settings: Settings,
        client: HttpClient,
        chain: Sequence[Source],
        *,
        limiters: RateLimiters | None = None,
        run_id: str | None = None,
    ) -> None:
        if not chain:
            raise ConfigError("the tier chain is empty", key="extract_chain")
        self.chain = list(chain)
        self.run_id = run_id or str(uuid.uuid4())
        self.runner = AttemptRunner(
            settings,
            client,
            limiters or RateLimiters(settings.rate_limit_calls, settings.rate_limit_period_s),
            run_id=self.run_id,
        )

    def extract(self, base: str) -> TierResult:
        """Try each tier for ``base`` until one answers."""
        records: list[BronzeRecord] = []
        failures: list[tuple[str, str]] = []
        for index, source in enumerate(self.chain):
            tier = "primary" if index == 0 else "fallback"
            try:
                request = source.latest(base)
            except (SecretError, ValueError) as exc:
                # No request was sent, so there is no bronze row; the log says why.
                code = error_code_of(exc) if isinstance(exc, ExtractError) else "invalid-request"
                log.error(
                    "tier skipped: request could not be built",
                    extra={"source": source.name, "tier": tier, "error_code": code,
                           "reason": str(exc)},
                )
                failures.append((source.name, code))
                continue
            outcome = self.runner.run(source, request, tier=tier)
            records.extend(outcome.records)
            if outcome.error is None:
                return TierResult(base, tuple(records), source.name, tuple(failures))
            failures.append((source.name, error_code_of(outcome.error)))
            log.warning(
                "tier failed, trying the next",
                extra={"source": source.name, "tier": tier, "base": base,
                       "error_code": error_code_of(outcome.error)},
            )
        log.error("every tier failed", extra={"base": base, "failures": failures})
        return TierResult(base, tuple(records), None, tuple(failures))

    def run(self, bases: Sequence[str]) -> ExtractionRun:
        """Run the chain for every base; never raises for source failures."""
        run = ExtractionRun(self.run_id)
        for base in bases:
            run.results.append(self.extract(base))
        return run


def key_age_limit(settings: Settings) -> timedelta:
    """``key_max_age_days`` as a duration."""
    return timedelta(days=settings.key_max_age_days)
