-- The best rate of every pair on the latest date in gold.
SELECT rate_date, base_currency, quote_currency, rate, source_name, is_derived
FROM gold.fact_rate
WHERE is_best AND rate_date = (SELECT max(rate_date) FROM gold.fact_rate)
ORDER BY base_currency, quote_currency;
