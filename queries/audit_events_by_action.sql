-- description: How often each organization did one audit action; audit.events.action has NO index on purpose (a sequential scan to look at).
-- param: action = (SELECT action FROM audit.events ORDER BY id LIMIT 1)
SELECT organization_id, count(*) AS events, max(occurred_at) AS last_seen
FROM audit.events
WHERE action = :'action'
GROUP BY organization_id
ORDER BY events DESC
LIMIT 20;
