"""Click commands for silver and gold; the CLI module registers :data:`commands`."""

from __future__ import annotations

from datetime import date, datetime

import click

from makerates_lake.lake import Lake, open_lake
from makerates_lake.settings import Settings, load_settings
from makerates_lake.silver.versions import CURRENT_TRANSFORM_VERSION


def _lake(ctx: click.Context) -> Lake:
    """The lake from the CLI context (a Lake or Settings in ``ctx.obj``), else the default."""
    found = ctx.find_object(Lake)
    if found is not None:
        return found
    settings = ctx.find_object(Settings)
    return open_lake(settings or load_settings())


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
def transform_command(ctx: click.Context, transform_version: int) -> None:
    """Transform bronze rows not yet in silver, then refresh gold for their dates."""
    from makerates_lake.gold.build import run_transform

    result = run_transform(_lake(ctx), transform_version=transform_version)
    click.echo(
        f"transformed {result.silver.extractions} extractions: {result.silver.rates} rates, "
        f"{result.silver.rejects} rejects; gold {result.gold.facts} fact rows"
    )


@click.command("reprocess")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First extraction day.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last extraction day.")
@_VERSION
@click.pass_context
def reprocess_command(
    ctx: click.Context, start: datetime | None, end: datetime | None, transform_version: int
) -> None:
    """Rebuild silver and gold from bronze only (no API calls) and tag the snapshots."""
    from makerates_lake.gold.build import run_reprocess

    result = run_reprocess(
        _lake(ctx), start=_day(start), end=_day(end), transform_version=transform_version
    )
    click.echo(
        f"reprocessed {result.silver.extractions} extractions: {result.silver.rates} rates, "
        f"{result.silver.rejects} rejects; gold {result.gold.facts} fact rows; tag {result.tag}"
    )


commands: list[click.Command] = [transform_command, reprocess_command]
