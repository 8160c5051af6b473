"""Errors of table maintenance.

::

    LakeError
     └── MaintenanceError              compaction, expiry or clean-up refused or failed
          └── CompactionMismatchError  rewritten files would not hold the same rows
"""

from __future__ import annotations

from makerates_lake.errors import LakeError


class MaintenanceError(LakeError):
    """Table maintenance was refused or failed; nothing was committed by the failing step."""


class CompactionMismatchError(MaintenanceError):
    """The rewritten files do not hold exactly the rows of the files they replace."""
