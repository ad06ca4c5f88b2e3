-- Built CONCURRENTLY so a busy audit log is never locked against writes: this cannot run in a
-- transaction, so each statement runs on its own.

-- +migrate Up notransaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_occurred_at_idx ON audit.events (occurred_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_actor_id_idx ON audit.events (actor_id);

-- +migrate Down notransaction
DROP INDEX CONCURRENTLY IF EXISTS audit.events_actor_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit.events_occurred_at_idx;
