"""The CLI's progress reporter: bars on a terminal console, nothing (no hook) elsewhere."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from makerates_lake.cli.progress import progress_reporter
from makerates_lake.progress import StageProgress


def fake_stage(items: int, on_progress: StageProgress | None = None) -> int:
    """A stage as the library writes them: it reports each item done, when asked to."""
    for done in range(items + 1):
        if on_progress is not None:
            on_progress("fake: items", done, items)
    return items


def terminal(buffer: io.StringIO) -> Console:
    return Console(force_terminal=True, file=buffer, width=100, color_system=None)


def test_a_terminal_console_draws_the_step_and_its_count() -> None:
    """On a terminal console a stage's reports become a bar named after its step."""
    buffer = io.StringIO()
    with progress_reporter(terminal(buffer)) as on_progress:
        assert on_progress is not None
        assert fake_stage(3, on_progress) == 3
    drawn = buffer.getvalue()
    assert "fake: items" in drawn
    assert "3/3" in drawn
    assert "━" in drawn  # the bar itself


def test_each_step_gets_its_own_bar_and_an_unknown_total_is_filled_in() -> None:
    """Two steps draw two bars; a step first reported without a total takes the later one."""
    buffer = io.StringIO()
    with progress_reporter(terminal(buffer)) as on_progress:
        assert on_progress is not None
        on_progress("first: tables", 0, None)
        on_progress("first: tables", 4, 4)
        on_progress("second: files", 1, 2)
    drawn = buffer.getvalue()
    assert "first: tables" in drawn
    assert "4/4" in drawn
    assert "second: files" in drawn
    assert "1/2" in drawn


def test_the_download_callback_reports_bytes() -> None:
    """The download's (received, total) callback draws a bar counting bytes."""
    buffer = io.StringIO()
    with progress_reporter(terminal(buffer)) as bars:
        assert bars is not None
        bars.download(512, 1024)
    assert "downloading (bytes)" in buffer.getvalue()
    assert "512/1024" in buffer.getvalue()


def test_a_console_that_is_no_terminal_gets_no_hook_and_no_output() -> None:
    """Writing to a file or pipe, the stage gets None and nothing is written."""
    buffer = io.StringIO()
    with progress_reporter(Console(file=buffer)) as on_progress:
        assert on_progress is None
        fake_stage(3, on_progress)
    assert buffer.getvalue() == ""


@pytest.mark.parametrize("variable", ["FORCE_COLOR", "TTY_COMPATIBLE"])
def test_stderr_that_is_no_terminal_stays_silent_even_when_colour_is_forced(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """stderr's isatty decides: a CI's FORCE_COLOR/TTY_COMPATIBLE draws no bar into a log."""
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setenv(variable, "1")
    with progress_reporter() as on_progress:
        assert on_progress is None
    assert stderr.getvalue() == ""
