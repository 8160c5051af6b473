"""The outcome of one stage of a scheduled run, and the states it can end in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

OK: Final = "ok"
DEGRADED: Final = "degraded"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"


@dataclass(frozen=True)
class StageOutcome:
    """One stage of a run.

    Attributes:
        stage: ``ingest``, ``transform``, ``checks``, ``publish``, ``maintain`` or ``verify``.
        state: ``ok``, ``degraded``, ``failed`` or ``skipped``.
        summary: What it did, in one line.
    """

    stage: str
    state: str
    summary: str

    def line(self) -> str:
        """``<stage>: <state>: <summary>``, the line ``makerates run`` prints."""
        return f"{self.stage}: {self.state}: {self.summary}"
