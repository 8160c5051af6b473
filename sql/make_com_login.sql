-- Make.com's own login role, a member of makerates_reader. Run with psql as a superuser
-- (or a role with CREATEROLE) after sql/publish_reader_role.sql, passing the password as
-- a variable so it never lands in a file or the shell history:
--   psql "$ADMIN_DSN" -v make_com_password="$(cat /run/secrets/make_com_pw)" -f sql/make_com_login.sql
CREATE ROLE make_com LOGIN PASSWORD :'make_com_password' IN ROLE makerates_reader;
-- Belt and braces: even a mistaken grant cannot turn this login into a writer.
ALTER ROLE make_com SET default_transaction_read_only = on;
ALTER ROLE make_com SET statement_timeout = '30s';
ALTER ROLE make_com CONNECTION LIMIT 5;
