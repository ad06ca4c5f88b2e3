-- description: The nightly job marking long-overdue open invoices uncollectible (DML: db.explain rolls it back; the dead row versions a rolled-back UPDATE leaves make the next run's buffer counts drift, hence the wider budget).
-- buffers-budget: +50%
-- param: cutoff = (SELECT coalesce(percentile_disc(0.1) WITHIN GROUP (ORDER BY due_at), now()) FROM billing.invoices WHERE status = 'open')
UPDATE billing.invoices
SET status = 'uncollectible'
WHERE status = 'open'
  AND due_at < :'cutoff'::timestamptz;
