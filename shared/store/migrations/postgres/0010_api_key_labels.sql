-- Key rotation. An account may hold several keys (at most 20 active), each with an optional
-- label naming where it is used ("ci", "laptop"), so its owner can tell which one to revoke.
-- Keys made before this migration have none.
ALTER TABLE api_keys ADD COLUMN label TEXT;
