"""Checks of parsed setting values that their types alone do not make
(:func:`makerates_lake.settings.load_settings` calls :func:`check_values`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from makerates_lake.errors import ConfigError
from makerates_lake.source_names import ALL_SOURCES

#: Settings that must be a finite number above zero.
POSITIVE: Final = (
    "rate_limit_calls",
    "rate_limit_period_s",
    "http_connect_timeout_s",
    "http_read_timeout_s",
    "max_response_bytes",
    "http_retry_attempts",
    "retry_after_max_s",
    "secret_cache_ttl_s",
    "key_max_age_days",
    "commit_retry_attempts",
    "jump_threshold",
    "stale_after_hours",
    "snapshot_retention_days",
    "disagreement_threshold",
    "alert_retry_attempts",
    "compact_every_hours",
    "expire_every_days",
    "verify_every_days",
)
_CURRENCY_CODE: Final = re.compile(r"[A-Z]{3}")


def check_values(values: Mapping[str, Any], origin: Mapping[str, str]) -> None:
    """Refuse values out of range: a number in :data:`POSITIVE` that is not finite and
    above zero (``nan`` compares false with everything, so ``<= 0`` alone lets it
    through), an ``extract_chain`` naming an unknown source, a ``run_bases`` that does
    not list three-letter currency codes.

    Raises:
        ConfigError: Naming the setting, the value and where it came from.
    """
    for key in POSITIVE:
        value = values.get(key)
        # An int has no nan or infinity, and may be too large for a float.
        not_finite = isinstance(value, float) and not math.isfinite(value)
        if value is not None and (not_finite or not value > 0):
            raise ConfigError(
                f"setting {key!r} must be a positive number, got {value!r}",
                key=key,
                source=origin.get(key, "default"),
            )
    chain = values.get("extract_chain")
    if chain is not None:
        names = [name.strip() for name in str(chain).split(",") if name.strip()]
        unknown = [name for name in names if name not in ALL_SOURCES]
        if unknown or not names:
            raise ConfigError(
                f"setting 'extract_chain' must list sources of {', '.join(ALL_SOURCES)}, "
                f"got {chain!r}",
                key="extract_chain",
                source=origin.get("extract_chain", "default"),
            )
    bases = values.get("run_bases")
    if bases is not None:
        codes = [code.strip().upper() for code in str(bases).split(",") if code.strip()]
        wrong = [code for code in codes if not _CURRENCY_CODE.fullmatch(code)]
        if wrong or not codes:
            raise ConfigError(
                "setting 'run_bases' must list three-letter currency codes separated by"
                f" commas, got {bases!r}",
                key="run_bases",
                source=origin.get("run_bases", "default"),
            )
