"""The long commands draw progress only on a terminal: piped or captured, output is as before."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from makerates_lake.cli import main, progress
from makerates_lake.gold.build import PROGRESS_STEP as GOLD_STEP
from makerates_lake.settings import Settings
from makerates_lake.silver.build import PROGRESS_STEP as SILVER_STEP
from makerates_lake.store.catalog import Lake
from tests.audit_helpers import build_small_lake
from tests.silver_helpers import SAMPLE_ZIP

BAR = "━"
#: The CLI's own choice of console, kept before a test replaces it.
STDERR_CONSOLE = progress._stderr_console


def run(settings: Settings, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--home", str(settings.home), *args])
    assert result.exit_code == 0, result.output
    return result


def quiet(result: Result) -> str:
    """The command's stdout, after checking it wrote nothing to stderr and drew no bar."""
    assert result.stderr == ""
    assert BAR not in result.stdout
    return result.stdout


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Make the CLI believe stderr is a terminal; what it draws lands in the buffer."""
    buffer = io.StringIO()
    console = Console(force_terminal=True, file=buffer, width=120, color_system=None)
    monkeypatch.setattr(progress, "_stderr_console", lambda: console)
    return buffer


def test_transform_reprocess_and_backfill_print_only_their_results(
    embedded_lake: Lake,
) -> None:
    """Captured (no terminal), each command prints its result lines and nothing else."""
    settings = embedded_lake.settings
    backfill = quiet(run(settings, "backfill", "ecb", "--file", str(SAMPLE_ZIP)))
    lines = backfill.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ECB history stored: ")
    assert re.fullmatch(r"transformed 1 extractions: \d+ rates, 0 rejects; gold \d+ fact rows",
                        lines[1])  # fmt: skip
    assert quiet(run(settings, "transform")) == (
        "transformed 0 extractions: 0 rates, 0 rejects; gold 0 fact rows\n"
    )
    reprocess = quiet(run(settings, "reprocess"))
    assert re.fullmatch(r"reprocessed 1 extractions: \d+ rates, 0 rejects; gold \d+ fact rows; "
                        r"tag transform-v\d+\n", reprocess)  # fmt: skip


def test_maintain_prints_its_table_only(embedded_lake: Lake) -> None:
    """Captured, ``maintain`` prints the before/after table and nothing on stderr."""
    build_small_lake(embedded_lake)
    out = quiet(run(embedded_lake.settings, "maintain"))
    assert out.splitlines()[0].split()[:3] == ["table", "snapshots", "data"]
    assert "orphan files removed:" in out


@pytest.mark.parametrize(
    ("args", "steps"),
    [
        (("bronze", "verify"), ["bronze: files checked"]),
        (
            ("audit", "verify"),
            ["bronze: files checked", "lineage: bronze files read", "lineage: tables checked"],
        ),
    ],
)
def test_verify_output_is_the_same_with_and_without_a_terminal(
    embedded_lake: Lake,
    drawn: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    steps: list[str],
) -> None:
    """On a terminal the verify commands draw their steps on stderr's console; their
    stdout is byte for byte what a pipe gets."""
    build_small_lake(embedded_lake)
    settings = embedded_lake.settings
    on_terminal = run(settings, *args)
    assert all(step in drawn.getvalue() for step in steps)
    drawn.seek(0)
    drawn.truncate()
    monkeypatch.setattr(progress, "_stderr_console", STDERR_CONSOLE)  # CliRunner's: no tty
    piped = quiet(run(settings, *args))
    assert drawn.getvalue() == ""
    assert on_terminal.stdout == piped
    assert piped.endswith(("ok\n", "rows checked)\n"))


def test_maintain_draws_its_parts_on_a_terminal(embedded_lake: Lake, drawn: io.StringIO) -> None:
    """On a terminal ``maintain`` draws compaction, expiry and orphan removal."""
    build_small_lake(embedded_lake)
    run(embedded_lake.settings, "maintain")
    for step in ("compacted", "expired", "orphans"):
        assert step in drawn.getvalue()


def test_transform_and_reprocess_draw_silver_and_gold_on_a_terminal(
    embedded_lake: Lake, drawn: io.StringIO
) -> None:
    """On a terminal the pipeline's stages report through the CLI's bars: silver's rows
    and gold's tables, for a backfill's transform and for a reprocess."""
    settings = embedded_lake.settings
    for args in (("backfill", "ecb", "--file", str(SAMPLE_ZIP)), ("reprocess",)):
        drawn.seek(0)
        drawn.truncate()
        run(settings, *args)
        assert SILVER_STEP in drawn.getvalue()
        assert GOLD_STEP in drawn.getvalue()
