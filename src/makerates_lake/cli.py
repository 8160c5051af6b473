"""``makerates``: a thin Click layer over the library.

The root group loads settings once (``--config``, ``--home`` or the environment) and
hands them to every command through ``ctx.obj``. Library errors print as
``ErrorType: message`` and exit 1; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from makerates_lake.audit.commands import commands as audit_commands
from makerates_lake.bronze.verify import verify_bronze
from makerates_lake.bronze.worm import create_worm_bucket, split_s3_uri
from makerates_lake.cli_support import settings_from_context
from makerates_lake.errors import MakeratesError
from makerates_lake.extract.commands import commands as extract_commands
from makerates_lake.federate.commands import commands as federate_commands
from makerates_lake.lake import open_lake, s3_client
from makerates_lake.maintenance.commands import commands as maintenance_commands
from makerates_lake.provenance import package_version
from makerates_lake.publish.commands import commands as publish_commands
from makerates_lake.redact import redact_url
from makerates_lake.settings import load_settings
from makerates_lake.silver.commands import commands as silver_commands


@click.group()
@click.version_option(package_version(), prog_name="makerates")
@click.option(
    "--config", type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: $MAKERATES_CONFIG).",
)
@click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the embedded lake (default: $MAKERATES_HOME or ~/.makerates).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, config: Path | None, home: Path | None, verbose: int) -> None:
    """An auditable lakehouse of currency exchange rates."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    explicit: dict[str, Any] = {"home": home} if home is not None else {}
    try:
        ctx.obj = load_settings(config, **explicit)
    except MakeratesError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        ctx.exit(1)


def _fail(exc: MakeratesError) -> NoReturn:
    click.echo(f"{type(exc).__name__}: {exc}", err=True)
    raise SystemExit(1)


@main.command("init")
@click.pass_context
def init_command(ctx: click.Context) -> None:
    """Create the catalog's namespaces and tables (idempotent) and show where they live."""
    try:
        lake = open_lake(settings_from_context(ctx))
    except MakeratesError as exc:
        _fail(exc)
    settings = lake.settings
    click.echo(f"catalog:   {redact_url(settings.resolved_catalog_uri)}")
    click.echo(f"warehouse: {redact_url(settings.resolved_warehouse)}")
    click.echo(f"bronze:    {redact_url(settings.resolved_bronze_warehouse)}")
    for namespace in lake.catalog.list_namespaces():
        for identifier in lake.catalog.list_tables(namespace):
            click.echo(f"  {'.'.join(identifier)}")


@main.group("bronze")
def bronze_group() -> None:
    """The immutable bronze layer."""


@bronze_group.command("verify")
@click.option("--from", "start", type=click.DateTime(), help="First extraction time (UTC).")
@click.option("--to", "end", type=click.DateTime(), help="End of the range (exclusive, UTC).")
@click.pass_context
def bronze_verify_command(ctx: click.Context, start: datetime | None, end: datetime | None) -> None:
    """Recompute bronze checksums; exit 1 and list offenders when anything is wrong."""
    try:
        lake = open_lake(settings_from_context(ctx))
        report = verify_bronze(
            lake,
            start.replace(tzinfo=UTC) if start else None,
            end.replace(tzinfo=UTC) if end else None,
        )
    except MakeratesError as exc:
        _fail(exc)
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
@click.option("--retention-days", type=click.IntRange(min=1), default=1, show_default=True,
              help="Default COMPLIANCE retention applied to every new object.")
@click.pass_context
def create_bucket_command(ctx: click.Context, retention_days: int) -> None:
    """Create the bronze bucket with versioning and Object Lock (set-up, S3/MinIO only)."""
    settings = settings_from_context(ctx)
    location = settings.resolved_bronze_warehouse
    if not location.startswith(("s3://", "s3a://")):
        raise click.UsageError("bronze_warehouse is not an s3:// location")
    bucket, _ = split_s3_uri(location)
    create_worm_bucket(s3_client(settings), bucket, default_retention_days=retention_days)
    click.echo(f"created {bucket} with Object Lock (COMPLIANCE, {retention_days} day default)")


@main.command("demo")
@click.pass_context
def demo_command(ctx: click.Context) -> None:
    """Offline demo: the bundled ECB sample through bronze, silver and gold, then a look."""
    from makerates_lake.demo import run_demo

    try:
        lake = open_lake(settings_from_context(ctx))
        report = run_demo(lake)
    except MakeratesError as exc:
        _fail(exc)
    stored = report.backfill
    state = "already in bronze, nothing added" if stored.already_stored else "stored in bronze"
    click.echo(f"ECB sample: {state} (extraction {stored.extraction_id})")
    transform = stored.transform
    click.echo(
        f"silver: +{transform.silver.rates} rates, +{transform.silver.rejects} rejects; "
        f"gold: {transform.gold.facts} facts rebuilt"
    )
    click.echo("latest rates:")
    for rate in report.latest:
        click.echo(f"  {rate}")
    audited = report.trace
    legs = ", ".join(f"extraction {leg.extraction_id}" for leg in audited.legs)
    click.echo(
        f"audit trace {audited.base_currency}/{audited.quote_currency} "
        f"{audited.rate_date.isoformat()}: verdict {audited.verdict} ({legs})"
    )
    settings = lake.settings
    click.echo(f"chart: {report.chart}")
    click.echo(f"lake:  {settings.home}")
    click.echo(f"  catalog   {redact_url(settings.resolved_catalog_uri)}")
    click.echo(f"  warehouse {redact_url(settings.resolved_warehouse)}")


for _command in (
    *extract_commands,
    *silver_commands,
    *audit_commands,
    *maintenance_commands,
    *federate_commands,
    *publish_commands,
):
    main.add_command(_command)
