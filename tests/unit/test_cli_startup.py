"""``makerates --help`` stays light, and the CLI's static command table matches the commands."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from makerates_lake.cli import LAZY_COMMANDS, LazyGroup, main

HEAVY = ("polars", "pyiceberg", "pyarrow", "duckdb")

_PROBE = """
import json, sys
from makerates_lake.cli import main
try:
    main(["--help"], prog_name="makerates")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


def _modules_after(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_help_imports_no_heavy_library() -> None:
    """``makerates --help`` lists every command without importing a stage's libraries."""
    assert _modules_after(_PROBE.format(heavy=set(HEAVY))) == []


def test_importing_the_package_imports_no_heavy_library() -> None:
    """``import makerates_lake`` defers the heavy imports to the first public name used."""
    code = (
        "import json, sys, makerates_lake\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r})))"
    )
    assert _modules_after(code) == []


def test_help_lists_every_command() -> None:
    """The listing shows the built-in and the lazily loaded commands, sorted."""
    result = CliRunner().invoke(main, ["--help"], prog_name="makerates")
    assert result.exit_code == 0
    section = result.output.split("Commands:\n", 1)[1].splitlines()
    listed = [line.split()[0] for line in section if line.startswith("  ") and line[2] != " "]
    assert listed == sorted({"bronze", "demo", "init", *LAZY_COMMANDS})


def _module_commands(module_name: str) -> dict[str, click.Command]:
    commands: list[click.Command] = importlib.import_module(module_name).commands
    return {str(command.name): command for command in commands}


def test_table_matches_the_command_modules() -> None:
    """Each module's ``commands`` list is exactly what the table names for that module."""
    modules = {lazy.target.partition(":")[0] for lazy in LAZY_COMMANDS.values()}
    for module_name in modules:
        wanted = {n for n, lazy in LAZY_COMMANDS.items() if lazy.target.startswith(module_name)}
        assert set(_module_commands(module_name)) == wanted, module_name


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_table_entry_loads_the_command_with_the_same_help(name: str) -> None:
    """The static help is the command's own short help, whatever the width."""
    lazy = LAZY_COMMANDS[name]
    command = lazy.load()
    assert command.name == name
    stand_in = click.Command(name, help=lazy.help)
    for limit in (20, 45, 74, 200):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)
    assert not command.hidden


def test_get_command_loads_on_demand() -> None:
    """A fresh group loads a lazy command once and then keeps it."""
    group = LazyGroup(name="probe")
    ctx = click.Context(group)
    first = group.get_command(ctx, "sql")
    assert first is not None
    assert first.name == "sql"
    assert "sql" not in group.lazy_commands
    assert group.get_command(ctx, "sql") is first
    assert group.get_command(ctx, "no-such-command") is None
