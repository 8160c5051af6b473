-- One statement over both systems: the PostgreSQL view Make.com reads, checked against
-- the gold snapshot it says it came from (replace <snapshot id> with
-- `SELECT DISTINCT gold_snapshot_id FROM pg.makerates.rates_last_90_days`).
SELECT p.rate_date, p.base_currency, p.quote_currency, p.rate AS published, g.rate AS gold
FROM pg.makerates.rates_last_90_days AS p
LEFT JOIN gold.fact_rate_at(<snapshot id>) AS g
  ON g.is_best AND g.rate_date = p.rate_date
 AND g.base_currency = p.base_currency AND g.quote_currency = p.quote_currency
WHERE g.rate IS DISTINCT FROM p.rate;
