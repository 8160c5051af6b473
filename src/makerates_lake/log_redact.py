"""One filter keeps secrets out of every log record of the library and its HTTP stack.

Records of the ``makerates_lake``, ``httpx`` and ``httpcore`` logger trees are scrubbed
when they are created: the formatted message (``msg % args``) and any traceback text.
Python applies a logger's filters only to records created on that very logger, never to
those of its children (``httpcore.http11`` is not filtered by ``httpcore``), so the one
filter is applied through the log-record factory, which every record passes through,
whatever handler (the CLI's, pytest's, an application's) prints it later.

What is masked: every secret value the process knows (:func:`remember_secrets`, which
:class:`~makerates_lake.secret.Secret` calls for each value it holds) in the forms
:func:`~makerates_lake.redact.secret_forms` lists, ExchangeRate-API's key in a URL path,
secret-looking query parameters of each URL in the text, and the values of
secret-looking headers in httpcore's ``(b'Name', b'value')`` debug output. Text that
holds no secret is left exactly as it was.

The registry is process-wide on purpose: logging itself is.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any, Final

from makerates_lake.redact import (
    REDACTED,
    is_sensitive_name,
    redact_url,
    scrub_order,
)

__all__ = [
    "LOGGER_ROOTS",
    "SecretLogFilter",
    "install_log_redaction",
    "redact_log_text",
    "remember_secrets",
]

#: The logger trees the filter covers.
LOGGER_ROOTS: Final = ("makerates_lake", "httpx", "httpcore")

# A URL inside free text ends at whitespace, a quote or a closing bracket: httpx and
# httpcore print URLs inside reprs such as ``(b'Location', b'https://...')``.
_URL_IN_TEXT: Final = re.compile(r"""[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'"<>()\[\]{}\\]+""")
_V6_KEY_PATH: Final = re.compile(
    r"(/v6/)([^/?#\s'\"]+)(/(?:latest|pair|history|quota|enriched|codes)\b)", re.IGNORECASE
)
_HEADER_PAIR: Final = re.compile(r"""\(b(['"])([^'"]+)\1, b(['"])(.*?)\3\)""")


class _Registry:
    """The secret values known to this process, and their scrub order (computed once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.ordered: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        new = {v for v in values if v} - self._values
        if not new:
            return
        with self._lock:
            self._values |= new
            self.ordered = scrub_order(self._values)


_REGISTRY: Final = _Registry()


def remember_secrets(values: Iterable[str]) -> None:
    """Make these values known to the log filter (and install it if needed)."""
    _REGISTRY.add(values)
    install_log_redaction()


def _mask_header_pair(match: re.Match[str]) -> str:
    if is_sensitive_name(match.group(2)):
        quote = match.group(3)
        return f"(b{match.group(1)}{match.group(2)}{match.group(1)}, b{quote}{REDACTED}{quote})"
    return match.group(0)


def _redact_url_match(match: re.Match[str]) -> str:
    return redact_url(match.group(0))


def redact_log_text(text: str, ordered: tuple[str, ...] | None = None) -> str:
    """``text`` with known secrets, keys in URL paths and secret headers masked.

    URLs are found inside the text and redacted one by one: the text around them is
    never parsed as part of a URL.
    """
    for secret in _REGISTRY.ordered if ordered is None else ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _URL_IN_TEXT.sub(_redact_url_match, text)
    if "/v6/" in text or "/V6/" in text:
        text = _V6_KEY_PATH.sub(rf"\g<1>{REDACTED}\g<3>", text)
    if "(b" in text:
        text = _HEADER_PAIR.sub(_mask_header_pair, text)
    return text


class SecretLogFilter(logging.Filter):
    """Scrubs a record's formatted message and traceback; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask secrets in ``record`` in place (records outside :data:`LOGGER_ROOTS` pass)."""
        if not _covered(record.name):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it later, as it would
            return True
        scrubbed = redact_log_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact_log_text(text)
        return True


def _covered(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in LOGGER_ROOTS)


_FILTER: Final = SecretLogFilter()
_INSTALL_LOCK: Final = threading.Lock()


class _Installed:
    done = False


def install_log_redaction() -> None:
    """Route every new log record through :class:`SecretLogFilter` (idempotent)."""
    if _Installed.done:
        return
    with _INSTALL_LOCK:
        if _Installed.done:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _Installed.done = True
