-- Every published number back to the bronze response it came from.
SELECT f.rate_date, f.base_currency, f.quote_currency, f.rate,
       e.source_name, e.extraction_timestamp, e.request_url, e.response_checksum
FROM gold.fact_rate AS f
JOIN bronze.extractions AS e USING (extraction_id)
WHERE f.is_best AND f.base_currency = 'EUR' AND f.quote_currency = 'USD'
ORDER BY f.rate_date DESC
LIMIT 10;
