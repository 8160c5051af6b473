"""What went wrong with an attempt, as an error a person can act on: a non-2xx status
(transient or terminal, with the provider's ``Retry-After``) or an httpx failure."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from makerates_lake.extract.errors import (
    ExtractError,
    HttpStatusError,
    InvalidResponseError,
    TlsError,
    TransportError,
)
from makerates_lake.extract.http_exchange import Exchange
from makerates_lake.redact import redact_url


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



def classify_httpx_error(exc: httpx.HTTPError, *, source: str, url: str) -> ExtractError:
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
