"""Per-column Parquet layouts of the tables whose files our writer writes
(:class:`~makerates_lake.store.specs.ParquetLayout`; the tables are in
:mod:`makerates_lake.store.tables`)."""

from __future__ import annotations

from typing import Final

from makerates_lake.store.specs import ParquetLayout

# A third of bronze's bytes are ids and checksums, which zstd alone barely shrinks. The
# checksums (random hex) are stored with their lengths apart from the characters; the
# ids (version 7 UUIDs, time-ordered: see bronze.record.new_extraction_id) with the
# prefix each shares with the previous one stored once; timestamps and sizes as deltas.
# Min/max of raw_response (whole bodies, in the footer and every page header) prune
# nothing. Arrow's schema copy in the footer repeats what Parquet's schema already says.
# The bytes each choice saves are in benchmarks/README.md (bench_vs_jsonb).
BRONZE_PARQUET_LAYOUT: Final = ParquetLayout(
    encodings={
        "extraction_id": "DELTA_BYTE_ARRAY",
        "response_checksum": "DELTA_LENGTH_BYTE_ARRAY",
        "extraction_timestamp": "DELTA_BINARY_PACKED",
        "response_size_bytes": "DELTA_BINARY_PACKED",
        "request_url": "DELTA_BYTE_ARRAY",
        "raw_response": "PLAIN",
    },
    without_statistics=frozenset({"raw_response"}),
    arrow_schema=False,
)

# A rate and its text are new on nearly every row: dictionary-encoding their first page
# until the 8 KB limit only to fall back to plain (above) costs bytes and time, and
# their min/max, over every currency of a year, prune nothing. Plain and without
# statistics, silver's files are about a fifth smaller and written faster.
RATE_COLUMNS_LAYOUT: Final = ParquetLayout(
    encodings={"rate": "PLAIN", "rate_text": "PLAIN"},
    without_statistics=frozenset({"rate", "rate_text"}),
)

# Silver's other columns hold a few values per row group (one source, base, date, shape):
# their pages are a few dozen bytes, which zstd does not shrink, while Arrow sets up a
# zstd context for every page it compresses. Uncompressed, a month of rates is written
# with about an eighth less CPU for 1.6% more bytes (benchmarks/README.md, session 11).
SILVER_FEW_VALUED: Final = ("source_name", "source_version", "source_tier", "base_currency",
                            "rate_date", "schema_version", "transform_version", "is_jump",
                            "is_stale")  # fmt: skip
SILVER_RATES_LAYOUT: Final = ParquetLayout(
    encodings=RATE_COLUMNS_LAYOUT.encodings,
    without_statistics=RATE_COLUMNS_LAYOUT.without_statistics,
    uncompressed=frozenset(SILVER_FEW_VALUED),
)
