-- Large values (an evaluation's result with its equity curve and trades, a training's result,
-- an optimization's search, a dataset's bars, a model's weights) are compressed when stored.
-- PostgreSQL's default method, pglz, was the database's largest single cost while workers ran
-- short evaluation jobs (a fifth of its CPU time in `perf`): lz4 compresses several times
-- faster. Values already stored keep their method until rewritten; a server built without lz4
-- keeps pglz (the change is skipped, nothing else depends on it).
DO $$
BEGIN
    ALTER TABLE jobs ALTER COLUMN result SET COMPRESSION lz4,
                     ALTER COLUMN payload SET COMPRESSION lz4;
    ALTER TABLE trainings ALTER COLUMN result SET COMPRESSION lz4;
    ALTER TABLE optimization_records ALTER COLUMN search SET COMPRESSION lz4;
    ALTER TABLE dataset_data ALTER COLUMN bars SET COMPRESSION lz4;
    ALTER TABLE artifacts ALTER COLUMN bytes SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available in this server; large values stay compressed with pglz';
END
$$;
