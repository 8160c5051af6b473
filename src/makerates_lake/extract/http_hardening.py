"""Transport hardening shared by the HTTP client: a TLS 1.3-only context that verifies
the peer, the loopback test for the plain-http exception, and scrubbing of URLs (which
can hold an API key) from the log records of httpx and httpcore."""

from __future__ import annotations

import ipaddress
import logging
import ssl
from pathlib import Path

import certifi
import httpx

from makerates_lake.redact import redact_url


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


def install_log_filter() -> None:
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


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
