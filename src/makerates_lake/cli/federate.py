"""Click command ``makerates sql``; ``makerates_lake.cli`` registers :data:`commands`."""

from __future__ import annotations

import click

from makerates_lake.cli.support import lake_from_context
from makerates_lake.errors import MakeratesError
from makerates_lake.federate.output import FORMATS, render
from makerates_lake.store.refs import AsOf


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> AsOf | None:
    if value is None:
        return None
    try:
        return AsOf.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("sql")
@click.argument("query")
@click.option(
    "--as-of",
    callback=_as_of,
    help="Read every table as of a snapshot id, an ISO time, or a tag (tag:NAME forces a tag).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def sql_command(ctx: click.Context, query: str, as_of: AsOf | None, fmt: str) -> None:
    """Run QUERY in DuckDB over the lake (views per table, PostgreSQL attached as pg).

    Tables are views named namespace.table (gold.fact_rate); gold.fact_rate_at(<id>)
    reads a past snapshot; makerates.snapshots lists snapshot ids, times and tags.
    """
    from makerates_lake.federate.query import run_sql

    try:
        lake = lake_from_context(ctx)
        result = run_sql(lake, query, as_of=as_of)
    except MakeratesError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        ctx.exit(1)
    click.echo(render(result, fmt))


commands: list[click.Command] = [sql_command]
