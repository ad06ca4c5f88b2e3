-- description: Look up a user by email, case-insensitively, as the login form does (unique index on lower(email)).
-- param: email = (SELECT upper(email) FROM "user".users WHERE deleted_at IS NULL ORDER BY id LIMIT 1)
SELECT id, email, full_name, status
FROM "user".users
WHERE lower(email) = lower(:'email')
  AND deleted_at IS NULL;
