-- The first migration, written by `devdb init`: the shared updated_at trigger function, a schema
-- and a table. Change it freely until it is shared; after that, add a new migration with
-- `invoke db.migrate.new add_something` instead of editing this one.

-- +migrate Up
-- +migrate StatementBegin
CREATE OR REPLACE FUNCTION public.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;
-- +migrate StatementEnd

CREATE SCHEMA IF NOT EXISTS catalog;

CREATE TABLE catalog.products (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku          text NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9-]+$'),
  name         text NOT NULL,
  price_cents  bigint NOT NULL CHECK (price_cents >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER update_products_updated_at BEFORE UPDATE ON catalog.products
  FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- +migrate Down
DROP TABLE IF EXISTS catalog.products;
DROP SCHEMA IF EXISTS catalog;
DROP FUNCTION IF EXISTS public.update_updated_at_column();
