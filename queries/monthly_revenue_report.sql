-- description: Report: paid revenue per month, currency and plan over all invoices (aggregate over a join).
-- buffers-budget: +30%
SELECT date_trunc('month', i.paid_at) AS month,
       i.currency,
       o.plan,
       count(*) AS invoices,
       sum(i.total_cents) AS revenue_cents,
       round(avg(i.total_cents)) AS average_cents
FROM billing.invoices AS i
JOIN "user".organizations AS o ON o.id = i.organization_id
WHERE i.status = 'paid'
  AND i.deleted_at IS NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
