-- A plain SQL seed: a known login for demos (demo@example.com, owner of the first organization).
-- SQL seeds run after the Python seeds, in file-name order, in the same transaction, and again
-- whenever a seed before them ran: write them idempotent (ON CONFLICT ... DO UPDATE ... WHERE
-- ... IS DISTINCT FROM, so an unchanged row is not rewritten). Fixed ids here are version-4
-- uuids, so the Python seeds never prune these rows.

INSERT INTO "user".users AS u (id, email, full_name, city, status, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-00000000de70', 'demo@example.com', 'Demo User', 'Berlin',
        'active', '2024-01-01 09:00:00+00', '2024-01-01 09:00:00+00')
ON CONFLICT (id) DO UPDATE
SET email = EXCLUDED.email, full_name = EXCLUDED.full_name, city = EXCLUDED.city,
    status = EXCLUDED.status, deleted_at = NULL
WHERE (u.email, u.full_name, u.city, u.status, u.deleted_at)
      IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.full_name, EXCLUDED.city, EXCLUDED.status, NULL);

INSERT INTO "user".memberships AS m (id, organization_id, user_id, role, created_at, updated_at)
SELECT '00000000-0000-4000-8000-00000000de71', o.id, '00000000-0000-4000-8000-00000000de70',
       'owner', '2024-01-01 09:00:00+00', '2024-01-01 09:00:00+00'
FROM "user".organizations o
ORDER BY o.slug
LIMIT 1
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, role = EXCLUDED.role
WHERE (m.organization_id, m.role) IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.role);
