"""Legal holds on bronze: an audit freeze on the objects holding an extraction window.

A legal hold has no end date. While it is on, S3 refuses to delete or overwrite the held
object versions whatever their retention says, so an investigation can keep evidence
past its retention period; lifting it returns the objects to their retention alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from makerates_lake.errors import BronzeError
from makerates_lake.store.catalog import Lake
from makerates_lake.store.expressions import in_range
from makerates_lake.store.files import data_file_paths
from makerates_lake.store.worm import set_legal_hold


@dataclass(frozen=True)
class HoldResult:
    """What a hold or a release touched.

    Attributes:
        on: True for a hold, False for a release.
        objects: The bronze data files held or released (``s3://`` URIs).
    """

    on: bool
    objects: tuple[str, ...]


def hold_bronze(
    lake: Lake, start: datetime | None = None, end: datetime | None = None, *, on: bool = True
) -> HoldResult:
    """Put (``on``) or lift a legal hold on every bronze data file holding rows extracted
    in ``[start, end)`` (either bound optional), as of bronze's current snapshot.

    Raises:
        BronzeError: Bronze is not in an S3 bucket with Object Lock (nothing to hold), or
            the server refused a file (the message says how many were done).
    """
    if not lake.bronze_object_lock:
        raise BronzeError(
            "legal holds need bronze in an S3 bucket with Object Lock "
            "(makerates bronze create-bucket)",
            bronze_warehouse=lake.settings.resolved_bronze_warehouse,
        )
    window = in_range(
        "extraction_timestamp",
        start.isoformat() if start else None,
        end.isoformat() if end else None,
    )
    objects = data_file_paths(lake.bronze(), window)
    done: list[str] = []
    try:
        for uri in objects:
            set_legal_hold(lake.object_store(), [uri], on=on)
            done.append(uri)
    except Exception as exc:  # the SDK's errors are not the library's: say what was done
        raise BronzeError(
            f"the legal hold {'could not be put on' if on else 'could not be lifted from'} "
            f"every file: {type(exc).__name__}: {exc}",
            done=len(done),
            of=len(objects),
            failed_at=objects[len(done)],
        ) from None
    return HoldResult(on, tuple(objects))
