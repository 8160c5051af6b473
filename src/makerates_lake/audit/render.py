"""Human-readable text for trace and diff results (pure)."""

from __future__ import annotations

import polars as pl

from makerates_lake.audit.diff import SnapshotDiff
from makerates_lake.audit.lineage import BronzeEvidence
from makerates_lake.audit.provider_context import ProviderContext, is_zip
from makerates_lake.audit.trace import LegTrace, TraceResult


def _shown(text: str) -> str:
    """``text`` with control characters escaped: a stored body may hold terminal escapes."""
    return text if text.isprintable() else repr(text)[1:-1]


def _context(context: ProviderContext | None) -> list[str]:
    if context is None:
        return ["      the rate in the stored bytes: not found"]
    lines = [f"      the rate in the stored bytes: {context.where()}"]
    if context.format == "csv":
        lines += [
            f"        column {_shown(context.field)} (column {context.column_number}), "
            f"cell {_shown(context.value)!r} at byte {context.value_offset}",
            f"        line 1: {_shown(context.header or '')}",
            f"        line {context.line_number}: {_shown(context.fragment)}",
        ]
    else:
        lines += [
            f"        {_shown(context.field)}: {_shown(context.fragment)}",
            f"        value {_shown(context.value)} at byte {context.value_offset}",
        ]
    return lines


def _body(evidence: BronzeEvidence, body_chars: int | None) -> str:
    """The body's first characters, or what it is when it is not text (never its bytes)."""
    body = evidence.raw_response
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        kind = "a zip archive" if is_zip(body) else "binary, not UTF-8"
        return f"      body: {len(body)} bytes, {kind} (not shown)"
    more = " ..." if body_chars is not None and len(text) > body_chars else ""
    return f"      body: {_shown(text[:body_chars])}{more}"


def _leg(leg: LegTrace, body_chars: int | None) -> list[str]:
    lines = [
        f"  {leg.role}: {leg.base_currency}/{leg.quote_currency}  verdict: {leg.verdict}",
        f"    silver: rate {leg.silver['rate']} text {leg.silver['rate_text']!r}"
        if leg.silver
        else "    silver: MISSING",
        f"    provider sent: {leg.provider_text}",
    ]
    if leg.bronze is None:
        gone = "PURGED" if leg.verdict == "purged" else "MISSING"
        lines.append(f"    bronze {leg.extraction_id}: {gone}")
    else:
        row, body = leg.bronze.row, leg.bronze.raw_response
        lines += [
            f"    bronze {leg.extraction_id}",
            f"      extracted {row['extraction_timestamp']} from {row['source_name']} "
            f"({row['request_url']}), HTTP {row['http_status_code']}, {len(body)} bytes",
            f"      checksum stored     {leg.bronze.stored_checksum}",
            f"      checksum recomputed {leg.bronze.recomputed_checksum}",
            *_context(leg.provider_context),
            _body(leg.bronze, body_chars),
        ]
    lines += [f"    ! {problem}" for problem in leg.problems]
    return lines


def render_trace(result: TraceResult, *, body_chars: int | None = 300) -> str:
    """A trace as text for people."""
    fact = result.fact
    lines = [
        f"{result.base_currency}/{result.quote_currency} on {result.rate_date.isoformat()}"
        f" as of {result.as_of or 'now'}: {fact['rate']}  VERDICT: {result.verdict.upper()}",
        f"  gold.fact_rate: source {fact['source_name']} ({fact['source_tier']}), "
        f"{'derived via ' + str(fact['pivot_currency']) if fact['is_derived'] else 'direct'}, "
        f"transform v{fact['transform_version']}",
        "  snapshots: " + ", ".join(f"{table}={sid}" for table, sid in result.snapshots.items()),
    ]
    lines += [f"  ! {problem}" for problem in result.problems]
    for leg in result.legs:
        lines += _leg(leg, body_chars)
    return "\n".join(lines)


def render_diff(result: SnapshotDiff, limit: int) -> str:
    """A diff as text for people."""
    lines = [
        f"{result.table}: snapshot {result.from_snapshot} -> {result.to_snapshot}, "
        f"key ({', '.join(result.keys)})",
        f"{result.added.height} added, {result.removed.height} removed, "
        f"{result.changed.height} changed",
    ]
    with pl.Config(tbl_rows=limit, tbl_cols=-1):
        for title, frame in (
            ("added", result.added),
            ("removed", result.removed),
            ("changed", result.changed),
        ):
            if not frame.is_empty():
                lines += [f"-- {title}", str(frame.head(limit))]
    return "\n".join(lines)
