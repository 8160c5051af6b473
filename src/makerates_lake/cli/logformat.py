"""``--log-format json``: one JSON object per log record, for log pipelines.

Each object has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``event`` (the record's
``event`` extra when it sets one, else its message in snake case), ``message``, every
other extra the record carries, and ``exception`` when one is attached. Secrets are
scrubbed from records before any handler sees them (:mod:`makerates_lake.log_redact`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Final

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD: Final = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
)
_NOT_A_WORD: Final = re.compile(r"[^a-z0-9]+")


def event_name(message: str) -> str:
    """``"ingest written"`` -> ``"ingest_written"``: a stable name from a fixed message."""
    return _NOT_A_WORD.sub("_", message.lower()).strip("_")[:64] or "log"


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module doc for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": str(getattr(record, "event", "") or event_name(str(record.msg))),
            "message": message,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in data:
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: int, log_format: str) -> None:
    """Send log records to stderr as text (``levelname name: message``) or JSON lines."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # Like logging.basicConfig: a root logger that already has handlers (an embedding
    # application, pytest) is left as it is.
    logging.basicConfig(level=level, handlers=[handler])
