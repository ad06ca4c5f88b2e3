-- Organizations: the tenants of the SaaS (soft-deleted, never removed).

-- +migrate Up
CREATE SCHEMA IF NOT EXISTS "user";

CREATE TABLE "user".organizations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]+$'),
  plan        text NOT NULL CHECK (plan IN ('free', 'team', 'enterprise')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);

CREATE TRIGGER update_organizations_updated_at BEFORE UPDATE ON "user".organizations
  FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- +migrate Down
DROP TABLE IF EXISTS "user".organizations;
DROP SCHEMA IF EXISTS "user";
