-- Snapshot ids, commit times and tags of gold.fact_rate: pick an id for fact_rate_at(...).
SELECT snapshot_id, committed_at, operation, is_current, refs
FROM makerates.snapshots
WHERE table_name = 'gold.fact_rate'
ORDER BY committed_at DESC;
