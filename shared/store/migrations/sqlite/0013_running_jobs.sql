-- A claim weighs each waiting job by how many jobs of its kind its owner has running: counted
-- from the running rows only (a handful), never by walking every row of the kind, which grew
-- with the table (a claim took 50-400 ms with 10,000 no-op jobs in it).
CREATE INDEX jobs_running_per_owner ON jobs (kind, owner_id) WHERE status = 'running';
