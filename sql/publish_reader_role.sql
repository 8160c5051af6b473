-- The read-only role Make.com's login role is a member of. Run as a superuser or a
-- role with CREATEROLE, after sql/publish_schema.sql. It can read the view and nothing
-- else: no table of the schema (the view reads them with its owner's rights), no write.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'makerates_reader') THEN
        CREATE ROLE makerates_reader NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA makerates TO makerates_reader;
DO $$
BEGIN
    IF to_regclass('makerates.rates_last_90_days') IS NOT NULL THEN
        GRANT SELECT ON makerates.rates_last_90_days TO makerates_reader;
    END IF;
END
$$;
