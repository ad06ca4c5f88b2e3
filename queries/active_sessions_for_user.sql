-- description: A user's sessions that are neither revoked nor expired at a point in time (index on sessions.user_id).
-- param: as_of = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY expires_at) FROM auth.sessions)
-- param: user_id = (SELECT user_id FROM auth.sessions WHERE revoked_at IS NULL AND expires_at > (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY expires_at) FROM auth.sessions) ORDER BY id LIMIT 1)
SELECT id, created_at, last_seen_at, ip, user_agent, expires_at
FROM auth.sessions
WHERE user_id = :'user_id'
  AND revoked_at IS NULL
  AND expires_at > :'as_of'::timestamptz
ORDER BY last_seen_at DESC NULLS LAST;
