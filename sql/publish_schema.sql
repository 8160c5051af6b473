-- Publish schema for the 90-day view Make.com polls. Applied by `makerates publish`
-- on first use; safe to run again. The view itself is created by the first publish.
CREATE SCHEMA IF NOT EXISTS makerates;

-- One row per publish: which gold snapshot and window went into which table.
CREATE TABLE IF NOT EXISTS makerates.publishes (
    publish_id UUID PRIMARY KEY,
    table_name TEXT NOT NULL,
    gold_snapshot_id BIGINT NOT NULL,
    days INTEGER NOT NULL CHECK (days > 0),
    row_count BIGINT NOT NULL,
    first_date DATE,
    last_date DATE,
    published_at TIMESTAMPTZ NOT NULL,
    gold_tag TEXT NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    replaced_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS publishes_one_current
    ON makerates.publishes (is_current) WHERE is_current;
