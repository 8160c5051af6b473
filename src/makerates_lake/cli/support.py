"""What every CLI command needs: the settings and the lake from the click context, and
one way to end on a library error.

The root group puts a :class:`Settings` in ``ctx.obj``; tests may put a ready
:class:`Lake` there. A command invoked on its own falls back to :func:`load_settings`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from click.decorators import FC

from makerates_lake.errors import LakeError, MakeratesError
from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import Lake, open_lake


def settings_from_context(ctx: click.Context) -> Settings:
    """The settings in ``ctx.obj`` (or of the Lake there), else the environment's."""
    settings = ctx.find_object(Settings)
    if settings is not None:
        return settings
    lake = ctx.find_object(Lake)
    return lake.settings if lake is not None else load_settings()


def lake_from_context(ctx: click.Context, *, create: bool = False) -> Lake:
    """The Lake in ``ctx.obj``, else one opened with :func:`settings_from_context`.

    Without ``create`` an embedded lake must exist already: a mistyped ``--home`` would
    otherwise become a new, empty lake, and the command would report that it holds
    nothing instead of that it is not there.

    Raises:
        LakeError: No embedded lake at the settings' home (its catalog file is missing).
    """
    lake = ctx.find_object(Lake)
    if lake is not None:
        return lake
    settings = settings_from_context(ctx)
    missing = _missing_catalog(settings)
    if missing is not None and not create:
        raise LakeError(
            f"no lake at {settings.home}: its catalog {missing} does not exist; create one "
            "with `makerates init` (or ingest, backfill, run), or point --home or "
            "MAKERATES_HOME at an existing lake"
        )
    return open_lake(settings)


def _missing_catalog(settings: Settings) -> Path | None:
    """The SQLite catalog file of an embedded lake when it does not exist, else None."""
    from sqlalchemy.engine import make_url  # what opens the file reads the URI the same way

    uri = settings.resolved_catalog_uri
    if settings.is_rest_catalog or not uri.startswith("sqlite"):
        return None
    database = make_url(uri).database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return None if path.exists() else path


P = ParamSpec("P")
R = TypeVar("R")


def library_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print ``ErrorType: message`` and exit 1 on a library error (anything else is a
    bug and shows its traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except MakeratesError as exc:
            click.echo(f"{type(exc).__name__}: {exc}", err=True)
            raise SystemExit(1) from None

    return wrapper


def limit_option(default: int, help: str | None = None) -> Callable[[FC], FC]:
    """``--limit``: how many rows a command shows, a whole number from 0."""
    return click.option(
        "--limit", default=default, show_default=True, type=click.IntRange(min=0), help=help
    )


def currency_codes(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> list[str]:
    """Click callback: repeated or comma-separated ISO codes, upper-cased and checked."""
    return [currency_code(part) for value in values for part in value.split(",")]


def currency_code(text: str) -> str:
    """``text`` as an upper-case currency code (a usage error unless three letters)."""
    code = text.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise click.BadParameter(f"{text!r} is not a three-letter currency code")
    return code
