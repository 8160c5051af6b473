"""``makerates status`` on a lake that has never run anything says so in words."""

from __future__ import annotations

from makerates_lake.cli.run import render_status


def _report(**changes: object) -> dict[str, object]:
    report: dict[str, object] = {
        "attention": [],
        "sources": [
            {
                "source": "ecb",
                "last_attempt_at": None,
                "last_success_at": None,
                "failures_24h": 0,
                "attempts_24h": 0,
            },
        ],
        "freshness": {"newest_rate_date": None, "age_hours": None, "stale_after_hours": 96},
        "publish": {
            "configured": True,
            "last_published_at": None,
            "gold_snapshot_id": None,
            "age_hours": None,
        },
        "key": {"in_chain": True, "origin": None, "age_days": None, "rotation_due": None},
        "verify": {"last_at": None, "ok": None},
        "maintenance": {"last_compaction_at": None, "last_expiry_at": None},
    }
    return {**report, **changes}


def test_nothing_yet_reads_as_never_not_none() -> None:
    """Absent facts read 'never', 'none yet', 'not configured', never 'None'."""
    text = render_status(_report())
    assert "None" not in text
    assert "source ecb: last attempt never, last success never" in text
    assert "newest rate: none (none yet; stale after 96 h)" in text
    assert "last publish: never" in text
    assert "API key: not configured" in text
    assert "last verify: never" in text
    assert "last compaction: never; last expiry: never" in text


def test_known_facts_are_shown_as_before() -> None:
    """With values present the lines give them."""
    text = render_status(
        _report(
            key={"in_chain": True, "origin": "vault", "age_days": 3, "rotation_due": "2027-01-01"},
            verify={"last_at": "2026-12-01T00:00:00+00:00", "ok": True},
        )
    )
    assert "API key: vault, 3 days old, rotation due 2027-01-01" in text
    assert "last verify: 2026-12-01T00:00:00+00:00 (ok: True)" in text


def test_an_unreadable_publish_database_is_unknown_not_never() -> None:
    """When PostgreSQL cannot be read, the last publish is unknown (it was 'never')."""
    publish = {"configured": True, "last_published_at": None, "gold_snapshot_id": None,
               "age_hours": None, "error": "PublishLoadError: connection refused"}  # fmt: skip
    text = render_status(_report(publish=publish))
    assert "last publish: unknown (the publish database could not be read)" in text
    assert "last publish: never" not in text
