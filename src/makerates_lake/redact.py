"""Scrub secrets from URLs, headers, parameters and free text before anything is stored.

Two layers: values we know are secret (the API key, the Vault token) are replaced wherever
they appear, and names that look secret (``Authorization``, ``api_key=``...) are masked even
when we did not know their value. ExchangeRate-API's key sits in the URL path, so its path
shape is recognised as well.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED: Final = "[REDACTED]"

SENSITIVE_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "apikey",
        "cookie",
        "set-cookie",
        "x-vault-token",
        "x-amz-security-token",
    }
)
_SENSITIVE_NAME = re.compile(
    r"(^|[_\-.])(api[_\-]?key|apikey|key|access[_\-]?key|token|secret|password|passwd|"
    r"signature|sig|auth|credential|app[_\-]?id)($|[_\-.])",
    re.IGNORECASE,
)
# ExchangeRate-API v6: https://v6.exchangerate-api.com/v6/<KEY>/latest/USD
_ERAPI_KEY_IN_PATH = re.compile(
    r"(/v6/)([^/?#]+)(/(?:latest|pair|history|quota|enriched|codes)\b)", re.IGNORECASE
)
# Keys shorter than this are not scrubbed by value: replacing "a" everywhere would be noise.
_MIN_SECRET_LENGTH: Final = 6


# A URL without any of these cannot hold userinfo or a query, and urlsplit neither cleans
# it (tab/CR/LF) nor rejects it (unbalanced IPv6 brackets); non-ASCII URLs are left to
# urlsplit too, which rejects netlocs that normalise to URL delimiters.
_URL_STRUCTURE_CHARS: Final = frozenset("@?[]\t\r\n")


# Cached by name: a batch repeats the same few header and parameter names thousands of
# times, and names (unlike values) are not secret, so holding them in memory is harmless.
@functools.lru_cache(maxsize=1024)
def is_sensitive_name(name: str) -> bool:
    """True for header or parameter names that carry credentials."""
    return name.lower() in SENSITIVE_HEADERS or bool(_SENSITIVE_NAME.search(name))


def scrub_order(secrets: Iterable[str]) -> tuple[str, ...]:
    """The secret values worth replacing, longest first.

    Longest first so a secret that contains another is replaced whole; ties are broken by
    value so the result never depends on set order.
    """
    if not secrets:  # the common case; a generator is truthy and takes the long way
        return ()
    usable = {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}
    return tuple(sorted(usable, key=lambda s: (-len(s), s)))


def _replace_secrets(text: str, ordered: tuple[str, ...]) -> str:
    for secret in ordered:
        text = text.replace(secret, REDACTED)
    return text


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value in ``text``."""
    return _replace_secrets(text, scrub_order(secrets))


def _has_nothing_structural(url: str) -> bool:
    """True when :func:`redact_url` would find no password, query or v6 key path to mask.

    Most stored URLs (Frankfurter days, S3 and SQLite locations) are like that; skipping
    urlsplit for them was most of the cost of building a bronze record.
    """
    return (
        url.isascii()
        and _URL_STRUCTURE_CHARS.isdisjoint(url)
        and _ERAPI_KEY_IN_PATH.search(url) is None
    )


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """Mask a URL's password, secret-looking query parameters, and known secret values."""
    ordered = scrub_order(secrets)
    if _has_nothing_structural(url):
        return _replace_secrets(url, ordered)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if is_sensitive_name(k) else v) for k, v in pairs], safe="[]"
        )
    path = _ERAPI_KEY_IN_PATH.sub(rf"\g<1>{REDACTED}\g<3>", parts.path)
    if (netloc, path, query) == (parts.netloc, parts.path, parts.query):
        # Nothing structural to mask; rebuilding would also turn sqlite:/// into sqlite://.
        return _replace_secrets(url, ordered)
    rebuilt = urlunsplit((parts.scheme, netloc, path, query, parts.fragment))
    return _replace_secrets(rebuilt, ordered)


def redact_mapping(values: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Mask secret-looking keys and known secret values in headers or parameters."""
    ordered = scrub_order(secrets)
    return {
        key: REDACTED if is_sensitive_name(key) else _replace_secrets(str(value), ordered)
        for key, value in values.items()
    }
