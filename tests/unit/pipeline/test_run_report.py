"""The run's exit code, its policy of what is due, status' attention list, JSON logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from makerates_lake.cli.logformat import JsonFormatter, event_name
from makerates_lake.pipeline.alerts import Delivery
from makerates_lake.pipeline.daily import DailyRunReport
from makerates_lake.pipeline.outcome import DEGRADED, FAILED, OK, SKIPPED, StageOutcome
from makerates_lake.pipeline.runstate import RunState, VerifyRecord
from makerates_lake.pipeline.status import attention
from makerates_lake.settings import load_settings

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _report(*states: str, undelivered: int = 0) -> DailyRunReport:
    report = DailyRunReport(NOW, [StageOutcome(f"s{i}", s, "") for i, s in enumerate(states)])
    report.delivery = Delivery([], ["data_stale"] * undelivered)
    return report


def test_exit_code_worst_first() -> None:
    """Failed 1 beats an undelivered alert 4, which beats degraded 3; all ok or skipped 0."""
    assert _report(OK, SKIPPED).exit_code == 0
    assert _report(OK, DEGRADED).exit_code == 3
    assert _report(DEGRADED, undelivered=1).exit_code == 4
    assert _report(DEGRADED, FAILED, undelivered=1).exit_code == 1


def test_report_prints_one_line_per_stage_and_one_for_alerts() -> None:
    """``<stage>: <state>: <summary>`` per stage, then the alerts line."""
    report = _report(OK, DEGRADED)
    assert report.lines() == ["s0: ok: ", "s1: degraded: ", "alerts: none (sent 0, undelivered 0)"]


def test_maintenance_policy_compacts_daily_and_expires_and_verifies_weekly() -> None:
    """Never done: due. Done 2 h ago: not due. Compaction after 24 h, expiry after 7 days."""
    settings = load_settings(environ={})
    never = RunState(None, None, None)
    assert never.compaction_due(settings, NOW)
    assert never.expiry_due(settings, NOW)
    assert never.verify_due(settings, NOW)
    recent = NOW - timedelta(hours=2)
    fresh = RunState(recent, recent, VerifyRecord(recent, True, 0))
    assert not fresh.compaction_due(settings, NOW)
    assert not fresh.verify_due(settings, NOW)
    day_old = NOW - timedelta(hours=25)
    state = RunState(day_old, day_old, VerifyRecord(day_old, True, 0))
    assert state.compaction_due(settings, NOW)
    assert not state.expiry_due(settings, NOW)
    assert state.expiry_due(settings, NOW + timedelta(days=7))


def _status(**changes: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "sources": [{"source": "open-er-api", "in_chain": True, "last_attempt_failed": False,
                     "failures_24h": 0}],
        "freshness": {"newest_rate_date": "2026-11-02", "age_hours": 12.0,
                      "stale_after_hours": 96.0, "stale": False},
        "publish": {"configured": False, "error": None, "last_published_at": None,
                    "age_hours": None},
        "key": {"in_chain": False, "error": None, "overdue": False, "rotation_due": None},
        "verify": {"ok": None, "problems": None},
    }  # fmt: skip
    for key, value in changes.items():
        status[key] = {**status[key], **value} if isinstance(value, dict) else value
    return status


def test_attention_names_each_thing_that_needs_a_person() -> None:
    """All well: nothing. A failing source, stale data, an old key, a failed verify: named."""
    assert attention(_status()) == []
    notes = attention(
        _status(
            sources=[{"source": "exchangerate-api", "in_chain": True,
                      "last_attempt_failed": True, "failures_24h": 3}],
            freshness={"stale": True, "age_hours": 130.0},
            key={"overdue": True, "rotation_due": "2026-10-01T00:00:00+00:00"},
            verify={"ok": False, "problems": 2},
            publish={"configured": True},
        )
    )  # fmt: skip
    assert notes == [
        "source exchangerate-api: the last attempt failed (3 failures in 24 h)",
        "data stale: the newest rate (2026-11-02) is 130 h old (limit 96 h)",
        "never published",
        "API key rotation overdue since 2026-10-01T00:00:00+00:00",
        "last verify found 2 problems",
    ]


def test_json_log_lines_carry_an_event_name_and_the_extras() -> None:
    """One JSON object per record: the event extra, else the message in snake case."""
    formatter = JsonFormatter()
    record = logging.LogRecord("makerates_lake.x", logging.WARNING, "f.py", 1,
                               "tier failed, trying the next", (), None)  # fmt: skip
    record.source = "frankfurter"
    line = json.loads(formatter.format(record))
    assert line["event"] == "tier_failed_trying_the_next"
    assert line["level"] == "warning"
    assert line["source"] == "frankfurter"
    record.event = "rate_limit_low"
    assert json.loads(formatter.format(record))["event"] == "rate_limit_low"
    assert event_name("Run finished!") == "run_finished"
