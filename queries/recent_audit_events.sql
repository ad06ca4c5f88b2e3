-- description: The latest audit events of one actor (index on actor_id), newest first.
-- param: actor_id = (SELECT actor_id FROM audit.events WHERE actor_id IS NOT NULL ORDER BY id LIMIT 1)
SELECT e.occurred_at, e.action, e.target_type, e.target_id, u.full_name AS actor
FROM audit.events AS e
JOIN "user".users AS u ON u.id = e.actor_id
WHERE e.actor_id = :'actor_id'
ORDER BY e.occurred_at DESC
LIMIT 50;
