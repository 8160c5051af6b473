"""Facts the run and ``makerates status`` judge: who answered, how fresh, who disagrees.

Read from the tables, not from the run's memory: the tier facts come from the bronze rows
the run wrote (every attempt is a row, also when ingest raised), freshness from gold's
newest rate date, disagreements from silver (:mod:`makerates_lake.audit.disagreements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pyarrow.compute as pc

from makerates_lake.audit.disagreements import find_disagreements
from makerates_lake.errors import MakeratesError
from makerates_lake.pipeline.alerts import DATA_STALE, DISAGREEMENT, Alert
from makerates_lake.pipeline.outcome import DEGRADED, FAILED, OK, StageOutcome
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import all_of, at_least, is_in
from makerates_lake.store.scan import scan_at
from makerates_lake.store.tables import GOLD_FACT_RATE

#: Disagreements named one by one in an alert; the rest are counted.
_LISTED = 5


@dataclass(frozen=True)
class TierFacts:
    """What the tier chain did since a moment, from bronze.

    Attributes:
        rows: Bronze rows written (attempts).
        answered: Sources with a successful attempt.
        down: Sources tried whose every attempt failed.
        fallback_answered: A source other than the primary tier answered.
    """

    rows: int
    answered: tuple[str, ...]
    down: tuple[str, ...]
    fallback_answered: bool


def tier_facts(lake: Lake, since: datetime) -> TierFacts:
    """:class:`TierFacts` of the primary/fallback bronze rows extracted at or after ``since``."""
    table = lake.bronze()
    snapshot = table.current_snapshot()
    rows = scan_at(
        table,
        None if snapshot is None else snapshot.snapshot_id,
        all_of(
            at_least("extraction_timestamp", since.isoformat()),
            is_in("source_tier", ["primary", "fallback"]),
        ),
        ("source_name", "source_tier", "http_status_code", "error_code"),
    ).to_pylist()
    succeeded = {
        r["source_name"]: r["source_tier"]
        for r in rows
        if r["error_code"] is None and r["http_status_code"] == 200
    }
    tried = sorted({r["source_name"] for r in rows})
    return TierFacts(
        len(rows),
        tuple(sorted(succeeded)),
        tuple(s for s in tried if s not in succeeded),
        "fallback" in succeeded.values(),
    )


def newest_rate_date(lake: Lake) -> date | None:
    """The newest ``rate_date`` in gold, or None when gold is empty."""
    table = lake.table(GOLD_FACT_RATE, refresh=True)
    snapshot = table.current_snapshot()
    if snapshot is None:
        return None
    dates = scan_at(table, snapshot.snapshot_id, None, ("rate_date",)).column("rate_date")
    newest = pc.max(dates).as_py() if len(dates) else None
    return newest if isinstance(newest, date) else None


def rate_age_hours(newest: date, now: datetime) -> float:
    """Hours from the start of ``newest`` (UTC) to ``now``: a rate dated today is fresh."""
    return (now - datetime.combine(newest, time(0), UTC)).total_seconds() / 3600


def check_freshness_and_agreement(
    lake: Lake, touched: tuple[date, date] | None, now: datetime, alerts: list[Alert]
) -> StageOutcome:
    """The run's ``checks`` stage: is the newest rate stale, do sources disagree on the
    dates this run transformed? Each finding is an alert and makes the run degraded."""
    settings = lake.settings
    try:
        newest = newest_rate_date(lake)
        found = [] if touched is None else find_disagreements(lake, *touched)
    except MakeratesError as exc:
        return StageOutcome("checks", FAILED, f"{type(exc).__name__}: {exc}")
    notes = []
    if newest is None:
        notes.append("gold holds no rate yet")
        alerts.append(Alert(DATA_STALE, "gold holds no rate yet", {}))
    else:
        age = rate_age_hours(newest, now)
        notes.append(f"newest rate {newest.isoformat()} ({age:.0f} h old)")
        if age > settings.stale_after_hours:
            alerts.append(
                Alert(
                    DATA_STALE,
                    f"the newest rate is from {newest.isoformat()}, {age:.0f} hours old",
                    {
                        "newest_rate_date": newest.isoformat(),
                        "age_hours": round(age, 1),
                        "stale_after_hours": settings.stale_after_hours,
                    },
                )
            )
    notes.append(f"{len(found)} cross-source disagreements")
    if found:
        listed = {
            f"{d.rate_date} {d.base_currency}/{d.quote_currency}": (
                f"{d.source_a}={d.rate_a} ({d.extraction_id_a}) vs "
                f"{d.source_b}={d.rate_b} ({d.extraction_id_b})"
            )
            for d in found[:_LISTED]
        }
        alerts.append(
            Alert(
                DISAGREEMENT,
                f"{len(found)} rates differ between sources by more than "
                f"{settings.disagreement_threshold:.2%}",
                {"count": len(found), **listed},
            )
        )
    stale = newest is None or rate_age_hours(newest, now) > settings.stale_after_hours
    return StageOutcome("checks", DEGRADED if stale or found else OK, "; ".join(notes))
