"""Click commands for audit and retention; the CLI module registers :data:`commands`.

Every command that reads records runs inside one :class:`AccessLog`, so its access-log
entries are written in one batch when it ends, and a failed write fails the command.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import click
import polars as pl

from makerates_lake.audit.diff import diff_snapshots
from makerates_lake.audit.reading import read_as_of
from makerates_lake.audit.render import render_diff, render_trace
from makerates_lake.audit.retention import purge_bronze
from makerates_lake.audit.trace import trace
from makerates_lake.audit.verify import verify_lake
from makerates_lake.cli.progress import progress_reporter
from makerates_lake.cli.support import lake_from_context, library_errors, limit_option
from makerates_lake.cli.wap import branches_command, checks_command, promote_command
from makerates_lake.store.access_log import AccessLog
from makerates_lake.store.catalog import Lake
from makerates_lake.store.refs import AsOf


def _as_of(value: str | None) -> AsOf | None:
    return AsOf.parse(value) if value else None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


_AS_OF_HELP = "Snapshot id, ISO timestamp (UTC if no zone) or tag (tag:NAME forces a tag)."


@click.group("audit")
def audit_group() -> None:
    """Trace, verify, diff and read any table as of a point in time."""


@audit_group.command("trace")
@click.argument("base")
@click.argument("quote")
@click.option("--date", "rate_date", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--source", default=None, help="Source name; default the best rate.")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--body-chars",
    default=2000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Body characters shown; 0 means the whole body.",
)
@click.option(
    "--full-body", is_flag=True, help="The whole raw body (same as --body-chars 0)."
)
@click.pass_context
@library_errors
def trace_command(
    ctx: click.Context,
    base: str,
    quote: str,
    rate_date: datetime,
    source: str | None,
    as_of: str | None,
    as_json: bool,
    body_chars: int,
    full_body: bool,
) -> None:
    """Trace the rate BASE->QUOTE on --date to the bronze bytes it came from."""
    # 0 is "no limit": an auditor exporting evidence needs every byte, not a preview.
    limit = None if full_body or body_chars == 0 else body_chars
    lake = lake_from_context(ctx)
    with AccessLog(lake):
        result = trace(
            lake, rate_date.date(), base, quote, source=source, as_of=_as_of(as_of)
        )
    if as_json:
        _echo_json(result.to_dict(body_chars=limit))
    else:
        click.echo(render_trace(result, body_chars=limit if limit is None else min(limit, 300)))
    if result.verdict != "ok":
        raise SystemExit(2)


@audit_group.command("verify")
@click.option("--from", "start", type=click.DateTime(), default=None)
@click.option("--to", "end", type=click.DateTime(), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@library_errors
def verify_command(
    ctx: click.Context, start: datetime | None, end: datetime | None, as_json: bool
) -> None:
    """Recompute bronze checksums and check every silver/gold extraction id is in bronze."""
    lake = lake_from_context(ctx)
    with progress_reporter() as on_progress:
        report = verify_lake(lake, _utc(start), _utc(end), on_progress=on_progress)
    offenders = report.offenders()
    if start is None and end is None:
        _remember_verify(lake, report.ok, offenders)
    purged = sorted({o.extraction_id for o in report.purged})
    if as_json:
        _echo_json(
            {
                "ok": report.ok,
                "rows_checked": report.rows_checked,
                "offenders": offenders,
                "purged_extractions": purged,
            }
        )
    else:
        for line in offenders:
            click.echo(line)
        if purged:
            click.echo(
                f"{len(purged)} extraction(s) named by silver or gold were removed from bronze "
                "by a retention purge (see the access log's retention_purged entries): "
                "not a problem"
            )
        checked = ", ".join(f"{t}: {n}" for t, n in report.rows_checked.items())
        click.echo(f"{'OK' if report.ok else 'FAILED'} ({checked} rows checked)")
    if not report.ok:
        raise SystemExit(1)


def _remember_verify(lake: Lake, ok: bool, offenders: list[str]) -> None:
    """A whole-lake verify is what ``makerates status`` shows; a failed one is an alert."""
    from makerates_lake.pipeline.alerts import VERIFY_FAILED, Alert, alerts_from_settings
    from makerates_lake.pipeline.runstate import VerifyRecord, record_verify

    record_verify(lake, VerifyRecord(datetime.now(UTC), ok, len(offenders), tuple(offenders[:5])))
    if not ok:
        alert = Alert(
            VERIFY_FAILED,
            f"verify found {len(offenders)} problems (tampered, missing or orphaned)",
            {f"problem {n + 1}": text for n, text in enumerate(offenders[:5])},
        )
        alerts_from_settings(lake.settings).send_all([alert])


@audit_group.command("disagreements")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Relative difference, e.g. 0.02; default the disagreement_threshold setting.",
)
@click.option(
    "--format", "output", type=click.Choice(["text", "json", "csv"]), default="text",
    show_default=True,
)  # fmt: skip
@click.pass_context
@library_errors
def disagreements_command(
    ctx: click.Context, start: datetime, end: datetime, threshold: float | None, output: str
) -> None:
    """List pairs and dates where two sources' rates differ by more than the threshold,
    with both values and both extraction ids."""
    from makerates_lake.audit.disagreements import disagreements

    if start > end:
        raise click.BadParameter("--from is after --to")
    lake = lake_from_context(ctx)
    with AccessLog(lake):
        found = disagreements(lake, start.date(), end.date(), threshold=threshold)
    rows = [d.as_dict() for d in found]
    if output == "json":
        _echo_json(rows)
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_DISAGREEMENT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        for row in rows:
            click.echo(
                f"{row['rate_date']} {row['base_currency']}/{row['quote_currency']}: "
                f"{row['source_a']} {row['rate_a']} (extraction {row['extraction_id_a']}) vs "
                f"{row['source_b']} {row['rate_b']} (extraction {row['extraction_id_b']}), "
                f"{row['relative_difference']} apart"
            )
        click.echo(f"{len(rows)} disagreements")


_DISAGREEMENT_COLUMNS = [
    "rate_date", "base_currency", "quote_currency", "source_a", "rate_a", "extraction_id_a",
    "source_b", "rate_b", "extraction_id_b", "relative_difference",
]  # fmt: skip


@audit_group.command("diff")
@click.argument("table")
@click.option("--from", "from_", required=True, help=_AS_OF_HELP)
@click.option("--to", "to", default=None, help=f"{_AS_OF_HELP} Default: now.")
@click.option("--key", "keys", multiple=True, help="Key column (repeat); default per table.")
@limit_option(20, "Rows shown per section.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@library_errors
def diff_command(
    ctx: click.Context,
    table: str,
    from_: str,
    to: str | None,
    keys: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """Rows added, removed and changed in TABLE between two snapshots or tags."""
    lake = lake_from_context(ctx)
    with AccessLog(lake):
        result = diff_snapshots(
            lake, table, AsOf.parse(from_), _as_of(to), keys=keys or None
        )
    if as_json:
        _echo_json(
            {
                "table": result.table,
                "from_snapshot": result.from_snapshot,
                "to_snapshot": result.to_snapshot,
                "added": result.added.head(limit).to_dicts(),
                "removed": result.removed.head(limit).to_dicts(),
                "changed": result.changed.head(limit).to_dicts(),
                "counts": {
                    "added": result.added.height,
                    "removed": result.removed.height,
                    "changed": result.changed.height,
                },
            }
        )
    else:
        click.echo(render_diff(result, limit))


@audit_group.command("read")
@click.argument("table")
@click.option("--as-of", "as_of", default=None, help=_AS_OF_HELP)
@limit_option(50)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.pass_context
@library_errors
def read_command(
    ctx: click.Context, table: str, as_of: str | None, limit: int, fmt: str
) -> None:
    """Print TABLE as it was at --as-of (default now). In csv and json, binary columns
    (bronze's raw_response) are base64 text: the exact bytes, which neither format holds."""
    lake = lake_from_context(ctx)
    with AccessLog(lake):
        frame = read_as_of(lake, table, _as_of(as_of)).to_polars()
    shown = frame.head(limit)
    if fmt != "table":
        binary = [name for name, dtype in shown.schema.items() if dtype == pl.Binary]
        shown = shown.with_columns(pl.col(binary).bin.encode("base64"))
    if fmt == "csv":
        click.echo(shown.write_csv(), nl=False)
    elif fmt == "json":
        _echo_json(shown.to_dicts())
    else:
        with pl.Config(tbl_rows=limit, tbl_cols=-1):
            click.echo(shown)


@click.group("retention")
def retention_group() -> None:
    """Bronze retention: the only way rows ever leave bronze."""


@retention_group.command("purge")
@click.option("--extraction-id", "ids", multiple=True, help="Row to remove (repeat).")
@click.option("--before", type=click.DateTime(), default=None, help="Rows extracted earlier.")
@click.option("--reason", required=True, help="Ticket or erasure request id (logged).")
@click.option("--dry-run", is_flag=True)
@click.pass_context
@library_errors
def purge_command(
    ctx: click.Context,
    ids: tuple[str, ...],
    before: datetime | None,
    reason: str,
    dry_run: bool,
) -> None:
    """Remove bronze rows whose retention policy ended; refuses any still retained."""
    lake = lake_from_context(ctx)
    report = purge_bronze(
        lake, reason=reason, extraction_ids=ids, before=_utc(before), dry_run=dry_run
    )
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(report.removed)} bronze rows")
    for eid in report.removed:
        click.echo(f"  {eid}")


# ``makerates maintain`` lives in makerates_lake.maintenance: it runs this module's snapshot
# expiry together with compaction and orphan clean-up.
commands: list[click.Command] = [audit_group, retention_group]


# Write-audit-publish commands live in their own module (cli/wap.py).
for _command in (checks_command, branches_command, promote_command):
    audit_group.add_command(_command)
