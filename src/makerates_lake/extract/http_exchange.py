"""What the HTTP client is asked to send and what one attempt gives back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from makerates_lake.extract.errors import ExtractError
from makerates_lake.redact import redact_url

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes received so far, Content-Length or None) while a body streams."""


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
        body: Bytes received after content decoding; when ``incomplete`` is set, what
            arrived before the failure (up to ``max_response_bytes``).
        final_url: The URL that answered, after redirects.
        error: Why the attempt failed at the HTTP level, or None.
        incomplete: Why ``body`` is not the whole response (``connection-closed``,
            ``read-timeout``, ``over-max-response-bytes``...), or None when it is.
        received_bytes: Bytes of body that arrived (more than ``len(body)`` when reading
            stopped past the cap), or None when no response arrived.
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
    incomplete: str | None = None
    received_bytes: int | None = None

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
