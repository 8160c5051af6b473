"""Legal holds on bronze: an audit freeze on the objects holding an extraction window.

A legal hold has no end date. While it is on, S3 refuses to delete or overwrite the held
object versions whatever their retention says, so an investigation can keep evidence
past its retention period; lifting it returns the objects to their retention alone.

S3 keeps one on/off flag per object, so every hold is registered in
``audit.legal_holds`` with its id, reason and the exact objects it froze. Releasing a
hold lifts only the objects no other active hold covers, and it lifts the objects the
hold froze, not the files that hold the window now (a compaction may have replaced
them in the table; the frozen originals stay in the bucket).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from makerates_lake import store
from makerates_lake.errors import BronzeError, ConfigError
from makerates_lake.store.catalog import Lake
from makerates_lake.store.commit import commit, commit_files, to_arrow, write_files
from makerates_lake.store.expressions import in_range
from makerates_lake.store.files import data_file_paths
from makerates_lake.store.scan import scan
from makerates_lake.store.tables_holds import AUDIT_LEGAL_HOLDS
from makerates_lake.store.worm import set_legal_hold

HOLD: str = "hold"
RELEASE: str = "release"


@dataclass(frozen=True)
class HoldResult:
    """What a hold or a release touched.

    Attributes:
        hold_id: The hold's id in ``audit.legal_holds``.
        on: True for a hold, False for a release.
        objects: The bronze objects held or lifted (``s3://`` URIs).
        kept: On a release, the hold's objects another active hold still covers.
    """

    hold_id: str
    on: bool
    objects: tuple[str, ...]
    kept: tuple[str, ...] = ()


def _require_object_lock(lake: Lake) -> None:
    if not lake.bronze_object_lock:
        raise BronzeError(
            "legal holds need bronze in an S3 bucket with Object Lock "
            "(makerates bronze create-bucket)",
            bronze_warehouse=lake.settings.resolved_bronze_warehouse,
        )


def _set(lake: Lake, objects: list[str], *, on: bool) -> list[str]:
    """Set the flag on each object; on a refusal, what was done so far goes with the
    error, so the caller registers exactly the objects that are held."""
    done: list[str] = []
    try:
        for uri in objects:
            set_legal_hold(lake.object_store(), [uri], on=on)
            done.append(uri)
    except Exception as exc:  # the SDK's errors are not the library's: say what was done
        raise _PartialError(done, objects, on, exc) from None
    return done


class _PartialError(Exception):
    def __init__(self, done: list[str], objects: list[str], on: bool, cause: Exception):
        super().__init__(str(cause))
        self.done, self.objects, self.on, self.cause = done, objects, on, cause

    @property
    def reason(self) -> str:
        """The server's refusal, for a message."""
        return f"{type(self.cause).__name__}: {self.cause}"

    @property
    def failed_at(self) -> str:
        """The object the server refused."""
        return self.objects[len(self.done)]

    def as_bronze_error(self, hold_id: str) -> BronzeError:
        return BronzeError(
            f"the legal hold {'could not be put on' if self.on else 'could not be lifted from'}"
            f" every file: {self.reason}",
            hold_id=hold_id,
            done=len(self.done),
            of=len(self.objects),
            failed_at=self.failed_at,
        )


def _register(lake: Lake, rows: list[dict[str, object]]) -> None:
    frame = pl.DataFrame(rows, schema=pl.Schema(AUDIT_LEGAL_HOLDS.schema.as_arrow()))
    arrow = to_arrow(frame, AUDIT_LEGAL_HOLDS)
    commit(
        lake,
        AUDIT_LEGAL_HOLDS,
        lambda table: commit_files(table, write_files(table, arrow, AUDIT_LEGAL_HOLDS)),
    )


def hold_bronze(
    lake: Lake, start: datetime | None = None, end: datetime | None = None, *, reason: str
) -> HoldResult:
    """Put a legal hold on every bronze data file holding rows extracted in
    ``[start, end)`` (either bound optional), as of bronze's current snapshot, and
    register it (``audit.legal_holds``) under a new id with ``reason``.

    Raises:
        ConfigError: No reason, or ``start`` is not before ``end`` (an empty window).
        BronzeError: Bronze is not in an S3 bucket with Object Lock (nothing to hold), no
            bronze file holds rows of the window (a hold on nothing would read as one in
            force), or the server refused a file (the message says how many were done;
            those are registered, so releasing the id lifts them).
    """
    if not reason.strip():
        raise ConfigError("a legal hold needs a reason (e.g. the ticket of the investigation)")
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            "the window to hold is empty: its start is not before its end",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    _require_object_lock(lake)
    window = in_range(
        "extraction_timestamp",
        start.isoformat() if start else None,
        end.isoformat() if end else None,
    )
    objects = data_file_paths(lake.bronze(), window)
    if not objects:
        raise BronzeError(
            "no bronze data file holds rows extracted in the window: nothing to hold",
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
        )
    hold_id = f"hold-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"
    failure: _PartialError | None = None
    try:
        done = _set(lake, objects, on=True)
    except _PartialError as exc:
        failure, done = exc, exc.done
    now = datetime.now(UTC)
    base = {"hold_id": hold_id, "event": HOLD, "at": now, "reason": reason}
    rows = [{**base, "window_start": start, "window_end": end, "object_uri": u} for u in done]
    try:
        _register(lake, rows or [{**base, "window_start": start, "window_end": end}])
    except Exception as exc:
        # The flags stay on (evidence frozen is the safe side); say exactly what is held
        # so it can be registered or lifted by hand.
        raise BronzeError(
            f"the legal hold is on but could not be registered: {type(exc).__name__}: {exc}",
            hold_id=hold_id,
            held=len(done),
            first_held=done[0] if done else "",
            hold_failure=str(failure.cause) if failure is not None else "",
        ) from exc
    # Set again now that the hold is registered (also after a partial failure, for the
    # objects that were set): a release running meanwhile, which read the register
    # before this hold was in it, may have lifted some of them. A release that reads the
    # register from now on sees this hold and puts them back (release_hold re-checks
    # after lifting), so one of the two always ends with them on.
    try:
        _set(lake, done, on=True)
    except _PartialError as exc:
        raise BronzeError(
            "the legal hold is registered with every object it names, but setting their "
            "flags again after registering failed: a release running at the same time may "
            f"have lifted some; {exc.reason}",
            hold_id=hold_id,
            registered=len(done),
            set_again=len(exc.done),
            failed_at=exc.failed_at,
        ) from None
    if failure is not None:
        raise failure.as_bronze_error(hold_id)
    return HoldResult(hold_id, True, tuple(done))


def _events(lake: Lake) -> pl.DataFrame:
    if store.current_snapshot_id(lake, AUDIT_LEGAL_HOLDS) is None:
        return pl.DataFrame(schema=pl.Schema(AUDIT_LEGAL_HOLDS.schema.as_arrow()))
    return scan(lake, AUDIT_LEGAL_HOLDS).collect()


def active_holds(lake: Lake) -> pl.DataFrame:
    """The holds not released: id, when, reason, window and how many objects, oldest first."""
    return _active(_events(lake))


def _active(events: pl.DataFrame) -> pl.DataFrame:
    released = events.filter(pl.col("event") == RELEASE).get_column("hold_id")
    return (
        events.filter((pl.col("event") == HOLD) & ~pl.col("hold_id").is_in(released.implode()))
        .group_by("hold_id")
        .agg(
            pl.col("at").first().alias("placed_at"),
            pl.col("reason").first(),
            pl.col("window_start").first(),
            pl.col("window_end").first(),
            pl.col("object_uri").drop_nulls().n_unique().alias("objects"),
        )
        .sort("placed_at", "hold_id")
    )


def release_hold(lake: Lake, hold_id: str, *, reason: str = "") -> HoldResult:
    """Lift hold ``hold_id``: its objects lose their legal hold unless another active hold
    covers them; the release is registered (with ``reason``) before any flag changes.

    Releasing a hold already released lifts its objects again: the way to finish a
    release that the server interrupted. A hold placed while the release runs ends with
    its objects held, whichever order the two reach the register (between the lift and
    the re-check they are briefly off).

    Raises:
        BronzeError: No hold with this id, no Object Lock, or the server refused a file.
    """
    _require_object_lock(lake)
    events = _events(lake)
    holds = events.filter(pl.col("event") == HOLD)
    if hold_id not in set(holds.get_column("hold_id").to_list()):
        raise BronzeError(
            "no legal hold with this id (makerates bronze holds lists the active ones)",
            hold_id=hold_id,
        )
    mine = holds.filter((pl.col("hold_id") == hold_id) & pl.col("object_uri").is_not_null())
    objects = sorted(mine.get_column("object_uri").to_list())
    kept = _covered_by_others(events, hold_id, objects)
    if hold_id in _active(events).get_column("hold_id").to_list():
        # Registered first: were the release cut short, the register must not claim a
        # freeze the flags no longer give; the flags left on are lifted by running the
        # release again.
        now = datetime.now(UTC)
        _register(lake, [{"hold_id": hold_id, "event": RELEASE, "at": now, "reason": reason}])
    failure: _PartialError | None = None
    try:
        done = _set(lake, sorted(set(objects) - kept), on=False)
    except _PartialError as exc:
        failure, done = exc, exc.done
    # A hold registered while this release ran may cover objects just lifted: every
    # object of this hold that another active hold covers now is set again, whether or
    # not the lift finished, so running the release again also repairs a failed attempt
    # (hold_bronze sets its flags again after registering, for the other order).
    covered = _covered_by_others(_events(lake), hold_id, objects)
    try:
        _set(lake, sorted(covered), on=True)
    except _PartialError as exc:
        raise BronzeError(
            "files another active legal hold covers could not all be put back on hold "
            f"after this release lifted them; run the same release again: {exc.reason}",
            hold_id=hold_id,
            to_protect=len(covered),
            protected=len(exc.done),
            failed_at=exc.failed_at,
        ) from None
    if failure is not None:
        raise failure.as_bronze_error(hold_id)
    lifted = tuple(uri for uri in done if uri not in covered)
    return HoldResult(hold_id, False, lifted, tuple(sorted(kept | covered)))


def _covered_by_others(events: pl.DataFrame, hold_id: str, objects: list[str]) -> set[str]:
    """Those of ``objects`` that an active hold other than ``hold_id`` froze."""
    active = set(_active(events).get_column("hold_id").to_list()) - {hold_id}
    held = events.filter(
        (pl.col("event") == HOLD)
        & pl.col("hold_id").is_in(sorted(active))
        & pl.col("object_uri").is_not_null()
    )
    return set(objects) & set(held.get_column("object_uri").to_list())
