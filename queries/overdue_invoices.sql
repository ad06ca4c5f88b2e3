-- description: Open invoices past their due date, oldest first (partial index on due_at WHERE status = 'open').
-- param: as_of = (SELECT coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY due_at), now()) FROM billing.invoices WHERE status = 'open')
SELECT i.number, i.due_at, i.total_cents, i.currency, o.name AS organization
FROM billing.invoices AS i
JOIN "user".organizations AS o ON o.id = i.organization_id
WHERE i.status = 'open'
  AND i.due_at < :'as_of'::timestamptz
ORDER BY i.due_at
LIMIT 100;
