-- Invoice lines: amount_cents = quantity * unit_price_cents; deleted with their invoice.

-- +migrate Up
CREATE TABLE billing.invoice_lines (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  invoice_id        uuid NOT NULL REFERENCES billing.invoices (id) ON DELETE CASCADE,
  position          int NOT NULL,
  description       text NOT NULL,
  quantity          int NOT NULL CHECK (quantity > 0),
  unit_price_cents  bigint NOT NULL CHECK (unit_price_cents >= 0),
  amount_cents      bigint NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (amount_cents = quantity * unit_price_cents),
  -- also the index for the invoice_id foreign key
  UNIQUE (invoice_id, position)
);

CREATE TRIGGER update_invoice_lines_updated_at BEFORE UPDATE ON billing.invoice_lines
  FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- +migrate Down
DROP TABLE IF EXISTS billing.invoice_lines;
