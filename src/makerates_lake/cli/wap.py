"""``makerates audit checks | branches | promote``: write-audit-publish runs
(:mod:`makerates_lake.pipeline.wap`). The pipeline is imported when a command runs."""

from __future__ import annotations

import json

import click

from makerates_lake.cli.support import lake_from_context, library_errors, limit_option
from makerates_lake.errors import MakeratesError


@click.command("checks")
@click.option("--branch", default=None, help="One run's branch; default every run.")
@limit_option(60, "Rows shown, newest first.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@library_errors
def checks_command(ctx: click.Context, branch: str | None, limit: int, as_json: bool) -> None:
    """Why each run was or was not published: one line per check."""
    from makerates_lake.pipeline.wap_results import read_checks

    rows = read_checks(lake_from_context(ctx), branch).head(limit)
    if as_json:
        click.echo(json.dumps(rows.to_dicts(), indent=2, default=str))
        return
    for row in rows.iter_rows(named=True):
        verdict = "pass" if row["passed"] else "FAIL"
        click.echo(
            f"{row['checked_at']:%Y-%m-%d %H:%M:%S} {row['branch']} {row['outcome']:<6} "
            f"{row['check_name']:<20} {verdict} observed={row['observed']:.4g} "
            f"bound={row['threshold']:.4g} {row['detail']}"
        )


@click.command("branches")
@click.pass_context
@library_errors
def branches_command(ctx: click.Context) -> None:
    """Write-audit-publish branches that were not published (read one with --as-of NAME)."""
    from makerates_lake.store.branches import wap_branches

    for info in wap_branches(lake_from_context(ctx)):
        click.echo(
            f"{info.name} {info.table} snapshot={info.snapshot_id} "
            f"main={info.main_snapshot_id} committed={info.committed_at}"
        )


@click.command("promote")
@click.argument("branch")
@click.option("--force", is_flag=True, help="Required: publish although checks failed.")
@click.option("--reason", required=True, help="Why; recorded in the access log.")
@click.pass_context
@library_errors
def promote_command(ctx: click.Context, branch: str, force: bool, reason: str) -> None:
    """Fast-forward main of every table to BRANCH although its checks failed.

    BRANCH is a held wap- branch (see 'audit branches'); main, a tag or an unknown name
    is refused with NotAWapBranchError and nothing changes.
    """
    from makerates_lake.pipeline.wap import promote

    if not force:
        raise click.UsageError("promote publishes unchecked data: pass --force")
    try:
        moved = promote(lake_from_context(ctx), branch, reason=reason)
    except ValueError as exc:
        # A missing reason only: a library error that is also a ValueError (a
        # ConfigError of the settings) is printed as ``ErrorType: message`` by
        # library_errors.
        if isinstance(exc, MakeratesError):
            raise
        raise click.UsageError(str(exc)) from None
    click.echo(f"published {branch}: {', '.join(moved)}")
