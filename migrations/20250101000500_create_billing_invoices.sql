-- Invoices: one per organization and period; total_cents is the sum of its lines.

-- +migrate Up
CREATE SCHEMA IF NOT EXISTS billing;

CREATE TABLE billing.invoices (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES "user".organizations (id),
  number           text NOT NULL UNIQUE,
  status           text NOT NULL
                   CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
  currency         text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  issued_at        timestamptz NOT NULL,
  due_at           timestamptz NOT NULL,
  paid_at          timestamptz,
  total_cents      bigint NOT NULL CHECK (total_cents >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz
);

CREATE INDEX invoices_organization_id_idx ON billing.invoices (organization_id);
-- Dunning looks only at open invoices.
CREATE INDEX invoices_open_due_at_idx ON billing.invoices (due_at) WHERE status = 'open';

CREATE TRIGGER update_invoices_updated_at BEFORE UPDATE ON billing.invoices
  FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- +migrate Down
DROP TABLE IF EXISTS billing.invoices;
DROP SCHEMA IF EXISTS billing;
