"""``makerates bronze hold | release | holds``: legal holds on bronze objects, each
registered under an id with its reason (:mod:`makerates_lake.bronze.hold`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from makerates_lake.cli.support import lake_from_context, library_errors


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value else None


@click.command("hold")
@click.option("--from", "start", type=click.DateTime(), help="First extraction time (UTC).")
@click.option("--to", "end", type=click.DateTime(), help="End of the window (exclusive, UTC).")
@click.option("--reason", required=True, help="Why, e.g. the investigation's ticket.")
@click.pass_context
@library_errors
def hold_command(
    ctx: click.Context, start: datetime | None, end: datetime | None, reason: str
) -> None:
    """Put a legal hold (an audit freeze, no end date) on the bronze data files holding
    rows extracted --from/--to: S3 then refuses to delete or overwrite them whatever
    their retention says. Prints the hold's id, which ``release`` takes."""
    from makerates_lake.bronze.hold import hold_bronze

    try:
        result = hold_bronze(lake_from_context(ctx), _utc(start), _utc(end), reason=reason)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"legal hold {result.hold_id} on {len(result.objects)} bronze data files")


@click.command("release")
@click.argument("hold_id")
@click.option("--reason", default="", help="Why the hold ends (kept in the register).")
@click.pass_context
@library_errors
def release_command(ctx: click.Context, hold_id: str, reason: str) -> None:
    """Lift legal hold HOLD_ID: its files return to their retention alone, except those
    another active hold still covers."""
    from makerates_lake.bronze.hold import release_hold

    result = release_hold(lake_from_context(ctx), hold_id, reason=reason)
    kept = f" ({len(result.kept)} stay held by other holds)" if result.kept else ""
    click.echo(f"legal hold {hold_id} lifted from {len(result.objects)} bronze data files{kept}")


@click.command("holds")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@library_errors
def holds_command(ctx: click.Context, as_json: bool) -> None:
    """The active legal holds: id, when, reason, window and how many files."""
    from makerates_lake.bronze.hold import active_holds

    rows = active_holds(lake_from_context(ctx))
    if as_json:
        click.echo(json.dumps(rows.to_dicts(), indent=2, default=str))
        return
    for row in rows.iter_rows(named=True):
        window = f"{row['window_start'] or '-'} .. {row['window_end'] or '-'}"
        click.echo(
            f"{row['hold_id']}  {row['placed_at']:%Y-%m-%d %H:%M}  {row['objects']} files  "
            f"{window}  {row['reason']}"
        )
