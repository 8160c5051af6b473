"""Click commands of the extraction stage, registered by ``makerates_lake.cli``.

``commands`` holds ``ingest``, ``backfill`` (with ``backfill ecb``) and ``secrets``
(with ``secrets rotate`` and ``secrets status``). They take the :class:`Settings` from the
click context object when the CLI put one there, else :func:`load_settings`. A library
error is printed as ``ErrorType: message`` and exits with status 1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from makerates_lake.cli.progress import progress_reporter
from makerates_lake.cli.support import currency_codes, settings_from_context
from makerates_lake.errors import MakeratesError
from makerates_lake.extract.errors import SecretError
from makerates_lake.extract.secrets import VaultKeyProvider, check_key_age, vault_client
from makerates_lake.pipeline import backfill_once, ingest, run_transform
from makerates_lake.secret import Secret
from makerates_lake.settings import Settings
from makerates_lake.source_names import ALL_SOURCES, ECB_HISTORY
from makerates_lake.store.catalog import open_lake

log = logging.getLogger(__name__)

_CHAIN_SOURCES = [s for s in ALL_SOURCES if s != ECB_HISTORY]


@contextmanager
def _errors_to_exit(ctx: click.Context) -> Iterator[None]:
    try:
        yield
    except MakeratesError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        ctx.exit(1)


@click.command("ingest")
@click.option(
    "--source", "sources", multiple=True, type=click.Choice(_CHAIN_SOURCES),
    help="Source to use, in tier order (repeat); default the configured extract_chain.",
)
@click.option(
    "--base", "bases", multiple=True, default=("USD",), show_default=True, callback=currency_codes,
    help="Base currency (repeat or comma-separate).",
)
@click.pass_context
def ingest_command(ctx: click.Context, sources: tuple[str, ...], bases: list[str]) -> None:
    """Run the tier chain once per base currency and write every attempt to bronze."""
    with _errors_to_exit(ctx):
        lake = open_lake(settings_from_context(ctx))
        report = ingest(lake, bases, sources=list(sources) or None)
        for result in report.run.results:
            click.echo(f"{result.base}: answered by {result.answered_by}")
        click.echo(f"bronze rows written: {report.append.written} (run {report.run.run_id})")


@click.group("backfill")
def backfill_group() -> None:
    """Load history into bronze."""


@backfill_group.command("ecb")
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]),
    help="First day to take into silver (bronze keeps the whole file).",
)
@click.option(
    "--to", "end", type=click.DateTime(["%Y-%m-%d"]),
    help="Last day to take into silver (bronze keeps the whole file).",
)
@click.option(
    "--file", "path", type=click.Path(dir_okay=False, path_type=Path),
    help="A local eurofxref-hist.zip or .csv instead of downloading.",
)
@click.option(
    "--no-transform", is_flag=True,
    help="Store bronze only; `makerates transform` takes it into silver and gold later.",
)
@click.pass_context
def backfill_ecb_command(
    ctx: click.Context,
    start: datetime | None,
    end: datetime | None,
    path: Path | None,
    no_transform: bool,
) -> None:
    """Store the ECB history file (zip or CSV, URL or --file) in bronze as one record,
    then transform it into silver and gold (as ``mr.backfill`` does)."""
    if start and end and start > end:
        raise click.BadParameter("--from is after --to")
    first, last = (start.date() if start else None), (end.date() if end else None)
    with _errors_to_exit(ctx):
        lake = open_lake(settings_from_context(ctx))
        with progress_reporter() as bars:
            extraction_id, report = backfill_once(
                lake, path, start=first, end=last, on_progress=bars.download if bars else None
            )
        if report is None:
            click.echo(f"ECB history already stored with this window: extraction {extraction_id}")
        else:
            record = report.outcome.records[-1]
            click.echo(
                f"ECB history stored: {record.response_size_bytes} bytes "
                f"({record.response_content_type}), extraction {extraction_id}"
            )
        if no_transform:
            click.echo("next: makerates transform (bronze -> silver -> gold)")
            return
        try:
            with progress_reporter() as bars:
                result = run_transform(lake, on_progress=bars)
        except MakeratesError:
            click.echo("the transform failed; bronze keeps the file: `makerates transform`"
                       " resumes", err=True)  # fmt: skip
            raise
        click.echo(
            f"transformed {result.silver.extractions} extractions: {result.silver.rates} "
            f"rates, {result.silver.rejects} rejects; gold {result.gold.facts} fact rows"
        )


@click.group("secrets")
def secrets_group() -> None:
    """Manage the ExchangeRate-API key in Vault."""


@secrets_group.command("rotate")
@click.option(
    "--new-key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File holding the new key; default: prompt (input hidden).",
)
@click.pass_context
def rotate_command(ctx: click.Context, new_key_file: Path | None) -> None:
    """Write a new key version; the previous key stays valid for the grace period."""
    with _errors_to_exit(ctx):
        settings = settings_from_context(ctx)
        if new_key_file is not None:
            value = _key_from_file(new_key_file)
        else:
            value = click.prompt("New ExchangeRate-API key", hide_input=True)
        provider = _vault_provider(settings)
        try:
            keys = provider.rotate(Secret(value))
        except SecretError as exc:
            # Alert: a failed rotation is logged as an error, then exits non-zero.
            log.error(
                "API key rotation failed",
                extra={"event": "key_rotation_failed", "error": str(exc)},
            )
            _alert_rotation_failed(settings, exc)
            raise
        click.echo(
            f"rotated: version {keys.version}; previous key valid until "
            f"{keys.previous_valid_until.isoformat() if keys.previous_valid_until else 'n/a'}"
        )


@secrets_group.command("status")
@click.pass_context
def status_command(ctx: click.Context) -> None:
    """Show the key's age and grace window (never the key); exit 1 when overdue."""
    with _errors_to_exit(ctx):
        settings = settings_from_context(ctx)
        keys = _vault_provider(settings).load()
        now = datetime.now(UTC)
        age = keys.age(now)
        click.echo(f"version: {keys.version}")
        click.echo(f"age: {age.days if age else 'unknown'} days")
        click.echo(f"previous key usable: {keys.previous_usable(now)}")
        check_key_age(keys, max_age=timedelta(days=settings.key_max_age_days), now=now)


def _key_from_file(path: Path) -> str:
    """The key in ``path`` (UTF-8 text, surrounding whitespace dropped); never echoed."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise click.BadParameter("is not UTF-8 text", param_hint="--new-key-file") from None
    if not value:
        raise click.BadParameter("holds no key", param_hint="--new-key-file")
    if not value.isprintable():  # a key is one line of text; control bytes are a wrong file
        raise click.BadParameter(
            "holds characters that cannot be in a key", param_hint="--new-key-file"
        )
    return value


def _alert_rotation_failed(settings: Settings, exc: SecretError) -> None:
    from makerates_lake.pipeline.alerts import KEY_ROTATION_FAILED, Alert, alerts_from_settings

    alert = Alert(KEY_ROTATION_FAILED, f"API key rotation failed: {exc.message}",
                  {"error": type(exc).__name__})  # fmt: skip
    alerts_from_settings(settings).send_all([alert])


def _vault_provider(settings: Settings) -> VaultKeyProvider:
    return VaultKeyProvider(
        vault_client(settings),
        settings.vault_key_path,
        mount_point=settings.vault_mount_point,
        grace=timedelta(hours=settings.key_grace_period_h),
    )


commands: list[click.Command] = [ingest_command, backfill_group, secrets_group]
"""The extraction commands for ``makerates_lake.cli`` to register."""

__all__ = ["commands"]
