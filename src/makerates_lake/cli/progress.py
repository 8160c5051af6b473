"""Progress bars for the long commands, drawn with rich on stderr when it is a terminal.

The only module that imports rich. Stages report through a plain
:data:`~makerates_lake.progress.StageProgress`; :func:`progress_reporter` gives a
command one to pass them, or None when stderr is not a terminal, so pipes, CI logs and
tests see exactly the output they saw before (the stages then run as without a hook).

Usage in a command::

    with progress_reporter() as on_progress:
        report = verify_lake(lake, start, end, on_progress=on_progress)
    click.echo(...)  # after the block: results never mix with a live bar
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class ProgressReporter:
    """A :data:`~makerates_lake.progress.StageProgress` drawing one bar per step.

    The first report of a step adds its bar; later ones move it. A total of None keeps
    the bar's total as it was (unknown at first: the bar pulses until one is given).
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, step: str, done: int, total: int | None) -> None:
        task = self._tasks.get(step)
        if task is None:
            self._tasks[step] = self._progress.add_task(step, total=total, completed=done)
        else:
            self._progress.update(task, completed=done, total=total)

    def download(self, received: int, total: int | None) -> None:
        """The download's :data:`~makerates_lake.extract.http.ProgressCallback`."""
        self("downloading (bytes)", received, total)


def _stderr_console() -> Console | None:
    """A console on stderr when stderr is a terminal, else None.

    ``isatty`` decides, not rich's own detection, which also says yes to a pipe when
    ``FORCE_COLOR`` or ``TTY_COMPATIBLE`` is set (common in CI).
    """
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_reporter(console: Console | None = None) -> Iterator[ProgressReporter | None]:
    """Bars while the block runs on a terminal console; None (no hook) otherwise.

    Args:
        console: Where to draw (tests pass one); default stderr, when it is a terminal.
    """
    if console is None:
        console = _stderr_console()
    if console is None or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        # Gone once the command is done: the lines it prints say what was done.
        transient=True,
        # Results go to stdout after the block; inside it nothing is printed there, and
        # redirecting stdout would send it to the console's stderr.
        redirect_stdout=False,
    ) as progress:
        yield ProgressReporter(progress)
