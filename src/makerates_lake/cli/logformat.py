"""Log records on stderr, as text or (``--log-format json``) one JSON object per record.

Text: ``LEVEL logger: message``, then the record's extras (``source=ecb reason=...``),
which say what the message is about. JSON, for log pipelines: ``time`` (UTC, ISO 8601),
``level``, ``logger``, ``event`` (the record's ``event`` extra when it sets one, else its
message in snake case), ``message``, every other extra the record carries, and
``exception`` when one is attached. Secrets are scrubbed from a record's message when it
is made (:mod:`makerates_lake.log_redact`); its extras are set on it after that, so each
formatted line is scrubbed again as a whole.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Final

from makerates_lake.log_redact import redact_log_text

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD: Final = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
)
_NOT_A_WORD: Final = re.compile(r"[^a-z0-9]+")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """What the record carries beyond the standard attributes (its ``extra=``)."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def event_name(message: str) -> str:
    """``"ingest written"`` -> ``"ingest_written"``: a stable name from a fixed message."""
    return _NOT_A_WORD.sub("_", message.lower()).strip("_")[:64] or "log"


def _scrubbed(value: Any) -> Any:
    """``value`` with every text in it scrubbed, containers kept as JSON shapes; other
    objects become their scrubbed text (what ``json.dumps(default=str)`` would show)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_log_text(value)
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _scrubbed(item) for key, item in value.items()}
    return redact_log_text(str(value))


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module doc for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": str(getattr(record, "event", "") or event_name(str(record.msg))),
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        # Each text is scrubbed before encoding: a secret is searched for as it was
        # written, not in its JSON-escaped spelling (backslashes, quotes).
        return json.dumps(_scrubbed(data), ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message key=value ...`` (the extras but ``event``, which names the
    message), then the traceback when one is attached."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items() if k != "event")
        line = super().formatMessage(record)
        return f"{line} {extras}" if extras else line

    def format(self, record: logging.LogRecord) -> str:
        return redact_log_text(super().format(record))


def configure_logging(level: int, log_format: str) -> None:
    """Send log records to stderr as text (``levelname name: message``) or JSON lines."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    # Like logging.basicConfig: a root logger that already has handlers (an embedding
    # application, pytest) is left as it is.
    logging.basicConfig(level=level, handlers=[handler])
