-- description: A user's sessions that are neither revoked nor expired (index on sessions.user_id).
-- param: user_id = (SELECT user_id FROM auth.sessions ORDER BY id LIMIT 1)
SELECT id, created_at, last_seen_at, ip, user_agent, expires_at
FROM auth.sessions
WHERE user_id = :'user_id'
  AND revoked_at IS NULL
  AND expires_at > now()
ORDER BY last_seen_at DESC NULLS LAST;
