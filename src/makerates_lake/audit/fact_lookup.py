"""The gold fact a trace starts from, and the nearest dates that have one when it is missing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from makerates_lake.audit.errors import RecordNotFoundError
from makerates_lake.store.expressions import all_equal, all_of, at_least, at_most
from makerates_lake.store.lookup import find_rows
from makerates_lake.store.refs import first_snapshot_at
from makerates_lake.store.scan import read_table
from makerates_lake.store.tables import GOLD_FACT_RATE
from makerates_lake.store.types import Table

#: How far a failed trace looks for the nearest dates that have a fact.
_NEAREST_WITHIN = timedelta(days=366)


def _nearest_dates(
    gold: Table, snapshot_id: int | None, day: date, keys: dict[str, object]
) -> tuple[str | None, str | None]:
    """The latest date before ``day`` and the earliest after it with a fact for these
    keys (pair, and source or best), within :data:`_NEAREST_WITHIN`; ISO text or None."""
    if snapshot_id is None:
        return None, None
    pair = {k: v for k, v in keys.items() if k != "rate_date"}
    row_filter = all_of(
        all_equal(*pair.items()),
        at_least("rate_date", (day - _NEAREST_WITHIN).isoformat()),
        at_most("rate_date", (day + _NEAREST_WITHIN).isoformat()),
    )
    dates = read_table(gold, row_filter, columns=["rate_date"], snapshot_id=snapshot_id)
    found = dates.get_column("rate_date")
    before = found.filter(found < day).max()
    after = found.filter(found > day).min()
    return (
        before.isoformat() if isinstance(before, date) else None,
        after.isoformat() if isinstance(after, date) else None,
    )


def find_fact(
    gold: Table, snapshot_id: int | None, day: date, base: str, quote: str, source: str | None
) -> dict[str, Any]:
    """The gold fact for ``day`` and the pair (the best one, or ``source``'s).

    Raises:
        RecordNotFoundError: No such fact, naming the nearest dates that have one; or
            gold had no snapshot yet at the point asked for, naming its first.
    """
    if snapshot_id is None and (first := first_snapshot_at(gold)) is not None:
        raise RecordNotFoundError(
            "gold had no snapshot yet at that point in time",
            table=GOLD_FACT_RATE.identifier,
            first_snapshot_at=first.isoformat(),
        )
    keys: dict[str, object] = {"rate_date": day, "base_currency": base, "quote_currency": quote}
    keys.update({"source_name": source} if source else {"is_best": True})
    rows = find_rows(gold, snapshot_id, keys)
    if not rows:
        before, after = _nearest_dates(gold, snapshot_id, day, keys)
        raise RecordNotFoundError(
            "no gold fact for this date and pair; nearest dates with one: "
            f"{before or 'none'} before, {after or 'none'} after (within a year)",
            table=GOLD_FACT_RATE.identifier,
            snapshot_id=snapshot_id,
            rate_date=day.isoformat(),
            pair=f"{base}/{quote}",
            source=source or "best",
        )
    # Direct before derived, as gold ranks them; one source has at most one of each.
    rows.sort(key=lambda r: bool(r["is_derived"]))
    fact: dict[str, Any] = rows[0]
    return fact
