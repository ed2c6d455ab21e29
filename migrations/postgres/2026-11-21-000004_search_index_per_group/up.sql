-- SQLite's full-text index is kept per group there; PostgreSQL searches with its own
-- operators and needs no change. Kept so both folders hold the same migrations.
SELECT 1;
