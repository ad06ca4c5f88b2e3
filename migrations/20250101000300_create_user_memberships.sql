-- Memberships: which user belongs to which organization, with what role.

-- +migrate Up
CREATE TABLE "user".memberships (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES "user".organizations (id),
  user_id          uuid NOT NULL REFERENCES "user".users (id),
  role             text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'billing')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, user_id)
);

-- organization_id is covered by the unique index above; user_id needs its own.
CREATE INDEX memberships_user_id_idx ON "user".memberships (user_id);

CREATE TRIGGER update_memberships_updated_at BEFORE UPDATE ON "user".memberships
  FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- +migrate Down
DROP TABLE IF EXISTS "user".memberships;
