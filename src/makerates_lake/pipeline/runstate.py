"""What the scheduled run remembers between runs: when it last compacted, expired and
verified, and what the last verify found.

Kept as table properties of ``silver.transform_log`` (the run's own bookkeeping table):
every process using the catalog sees the same values, on every layout, without another
table or file; a property change is a metadata commit, no snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from makerates_lake.settings import Settings
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import set_properties
from makerates_lake.store.tables import SILVER_TRANSFORM_LOG

LAST_COMPACTION: Final = "makerates.run.last-compaction-at"
LAST_EXPIRY: Final = "makerates.run.last-expiry-at"
LAST_VERIFY: Final = "makerates.run.last-verify"


@dataclass(frozen=True)
class VerifyRecord:
    """The outcome of the last whole-lake verify.

    Attributes:
        at: When it finished (UTC).
        ok: Every checksum matched, every file was sound, no lineage orphan.
        problems: How many problems it named.
        first_problems: The first few problems, for ``makerates status``.
    """

    at: datetime
    ok: bool
    problems: int
    first_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunState:
    """The run's memory (None: never done)."""

    last_compaction: datetime | None
    last_expiry: datetime | None
    last_verify: VerifyRecord | None

    def compaction_due(self, settings: Settings, now: datetime) -> bool:
        """Compaction is due when it never ran or ran ``compact_every_hours`` ago."""
        return _due(self.last_compaction, timedelta(hours=settings.compact_every_hours), now)

    def expiry_due(self, settings: Settings, now: datetime) -> bool:
        """Expiry and orphan removal are due every ``expire_every_days``."""
        return _due(self.last_expiry, timedelta(days=settings.expire_every_days), now)

    def verify_due(self, settings: Settings, now: datetime) -> bool:
        """A whole-lake verify is due every ``verify_every_days``."""
        last = self.last_verify.at if self.last_verify else None
        return _due(last, timedelta(days=settings.verify_every_days), now)


def _due(last: datetime | None, every: timedelta, now: datetime) -> bool:
    return last is None or now - last >= every


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def read_state(lake: Lake) -> RunState:
    """The state as the catalog holds it now."""
    properties = lake.table(SILVER_TRANSFORM_LOG, refresh=True).metadata.properties
    verify = None
    raw = properties.get(LAST_VERIFY)
    if raw:
        data = json.loads(raw)
        verify = VerifyRecord(
            datetime.fromisoformat(data["at"]),
            bool(data["ok"]),
            int(data["problems"]),
            tuple(data.get("first_problems", ())),
        )
    return RunState(
        _time(properties.get(LAST_COMPACTION)), _time(properties.get(LAST_EXPIRY)), verify
    )


def mark(lake: Lake, key: str, at: datetime) -> None:
    """Record that the part named by ``key`` (:data:`LAST_COMPACTION`, ...) ran at ``at``."""
    set_properties(lake, SILVER_TRANSFORM_LOG, {key: at.isoformat()})


def record_verify(lake: Lake, record: VerifyRecord) -> None:
    """Keep the outcome of a whole-lake verify for ``makerates status``."""
    value = json.dumps(
        {
            "at": record.at.isoformat(),
            "ok": record.ok,
            "problems": record.problems,
            "first_problems": list(record.first_problems[:5]),
        }
    )
    set_properties(lake, SILVER_TRANSFORM_LOG, {LAST_VERIFY: value})
