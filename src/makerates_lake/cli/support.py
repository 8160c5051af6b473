"""What every CLI command needs from the click context: the settings and the lake.

The root group puts a :class:`Settings` in ``ctx.obj``; tests may put a ready
:class:`Lake` there. A command invoked on its own falls back to :func:`load_settings`.
"""

from __future__ import annotations

import click

from makerates_lake.settings import Settings, load_settings
from makerates_lake.store.catalog import Lake, open_lake


def settings_from_context(ctx: click.Context) -> Settings:
    """The settings in ``ctx.obj`` (or of the Lake there), else the environment's."""
    settings = ctx.find_object(Settings)
    if settings is not None:
        return settings
    lake = ctx.find_object(Lake)
    return lake.settings if lake is not None else load_settings()


def lake_from_context(ctx: click.Context) -> Lake:
    """The Lake in ``ctx.obj``, else one opened with :func:`settings_from_context`."""
    lake = ctx.find_object(Lake)
    return lake if lake is not None else open_lake(settings_from_context(ctx))
