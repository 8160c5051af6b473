"""Transport hardening shared by the HTTP client: a TLS 1.3-only context that verifies
the peer (and the server's key against its pins, :mod:`~makerates_lake.extract.pinning`),
the loopback test for the plain-http exception, and the secrets the log filter masks."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable, Mapping
from pathlib import Path

import certifi

from makerates_lake.extract.pinning import PinningContext
from makerates_lake.log_redact import remember_secrets


def install_log_filter(secrets: Iterable[str] = ()) -> None:
    """Make ``secrets`` known to the one log filter and make sure it is installed.

    The filter itself (:mod:`makerates_lake.log_redact`) covers the library's loggers
    and httpx's and httpcore's, at every level.
    """
    remember_secrets(secrets)


def make_ssl_context(
    ca_file: str | Path | None = None, pins: Mapping[str, frozenset[bytes]] | None = None
) -> ssl.SSLContext:
    """A client context that speaks TLS 1.3 or nothing, and verifies the peer.

    Args:
        ca_file: PEM bundle of trusted CAs (a private CA); default the certifi bundle.
        pins: SHA-256 digests of the accepted server public keys (SPKI) per host name; a
            host listed here must present one of them (checked after the handshake,
            before any request byte is sent). Hosts not listed are not pinned.
    """
    context = PinningContext(ssl.PROTOCOL_TLS_CLIENT)
    context.pins = dict(pins or {})
    context.load_verify_locations(cafile=str(ca_file) if ca_file else certifi.where())
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
