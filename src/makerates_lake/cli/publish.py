"""Click command ``makerates publish``; ``makerates_lake.cli`` registers :data:`commands`."""

from __future__ import annotations

import click

from makerates_lake.cli.support import lake_from_context
from makerates_lake.errors import MakeratesError
from makerates_lake.store.refs import AsOf


@click.command("publish")
@click.option(
    "--days", type=click.IntRange(min=1), default=90, show_default=True, help="Window length."
)
@click.option("--as-of", help="Publish a past gold snapshot: id, ISO time or tag.")
@click.pass_context
def publish_command(ctx: click.Context, days: int, as_of: str | None) -> None:
    """Publish the last DAYS days of gold to PostgreSQL and switch makerates.rates_last_90_days."""
    from makerates_lake.publish.postgres import publish

    try:
        parsed = AsOf.parse(as_of) if as_of else None
        result = publish(lake_from_context(ctx), days=days, as_of=parsed)
    except MakeratesError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        ctx.exit(1)
    if not result.changed:
        click.echo(
            f"unchanged: the view already shows gold snapshot {result.gold_snapshot_id} "
            f"({result.days} days, {result.rows} rows, tag {result.tag})"
        )
        return
    click.echo(
        f"published {result.rows} rows of gold snapshot {result.gold_snapshot_id} "
        f"({result.first_date}..{result.last_date}) to makerates.{result.table_name}; "
        f"view makerates.rates_last_90_days switched; tag {result.tag}"
    )


commands: list[click.Command] = [publish_command]
