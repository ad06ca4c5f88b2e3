"""Benchmark: reading a 7 MB migrations folder (parse and split every file), without a server.

    python bench/bench_parse.py [--mb 7] [--rounds 5]

The folder mixes what real folders hold: tables, PL/pgSQL functions in dollar quotes, data
INSERTs with quoted strings, comments, StatementBegin/End blocks. "first run" parses every file
with PostgreSQL's parser (pglast); "unchanged folder" reads the same files again, when the splits
remembered in the state folder are reused. Run it with another checkout on PYTHONPATH to compare
with that version of devdb.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from devdb.migrations.files import load_migrations
from devdb.settings import load_settings

UP = """-- +migrate Up
CREATE TABLE item_{i:05d} (
  id bigserial PRIMARY KEY,
  name text NOT NULL DEFAULT 'unnamed; really',
  note text
);
-- +migrate StatementBegin
CREATE FUNCTION item_{i:05d}_touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  -- keep the name tidy; strip spaces
  NEW.name := trim(NEW.name);
  RETURN NEW;
END;
$body$;
-- +migrate StatementEnd
CREATE FUNCTION item_{i:05d}_label(n int) RETURNS text LANGUAGE sql AS $$ SELECT 'n=' || n; $$;
"""
ROW = "INSERT INTO item_{i:05d} (name, note) VALUES ('row {r}', E'it''s; \\\\ fine {r}');\n"
DOWN = "-- +migrate Down\nDROP TABLE item_{i:05d};\nDROP FUNCTION item_{i:05d}_touch();\n"


def write_folder(folder: Path, megabytes: float) -> int:
    folder.mkdir(parents=True)
    size, i = 0, 0
    while size < megabytes * 1_000_000:
        text = UP.format(i=i) + "".join(ROW.format(i=i, r=r) for r in range(120)) + DOWN.format(i=i)
        (folder / f"2025{i // 3600:06d}{i % 3600:04d}_item_{i:05d}.sql").write_text(text)
        size += len(text)
        i += 1
    return size


def timed_load(root: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVDB_")}
    settings = load_settings(root=root, environ=env)
    started = time.perf_counter()
    migrations = load_migrations(settings)
    took = time.perf_counter() - started
    return took, sum(len(m.up.statements) for m in migrations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--mb", type=float, default=7.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devdb-bench-") as tmp:
        root = Path(tmp)
        size = write_folder(root / "migrations", args.mb)
        first, warm = [], []
        for _ in range(args.rounds):
            shutil.rmtree(root / ".devdb", ignore_errors=True)
            took, statements = timed_load(root)
            first.append(took)
            warm.append(timed_load(root)[0])
        print(f"folder: {size / 1e6:.1f} MB, {statements} Up statements (rounds: {args.rounds})")
        print(f"{'first run':<18} {statistics.median(first):>7.3f} s (median)")
        print(f"{'unchanged folder':<18} {statistics.median(warm):>7.3f} s (median)")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
