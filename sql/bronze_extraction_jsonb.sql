-- The design document's bronze table in PostgreSQL JSONB ("Option 1"), used only by
-- benchmarks/bench_vs_jsonb.py to compare its size with the bronze Iceberg table.
-- gen_random_uuid() is built into PostgreSQL 13+.
CREATE TABLE IF NOT EXISTS bronze_extraction (
    -- Identity
    extraction_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    extraction_timestamp TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- Source tracking
    source_name VARCHAR(100) NOT NULL,
    source_version VARCHAR(50),
    source_tier VARCHAR(50) NOT NULL,

    -- Request metadata
    request_url TEXT NOT NULL,
    request_method VARCHAR(10) DEFAULT 'GET',
    request_headers JSONB,
    request_params JSONB,
    request_body JSONB,

    -- Response metadata
    http_status_code INTEGER NOT NULL,
    response_headers JSONB,
    raw_response JSONB NOT NULL,

    -- Performance tracking
    extraction_duration_ms DOUBLE PRECISION,
    response_size_bytes INTEGER,

    -- Error handling
    error_message TEXT,
    error_code VARCHAR(50),
    retry_attempt INTEGER DEFAULT 0,

    -- Compliance
    data_classification VARCHAR(50) DEFAULT 'internal',
    retention_policy VARCHAR(50) DEFAULT 'keep-5-years',

    -- Infrastructure
    extraction_host VARCHAR(255),
    extraction_user VARCHAR(100),
    pipeline_version VARCHAR(50),

    -- Immutability
    response_checksum VARCHAR(64) NOT NULL,

    -- Lineage
    parent_extraction_id UUID,

    CONSTRAINT check_valid_status CHECK (http_status_code BETWEEN 100 AND 599)
);

CREATE INDEX IF NOT EXISTS idx_bronze_timestamp ON bronze_extraction(extraction_timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_bronze_checksum ON bronze_extraction(response_checksum);
