"""``makerates status``: is the daily job healthy, and if not, what needs attention.

The report is plain data (:func:`lake_status` returns a dict) whose shape is the JSON
Schema in ``docs/status.schema.json`` (:data:`SCHEMA_VERSION` is its ``schema_version``).
Every fact is read from the lake and the publish database, nothing from the last run's
memory: per source the last attempt, last success and failures in the last 24 hours
(bronze), the newest rate's age (gold), the last publish (PostgreSQL), the API key's age
and rotation due date (its key store), the last verify and maintenance (run state).
Reading it logs no access entry: it returns no rate and no record.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from makerates_lake.errors import MakeratesError
from makerates_lake.pipeline.checks import newest_rate_date, rate_age_hours
from makerates_lake.pipeline.runstate import read_state
from makerates_lake.source_names import EXCHANGERATE_API
from makerates_lake.store.catalog import Lake
from makerates_lake.store.scan import scan_at

SCHEMA_VERSION: Final = 1
_DAY: Final = timedelta(hours=24)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def _hours(since: datetime, now: datetime) -> float:
    return round((now - since).total_seconds() / 3600, 2)


def source_status(lake: Lake, now: datetime) -> list[dict[str, Any]]:
    """Per source (the configured chain first, then any other bronze holds)."""
    table = lake.bronze()
    snapshot = table.current_snapshot()
    rows = scan_at(
        table,
        None if snapshot is None else snapshot.snapshot_id,
        None,
        ("source_name", "extraction_timestamp", "http_status_code", "error_code"),
    ).to_pylist()
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        attempts[row["source_name"]].append(row)
    chain = [n.strip() for n in lake.settings.extract_chain.split(",") if n.strip()]
    names = chain + sorted(set(attempts) - set(chain))
    result = []
    for name in names:
        mine = attempts.get(name, [])
        ok = [r["extraction_timestamp"] for r in mine if _succeeded(r)]
        recent = [r for r in mine if now - r["extraction_timestamp"] <= _DAY]
        last_attempt = max((r["extraction_timestamp"] for r in mine), default=None)
        last_success = max(ok, default=None)
        result.append(
            {
                "source": name,
                "in_chain": name in chain,
                "last_attempt_at": _iso(last_attempt),
                "last_success_at": _iso(last_success),
                "last_attempt_failed": last_attempt is not None and last_attempt != last_success,
                "attempts_24h": len(recent),
                "failures_24h": sum(1 for r in recent if not _succeeded(r)),
            }
        )
    return result


def _succeeded(row: dict[str, Any]) -> bool:
    return row["error_code"] is None and row["http_status_code"] == 200


def freshness_status(lake: Lake, now: datetime) -> dict[str, Any]:
    """The newest rate in gold and its age against ``stale_after_hours``."""
    limit = lake.settings.stale_after_hours
    newest = newest_rate_date(lake)
    age = None if newest is None else round(rate_age_hours(newest, now), 2)
    return {
        "newest_rate_date": None if newest is None else newest.isoformat(),
        "age_hours": age,
        "stale_after_hours": limit,
        "stale": age is None or age > limit,
    }


def publish_status(lake: Lake, now: datetime) -> dict[str, Any]:
    """The publish the view shows now, if a publish database is configured."""
    shown: dict[str, Any] = {
        "configured": lake.settings.publish_dsn is not None,
        "last_published_at": None,
        "gold_snapshot_id": None,
        "tag": None,
        "rows": None,
        "age_hours": None,
        "error": None,
    }
    if not shown["configured"]:
        return shown
    from makerates_lake.publish.postgres import current_publish

    try:
        current = current_publish(lake)
    except MakeratesError as exc:
        shown["error"] = f"{type(exc).__name__}: {exc}"
        return shown
    if current is not None:
        shown.update(
            last_published_at=_iso(current.published_at),
            gold_snapshot_id=current.gold_snapshot_id,
            tag=current.tag,
            rows=current.rows,
            age_hours=_hours(current.published_at, now),
        )
    return shown


def key_status(lake: Lake, now: datetime) -> dict[str, Any]:
    """The ExchangeRate-API key's age and rotation due date (never the key)."""
    settings = lake.settings
    shown: dict[str, Any] = {
        "in_chain": EXCHANGERATE_API in settings.extract_chain,
        "configured": False,
        "origin": None,
        "age_days": None,
        "rotation_due": None,
        "overdue": False,
        "error": None,
    }
    if not shown["in_chain"]:
        return shown
    from makerates_lake.extract.secrets import key_provider_from_settings

    try:
        keys = key_provider_from_settings(settings).load()
    except MakeratesError as exc:
        shown["error"] = f"{type(exc).__name__}: {exc}"
        return shown
    shown.update(configured=True, origin=keys.origin)
    if keys.created_at is not None:
        due = keys.created_at + timedelta(days=settings.key_max_age_days)
        shown.update(
            age_days=round((now - keys.created_at).total_seconds() / 86400, 2),
            rotation_due=_iso(due),
            overdue=now > due,
        )
    return shown


def lake_status(lake: Lake, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``makerates status`` shows, and what needs attention.

    Example: ``status = lake_status(lake)``; ``status["ok"]`` is False when
    ``status["attention"]`` names something.
    """
    now = now or datetime.now(UTC)
    state = read_state(lake)
    sources = source_status(lake, now)
    freshness = freshness_status(lake, now)
    published = publish_status(lake, now)
    key = key_status(lake, now)
    last_verify = state.last_verify
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(now),
        "ok": True,
        "attention": [],
        "sources": sources,
        "freshness": freshness,
        "publish": published,
        "key": key,
        "verify": {
            "last_at": _iso(last_verify.at) if last_verify else None,
            "ok": last_verify.ok if last_verify else None,
            "problems": last_verify.problems if last_verify else None,
            "first_problems": list(last_verify.first_problems) if last_verify else [],
        },
        "maintenance": {
            "last_compaction_at": _iso(state.last_compaction),
            "last_expiry_at": _iso(state.last_expiry),
        },
    }
    report["attention"] = attention(report)
    report["ok"] = not report["attention"]
    return report


def attention(report: dict[str, Any]) -> list[str]:
    """What needs a person, one line each (empty: all is well)."""
    notes = [
        f"source {s['source']}: the last attempt failed ({s['failures_24h']} failures in 24 h)"
        for s in report["sources"]
        if s["in_chain"] and s["last_attempt_failed"]
    ]
    fresh = report["freshness"]
    if fresh["newest_rate_date"] is None:
        notes.append("gold holds no rate yet")
    elif fresh["stale"]:
        notes.append(
            f"data stale: the newest rate ({fresh['newest_rate_date']}) is "
            f"{fresh['age_hours']:.0f} h old (limit {fresh['stale_after_hours']:.0f} h)"
        )
    published = report["publish"]
    if published["configured"]:
        if published["error"]:
            notes.append(f"publish database unreadable: {published['error']}")
        elif published["last_published_at"] is None:
            notes.append("never published")
        elif published["age_hours"] > fresh["stale_after_hours"]:
            notes.append(f"last publish is {published['age_hours']:.0f} h old")
    key = report["key"]
    if key["in_chain"] and key["error"]:
        notes.append(f"API key unreadable: {key['error']}")
    if key["overdue"]:
        notes.append(f"API key rotation overdue since {key['rotation_due']}")
    if report["verify"]["ok"] is False:
        notes.append(f"last verify found {report['verify']['problems']} problems")
    return notes
