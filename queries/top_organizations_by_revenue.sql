-- description: The ten organizations with the most invoiced line amounts (three-table join, aggregate, top-N).
-- buffers-budget: +30%
SELECT o.name, o.plan, count(DISTINCT i.id) AS invoices, sum(l.amount_cents) AS billed_cents
FROM "user".organizations AS o
JOIN billing.invoices AS i ON i.organization_id = o.id
JOIN billing.invoice_lines AS l ON l.invoice_id = i.id
WHERE i.status <> 'void'
GROUP BY o.id, o.name, o.plan
ORDER BY billed_cents DESC
LIMIT 10;
