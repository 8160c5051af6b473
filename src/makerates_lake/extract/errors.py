"""Errors of the extraction stage.

::

    ExtractError                          (makerates_lake.errors)
     ├── InsecureTransportError (ValueError)  a URL or redirect that would leave TLS
     ├── TlsError                         handshake or certificate failed, or TLS < 1.3 offered
     │    └── CertificatePinError         the server's key matches none of its host's pins
     ├── TransportError                   DNS, connect, reset, timeout (transient)
     ├── HttpStatusError                  an unexpected status; transient for 429 and 5xx
     ├── ResponseTooLargeError            the body passed ``max_response_bytes``
     ├── InvalidResponseError             empty, truncated, HTML or wrongly typed body
     ├── SourceError                      the provider answered with a documented error
     ├── SecretError                      an API key cannot be read, written or trusted
     │    └── KeyRotationError            rotation failed or the key is overdue (alert)
     └── AllTiersFailedError              every tier of the chain failed for one request

Every error has an ``error_code`` (the short text stored in bronze ``error_code``) and a
``transient`` flag saying whether trying again can help. Context attributes hold the
source name, the *redacted* URL and the HTTP status; no key or token is ever passed in.
"""

from __future__ import annotations

from typing import Any, ClassVar

from makerates_lake.errors import ExtractError

__all__ = [
    "AllTiersFailedError",
    "CertificatePinError",
    "ExtractError",
    "HttpStatusError",
    "InsecureTransportError",
    "InvalidResponseError",
    "KeyRotationError",
    "ResponseTooLargeError",
    "SecretError",
    "SourceError",
    "TlsError",
    "TransportError",
    "error_code_of",
]


class _CodedError(ExtractError):
    """An extraction error with a bronze ``error_code``."""

    default_code: ClassVar[str] = "extract-error"

    def __init__(
        self, message: str, *, error_code: str | None = None, transient: bool | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.error_code = error_code or self.default_code
        if transient is not None:
            self.transient = transient


class InsecureTransportError(_CodedError, ValueError):
    """A plain-http URL, or a redirect from https to http, was refused."""

    default_code = "insecure-transport"


class TlsError(_CodedError):
    """The TLS handshake failed: bad certificate, wrong host name, or no TLS 1.3."""

    default_code = "tls-error"


class CertificatePinError(TlsError):
    """The server's public key (SPKI SHA-256) is not among the pins set for its host.

    Raised after the handshake and before the request is sent; never retried, the next
    tier answers instead.
    """

    default_code = "certificate-pin-mismatch"


class TransportError(_CodedError):
    """No HTTP response arrived (DNS, connect, reset, timeout); trying again may help."""

    default_code = "transport-error"
    transient = True


class HttpStatusError(_CodedError):
    """The server answered with a status we do not accept.

    Transient for 429 and 5xx; ``retry_after`` holds the server's ``Retry-After`` in
    seconds when it sent one.
    """

    default_code = "http-error"

    def __init__(
        self, message: str, *, retry_after: float | None = None, **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class ResponseTooLargeError(_CodedError):
    """The body was bigger than ``max_response_bytes``; it was cut off, not loaded."""

    default_code = "response-too-large"


class InvalidResponseError(_CodedError):
    """The body is not what the source sends: empty, truncated, HTML, wrong content type."""

    default_code = "invalid-response"


class SourceError(_CodedError):
    """The provider reported an error of its own (``error_code`` is the provider's type)."""

    default_code = "source-error"


class SecretError(_CodedError):
    """An API key is missing, unreadable, or the secret store refused us.

    Messages never hold a key or token, only where it was looked for.
    """

    default_code = "secret-error"


class KeyRotationError(SecretError):
    """A rotation failed or the current key is older than the rotation period."""

    default_code = "key-rotation"


class AllTiersFailedError(_CodedError):
    """Every tier of the chain failed; ``failures`` lists ``(source, error_code)`` pairs."""

    default_code = "all-tiers-failed"


def error_code_of(error: ExtractError) -> str:
    """The bronze ``error_code`` of any extraction error."""
    return str(getattr(error, "error_code", _CodedError.default_code))
