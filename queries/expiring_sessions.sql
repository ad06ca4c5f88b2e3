-- description: Live sessions expiring in the next hour, for the cleanup job; needs the partial index on expires_at WHERE revoked_at IS NULL.
-- param: horizon = (SELECT min(expires_at) + interval '1 hour' FROM auth.sessions WHERE revoked_at IS NULL)
SELECT id, user_id, expires_at
FROM auth.sessions
WHERE revoked_at IS NULL
  AND expires_at < :'horizon'::timestamptz
ORDER BY expires_at
LIMIT 500;
