"""Scrub secrets from URLs, headers, parameters, free text and bodies before anything is stored.

Two layers: values we know are secret (the API key, the Vault token) are replaced wherever
they appear, and names that look secret (``Authorization``, ``api_key=``...) are masked even
when we did not know their value. ExchangeRate-API's key sits in the URL path, so its path
shape is recognised as well.

A provider may echo a key in a form of its own: URL-encoded (an error page repeating the
request path) or inside base64 (an echoed ``Authorization: Basic`` of ``key:``). Each
known value is therefore also looked for in those forms (:func:`secret_forms`).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

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
# Where a password sits in a libpq DSN, as written: group 1 is what comes before it,
# group 2 the password. scheme://user:password@host (a driver may echo the URL it was
# given), and key=value's password=..., quoted or up to the next space.
DSN_URL_PASSWORD: Final = re.compile(r"([A-Za-z][\w+.-]*://[^:/@\s]*:)([^@\s]+)@")
DSN_KV_PASSWORD: Final = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_MIN_SECRET_LENGTH: Final = 6
# Below this, the part of a value's base64 that does not depend on its neighbours is too
# short to tell apart from other base64 text.
_MIN_BASE64_SECRET_LENGTH: Final = 12


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


_URLSAFE: Final = str.maketrans("+/", "-_")
_ESCAPE: Final = re.compile(r"%[0-9A-F]{2}")


def _base64_cores(value: bytes) -> set[str]:
    """The base64 text of ``value`` at each of the three byte alignments it can have.

    Inside a longer base64 string (``Basic`` of ``user:key``, of ``key:``) the characters
    at either end of the value's span also carry bits of its neighbours; the middle ones
    depend on the value alone, so those are what is searched for, in both alphabets.
    """
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value).decode("ascii")
        start = -(-shift * 8 // 6)  # the first character made only of the value's bits
        end = (shift + len(value)) * 8 // 6
        core = encoded[start:end]
        cores.add(core)
        cores.add(core.translate(_URLSAFE))
    return cores


def secret_forms(secret: str) -> set[str]:
    """``secret`` and the forms a provider may echo it in: URL-encoded, inside base64."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    forms |= {_ESCAPE.sub(lambda m: m.group(0).lower(), form) for form in tuple(forms)}
    if len(secret) >= _MIN_BASE64_SECRET_LENGTH:
        forms |= _base64_cores(secret.encode())
    return forms


def scrub_order(secrets: Iterable[str]) -> tuple[str, ...]:
    """The secret values worth replacing, with their encoded forms, longest first.

    Longest first so a secret that contains another is replaced whole; ties are broken by
    value so the result never depends on set order.
    """
    if not secrets:  # the common case; a generator is truthy and takes the long way
        return ()
    usable: set[str] = set()
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_LENGTH:
            usable |= secret_forms(secret)
    return tuple(sorted(usable, key=lambda s: (-len(s), s)))


def mask_bytes(body: bytes, ordered: tuple[str, ...]) -> tuple[bytes, int]:
    """``body`` with every form in ``ordered`` (from :func:`scrub_order`) replaced.

    Returns:
        The masked bytes and how many occurrences were replaced (0: ``body`` unchanged).
    """
    count = 0
    marker = REDACTED.encode()
    for form in ordered:
        needle = form.encode()
        found = body.count(needle)
        if found:
            count += found
            body = body.replace(needle, marker)
    return body, count


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
