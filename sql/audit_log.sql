-- Audit log: who accessed what, when (design document, B2 "Compliance").
-- The library creates this table itself (makerates_lake.audit.pg_log) when publish_dsn is set;
-- this file is the same DDL for a DBA to review or apply by hand.
--
-- Differences from the design document, and why:
--   * record_id keeps the design's single UUID (set when a read returned exactly one record);
--     record_ids holds every key a read returned, because one read is one entry.
--   * host and process_id say which machine and process read, beside ip_address.
--   * accessed_at replaces "timestamp", a reserved word in SQL.
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id UUID PRIMARY KEY,
    user_id VARCHAR(100) NOT NULL,
    action VARCHAR(50) NOT NULL,
    table_name VARCHAR(100),
    record_id UUID,
    record_ids TEXT[] NOT NULL DEFAULT '{}',
    accessed_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    host TEXT,
    ip_address INET,
    process_id BIGINT,
    query_text TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_accessed_at ON audit_log (accessed_at);
CREATE INDEX IF NOT EXISTS audit_log_user_id ON audit_log (user_id, accessed_at);
