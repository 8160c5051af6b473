"""The names bronze records carry in ``source_name`` / ``source_version``.

Extraction writes them and silver dispatches on them, so they live in one place.
"""

from __future__ import annotations

from typing import Final

EXCHANGERATE_API: Final = "exchangerate-api"  # v6, key required
OPEN_ER_API: Final = "open-er-api"  # v6 shape, free
FRANKFURTER: Final = "frankfurter"  # source_version "v1" or "v2"
ECB_DAILY: Final = "ecb-daily"  # eurofxref-daily.xml
ECB_HISTORY: Final = "ecb-history"  # eurofxref-hist.zip or .csv

ALL_SOURCES: Final = (EXCHANGERATE_API, OPEN_ER_API, FRANKFURTER, ECB_DAILY, ECB_HISTORY)
