-- Rates that differ between two snapshots of gold (e.g. before and after a reprocess).
SELECT coalesce(a.rate_date, b.rate_date) AS rate_date,
       coalesce(a.base_currency, b.base_currency) AS base_currency,
       coalesce(a.quote_currency, b.quote_currency) AS quote_currency,
       a.rate AS before, b.rate AS after
FROM (SELECT * FROM gold.fact_rate_at(<old snapshot id>) WHERE is_best) AS a
FULL JOIN (SELECT * FROM gold.fact_rate_at(<new snapshot id>) WHERE is_best) AS b
  USING (rate_date, base_currency, quote_currency)
WHERE a.rate IS DISTINCT FROM b.rate;
