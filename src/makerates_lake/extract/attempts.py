"""Run one source request: rate limit, retries with stamina, one bronze record per attempt.

Retried: transport errors, 429 and 5xx (``transient`` errors), with exponential backoff
and jitter, or exactly the server's ``Retry-After`` when it sent one. A ``Retry-After``
longer than ``retry_after_max_s`` is not waited for: the request fails so the next tier
can answer now. Not retried: any other 4xx, provider errors, bad bodies, TLS failures.
Each attempt, including each retry, becomes a :class:`BronzeRecord` whose
``retry_attempt`` is its number (0 for the first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import stamina

from makerates_lake.bronze.record import BronzeRecord
from makerates_lake.extract.errors import ExtractError, HttpStatusError, error_code_of
from makerates_lake.extract.http import Exchange, HttpClient, ProgressCallback
from makerates_lake.extract.ratelimit import RateLimiters
from makerates_lake.extract.sources.base import Source, SourceRequest
from makerates_lake.extract.sources.ecb import history_content_type, read_local
from makerates_lake.redact import redact_url
from makerates_lake.settings import Settings
from makerates_lake.source_names import ECB_HISTORY

log = logging.getLogger(__name__)


class _RetryableAttemptError(Exception):
    """Carries a transient error out of a stamina attempt."""

    def __init__(self, error: ExtractError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class RequestOutcome:
    """Every attempt of one request, and the error of the last one (None on success).

    Attributes:
        records: One bronze record per attempt, in order.
        error: Why the request failed in the end, or None.
    """

    records: tuple[BronzeRecord, ...]
    error: ExtractError | None

    @property
    def succeeded(self) -> bool:
        """True when the last attempt was a usable answer."""
        return self.error is None


def to_record(
    exchange: Exchange,
    request: SourceRequest,
    *,
    tier: str,
    attempt: int,
    error: ExtractError | None,
    settings: Settings,
    run_id: str | None,
) -> BronzeRecord:
    """The bronze row of one attempt.

    The request's keys and every secret of the settings (Vault token, passwords in DSNs)
    are masked everywhere, the body included: a provider may echo any of them.
    """
    content_type = exchange.header("content-type")
    if request.source_name == ECB_HISTORY and error is None:
        content_type = history_content_type(exchange.body) or content_type
    return BronzeRecord.create(
        source_name=request.source_name,
        source_version=request.source_version,
        source_tier=tier,
        request_url=exchange.request.url,
        request_method=exchange.request.method,
        request_headers=exchange.sent_headers or None,
        request_params={**exchange.request.params, **request.record_params} or None,
        http_status_code=exchange.status,
        response_headers=exchange.headers or None,
        response_content_type=content_type,
        raw_response=exchange.body,
        extraction_duration_ms=exchange.duration_ms,
        error_message=str(error) if error else None,
        error_code=error_code_of(error) if error else None,
        retry_attempt=attempt,
        data_classification=settings.data_classification,
        retention_policy=settings.retention_policy,
        run_id=run_id,
        extraction_timestamp=exchange.started_at,
        secrets=(*request.secrets, *settings.secret_values()),
        incomplete_reason=exchange.incomplete,
        received_bytes=exchange.received_bytes,
    )


class AttemptRunner:
    """Sends source requests under the per-source limiter and the retry policy.

    Args:
        settings: Retry attempts, ``retry_after_max_s``, classification and retention.
        client: The hardened HTTP client.
        limiters: Per-source rate limiters.
        run_id: Stamped on every record.
    """

    def __init__(
        self,
        settings: Settings,
        client: HttpClient,
        limiters: RateLimiters,
        *,
        run_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.limiters = limiters
        self.run_id = run_id

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina hook: False = give up, True = default backoff, float = wait exactly."""
        if not isinstance(exc, _RetryableAttemptError):
            return False
        error = exc.error
        if isinstance(error, HttpStatusError) and error.retry_after is not None:
            if error.retry_after > self.settings.retry_after_max_s:
                return False
            return error.retry_after
        return True

    def _once(
        self, source: Source, request: SourceRequest, on_progress: ProgressCallback | None
    ) -> tuple[Exchange, ExtractError | None]:
        if request.http.method == "READ":
            path = Path(unquote(urlsplit(request.http.url).path))
            exchange = read_local(request.http, path, max_bytes=self.settings.max_response_bytes)
        else:
            self.limiters.for_source(source.name).acquire()
            exchange = self.client.fetch(
                request.http, source=source.name, secrets=request.secrets, on_progress=on_progress
            )
        return exchange, exchange.error or source.check(exchange)

    def run(
        self,
        source: Source,
        request: SourceRequest,
        *,
        tier: str,
        on_progress: ProgressCallback | None = None,
    ) -> RequestOutcome:
        """Send ``request`` with retries, then the source's alternate request if it offers one."""
        records: list[BronzeRecord] = []
        current: SourceRequest | None = request
        error: ExtractError | None = None
        while current is not None:
            error = self._run_retrying(source, current, tier, records, on_progress)
            if error is None or error.transient:
                break
            current = source.alternate(current, error)
            if current is not None:
                log.warning(
                    "trying an alternate request",
                    extra={
                        "source": source.name,
                        "reason": error_code_of(error),
                        "note": current.note,
                    },
                )
        return RequestOutcome(tuple(records), error)

    def _run_retrying(
        self,
        source: Source,
        request: SourceRequest,
        tier: str,
        records: list[BronzeRecord],
        on_progress: ProgressCallback | None,
    ) -> ExtractError | None:
        error: ExtractError | None = None
        try:
            for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.settings.http_retry_attempts,
                timeout=None,
                wait_initial=0.5,
                wait_max=30.0,
                wait_jitter=1.0,
            ):
                with attempt:
                    exchange, error = self._once(source, request, on_progress)
                    records.append(
                        to_record(
                            exchange, request, tier=tier, attempt=len(records), error=error,
                            settings=self.settings, run_id=self.run_id,
                        )
                    )
                    if error is not None:
                        self._log_failure(source, request, error, len(records) - 1)
                        if error.transient:
                            raise _RetryableAttemptError(error)
        except _RetryableAttemptError as exc:
            return exc.error
        return error

    @staticmethod
    def _log_failure(
        source: Source, request: SourceRequest, error: ExtractError, attempt: int
    ) -> None:
        log.warning(
            "extraction attempt failed",
            extra={
                "source": source.name,
                "url": redact_url(request.http.url, request.secrets),
                "error_code": error_code_of(error),
                "status": getattr(error, "status", None),
                "transient": error.transient,
                "retry_attempt": attempt,
            },
        )
