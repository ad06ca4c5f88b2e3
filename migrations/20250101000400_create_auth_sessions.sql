-- Sessions: a login of a user; deleted with the user.

-- +migrate Up
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.sessions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES "user".users (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  last_seen_at  timestamptz,
  ip            inet,
  user_agent    text,
  revoked_at    timestamptz
);

CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id);
-- Only live sessions are looked up by expiry.
CREATE INDEX sessions_expires_at_idx ON auth.sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TRIGGER update_sessions_updated_at BEFORE UPDATE ON auth.sessions
  FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- +migrate Down
DROP TABLE IF EXISTS auth.sessions;
DROP SCHEMA IF EXISTS auth;
