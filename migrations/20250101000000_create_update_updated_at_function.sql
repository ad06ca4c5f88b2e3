-- The shared trigger function every table with an updated_at column uses.

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

-- +migrate Down
DROP FUNCTION IF EXISTS public.update_updated_at_column();
