"""Seeds against a real server: determinism, idempotence, atomicity, the ledger, profiles, SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devdb.conninfo import ConnInfo, parse_url
from devdb.database import ADMIN_DB, connect, create_database, drop_database
from devdb.errors import SeedError
from devdb.migrations import migrate
from devdb.seeds import seed, status
from devdb.settings import Settings
from tests.conftest import make_project

TABLES = (
    "user.organizations",
    "user.users",
    "user.memberships",
    "auth.sessions",
    "billing.invoices",
    "billing.invoice_lines",
    "audit.events",
)


def conninfo_of(settings: Settings) -> ConnInfo:
    assert settings.database_url
    return parse_url(settings.database_url)


def quoted(table: str) -> str:
    schema, name = table.split(".")
    return f'"{schema}"."{name}"'


def digests(info: ConnInfo, tables: tuple[str, ...] = TABLES) -> dict[str, str]:
    """md5 of every row (as text), in id order, per table."""
    out = {}
    with connect(info, autocommit=True) as conn:
        for t in tables:
            row = conn.execute(
                "SELECT count(*) || ':' || "
                "md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), ''))"
                f" FROM {quoted(t)} x"
            ).fetchone()
            assert row
            out[t] = row[0]
    return out


def counts(info: ConnInfo, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    with connect(info, autocommit=True) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {quoted(t)}").fetchone()[0] for t in tables}  # type: ignore[index]


def ledger(info: ConnInfo) -> list[tuple[Any, ...]]:
    with connect(info, autocommit=True) as conn:
        return conn.execute("SELECT * FROM devdb.seed_ledger ORDER BY seed").fetchall()


def run_sql(info: ConnInfo, statement: str) -> None:
    with connect(info, autocommit=True) as conn:
        conn.execute(statement.encode())


@pytest.fixture
def demo(project_on_server: Settings) -> tuple[Settings, ConnInfo]:
    """The demo project, migrated (not seeded)."""
    info = conninfo_of(project_on_server)
    migrate(project_on_server, info)
    return project_on_server, info


@pytest.fixture
def other_demo(
    tmp_path: Path, server_conninfo: ConnInfo, native_server: Any
) -> Iterator[tuple[Settings, ConnInfo]]:
    """A second, independent copy of the demo project on its own fresh database."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with connect(server_conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        create_database(conn, name)
    info = server_conninfo.for_database(name)
    settings = make_project(
        tmp_path / "other",
        with_demo=True,
        backend="external",
        database_url=info.url(show_password=True),
        database=name,
    )
    migrate(settings, info)
    yield settings, info
    with connect(server_conninfo.for_database(ADMIN_DB), autocommit=True) as conn:
        drop_database(conn, name)


def by_name(report: Any) -> dict[str, Any]:
    return {s.name: s for s in report.seeds}


# --- profiles, scale, content ----------------------------------------------------------------


def test_test_profile_loads_every_table_with_fixed_counts(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    report = seed(settings, info, profile="test")
    assert {s.status for s in report.seeds} == {"loaded"}
    n = counts(info)
    # the .sql seed adds one demo user and one membership to the Python seeds' rows
    assert (n["user.organizations"], n["user.users"], n["user.memberships"]) == (3, 7, 9)
    assert (n["auth.sessions"], n["billing.invoices"], n["audit.events"]) == (8, 4, 10)
    assert 4 <= n["billing.invoice_lines"] <= 20
    with connect(info, autocommit=True) as conn:
        mismatched = conn.execute(
            "SELECT count(*) FROM billing.invoices i WHERE total_cents <> "
            "(SELECT coalesce(sum(amount_cents), 0) FROM billing.invoice_lines l "
            " WHERE l.invoice_id = i.id)"
        ).fetchone()
        assert mismatched == (0,)
        bad_sessions = conn.execute(
            'SELECT count(*) FROM auth.sessions s JOIN "user".users u ON u.id = s.user_id '
            "WHERE s.created_at < u.created_at OR s.expires_at <= s.created_at "
            "OR s.last_seen_at < s.created_at"
        ).fetchone()
        assert bad_sessions == (0,)
        demo_user = conn.execute(
            "SELECT full_name FROM \"user\".users WHERE email = 'demo@example.com'"
        ).fetchone()
        assert demo_user == ("Demo User",)
        # identity ids were set explicitly: the sequence continues after them
        conn.execute("INSERT INTO audit.events (action, occurred_at) VALUES ('x', now())")
        assert conn.execute("SELECT max(id) FROM audit.events").fetchone() == (11,)


def test_scale_multiplies_counts_and_scaling_down_prunes(
    demo: tuple[Settings, ConnInfo],
) -> None:
    settings, info = demo
    seed(settings, info, profile="test", scale=2)
    n = counts(info)
    assert (n["user.organizations"], n["user.users"], n["audit.events"]) == (6, 13, 20)
    with connect(info, autocommit=True) as conn:  # a row added by hand survives pruning
        conn.execute(
            "INSERT INTO \"user\".organizations (name, slug, plan) VALUES ('Mine', 'mine', 'free')"
        )
    report = seed(settings, info, profile="test", scale=1)
    n = counts(info)
    assert (n["user.organizations"], n["user.users"], n["audit.events"]) == (4, 7, 10)
    assert by_name(report)["organizations"].tables["user.organizations"]["deleted"] == 3


def test_switching_profile_in_place_gives_what_a_fresh_database_gets(
    demo: tuple[Settings, ConnInfo], other_demo: tuple[Settings, ConnInfo]
) -> None:
    """A scale change moves unique values (memberships' (organization, user)) between rows."""
    settings, info = demo
    seed(settings, info, profile="dev", scale=0.2)
    seed(settings, info, profile="dev", scale=0.5)
    seed(other_demo[0], other_demo[1], profile="dev", scale=0.5)
    assert digests(info) == digests(other_demo[1])
    again = seed(settings, info, profile="test")
    assert again.seeds and digests(info) != digests(other_demo[1])
    assert counts(info)["user.memberships"] == 9


def test_unknown_profile_is_a_clear_error(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    with pytest.raises(SeedError, match=r"no row count for profile 'huge'"):
        seed(settings, info, profile="huge")
    assert counts(info)["user.organizations"] == 0


# --- determinism ----------------------------------------------------------------------------


def test_two_fresh_databases_get_identical_tables_serial_or_parallel(
    demo: tuple[Settings, ConnInfo],
    other_demo: tuple[Settings, ConnInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from devdb.seeds import generate

    seed(demo[0], demo[1], profile="dev", scale=0.2)
    # the second database is built in small chunks by two worker processes
    monkeypatch.setattr(generate, "PARALLEL_FROM", 50)
    monkeypatch.setattr(generate, "CHUNK", 37)
    monkeypatch.setattr(generate, "WORKERS", 2)
    seed(other_demo[0], other_demo[1], profile="dev", scale=0.2)
    first, second = digests(demo[1]), digests(other_demo[1])
    assert first == second
    assert counts(demo[1])["user.users"] == 301


# --- idempotence ------------------------------------------------------------------------------


def test_second_run_skips_and_forced_run_changes_nothing(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    seed(settings, info, profile="test")
    before, entries = digests(info), ledger(info)
    again = seed(settings, info, profile="test")
    assert {s.status for s in again.seeds} == {"skipped"}
    assert ledger(info) == entries
    forced = seed(settings, info, profile="test", force=True)
    assert {s.status for s in forced.seeds} == {"loaded"}
    for s in forced.seeds:
        for t in s.tables.values():
            assert (t["inserted"], t["updated"], t["deleted"]) == (0, 0, 0), s.name
    assert digests(info) == before


def test_edited_and_deleted_rows_are_restored(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    seed(settings, info, profile="test")
    before = digests(info)
    run_sql(
        info, "UPDATE \"user\".users SET full_name = 'Edited' WHERE email <> 'demo@example.com'"
    )
    run_sql(info, "DELETE FROM auth.sessions WHERE id IN (SELECT id FROM auth.sessions LIMIT 3)")
    report = by_name(seed(settings, info, profile="test"))
    assert report["users"].tables["user.users"]["updated"] == 6
    assert report["sessions"].tables["auth.sessions"]["inserted"] == 3
    assert report["organizations"].status == "skipped"
    assert digests(info) == before


def test_emptied_table_runs_again(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    seed(settings, info, profile="test")
    run_sql(info, "TRUNCATE billing.invoices CASCADE")
    doc = status(settings, info, profile="test")
    states = {s["name"]: s["state"] for s in doc["seeds"]}
    assert states["billing"] == "stale"
    assert states["users"] == "loaded"
    report = by_name(seed(settings, info, profile="test"))
    assert report["billing"].status == "loaded"
    assert report["users"].status == "skipped"
    assert counts(info)["billing.invoices"] == 4


def test_recreated_database_runs_again(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    seed(settings, info, profile="test")
    run_sql(info, "DROP SCHEMA devdb CASCADE")  # what a recreated database looks like to seeds
    report = seed(settings, info, profile="test")
    assert {s.status for s in report.seeds} == {"loaded"}


# --- failures -------------------------------------------------------------------------------

WIDGETS = """
from devdb.seeds import counts, derive, table

widgets = table(
    "public.widgets",
    rows=counts(test=6),
    columns={{"qty": derive(lambda r: {qty})}},
)
"""


def add_widgets(settings: Settings, info: ConnInfo, qty: str) -> None:
    run_sql(
        info,
        "CREATE TABLE IF NOT EXISTS public.widgets (id uuid PRIMARY KEY, qty int CHECK (qty > 0))",
    )
    (settings.seeds_dir / "070_widgets.py").write_text(WIDGETS.format(qty=qty))


@pytest.mark.parametrize("first_load", [True, False])
def test_constraint_violation_leaves_database_and_ledger_untouched(
    demo: tuple[Settings, ConnInfo], first_load: bool
) -> None:
    settings, info = demo
    if not first_load:  # the merge path: the table already holds rows
        add_widgets(settings, info, "1")
    seed(settings, info, profile="test")
    before, entries = digests(info), ledger(info)
    add_widgets(settings, info, "0 if r.i == 4 else 2")
    with pytest.raises(SeedError) as caught:
        seed(settings, info, profile="test", force=True)
    message = caught.value.message
    assert "seed widgets" in message
    assert "table public.widgets, row 4" in message
    assert "widgets_qty_check" in message
    assert digests(info) == before
    assert ledger(info) == entries


GADGETS = """
from devdb.seeds import counts, derive, table

gadgets = table(
    "public.gadgets",
    rows=counts(test=5),
    columns={{"org_id": derive(lambda r: r.ref("user.organizations", {row}))}},
)
"""


@pytest.mark.parametrize("first_load", [True, False])
def test_missing_parent_row_names_row_and_foreign_key(
    demo: tuple[Settings, ConnInfo], first_load: bool
) -> None:
    settings, info = demo
    run_sql(
        info,
        "CREATE TABLE public.gadgets (id uuid PRIMARY KEY, "
        'org_id uuid NOT NULL REFERENCES "user".organizations (id))',
    )
    if not first_load:
        (settings.seeds_dir / "080_gadgets.py").write_text(GADGETS.format(row="0"))
        seed(settings, info, profile="test")
    before = digests(info)
    (settings.seeds_dir / "080_gadgets.py").write_text(GADGETS.format(row="99 if r.i == 3 else 1"))
    with pytest.raises(SeedError) as caught:
        seed(settings, info, profile="test")
    message = caught.value.message
    assert "seed gadgets: table public.gadgets, row 3" in message
    assert "gadgets_org_id_fkey" in message
    assert digests(info) == before


def test_exception_in_a_column_names_the_row(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    add_widgets(settings, info, "1 // (r.i - 2)")
    with pytest.raises(SeedError, match=r"seed widgets: table public.widgets, row 2, column qty"):
        seed(settings, info, profile="test")
    assert counts(info)["user.users"] == 0
    with connect(info, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('devdb.seed_ledger')").fetchone() == (None,)


def test_sql_seed_error_names_file_and_line(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    (settings.seeds_dir / "950_broken.sql").write_text("SELECT 1;\n\nSELECT * FROM nowhere;\n")
    with pytest.raises(SeedError, match=r"seed broken \(950_broken.sql, line 3\)"):
        seed(settings, info, profile="test")
    assert counts(info)["user.users"] == 0


def test_missing_table_says_migrate_first(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    (settings.seeds_dir / "070_widgets.py").write_text(WIDGETS.format(qty="1"))
    with pytest.raises(SeedError, match=r"seed widgets: table public.widgets does not exist"):
        seed(settings, info, profile="test")


def test_only_runs_one_seed(demo: tuple[Settings, ConnInfo]) -> None:
    settings, info = demo
    report = seed(settings, info, profile="test", only="organizations")
    assert [s.name for s in report.seeds] == ["organizations"]
    assert counts(info)["user.organizations"] == 3
    with pytest.raises(SeedError, match="no seed named 'nope'"):
        seed(settings, info, profile="test", only="nope")


def test_a_failing_row_in_a_parallel_load_with_skipped_rows_is_named(
    demo: tuple[Settings, ConnInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    """COPY reports a line; with rows skipped (only_if), chunks made by two workers ahead of the
    COPY, the error still names the row number the seed file knows."""
    from devdb.seeds import generate

    settings, info = demo
    monkeypatch.setattr(generate, "PARALLEL_FROM", 50)
    monkeypatch.setattr(generate, "CHUNK", 37)
    monkeypatch.setattr(generate, "WORKERS", 2)
    add_widgets(settings, info, "0 if r.i == 251 else 2")
    seed_file = settings.seeds_dir / "070_widgets.py"
    seed_file.write_text(
        seed_file.read_text()
        .replace("counts(test=6)", "counts(test=400)")
        .replace("columns=", "only_if=lambda r: r.i % 4 != 1, columns=")
    )
    with pytest.raises(SeedError) as caught:
        seed(settings, info, profile="test")
    assert "table public.widgets, row 251" in caught.value.message
    assert counts(info)["user.users"] == 0
