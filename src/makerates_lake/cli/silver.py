"""Click commands for silver and gold; the CLI module registers :data:`commands`."""

from __future__ import annotations

from datetime import date, datetime

import click

from makerates_lake.cli.progress import progress_reporter
from makerates_lake.cli.support import lake_from_context, library_errors
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


_VERSION = click.option(
    "--transform-version",
    type=int,
    default=CURRENT_TRANSFORM_VERSION,
    show_default=True,
    help="Transform rules to apply (see makerates_lake.silver.versions).",
)


@click.command("transform")
@_VERSION
@click.pass_context
@library_errors
def transform_command(ctx: click.Context, transform_version: int) -> None:
    """Transform bronze rows not yet in silver, then refresh gold for their dates."""
    from makerates_lake.pipeline import run_transform

    lake = lake_from_context(ctx)
    with progress_reporter() as bars:
        result = run_transform(lake, transform_version=transform_version, on_progress=bars)
    click.echo(
        f"transformed {result.silver.extractions} extractions: {result.silver.rates} rates, "
        f"{result.silver.rejects} rejects; gold {result.gold.facts} fact rows"
    )


@click.command("reprocess")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First extraction day.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last extraction day.")
@_VERSION
@click.pass_context
@library_errors
def reprocess_command(
    ctx: click.Context, start: datetime | None, end: datetime | None, transform_version: int
) -> None:
    """Rebuild silver and gold from bronze only (no API calls) and tag the snapshots."""
    from makerates_lake.pipeline import run_reprocess

    lake = lake_from_context(ctx)
    with progress_reporter() as bars:
        result = run_reprocess(
            lake,
            start=_day(start),
            end=_day(end),
            transform_version=transform_version,
            on_progress=bars,
        )
    click.echo(
        f"reprocessed {result.silver.extractions} extractions: {result.silver.rates} rates, "
        f"{result.silver.rejects} rejects; gold {result.gold.facts} fact rows; tag {result.tag}"
    )


commands: list[click.Command] = [transform_command, reprocess_command]
