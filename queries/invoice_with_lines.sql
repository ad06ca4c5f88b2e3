-- description: One invoice by its number with its lines in order (unique number, unique (invoice_id, position)).
-- param: number = (SELECT number FROM billing.invoices ORDER BY id LIMIT 1)
SELECT i.number, i.status, i.issued_at, i.total_cents,
       l.position, l.description, l.quantity, l.unit_price_cents, l.amount_cents
FROM billing.invoices AS i
JOIN billing.invoice_lines AS l ON l.invoice_id = i.id
WHERE i.number = :'number'
ORDER BY l.position;
