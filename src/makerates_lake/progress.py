"""The one shape of progress a long stage reports, for whoever shows it.

Stages call a plain :data:`StageProgress` and know nothing of how it is drawn; the CLI
turns the calls into bars on a terminal (:mod:`makerates_lake.cli.progress`).
"""

from __future__ import annotations

from collections.abc import Callable

StageProgress = Callable[[str, int, int | None], None]
"""Called as a stage advances with (step, units done so far, units in all or None).

``step`` names what is counted (``"silver: bronze rows"``); the same step is reported
again with a growing count, like the download's
:data:`~makerates_lake.extract.http.ProgressCallback` reports bytes received so far.
"""

__all__ = ["StageProgress"]
