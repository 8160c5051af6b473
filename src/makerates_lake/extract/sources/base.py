"""What every source module provides, and the body checks they share.

A source turns "rates for base X" into a :class:`SourceRequest` and judges an
:class:`~makerates_lake.extract.http.Exchange` (``check``). It never parses rates:
checks only decide whether the attempt *succeeded* (so the next tier is tried when it
did not) and give bronze a clear ``error_code``. The bytes are kept either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from makerates_lake.extract.errors import ExtractError, InvalidResponseError
from makerates_lake.extract.http import Exchange, HttpRequest
from makerates_lake.redact import redact_url

JSON_TYPES = frozenset({"application/json", "text/json"})


@dataclass(frozen=True, repr=False)
class SourceRequest:
    """One request a source wants sent.

    Attributes:
        source_name: Constant from :mod:`makerates_lake.source_names`.
        source_version: API version stored in bronze.
        http: The HTTP request (its URL may hold a key).
        secrets: Secret values in the request, redacted before anything is stored.
        note: Free text for logs (e.g. "previous key, grace period").
        record_params: Stored in bronze ``request_params`` beside the query parameters,
            but not sent (e.g. the window a backfill asked for).
    """

    source_name: str
    source_version: str | None
    http: HttpRequest
    secrets: tuple[str, ...] = ()
    note: str = ""
    record_params: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"SourceRequest({self.source_name!r}, {self.source_version!r}, "
            f"url={redact_url(self.http.url, self.secrets)!r})"
        )


class Source(Protocol):
    """A provider of exchange rates."""

    name: str

    def latest(self, base: str) -> SourceRequest:
        """The request for the newest rates of ``base``."""

    def check(self, exchange: Exchange) -> ExtractError | None:
        """Why this response is not a usable answer, or None when it is."""

    def alternate(self, request: SourceRequest, error: ExtractError) -> SourceRequest | None:
        """Another request worth one more try after a terminal error (e.g. a previous key)."""


def body_error(
    exchange: Exchange, *, source: str, code: str, message: str
) -> InvalidResponseError:
    """An :class:`InvalidResponseError` with the exchange's context."""
    return InvalidResponseError(
        message,
        error_code=code,
        source=source,
        url=redact_url(exchange.request.url),
        status=exchange.status,
        content_type=exchange.content_type,
    )


def looks_like_html(body: bytes) -> bool:
    """True for bodies that start like an HTML page (captive portals, error pages)."""
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def try_json(body: bytes) -> Any:
    """The decoded JSON value, or None when the body is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def check_json(exchange: Exchange, *, source: str) -> tuple[Any, InvalidResponseError | None]:
    """Decode a JSON body, or say why it cannot be: empty, HTML, wrong type, truncated."""
    body = exchange.body
    if not body.strip():
        return None, body_error(exchange, source=source, code="empty-body", message="empty body")
    if looks_like_html(body):
        return None, body_error(
            exchange, source=source, code="html-instead-of-json",
            message="an HTML page arrived where JSON was expected",
        )
    content_type = exchange.content_type
    if content_type is not None and content_type not in JSON_TYPES and not content_type.endswith(
        "+json"
    ):
        return None, body_error(
            exchange, source=source, code="unexpected-content-type",
            message=f"content type {content_type!r} is not JSON",
        )
    try:
        return json.loads(body), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, body_error(
            exchange, source=source, code="invalid-json",
            message=f"body is not valid JSON (truncated?): {exc}",
        )
