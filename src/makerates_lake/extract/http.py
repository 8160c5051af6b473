"""The hardened HTTP client every source goes through.

* TLS 1.3 minimum, certificate and host name verified (:func:`make_ssl_context`);
* https only: plain http is refused unless ``allow_insecure_loopback`` is set *and* the
  host is a loopback address (tests); a redirect from https to http is always refused;
* ``User-Agent: makerates_lake/<version> (+<contact_url>)``, ``Accept: application/json``,
  gzip accepted; explicit connect and read timeouts; proxies and ``*_CA_BUNDLE`` from the
  environment are ignored (``trust_env=False``) so nothing reroutes traffic silently;
* the body is streamed and cut off past ``max_response_bytes`` (after content decoding,
  so a gzip bomb is capped too), never loaded whole.

:meth:`HttpClient.fetch` never raises for network trouble: it returns an
:class:`Exchange` whose ``error`` says what went wrong, because every attempt, failed or
not, becomes a bronze row.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import certifi
import httpx

from makerates_lake.extract.errors import (
    ExtractError,
    HttpStatusError,
    InsecureTransportError,
    InvalidResponseError,
    ResponseTooLargeError,
    TlsError,
    TransportError,
)
from makerates_lake.provenance import package_version
from makerates_lake.redact import redact_text, redact_url
from makerates_lake.settings import Settings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes received so far, Content-Length or None) while a body streams."""

#: Headers in which providers announce how many calls are left.
RATE_LIMIT_REMAINING_HEADERS = (
    "x-ratelimit-remaining",
    "ratelimit-remaining",
    "x-ratelimit-requests-remaining",
)
#: How much of an oversized body is kept in bronze, to show what it was.
TOO_LARGE_SAMPLE_BYTES = 4096
_MAX_REDIRECTS = 5


class _RedactingFilter(logging.Filter):
    """Scrubs URLs in httpx's own log records (``HTTP Request: GET <url>``).

    httpx logs every request URL at INFO; ExchangeRate-API keeps its key in the path.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(arg)) if isinstance(arg, httpx.URL | str) and "://" in str(arg)
                else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "://" in record.msg:
            record.msg = redact_url(record.msg)
        return True


_LOG_FILTER = _RedactingFilter()
_THIRD_PARTY_LOGGERS = ("httpx", "httpcore.http11", "httpcore.connection", "httpcore.proxy")


def _install_log_filter() -> None:
    """Attach the redacting filter to the loggers that print request URLs (idempotent)."""
    for name in _THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


def make_ssl_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """A client context that speaks TLS 1.3 or nothing, and verifies the peer.

    Args:
        ca_file: PEM bundle of trusted CAs (a private CA); default the certifi bundle.
    """
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def user_agent(settings: Settings) -> str:
    """``makerates_lake/<version> (+<contact_url>)``."""
    return f"makerates_lake/{package_version()} (+{settings.contact_url})"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class _Received:
    """What arrived so far; filled in while sending, read even when sending failed."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    final_url: str | None = None


@dataclass(frozen=True)
class HttpRequest:
    """What to send. ``url`` may carry a key (ExchangeRate-API); it is redacted when stored.

    Attributes:
        url: Absolute https URL.
        params: Query parameters.
        headers: Extra headers (e.g. ``Authorization``), on top of the client's defaults.
        method: HTTP method.
    """

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "GET"


@dataclass(frozen=True, repr=False)
class Exchange:
    """One attempt: what was sent, what came back, and what went wrong if anything.

    Attributes:
        request: The request as asked for.
        sent_headers: Headers actually sent (defaults included; secrets still in clear,
            redact before storing).
        started_at: When the attempt began (UTC).
        duration_ms: Wall time of the attempt.
        status: HTTP status, or None when no response arrived.
        headers: Response headers (of the last response when redirects were followed).
        body: Bytes received after content decoding; a prefix only when cut off.
        final_url: The URL that answered, after redirects.
        error: Why the attempt failed at the HTTP level, or None.
    """

    request: HttpRequest
    sent_headers: dict[str, str]
    started_at: datetime
    duration_ms: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    final_url: str | None = None
    error: ExtractError | None = None

    def __repr__(self) -> str:
        return (
            f"Exchange(url={redact_url(self.request.url)!r}, status={self.status}, "
            f"size={len(self.body)}, error={type(self.error).__name__ if self.error else None})"
        )

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        """The media type without parameters, lower case."""
        value = self.header("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def status_error(exchange: Exchange, *, source: str) -> HttpStatusError | None:
    """The error for a non-2xx status: transient for 429 and 5xx, terminal otherwise."""
    status = exchange.status
    if status is None or 200 <= status < 300:
        return None
    url = redact_url(exchange.request.url)
    if status == 429:
        return HttpStatusError(
            "rate limited by the provider (HTTP 429)",
            error_code="rate-limited",
            transient=True,
            retry_after=parse_retry_after(exchange.header("retry-after")),
            source=source,
            url=url,
            status=status,
        )
    if status >= 500:
        return HttpStatusError(
            f"server error (HTTP {status})",
            error_code="server-error",
            transient=True,
            retry_after=parse_retry_after(exchange.header("retry-after")),
            source=source,
            url=url,
            status=status,
        )
    return HttpStatusError(
        f"request refused (HTTP {status})",
        error_code="client-error" if status >= 400 else "unexpected-status",
        source=source,
        url=url,
        status=status,
    )


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _classify_httpx_error(exc: httpx.HTTPError, *, source: str, url: str) -> ExtractError:
    """Map an httpx failure to our error, with a code a person can act on."""
    causes = list(_chain(exc))
    detail = f"{type(exc).__name__}: {exc}"
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        reason = next(str(c) for c in causes if isinstance(c, ssl.SSLError | ssl.CertificateError))
        hint = ""
        if "PROTOCOL_VERSION" in reason.upper() or "UNSUPPORTED_PROTOCOL" in reason.upper():
            hint = "; the server does not offer TLS 1.3, which is the minimum we accept"
        return TlsError(f"TLS handshake failed: {reason}{hint}", source=source, url=url)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return TransportError(
            f"DNS lookup failed: {detail}", error_code="dns-failure", source=source, url=url
        )
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(f"timed out: {detail}", error_code="timeout", source=source, url=url)
    if isinstance(exc, httpx.DecodingError):
        return InvalidResponseError(
            f"content decoding failed: {detail}", error_code="decoding-error", source=source,
            url=url,
        )
    if isinstance(exc, httpx.ConnectError):
        return TransportError(
            f"connection failed: {detail}", error_code="connect-error", source=source, url=url
        )
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.WriteError):
        return TransportError(
            f"connection reset or closed early: {detail}",
            error_code="connection-reset",
            source=source,
            url=url,
        )
    return TransportError(f"transport failed: {detail}", source=source, url=url)


class HttpClient:
    """A synchronous httpx client with the hardening above; safe to share across threads.

    Args:
        settings: Timeouts, size cap, contact URL and rate-limit warning threshold.
        ssl_context: TLS context; default :func:`make_ssl_context` with
            ``settings.http_ca_file``.
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
        _install_log_filter()
        self._settings = settings
        self._allow_insecure_loopback = allow_insecure_loopback
        self._max_bytes = settings.max_response_bytes
        self._warn_below = settings.rate_limit_warn_remaining
        self._client = httpx.Client(
            verify=ssl_context or make_ssl_context(settings.http_ca_file),
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
        if parsed.scheme == "http" and self._allow_insecure_loopback and is_loopback_host(
            parsed.host
        ):
            return
        raise InsecureTransportError(
            "only https is allowed (plain http only to loopback with allow_insecure_loopback)",
            source=source,
            url=shown,
        )

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
            error = _classify_httpx_error(exc, source=source, url=redact_url(url, secrets))
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
            body=received.body,
            final_url=received.final_url,
            error=error,
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
        declared = response.headers.get("content-length")
        total = int(declared) if declared and declared.isdigit() else None
        chunks: list[bytes] = []
        size = 0
        too_large = total is not None and total > self._max_bytes
        if not too_large:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    too_large = True
                    break
                chunks.append(chunk)
                if on_progress is not None:
                    on_progress(size, total)
        if too_large:
            received.body = b"".join(chunks)[:TOO_LARGE_SAMPLE_BYTES]
            return ResponseTooLargeError(
                f"response body exceeds max_response_bytes={self._max_bytes}; cut off, "
                f"only the first {TOO_LARGE_SAMPLE_BYTES} bytes received are kept",
                source=source,
                url=redact_url(str(response.request.url)),
                status=response.status_code,
                content_length=total,
            )
        received.body = b"".join(chunks)
        return None

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
