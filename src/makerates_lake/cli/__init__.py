"""``makerates``: a thin Click layer over the library.

The root group loads settings once (``--config``, ``--home`` or the environment) and
hands them to every command through ``ctx.obj``. Library errors print as
``ErrorType: message`` and exit 1; anything else is a bug and shows its traceback.

Start-up stays light: each stage's commands (see :data:`LAZY_COMMANDS`) and the heavy
libraries behind them are imported only when such a command runs, so ``makerates --help``
imports neither polars nor pyiceberg, pyarrow or duckdb.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from gettext import gettext as _
from pathlib import Path
from typing import Any, NoReturn

import click

from makerates_lake.cli.logformat import configure_logging
from makerates_lake.errors import MakeratesError
from makerates_lake.provenance import package_version
from makerates_lake.redact import redact_url
from makerates_lake.settings import load_settings


class LazyCommand:
    """Where a command lives (``"module:attribute"``) and its one-line help for listings."""

    __slots__ = ("help", "target")

    def __init__(self, target: str, help: str) -> None:
        self.target = target
        self.help = help

    def load(self) -> click.Command:
        """Import the command's module and return the command object."""
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


#: The commands of the library's stages, imported only when one of them is run (or its
#: own ``--help`` is asked for), so ``makerates --help`` needs no polars, pyiceberg,
#: pyarrow or duckdb. The help text is the first paragraph of the command's docstring;
#: tests/unit/test_cli_startup.py checks this table against the real commands.
LAZY_COMMANDS: Mapping[str, LazyCommand] = {
    "audit": LazyCommand(
        "makerates_lake.cli.audit:audit_group",
        "Trace, verify, diff and read any table as of a point in time.",
    ),
    "convert": LazyCommand(
        "makerates_lake.cli.rates:convert_command",
        "Convert AMOUNT of SOURCE into TARGET at gold's best rate (exact, not rounded).",
    ),
    "bronze": LazyCommand(
        "makerates_lake.cli.bronze:bronze_group",
        "The immutable bronze layer: verify, WORM bucket, legal holds.",
    ),
    "backfill": LazyCommand(
        "makerates_lake.cli.extract:backfill_group", "Load history into bronze."
    ),
    "ingest": LazyCommand(
        "makerates_lake.cli.extract:ingest_command",
        "Run the tier chain once per base currency and write every attempt to bronze.",
    ),
    "maintain": LazyCommand(
        "makerates_lake.cli.maintenance:maintain_command",
        "Compact small files, merge manifests, expire old snapshots, remove orphan files.",
    ),
    "publish": LazyCommand(
        "makerates_lake.cli.publish:publish_command",
        "Publish the last DAYS days of gold to PostgreSQL and switch makerates.rates_last_90_days.",
    ),
    "rates": LazyCommand(
        "makerates_lake.cli.rates:rates_command",
        "Show rates: a day's (default the newest), or a period's closing or average rates.",
    ),
    "reprocess": LazyCommand(
        "makerates_lake.cli.silver:reprocess_command",
        "Rebuild silver and gold from bronze only (no API calls) and tag the snapshots.",
    ),
    "run": LazyCommand(
        "makerates_lake.cli.run:run_command",
        "The scheduled job: ingest, transform, check, publish, maintain and verify when due.",
    ),
    "status": LazyCommand(
        "makerates_lake.cli.run:status_command",
        "Is the daily job healthy? Sources, freshness, publish, key, verify; exit 3 if not.",
    ),
    "retention": LazyCommand(
        "makerates_lake.cli.audit:retention_group",
        "Bronze retention: the only way rows ever leave bronze.",
    ),
    "secrets": LazyCommand(
        "makerates_lake.cli.extract:secrets_group",
        "Manage the ExchangeRate-API key in Vault.",
    ),
    "sql": LazyCommand(
        "makerates_lake.cli.federate:sql_command",
        "Run QUERY in DuckDB over the lake (views per table, PostgreSQL attached as pg).",
    ),
    "transform": LazyCommand(
        "makerates_lake.cli.silver:transform_command",
        "Transform bronze rows not yet in silver, then refresh gold for their dates.",
    ),
}


class LazyGroup(click.Group):
    """A group whose :data:`LAZY_COMMANDS` are imported on first use, not at start-up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(LAZY_COMMANDS)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if lazy is not None:
            self.add_command(lazy.load(), cmd_name)
            del self.lazy_commands[cmd_name]
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's listing, with stand-ins carrying the static help for unloaded commands."""
        listed: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            lazy = self.lazy_commands.get(name)
            command = (
                click.Command(name, help=lazy.help) if lazy else super().get_command(ctx, name)
            )
            if command is not None and not command.hidden:
                listed.append((name, command))
        if not listed:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        rows = [(name, command.get_short_help_str(limit)) for name, command in listed]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_version(), prog_name="makerates")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: $MAKERATES_CONFIG).",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the embedded lake (default: $MAKERATES_HOME or ~/.makerates).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log records on stderr as text lines or one JSON object each (with an event name).",
)
@click.pass_context
def main(
    ctx: click.Context, config: Path | None, home: Path | None, verbose: int, log_format: str
) -> None:
    """An auditable lakehouse of currency exchange rates."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    configure_logging(level, log_format)
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
    from makerates_lake.cli.support import settings_from_context
    from makerates_lake.store.catalog import open_lake

    try:
        lake = open_lake(settings_from_context(ctx))
    except MakeratesError as exc:
        _fail(exc)
    settings = lake.settings
    click.echo(f"catalog:   {redact_url(settings.resolved_catalog_uri)}")
    click.echo(f"warehouse: {redact_url(settings.resolved_warehouse)}")
    click.echo(f"bronze:    {redact_url(settings.resolved_bronze_warehouse)}")
    # Said out loud: bronze is append-only everywhere, but WORM only under Object Lock.
    worm = "on (S3 Object Lock, COMPLIANCE)" if lake.bronze_object_lock else "off (no Object Lock)"
    click.echo(f"WORM:      {worm}")
    for namespace in lake.catalog.list_namespaces():
        for identifier in lake.catalog.list_tables(namespace):
            click.echo(f"  {'.'.join(identifier)}")


@main.command("demo")
@click.pass_context
def demo_command(ctx: click.Context) -> None:
    """Offline demo: the bundled ECB sample through bronze, silver and gold, then a look."""
    from makerates_lake.cli.support import settings_from_context
    from makerates_lake.demo import run_demo
    from makerates_lake.store.catalog import open_lake

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
