"""``makerates run`` (the scheduled job) and ``makerates status`` (is it healthy?).

Exit codes of ``run``: 0 ok, 1 a stage failed, 3 degraded, 4 an alert could not be
delivered, 5 another run holds the lake's run lock (nothing was done); 2 is Click's usage
error. ``status``: 0 all well, 3 something needs attention, 1 the status could not be
read. ``docs/operations.md`` describes both, and the JSON schema of ``status``.
"""

from __future__ import annotations

import json
from typing import NoReturn

import click

from makerates_lake.cli.support import currency_codes, lake_from_context
from makerates_lake.errors import MakeratesError, RunInProgressError
from makerates_lake.pipeline.daily import EXIT_RUN_IN_PROGRESS, run
from makerates_lake.pipeline.status import lake_status
from makerates_lake.source_names import ALL_SOURCES, ECB_HISTORY

#: ``makerates status`` exits with this when something needs attention.
EXIT_NEEDS_ATTENTION = 3

_CHAIN_SOURCES = [s for s in ALL_SOURCES if s != ECB_HISTORY]


def _fail(exc: MakeratesError, code: int = 1) -> NoReturn:
    click.echo(f"{type(exc).__name__}: {exc}", err=True)
    raise SystemExit(code)


@click.command("run")
@click.option(
    "--base",
    "bases",
    multiple=True,
    callback=currency_codes,
    help="Base currency (repeat or comma-separate); default the run_bases setting.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice(_CHAIN_SOURCES),
    help="Source to use, in tier order (repeat); default the extract_chain setting.",
)
@click.pass_context
def run_command(ctx: click.Context, bases: list[str], sources: tuple[str, ...]) -> None:
    """The scheduled job: ingest, transform, check, publish, maintain and verify when due.

    Prints one line per stage. Exit status: 0 ok, 1 a stage failed, 3 degraded (a
    fallback answered, a source is down, data stale, key overdue, sources disagree),
    4 an alert could not be delivered, 5 another run is in progress on this lake.
    """
    try:
        lake = lake_from_context(ctx, create=True)  # the first scheduled run makes the lake
        report = run(lake, bases or None, sources=list(sources) or None)
    except RunInProgressError as exc:
        _fail(exc, EXIT_RUN_IN_PROGRESS)
    except MakeratesError as exc:
        _fail(exc)
    for line in report.lines():
        click.echo(line)
    if report.exit_code:
        raise SystemExit(report.exit_code)


@click.command("status")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json follows docs/status.schema.json.",
)
@click.pass_context
def status_command(ctx: click.Context, output: str) -> None:
    """Is the daily job healthy? Sources, freshness, publish, key, verify; exit 3 if not.

    Exit status: 0 all well, 3 something needs attention (listed), 1 the status could not
    be read.
    """
    try:
        report = lake_status(lake_from_context(ctx))
    except MakeratesError as exc:
        _fail(exc)
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_status(report))
    if not report["ok"]:
        raise SystemExit(EXIT_NEEDS_ATTENTION)


def _or(value: object, missing: str = "never") -> object:
    """``value``, or what its absence means to a reader (not ``None``)."""
    return missing if value is None else value


def render_status(report: dict[str, object]) -> str:
    """The status for people: attention first, then one line per fact."""
    data = json.loads(json.dumps(report))  # plain types, whatever the caller passed
    lines = ["attention:" if data["attention"] else "all well"]
    lines += [f"  ! {note}" for note in data["attention"]]
    for source in data["sources"]:
        lines.append(
            f"source {source['source']}: last attempt {_or(source['last_attempt_at'])}, "
            f"last success {_or(source['last_success_at'])}, {source['failures_24h']} "
            f"failures of {source['attempts_24h']} attempts in 24 h"
        )
    fresh = data["freshness"]
    newest = fresh["newest_rate_date"]
    age = f" ({fresh['age_hours']} h old," if newest is not None else " (none yet;"
    lines.append(
        f"newest rate: {_or(newest, 'none')}{age} stale after {fresh['stale_after_hours']} h)"
    )
    published = data["publish"]
    if not published["configured"]:
        lines.append("publish: no publish_dsn set")
    elif published.get("error") is not None:
        lines.append("last publish: unknown (the publish database could not be read)")
    elif published["last_published_at"] is None:
        lines.append("last publish: never")
    else:
        lines.append(
            f"last publish: {published['last_published_at']} (gold snapshot "
            f"{published['gold_snapshot_id']}, {published['age_hours']} h ago)"
        )
    key = data["key"]
    if key["in_chain"] and key["origin"] is None:
        lines.append("API key: not configured (set exchangerate_api_key or Vault)")
    elif key["in_chain"]:
        lines.append(
            f"API key: {key['origin']}, {_or(key['age_days'], 'unknown')} days old, rotation "
            f"due {_or(key['rotation_due'], 'unknown')}"
        )
    verify = data["verify"]
    if verify["last_at"] is None:
        lines.append("last verify: never")
    else:
        lines.append(f"last verify: {verify['last_at']} (ok: {verify['ok']})")
    kept = data["maintenance"]
    lines.append(
        f"last compaction: {_or(kept['last_compaction_at'])}; last expiry: "
        f"{_or(kept['last_expiry_at'])}"
    )
    return "\n".join(lines)


commands: list[click.Command] = [run_command, status_command]
