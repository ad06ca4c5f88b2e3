-- description: An organization by its slug, as every org-scoped URL resolves it (unique key).
-- param: slug = (SELECT slug FROM "user".organizations ORDER BY id LIMIT 1)
SELECT id, name, slug, plan, created_at
FROM "user".organizations
WHERE slug = :'slug'
  AND deleted_at IS NULL;
