"""The scheduled run: ingest, transform, checks, publish, maintain, verify, alerts.

``makerates run`` and ``mr.run`` call :func:`run`. Each stage commits on its own and a
failed stage does not stop the later ones that can still do useful work (bronze rows
that were fetched are still transformed and published). The whole run holds the lake's
run lock (:func:`makerates_lake.store.lock.exclusive_job`): a second run started while
one is going stops at once with :class:`~makerates_lake.errors.RunInProgressError`.

Exit codes (:meth:`DailyRunReport.exit_code`), worst first:

* 1 (:data:`EXIT_FAILED`): a stage failed;
* 4 (:data:`EXIT_ALERT_UNDELIVERED`): every stage ran, but an alert could not be delivered;
* 3 (:data:`EXIT_DEGRADED`): it worked, degraded: a fallback tier answered, a source is
  down, the newest rate is stale, the key is overdue, or two sources disagree;
* 0 (:data:`EXIT_OK`): all went well.

Another run in progress is 5 (:data:`EXIT_RUN_IN_PROGRESS`); 2 stays Click's usage error.

Maintenance policy (settings, table properties in :mod:`.runstate` remember the last
time): compaction of every table when the last one is ``compact_every_hours`` old
(daily); snapshot expiry and orphan removal every ``expire_every_days`` (weekly); a
whole-lake verify every ``verify_every_days`` (weekly).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

from makerates_lake.errors import ConfigError, MakeratesError
from makerates_lake.extract.errors import AllTiersFailedError, KeyRotationError
from makerates_lake.pipeline import ingest, run_transform
from makerates_lake.pipeline.alerts import (
    ALL_TIERS_FAILED,
    KEY_ROTATION_OVERDUE,
    PUBLISH_FAILED,
    Alert,
    AlertSender,
    Delivery,
)
from makerates_lake.pipeline.checks import check_freshness_and_agreement, tier_facts
from makerates_lake.pipeline.outcome import DEGRADED, FAILED, OK, SKIPPED, StageOutcome
from makerates_lake.pipeline.upkeep import maintain_when_due, verify_when_due
from makerates_lake.store.catalog import Lake
from makerates_lake.store.lock import exclusive_job

log = logging.getLogger(__name__)

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_DEGRADED: Final = 3
EXIT_ALERT_UNDELIVERED: Final = 4
EXIT_RUN_IN_PROGRESS: Final = 5

#: The name of the lake-wide lock the run holds.
RUN_JOB: Final = "run"


@dataclass
class DailyRunReport:
    """What :func:`run` did, stage by stage, and the alerts it raised."""

    started_at: datetime
    stages: list[StageOutcome] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    delivery: Delivery = field(default_factory=Delivery)

    def stage(self, name: str) -> StageOutcome | None:
        """The outcome of the stage called ``name``, if it ran."""
        return next((s for s in self.stages if s.stage == name), None)

    @property
    def exit_code(self) -> int:
        """0 ok, 1 failed, 3 degraded, 4 an alert undelivered (see the module doc)."""
        states = {s.state for s in self.stages}
        if FAILED in states:
            return EXIT_FAILED
        if not self.delivery.ok:
            return EXIT_ALERT_UNDELIVERED
        if DEGRADED in states:
            return EXIT_DEGRADED
        return EXIT_OK

    def lines(self) -> list[str]:
        """One summary line per stage, then one for the alerts."""
        lines = [s.line() for s in self.stages]
        sent, lost = len(self.delivery.sent), len(self.delivery.undelivered)
        raised = ", ".join(a.event for a in self.alerts) or "none"
        lines.append(f"alerts: {raised} (sent {sent}, undelivered {lost})")
        return lines


def run(
    lake: Lake,
    bases: Sequence[str] | None = None,
    *,
    sources: Sequence[str] | None = None,
    now: datetime | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure_loopback: bool = False,
    alerts: AlertSender | None = None,
) -> DailyRunReport:
    """One scheduled run: ingest, transform, checks, publish, maintain and verify when due.

    Example: ``report = mr.run(lake, ["USD", "EUR"])``; ``report.exit_code`` is what a
    scheduler sees, ``report.lines()`` what a person reads.

    Args:
        lake: The open lake.
        bases: Base currencies; default the ``run_bases`` setting.
        sources: Tier chain; default ``extract_chain``.
        now: The run's clock for the maintenance policy and staleness (tests).
        ssl_context: TLS context for sources and the webhook (tests).
        allow_insecure_loopback: Permit plain http to loopback (tests only).
        alerts: Where alerts go; default the ``alert_webhook_url`` setting.

    Raises:
        ConfigError: ``now`` is a naive datetime (checked before anything is done).
        RunInProgressError: Another run holds the lake's run lock; nothing was done.
    """
    if now is not None and now.tzinfo is None:
        raise ConfigError("now must be a timezone-aware datetime", now=now.isoformat())
    settings = lake.settings
    chosen = (
        list(bases)
        if bases
        else [b.strip().upper() for b in settings.run_bases.split(",") if b.strip()]
    )
    sender = alerts or AlertSender(
        settings, ssl_context=ssl_context, allow_insecure_loopback=allow_insecure_loopback
    )
    with exclusive_job(lake, RUN_JOB):
        clock = now or datetime.now(UTC)
        report = DailyRunReport(started_at=clock)
        report.stages.append(
            _ingest(lake, chosen, sources, ssl_context, allow_insecure_loopback, report)
        )
        touched = _transform(lake, report)
        report.stages.append(check_freshness_and_agreement(lake, touched, clock, report.alerts))
        report.stages.append(_publish(lake, report))
        report.stages.append(maintain_when_due(lake, clock))
        report.stages.append(verify_when_due(lake, clock, report.alerts))
        report.delivery = sender.send_all(report.alerts)
    for outcome in report.stages:
        log.info(
            "run stage",
            extra={"event": f"run_{outcome.stage}", "state": outcome.state,
                   "summary": outcome.summary},
        )  # fmt: skip
    log.info("run finished", extra={"event": "run_finished", "exit_code": report.exit_code})
    return report


def _ingest(
    lake: Lake,
    bases: list[str],
    sources: Sequence[str] | None,
    ssl_context: ssl.SSLContext | None,
    allow_insecure_loopback: bool,
    report: DailyRunReport,
) -> StageOutcome:
    # A millisecond of slack: bronze timestamps are stored in microseconds.
    since = datetime.now(UTC) - timedelta(milliseconds=1)
    state, problem = OK, ""
    try:
        ingest(
            lake,
            bases,
            sources=sources,
            ssl_context=ssl_context,
            allow_insecure_loopback=allow_insecure_loopback,
        )
    except AllTiersFailedError as exc:
        state, problem = FAILED, f"; {exc.message} for {exc.context.get('bases', '?')}"
        report.alerts.append(
            Alert(
                ALL_TIERS_FAILED,
                f"every tier failed for {exc.context.get('bases', '?')}",
                {
                    "bases": exc.context.get("bases", ""),
                    "failures": exc.context.get("failures", ""),
                },
            )
        )
    except KeyRotationError as exc:
        # Raised after every base was answered and written: the data is in, the key is old.
        state, problem = DEGRADED, f"; {exc.message}"
        report.alerts.append(Alert(KEY_ROTATION_OVERDUE, exc.message, {"origin": exc.context.get(
            "origin", "")}))  # fmt: skip
    except MakeratesError as exc:
        state, problem = FAILED, f"; {type(exc).__name__}: {exc}"
    facts = tier_facts(lake, since)
    if state == OK and (facts.down or facts.fallback_answered):
        state = DEGRADED
    down = f"; down: {', '.join(facts.down)}" if facts.down else ""
    answered = ", ".join(facts.answered) or "nobody"
    summary = f"{', '.join(bases)}: {facts.rows} bronze rows, answered by {answered}{down}"
    return StageOutcome("ingest", state, summary + problem)


def _transform(lake: Lake, report: DailyRunReport) -> tuple[date, date] | None:
    try:
        result = run_transform(lake)
    except MakeratesError as exc:
        report.stages.append(StageOutcome("transform", FAILED, f"{type(exc).__name__}: {exc}"))
        return None
    silver, gold = result.silver, result.gold
    report.stages.append(
        StageOutcome(
            "transform",
            OK,
            f"{silver.extractions} extractions: +{silver.rates} rates, +{silver.rejects} "
            f"rejects; gold {gold.facts} facts",
        )
    )
    if silver.first_date is None or silver.last_date is None:
        return None
    return silver.first_date, silver.last_date


def _publish(lake: Lake, report: DailyRunReport) -> StageOutcome:
    if lake.settings.publish_dsn is None:
        return StageOutcome("publish", SKIPPED, "no publish_dsn set")
    # Imported here: psycopg and the COPY encoder are needed only when publishing.
    from makerates_lake.publish.postgres import publish

    try:
        result = publish(lake)
    except MakeratesError as exc:
        report.alerts.append(Alert(PUBLISH_FAILED, f"publish failed: {exc.message}",
                                   {"error": type(exc).__name__}))  # fmt: skip
        return StageOutcome("publish", FAILED, f"{type(exc).__name__}: {exc}")
    shown = "switched to" if result.changed else "already showed"
    return StageOutcome(
        "publish",
        OK,
        f"view {shown} gold snapshot {result.gold_snapshot_id}: {result.rows} rows "
        f"{result.first_date}..{result.last_date}",
    )
