"""``makerates bronze``: verify checksums and locks, create the WORM bucket, legal holds.

Loaded when a ``bronze`` command runs (the CLI's start-up imports no storage library).
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from makerates_lake.cli.holds import hold_command, holds_command, release_command
from makerates_lake.cli.support import library_errors


@click.group("bronze")
def bronze_group() -> None:
    """The immutable bronze layer: verify, WORM bucket, legal holds."""


@bronze_group.command("verify")
@click.option("--from", "start", type=click.DateTime(), help="First extraction time (UTC).")
@click.option("--to", "end", type=click.DateTime(), help="End of the range (exclusive, UTC).")
@click.pass_context
@library_errors
def bronze_verify_command(ctx: click.Context, start: datetime | None, end: datetime | None) -> None:
    """Recompute bronze checksums; exit 1 and list offenders when anything is wrong."""
    from makerates_lake.bronze.verify import verify_bronze
    from makerates_lake.cli.progress import progress_reporter
    from makerates_lake.cli.support import lake_from_context

    lake = lake_from_context(ctx)
    with progress_reporter() as on_progress:
        report = verify_bronze(
            lake,
            start.replace(tzinfo=UTC) if start else None,
            end.replace(tzinfo=UTC) if end else None,
            on_progress=on_progress,
        )
    click.echo(f"checked {report.rows_checked} rows in {report.files_checked} files")
    for mismatch in report.mismatches:
        click.echo(
            f"TAMPERED extraction_id={mismatch.extraction_id} file={mismatch.file_path} "
            f"stored={mismatch.stored_checksum} recomputed={mismatch.recomputed_checksum}"
        )
    for problem in report.file_problems:
        click.echo(f"FILE {problem.file_path}: {problem.problem}")
    if not report.ok:
        raise SystemExit(1)
    click.echo("ok")


@bronze_group.command("create-bucket")
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Default COMPLIANCE retention applied to every new object.",
)
@click.pass_context
def create_bucket_command(ctx: click.Context, retention_days: int) -> None:
    """Create the bronze bucket with versioning and Object Lock (set-up, S3/MinIO only)."""
    from makerates_lake.cli.support import settings_from_context
    from makerates_lake.store.worm import create_worm_bucket, split_s3_uri

    settings = settings_from_context(ctx)
    location = settings.resolved_bronze_warehouse
    if not location.startswith(("s3://", "s3a://")):
        raise click.UsageError("bronze_warehouse is not an s3:// location")
    bucket, _ = split_s3_uri(location)
    from makerates_lake.store.s3 import S3Access

    client = S3Access.from_settings(settings).minio_client()
    create_worm_bucket(client, bucket, default_retention_days=retention_days)
    click.echo(f"created {bucket} with Object Lock (COMPLIANCE, {retention_days} day default)")


for _command in (hold_command, release_command, holds_command):
    bronze_group.add_command(_command)

commands: list[click.Command] = [bronze_group]
