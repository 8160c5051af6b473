"""Remove secrets from driver and engine messages (DuckDB, psycopg) before they become
errors or logs: every known secret of the settings, and any password in a URL or DSN."""

from __future__ import annotations

import re
from typing import Final

from makerates_lake.redact import REDACTED, redact_text
from makerates_lake.store.catalog import Lake

# scheme://user:password@host inside free text (a driver may echo the URL it was given).
_URL_PASSWORD: Final = re.compile(r"([A-Za-z][\w+.-]*://[^:/@\s]+:)[^@\s]+@")
# key=value DSNs: password=... up to the next space.
_KV_PASSWORD: Final = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def lake_secrets(lake: Lake) -> list[str]:
    """Every secret value the settings hold, plus the password inside the publish DSN."""
    return lake.settings.secret_values()


def scrub(text: str, lake: Lake) -> str:
    """``text`` with every known secret and any URL password masked."""
    text = redact_text(text, lake_secrets(lake))
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    return _KV_PASSWORD.sub(rf"\g<1>{REDACTED}", text)
