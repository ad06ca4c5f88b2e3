-- description: One page of the user list by keyset pagination on the primary key (no OFFSET).
-- param: after_id = (SELECT id FROM "user".users ORDER BY id OFFSET 100 LIMIT 1)
-- param: page_size = 50
SELECT id, email, full_name, status, created_at
FROM "user".users
WHERE id > :'after_id'
  AND deleted_at IS NULL
ORDER BY id
LIMIT :page_size;
