"""Click commands for table maintenance; the CLI module registers :data:`commands`.

``makerates maintain`` runs a full pass (or parts of it) and prints a before/after table.
"""

from __future__ import annotations

import math
from datetime import timedelta

import click

from makerates_lake.cli.progress import progress_reporter
from makerates_lake.cli.support import lake_from_context
from makerates_lake.errors import MakeratesError
from makerates_lake.maintenance.policy import MaintenancePolicy
from makerates_lake.maintenance.run import MaintenanceReport, run_maintenance
from makerates_lake.store.tables import ALL_TABLES


def render(report: MaintenanceReport) -> str:
    """A before/after table of snapshots, files, manifests and metadata size."""
    lines = [
        f"{'table':<22} {'snapshots':>15} {'data files':>15} {'max/partition':>15} "
        f"{'manifests':>13} {'metadata.json':>19}"
    ]
    for old, new in zip(report.before, report.after, strict=True):
        lines.append(
            f"{old.table:<22} {old.snapshots:>6} -> {new.snapshots:<6} "
            f"{old.data_files:>6} -> {new.data_files:<6} "
            f"{old.max_files_per_partition:>6} -> {new.max_files_per_partition:<6} "
            f"{old.manifests:>5} -> {new.manifests:<5} "
            f"{old.metadata_json_bytes:>8} -> {new.metadata_json_bytes:<8}"
        )
    lines.append(
        f"orphan files removed: {report.orphans_removed} (failed: {report.orphans_failed}); "
        f"bronze originals kept (rows still in the table): {report.bronze_originals_kept}"
    )
    lines.extend(
        f"bronze file kept, not judged: {uri}: {reason}"
        for uri, reason in report.bronze_unclear_kept.items()
    )
    return "\n".join(lines)


_MAX_AGE_DAYS = 36_500.0  # a century: beyond it a timedelta overflows soon after


def _age_days(value: float) -> float:
    """``--orphan-min-age-days``: a finite number of days from 0 (every orphan, for a
    writer known to be dead) to a century."""
    if not (math.isfinite(value) and 0 <= value <= _MAX_AGE_DAYS):
        raise click.BadParameter(f"{value!r} is not a number of days from 0 to {_MAX_AGE_DAYS:g}")
    return value


@click.command("maintain")
@click.option(
    "--table",
    "names",
    multiple=True,
    help="Table to maintain (namespace.name); repeatable. Default: every table.",
)
@click.option("--no-compact", is_flag=True, help="Skip rewriting small files.")
@click.option("--no-expire", is_flag=True, help="Skip snapshot expiry.")
@click.option("--no-orphans", is_flag=True, help="Skip orphan-file removal.")
@click.option(
    "--older-than-days",
    "snapshot_days",
    type=click.IntRange(min=1),
    default=None,
    help="Snapshots younger than this are kept (tagged ones always); "
    "default the snapshot_retention_days setting (90).",
)
@click.option(
    "--keep-last",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Newest snapshots kept whatever their age.",
)
@click.option(
    "--orphan-min-age-days",
    type=float,
    callback=lambda _ctx, _param, value: _age_days(value),
    default=3.0,
    show_default=True,
    help="Unreferenced files younger than this are kept.",
)
@click.pass_context
def maintain_command(
    ctx: click.Context,
    names: tuple[str, ...],
    no_compact: bool,
    no_expire: bool,
    no_orphans: bool,
    snapshot_days: int | None,
    keep_last: int,
    orphan_min_age_days: float,
) -> None:
    """Compact small files, merge manifests, expire old snapshots, remove orphan files.

    Tagged snapshots (published, pre-reprocess, transform versions) are never expired;
    bronze rows are never removed here (see ``makerates retention purge``).
    """
    try:
        lake = lake_from_context(ctx)
        if snapshot_days is None:
            snapshot_days = lake.settings.snapshot_retention_days
        known = {spec.identifier: spec for spec in ALL_TABLES}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise click.BadParameter(
                f"unknown table(s): {', '.join(unknown)}", param_hint="--table"
            )
        tables = tuple(known[n] for n in names) if names else ALL_TABLES
        policy = MaintenancePolicy(
            snapshot_window=timedelta(days=snapshot_days),
            keep_last=keep_last,
            orphan_min_age=timedelta(days=orphan_min_age_days),
        )
        with progress_reporter() as on_progress:
            report = run_maintenance(
                lake,
                tables=tables,
                policy=policy,
                compact=not no_compact,
                expire=not no_expire,
                orphans=not no_orphans,
                on_progress=on_progress,
            )
    except MakeratesError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(render(report))


commands: list[click.Command] = [maintain_command]
