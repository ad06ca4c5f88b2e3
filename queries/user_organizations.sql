-- description: The organizations a user belongs to, with their role (join through memberships.user_id).
-- param: user_id = (SELECT user_id FROM "user".memberships ORDER BY id LIMIT 1)
SELECT o.id, o.name, o.slug, o.plan, m.role
FROM "user".memberships AS m
JOIN "user".organizations AS o ON o.id = m.organization_id
WHERE m.user_id = :'user_id'
  AND o.deleted_at IS NULL
ORDER BY o.name;
