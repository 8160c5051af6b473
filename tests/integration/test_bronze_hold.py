"""Legal holds on bronze (an audit freeze) through the MinIO SDK, checked on SeaweedFS
with a second, independent client (boto3)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from makerates_lake.bronze import BronzeWriter
from makerates_lake.bronze import hold as hold_module
from makerates_lake.bronze.hold import active_holds
from makerates_lake.cli import main
from makerates_lake.errors import BronzeError
from makerates_lake.store.catalog import Lake
from makerates_lake.store.worm import split_s3_uri
from tests.integration.bronze_helpers import make_record
from tests.integration.reliability_helpers import settings_env
from tests.s3_tools import boto3_client

pytestmark = pytest.mark.integration

JAN, MAR = datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 3, 15, 12, tzinfo=UTC)


def _status(lake: Lake) -> dict[date, str]:
    """Legal hold status of each live bronze data file, by the extraction day it holds."""
    client = boto3_client(lake.settings)
    found: dict[date, str] = {}
    for task in lake.bronze().scan().plan_files():
        bucket, key = split_s3_uri(task.file.file_path)
        hold: str
        try:
            hold = client.get_object_legal_hold(Bucket=bucket, Key=key)["LegalHold"]["Status"]
        except client.exceptions.ClientError as exc:
            # Never held: the server has no legal hold configuration for the object.
            hold = "OFF" if "NoSuchObjectLegalHold" in str(exc) else str(exc)
        day = date(1970, 1, 1) + timedelta(days=task.file.partition[0])  # day transform
        found[day] = hold
    return found


def _hold(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, ["bronze", "hold", *args], env=env)
    assert result.exit_code == 0, result.output
    match = re.fullmatch(
        r"legal hold (hold-\d{8}-[0-9a-f]{8}) on (\d+) bronze data files", result.output.strip()
    )
    assert match, result.output
    return match.group(1)


def test_hold_and_release_a_window_of_bronze(pg_s3_lake: Lake) -> None:
    """``bronze hold --from --to --reason`` holds exactly the files of that window under a
    registered id; ``release <id>`` lifts it; the files outside it are never touched."""
    writer = BronzeWriter(pg_s3_lake)
    writer.append([make_record(1, extraction_timestamp=JAN)])
    writer.append([make_record(2, extraction_timestamp=MAR)])
    env = settings_env(pg_s3_lake.settings)
    window = ["--from", "2026-03-01", "--to", "2026-04-01"]

    hold_id = _hold(env, *window, "--reason", "TICKET-7 March audit")
    assert _status(pg_s3_lake) == {JAN.date(): "OFF", MAR.date(): "ON"}
    (listed,) = active_holds(pg_s3_lake).to_dicts()
    assert (listed["hold_id"], listed["reason"], listed["objects"]) == (
        hold_id, "TICKET-7 March audit", 1,
    )  # fmt: skip

    released = CliRunner().invoke(main, ["bronze", "release", hold_id], env=env)
    assert released.exit_code == 0, released.output
    assert released.output.strip() == f"legal hold {hold_id} lifted from 1 bronze data files"
    assert _status(pg_s3_lake) == {JAN.date(): "OFF", MAR.date(): "OFF"}
    assert active_holds(pg_s3_lake).is_empty()
    again = CliRunner().invoke(main, ["bronze", "release", "hold-20260101-00000000"], env=env)
    assert again.exit_code == 1
    assert "no legal hold with this id" in again.output


def test_releasing_one_of_two_overlapping_holds_keeps_the_other(pg_s3_lake: Lake) -> None:
    """Two investigations, January-March and March only: releasing the wide one lifts
    January but March stays held for the other; releasing that one lifts March too."""
    writer = BronzeWriter(pg_s3_lake)
    writer.append([make_record(1, extraction_timestamp=JAN)])
    writer.append([make_record(2, extraction_timestamp=MAR)])
    env = settings_env(pg_s3_lake.settings)
    wide = _hold(env, "--from", "2026-01-01", "--to", "2026-04-01", "--reason", "A")
    narrow = _hold(env, "--from", "2026-03-01", "--to", "2026-04-01", "--reason", "B")
    assert _status(pg_s3_lake) == {JAN.date(): "ON", MAR.date(): "ON"}

    released = CliRunner().invoke(main, ["bronze", "release", wide], env=env)
    assert released.exit_code == 0, released.output
    assert released.output.strip() == (
        f"legal hold {wide} lifted from 1 bronze data files (1 stay held by other holds)"
    )
    assert _status(pg_s3_lake) == {JAN.date(): "OFF", MAR.date(): "ON"}
    listed = CliRunner().invoke(main, ["bronze", "holds"], env=env)
    assert narrow in listed.output
    assert wide not in listed.output

    assert CliRunner().invoke(main, ["bronze", "release", narrow], env=env).exit_code == 0
    assert _status(pg_s3_lake) == {JAN.date(): "OFF", MAR.date(): "OFF"}


def test_a_hold_placed_while_a_release_lifts_stays_on(
    pg_s3_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release reads the register, then a new hold on the same files is placed and
    registered, then the release lifts what it read as its own: the release sees the
    new hold when it checks again and puts its files back on hold."""
    writer = BronzeWriter(pg_s3_lake)
    writer.append([make_record(1, extraction_timestamp=MAR)])
    old = hold_module.hold_bronze(pg_s3_lake, reason="old investigation").hold_id
    set_flags = hold_module._set
    late: list[str] = []

    def new_hold_before_the_lift(lake: Lake, objects: list[str], *, on: bool) -> list[str]:
        if not on and not late:
            late.append(hold_module.hold_bronze(lake, reason="new investigation").hold_id)
        return set_flags(lake, objects, on=on)

    monkeypatch.setattr(hold_module, "_set", new_hold_before_the_lift)
    result = hold_module.release_hold(pg_s3_lake, old)
    assert _status(pg_s3_lake) == {MAR.date(): "ON"}, "the new hold's file was left lifted"
    assert result.objects == ()
    assert len(result.kept) == 1
    assert active_holds(pg_s3_lake).get_column("hold_id").to_list() == late


def test_a_release_lifting_between_a_holds_flags_and_its_register_is_undone(
    pg_s3_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new hold sets its flags, then a release that read the register before the new
    hold was in it lifts the same files, then the hold registers: the hold sets its
    flags again after registering, so its files end held."""
    writer = BronzeWriter(pg_s3_lake)
    writer.append([make_record(1, extraction_timestamp=MAR)])
    old = hold_module.hold_bronze(pg_s3_lake, reason="old investigation").hold_id
    register = hold_module._register
    released: list[str] = []

    def release_before_registering(lake: Lake, rows: list[dict[str, object]]) -> None:
        if not released and rows[0]["event"] == hold_module.HOLD:
            # The release runs as if it had read the register before this hold.
            released.append(old)
            monkeypatch.setattr(hold_module, "_register", register)
            hold_module.release_hold(lake, old)
        register(lake, rows)

    monkeypatch.setattr(hold_module, "_register", release_before_registering)
    new = hold_module.hold_bronze(pg_s3_lake, reason="new investigation").hold_id
    assert released == [old]
    assert _status(pg_s3_lake) == {MAR.date(): "ON"}, "the released file stayed lifted"
    assert active_holds(pg_s3_lake).get_column("hold_id").to_list() == [new]


def test_a_release_whose_repair_failed_is_repaired_by_running_it_again(
    pg_s3_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release lifted a file a newer hold covers and could not put it back: the error
    says to run the release again, and that run puts the file back on hold."""
    BronzeWriter(pg_s3_lake).append([make_record(1, extraction_timestamp=MAR)])
    old = hold_module.hold_bronze(pg_s3_lake, reason="old investigation").hold_id
    set_flags = hold_module._set
    late: list[str] = []

    def new_hold_then_refused_repair(lake: Lake, objects: list[str], *, on: bool) -> list[str]:
        if not on and not late:
            late.append(hold_module.hold_bronze(lake, reason="new investigation").hold_id)
        elif on and late:
            raise hold_module._PartialError([], objects, True, RuntimeError("refused"))
        return set_flags(lake, objects, on=on)

    monkeypatch.setattr(hold_module, "_set", new_hold_then_refused_repair)
    with pytest.raises(BronzeError, match="run the same release again"):
        hold_module.release_hold(pg_s3_lake, old)
    assert _status(pg_s3_lake) == {MAR.date(): "OFF"}
    monkeypatch.setattr(hold_module, "_set", set_flags)

    hold_module.release_hold(pg_s3_lake, old)
    assert _status(pg_s3_lake) == {MAR.date(): "ON"}
    assert active_holds(pg_s3_lake).get_column("hold_id").to_list() == late


def test_a_hold_that_failed_partway_sets_what_it_registered_again(
    pg_s3_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new hold sets one of its two files, the server refuses the other, and a release
    that read the register before the new hold lifts both: the file the new hold
    registered ends held, the other does not (it is in no active hold)."""
    writer = BronzeWriter(pg_s3_lake)
    writer.append([make_record(1, extraction_timestamp=JAN)])
    writer.append([make_record(2, extraction_timestamp=MAR)])
    old = hold_module.hold_bronze(pg_s3_lake, reason="old investigation").hold_id
    set_flags, register = hold_module._set, hold_module._register

    def one_of_two(lake: Lake, objects: list[str], *, on: bool) -> list[str]:
        if on and len(objects) == 2:
            done = set_flags(lake, objects[:1], on=True)
            raise hold_module._PartialError(done, objects, True, RuntimeError("refused"))
        return set_flags(lake, objects, on=on)

    def release_before_registering(lake: Lake, rows: list[dict[str, object]]) -> None:
        if rows[0]["event"] == hold_module.HOLD:
            monkeypatch.setattr(hold_module, "_register", register)
            hold_module.release_hold(lake, old)
        register(lake, rows)

    monkeypatch.setattr(hold_module, "_set", one_of_two)
    monkeypatch.setattr(hold_module, "_register", release_before_registering)
    with pytest.raises(BronzeError, match="could not be put on every file"):
        hold_module.hold_bronze(pg_s3_lake, reason="new investigation")
    assert sorted(_status(pg_s3_lake).values()) == ["OFF", "ON"]
    assert active_holds(pg_s3_lake).get_column("objects").to_list() == [1]


def test_a_hold_whose_second_setting_fails_says_it_is_registered(
    pg_s3_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting the flags again after registering fails: the error says the hold is
    registered (not that it could not be put on), so nobody places it twice."""
    BronzeWriter(pg_s3_lake).append([make_record(1, extraction_timestamp=MAR)])
    set_flags = hold_module._set
    calls: list[bool] = []

    def second_refused(lake: Lake, objects: list[str], *, on: bool) -> list[str]:
        calls.append(on)
        if len(calls) == 2:
            raise hold_module._PartialError([], objects, True, RuntimeError("timeout"))
        return set_flags(lake, objects, on=on)

    monkeypatch.setattr(hold_module, "_set", second_refused)
    with pytest.raises(BronzeError, match="registered with every object"):
        hold_module.hold_bronze(pg_s3_lake, reason="investigation")
    assert active_holds(pg_s3_lake).get_column("objects").to_list() == [1]


def test_a_hold_needs_a_reason(pg_s3_lake: Lake) -> None:
    """No --reason: a usage error before anything is held."""
    BronzeWriter(pg_s3_lake).append([make_record(1, extraction_timestamp=MAR)])
    result = CliRunner().invoke(main, ["bronze", "hold"], env=settings_env(pg_s3_lake.settings))
    assert result.exit_code == 2
    assert "--reason" in result.output
    assert _status(pg_s3_lake) == {MAR.date(): "OFF"}


def test_hold_without_object_lock_is_a_clear_error(embedded_lake: Lake) -> None:
    """On local files there is nothing to hold: a BronzeError and exit 1, not a no-op."""
    BronzeWriter(embedded_lake).append([make_record()])
    env = settings_env(embedded_lake.settings)
    result = CliRunner().invoke(main, ["bronze", "hold", "--reason", "x"], env=env)
    assert result.exit_code == 1
    assert "BronzeError: legal holds need bronze in an S3 bucket with Object Lock" in result.output


def test_init_says_whether_bronze_is_worm(pg_s3_lake: Lake, embedded_lake: Lake) -> None:
    """``makerates init`` states the WORM status: on in an Object Lock bucket, off on files."""
    for lake, expected in ((pg_s3_lake, "WORM:      on"), (embedded_lake, "WORM:      off")):
        result = CliRunner().invoke(main, ["init"], env=settings_env(lake.settings))
        assert result.exit_code == 0, result.output
        assert expected in result.output


@pytest.mark.parametrize(
    ("window", "code", "message"),
    [
        (["--from", "2027-01-01", "--to", "2026-01-01"], 2, "the window to hold is empty"),
        (["--from", "2026-03-01", "--to", "2026-03-01"], 2, "the window to hold is empty"),
        (["--from", "2025-01-01", "--to", "2025-02-01"], 1, "BronzeError: no bronze data file"),
    ],
)
def test_a_hold_on_nothing_is_refused_and_registers_nothing(
    pg_s3_lake: Lake, window: list[str], code: int, message: str
) -> None:
    """A reversed or empty window (a usage error), or one no file holds rows of, is
    refused: no hold is registered and no file is held (a hold 'on 0 files' read as one
    in force)."""
    BronzeWriter(pg_s3_lake).append([make_record(1, extraction_timestamp=MAR)])
    env = settings_env(pg_s3_lake.settings)
    result = CliRunner().invoke(main, ["bronze", "hold", *window, "--reason", "x"], env=env)
    assert result.exit_code == code
    assert message in result.output
    assert active_holds(pg_s3_lake).height == 0
    assert _status(pg_s3_lake) == {MAR.date(): "OFF"}
