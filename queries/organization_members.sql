-- description: The members of an organization, owners first (unique (organization_id, user_id) index, join to users).
-- param: organization_id = (SELECT organization_id FROM "user".memberships GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
SELECT u.id, u.full_name, u.email, m.role, m.created_at AS member_since
FROM "user".memberships AS m
JOIN "user".users AS u ON u.id = m.user_id
WHERE m.organization_id = :'organization_id'
  AND u.deleted_at IS NULL
ORDER BY m.role = 'owner' DESC, u.full_name;
