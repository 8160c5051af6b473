"""The ExchangeRate-API v6 envelope, shared by the keyed API and open.er-api.com."""

from __future__ import annotations

from typing import Final

from makerates_lake.extract.errors import ExtractError, SourceError
from makerates_lake.extract.http import Exchange, status_error
from makerates_lake.extract.sources.base import body_error, check_json, try_json
from makerates_lake.redact import redact_url

#: Documented error types, kept as bronze error codes.
ERROR_TYPES: Final = frozenset(
    {
        "unsupported-code",
        "malformed-request",
        "invalid-key",
        "inactive-account",
        "quota-reached",
        "no-data-available",
        "plan-upgrade-required",
    }
)
# Names older API versions used for the same conditions.
LEGACY_ERROR_TYPES: Final = {
    "unknown-code": "unsupported-code",
    "base-code-only-on-pro": "plan-upgrade-required",
    "not-available-on-plan": "plan-upgrade-required",
}


def provider_error(exchange: Exchange, *, source: str) -> SourceError | None:
    """The provider's own error, whatever HTTP status it came with (even 200)."""
    payload = try_json(exchange.body)
    if not isinstance(payload, dict):
        return None
    raw = payload.get("error-type") or payload.get("error")
    if payload.get("result") != "error" and raw is None:
        return None
    raw_type = str(raw or "unknown")
    code = LEGACY_ERROR_TYPES.get(raw_type, raw_type)
    if code not in ERROR_TYPES:
        code = "provider-error"
    return SourceError(
        f"the provider answered with error type {raw_type!r}",
        error_code=code,
        source=source,
        url=redact_url(exchange.request.url),
        status=exchange.status,
        provider_error_type=raw_type,
    )


def check_v6(exchange: Exchange, *, source: str) -> ExtractError | None:
    """Judge a v6 response: provider error, status, JSON body, ``result: success``."""
    found = provider_error(exchange, source=source) or status_error(exchange, source=source)
    if found is not None:
        return found
    payload, error = check_json(exchange, source=source)
    if error is not None:
        return error
    if not isinstance(payload, dict) or payload.get("result") != "success":
        return body_error(
            exchange, source=source, code="unexpected-payload",
            message="JSON without result=success",
        )
    return None
