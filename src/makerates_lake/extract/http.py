"""The hardened HTTP client every source goes through.

* TLS 1.3 minimum, certificate and host name verified (:func:`make_ssl_context`);
* https only: plain http is refused unless ``allow_insecure_loopback`` is set *and* the
  host is a loopback address (tests); a redirect from https to http is always refused;
* ``User-Agent: makerates_lake/<version> (+<contact_url>)``, ``Accept: application/json``,
  gzip accepted; explicit connect and read timeouts; proxies and ``*_CA_BUNDLE`` from the
  environment are ignored (``trust_env=False``) so nothing reroutes traffic silently;
* the body is streamed and cut off past ``max_response_bytes`` (after content decoding,
  so a gzip bomb is capped too), never loaded whole;
* every byte received is kept: a body cut off by the peer, stalled past the read timeout
  or over the cap keeps what arrived (up to the cap), with ``incomplete`` saying why;
* optional certificate pinning per host (``http_pins``,
  :mod:`~makerates_lake.extract.pinning`), checked before the request is sent.

:meth:`HttpClient.fetch` never raises for network trouble: it returns an
:class:`Exchange` whose ``error`` says what went wrong, because every attempt, failed or
not, becomes a bronze row.

The client lives here; what it sends and returns is in
:mod:`~makerates_lake.extract.http_exchange`, the judging of statuses and failures in
:mod:`~makerates_lake.extract.http_failures`, and TLS, the loopback exception and log
scrubbing in :mod:`~makerates_lake.extract.http_hardening`. Their public names stay
importable from here.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from makerates_lake.extract.errors import (
    ExtractError,
    InsecureTransportError,
    ResponseTooLargeError,
    TransportError,
    error_code_of,
)
from makerates_lake.extract.http_exchange import Exchange, HttpRequest, ProgressCallback
from makerates_lake.extract.http_failures import (
    classify_httpx_error,
    parse_retry_after,
    status_error,
)
from makerates_lake.extract.http_hardening import (
    install_log_filter,
    is_loopback_host,
    make_ssl_context,
)
from makerates_lake.pins import parse_pins
from makerates_lake.provenance import package_version
from makerates_lake.redact import redact_text, redact_url
from makerates_lake.settings import Settings

__all__ = [
    "INCOMPLETE_REASONS",
    "OVER_CAP",
    "RATE_LIMIT_REMAINING_HEADERS",
    "Exchange",
    "HttpClient",
    "HttpRequest",
    "ProgressCallback",
    "is_loopback_host",
    "make_ssl_context",
    "parse_retry_after",
    "status_error",
    "user_agent",
]

log = logging.getLogger(__name__)

#: Headers in which providers announce how many calls are left.
RATE_LIMIT_REMAINING_HEADERS = (
    "x-ratelimit-remaining",
    "ratelimit-remaining",
    "x-ratelimit-requests-remaining",
)
_MAX_REDIRECTS = 5
#: ``Exchange.incomplete`` for each error that can cut a body short.
INCOMPLETE_REASONS = {
    "timeout": "read-timeout",
    "connection-reset": "connection-closed",
    "decoding-error": "decoding-failed",
    "transport-error": "transport-failed",
}
OVER_CAP = "over-max-response-bytes"


def user_agent(settings: Settings) -> str:
    """``makerates_lake/<version> (+<contact_url>)``."""
    return f"makerates_lake/{package_version()} (+{settings.contact_url})"


@dataclass
class _Received:
    """What arrived so far; filled in while sending, read even when sending failed."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    size: int = 0
    reading: bool = False
    incomplete: str | None = None
    final_url: str | None = None

    def kept_note(self) -> str:
        """What an error message says about the body it cut short."""
        return (
            f"; the {len(self.body)} bytes received before that are kept in bronze, "
            f"marked incomplete ({self.incomplete})"
        )


class HttpClient:
    """A synchronous httpx client with the hardening above; safe to share across threads.

    Args:
        settings: Timeouts, size cap, contact URL and rate-limit warning threshold.
        ssl_context: TLS context; default :func:`make_ssl_context` with
            ``settings.http_ca_file`` and the pins of ``settings.http_pins`` (a context
            given here is used as it is: pin it with :func:`make_ssl_context`).
        transport: An httpx transport (tests pass ``httpx.MockTransport``).
        allow_insecure_loopback: Permit plain http, but only to loopback hosts (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_insecure_loopback: bool = False,
    ) -> None:
        install_log_filter(settings.secret_values())
        self._settings = settings
        self._allow_insecure_loopback = allow_insecure_loopback
        self._max_bytes = settings.max_response_bytes
        self._warn_below = settings.rate_limit_warn_remaining
        self._client = httpx.Client(
            verify=ssl_context
            or make_ssl_context(settings.http_ca_file, parse_pins(settings.http_pins or "")),
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=settings.http_connect_timeout_s,
                read=settings.http_read_timeout_s,
                write=settings.http_read_timeout_s,
                pool=settings.http_connect_timeout_s,
            ),
            headers={
                "User-Agent": user_agent(settings),
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
            },
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check_url(self, url: str, *, source: str, redirect_from: str | None = None) -> None:
        """Refuse anything but https, apart from explicitly allowed loopback http.

        Raises:
            InsecureTransportError: The URL is not https (or a redirect drops to http).
        """
        parsed = httpx.URL(url)
        if parsed.scheme == "https":
            return
        shown = redact_url(url)
        if redirect_from is not None and httpx.URL(redirect_from).scheme == "https":
            raise InsecureTransportError(
                "refused a redirect from https to a non-https URL",
                error_code="insecure-redirect",
                source=source,
                url=redact_url(redirect_from),
                location=shown,
            )
        if (
            parsed.scheme == "http"
            and self._allow_insecure_loopback
            and is_loopback_host(parsed.host)
        ):
            return
        raise InsecureTransportError(
            "only https is allowed (plain http only to loopback with allow_insecure_loopback)",
            source=source,
            url=shown,
        )

    def post_json(self, url: str, body: bytes, *, source: str) -> int:
        """POST a JSON body (a webhook) under the same hardening: https only, no
        redirect followed, the answer read under the size cap and dropped.

        Returns:
            The answer's status code (a redirect is returned, not followed).

        Raises:
            InsecureTransportError: The URL is not https (nor allowed loopback http).
            httpx.InvalidURL: The URL cannot be parsed.
            httpx.HTTPError: The transport failed (its text may hold the URL).
        """
        self.check_url(url, source=source)
        headers = {"Content-Type": "application/json"}
        with self._client.stream("POST", url, content=body, headers=headers) as response:
            read = 0
            for chunk in response.iter_bytes():  # drained so the connection can be reused
                read += len(chunk)
                if read > self._max_bytes:
                    break
            return response.status_code

    def fetch(
        self,
        request: HttpRequest,
        *,
        source: str,
        secrets: Iterable[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> Exchange:
        """Send one request and read its body under the size cap.

        Args:
            request: What to send.
            source: Source name, for error context and logs.
            secrets: Secret values to keep out of error messages.
            on_progress: Called as the body streams (progress bars).

        Returns:
            The exchange; ``error`` is set for TLS, transport, redirect and size failures.
            Status codes are not judged here (see :func:`status_error`).
        """
        secrets = tuple(secrets)
        install_log_filter(secrets)
        started_at = datetime.now(UTC)
        start = time.perf_counter()
        sent_headers: dict[str, str] = {}
        url = request.url
        received = _Received()
        try:
            self.check_url(url, source=source)
            httpx_request = self._client.build_request(
                request.method, url, params=dict(request.params), headers=dict(request.headers)
            )
            sent_headers = dict(httpx_request.headers)
            error = self._send(httpx_request, source, on_progress, received)
        except ExtractError as exc:
            error = exc
        except httpx.HTTPError as exc:
            error = classify_httpx_error(exc, source=source, url=redact_url(url, secrets))
            if received.reading:
                received.incomplete = INCOMPLETE_REASONS.get(error_code_of(error), "cut-off")
                error.message += received.kept_note()
        if error is not None:
            # Error text can echo a URL or header: scrub what we know is secret.
            error.message = redact_text(error.message, secrets)
            error.args = (error.message,)
        return Exchange(
            request=request,
            sent_headers=sent_headers,
            started_at=started_at,
            duration_ms=(time.perf_counter() - start) * 1000.0,
            status=received.status,
            headers=received.headers,
            body=bytes(received.body),
            final_url=received.final_url,
            error=error,
            incomplete=received.incomplete,
            received_bytes=received.size if received.status is not None else None,
        )

    def _send(
        self,
        httpx_request: httpx.Request,
        source: str,
        on_progress: ProgressCallback | None,
        received: _Received,
    ) -> ExtractError | None:
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._client.send(httpx_request, stream=True)
            try:
                received.status = response.status_code
                received.headers = dict(response.headers)
                received.final_url = str(httpx_request.url)
                next_request = response.next_request if response.is_redirect else None
                if next_request is None:
                    self._warn_if_quota_low(response, source)
                    return self._read_body(response, source, on_progress, received)
            finally:
                response.close()
            self.check_url(
                str(next_request.url), source=source, redirect_from=str(httpx_request.url)
            )
            httpx_request = next_request
        return TransportError(
            f"more than {_MAX_REDIRECTS} redirects",
            error_code="too-many-redirects",
            source=source,
            url=redact_url(str(httpx_request.url)),
        )

    def _read_body(
        self,
        response: httpx.Response,
        source: str,
        on_progress: ProgressCallback | None,
        received: _Received,
    ) -> ExtractError | None:
        # Bytes go straight into ``received`` so that a failure mid-body (a reset, a
        # stall past the read timeout) leaves what arrived for bronze to keep.
        declared = response.headers.get("content-length")
        total = int(declared) if declared and declared.isdigit() else None
        received.reading = True
        cap = self._max_bytes
        for chunk in response.iter_bytes():
            received.size += len(chunk)
            received.body += chunk[: max(cap - len(received.body), 0)]
            if received.size > cap:
                break
            if on_progress is not None:
                on_progress(received.size, total)
        received.reading = False
        if received.size <= cap:
            return None
        received.incomplete = OVER_CAP
        shown = f" (Content-Length {total})" if total is not None else ""
        return ResponseTooLargeError(
            f"response body exceeds max_response_bytes={cap}{shown}; reading stopped after "
            f"{received.size} bytes and the first {len(received.body)} are kept in bronze, "
            f"marked incomplete ({OVER_CAP})",
            source=source,
            url=redact_url(str(response.request.url)),
            status=response.status_code,
            content_length=total,
        )

    def _warn_if_quota_low(self, response: httpx.Response, source: str) -> None:
        for name in RATE_LIMIT_REMAINING_HEADERS:
            value = response.headers.get(name)
            if value is None:
                continue
            try:
                remaining = int(float(value))
            except ValueError:
                return
            if remaining < self._warn_below:
                log.warning(
                    "provider rate limit nearly used up",
                    extra={
                        "event": "rate_limit_low",
                        "source": source,
                        "remaining": remaining,
                        "threshold": self._warn_below,
                        "header": name,
                    },
                )
            return
