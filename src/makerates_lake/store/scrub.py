"""Remove secrets from driver and engine messages (DuckDB, psycopg) before they become
errors or logs: every known secret of the settings, and any password in a URL or DSN."""

from __future__ import annotations

from makerates_lake.redact import DSN_KV_PASSWORD, DSN_URL_PASSWORD, REDACTED, redact_text
from makerates_lake.store.catalog import Lake


def lake_secrets(lake: Lake) -> list[str]:
    """Every secret value the settings hold, plus the password inside the publish DSN."""
    return lake.settings.secret_values()


def scrub(text: str, lake: Lake) -> str:
    """``text`` with every known secret and any URL password masked."""
    text = redact_text(text, lake_secrets(lake))
    text = DSN_URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    return DSN_KV_PASSWORD.sub(rf"\g<1>{REDACTED}", text)
