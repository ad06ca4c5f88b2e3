"""The seed API without a database: hashes, ids, counts, generators, COPY text, chunking."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devdb.errors import SeedError
from devdb.seeds import api, hashing
from devdb.seeds.api import counts, table
from devdb.seeds.columns import between, choice, derive, fake, integer, ref
from devdb.seeds.generate import RowFailed, format_column, make_chunk


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    api.REGISTRY.clear()
    yield
    api.REGISTRY.clear()


def register(t: api.Table, seed: str = "s") -> api.Table:
    t.seed = seed
    api.REGISTRY[t.name] = t
    return t


def test_row_ids_are_rfc_4122_uuid5_of_table_and_row() -> None:
    namespace = uuid.UUID(bytes=hashing.ID_NAMESPACE)
    assert hashing.row_id("user.users", 42) == str(uuid.uuid5(namespace, "user.users:42"))
    assert hashing.row_ids("a.b", range(3)) == [hashing.row_id("a.b", i) for i in range(3)]
    assert uuid.UUID(hashing.row_id("a.b", 7)).version == 5


def test_cell_hashes_do_not_depend_on_how_rows_are_grouped() -> None:
    whole = hashing.hashes(123, range(3000))
    assert hashing.hashes(123, range(1000, 2500)) == whole[1000:2500]
    assert hashing.hashes(123, [5, 2999, 1024]) == [whole[5], whole[2999], whole[1024]]
    assert hashing.hashes(124, range(10)) != whole[:10]


def test_counts_per_profile_and_scale() -> None:
    c = counts(test=3, dev=100)
    assert c.resolve("test", 1) == 3
    assert c.resolve("dev", 2.5) == 250
    assert c.resolve("test", 0.5) == 2  # rounded up: a small scale keeps rows
    assert (c * 5).resolve("dev", 1) == 500
    assert counts(test=1, default=7).resolve("custom", 1) == 7
    with pytest.raises(SeedError, match="no row count for profile 'demo'"):
        c.resolve("demo", 1, "x.y")


def test_table_names_are_normalized() -> None:
    assert api.normalize_name('"user".users') == "user.users"
    assert api.normalize_name("things") == "public.things"
    with pytest.raises(SeedError):
        api.normalize_name("a.b.c")


def test_generators_are_deterministic_and_row_local() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    t = register(
        table(
            "x.t",
            rows=counts(test=500),
            columns={
                "n": integer(1, 6),
                "plan": choice({"free": 3, "team": 1}),
                "at": between(start, end),
                "later": derive(lambda r: r["at"].year),
            },
        )
    )
    cols = t.build_columns(range(500), "test", 1)
    again = t.build_columns(range(250, 500), "test", 1)
    assert cols["n"][250:] == again["n"] and cols["at"][250:] == again["at"]
    assert set(cols["n"]) == {1, 2, 3, 4, 5, 6}
    assert all(start <= v < end for v in cols["at"])
    plans = Counter(cols["plan"])
    assert 300 < plans["free"] < 450 and plans["free"] + plans["team"] == 500


def test_adding_a_column_changes_no_other_column() -> None:
    one = table("x.a", rows=10, columns={"n": integer(0, 10**9)})
    two = table("x.a", rows=10, columns={"m": integer(0, 5), "n": integer(0, 10**9)})
    register(one)
    first = one.build_columns(range(10), "test", 1)["n"]
    api.REGISTRY.clear()
    register(two)
    assert two.build_columns(range(10), "test", 1)["n"] == first


def test_refs_resolve_to_ids_of_existing_rows_without_a_database() -> None:
    register(table("x.parent", rows=counts(test=4), columns={}))
    child = register(table("x.child", rows=counts(test=50), columns={"p": ref("x.parent")}))
    ids = {hashing.row_id("x.parent", i) for i in range(4)}
    assert set(child.build_columns(range(50), "test", 1)["p"]) <= ids


def test_fake_pools_are_reproducible() -> None:
    from devdb.seeds import pools

    spec = fake("city", pool=64)
    first = pools.make_pool(spec)
    assert pools.make_pool(spec) == first
    assert len(first) == 64 and all(isinstance(v, str) for v in first)
    with pytest.raises(SeedError, match="no provider"):
        pools.make_pool(fake("no_such_provider", pool=2))


def test_copy_text_escapes_and_formats() -> None:
    assert format_column(["a\tb", "c\\d", "e\nf", None]) == ["a\\tb", "c\\\\d", "e\\nf", "\\N"]
    assert format_column(["plain", "text"]) == ["plain", "text"]
    assert format_column([1, None, 3]) == ["1", "\\N", "3"]
    assert format_column([True, False]) == ["t", "f"]
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert format_column([at]) == ["2024-05-06T07:08:09+00:00"]
    assert format_column([{"b": 1, "a": "x\ty"}]) == ['{"a":"x\\\\ty","b":1}']
    assert format_column([1, "x"]) == ["1", "x"]


def test_chunks_concatenate_to_the_whole_and_skip_rows() -> None:
    t = register(
        table(
            "x.lines",
            rows=counts(test=300),
            only_if=lambda r: r.i % 3 != 0,
            columns={"n": integer(0, 99), "label": derive(lambda r: f"row {r.i}")},
        )
    )
    whole = make_chunk(t, 0, 300, "test", 1)
    parts = [make_chunk(t, lo, min(lo + 70, 300), "test", 1) for lo in range(0, 300, 70)]
    assert b"".join(p.text for p in parts) == whole.text
    assert whole.rows == [i for i in range(300) if i % 3]
    first = whole.text.split(b"\n")[0].split(b"\t")
    assert first[0].decode() == hashing.row_id("x.lines", 1) and first[2] == b"row 1"


def test_a_raising_column_is_reported_with_its_row() -> None:
    t = register(table("x.bad", rows=10, columns={"v": derive(lambda r: 1 // (r.i - 7))}))
    with pytest.raises(RowFailed) as caught:
        make_chunk(t, 0, 10, "test", 1)
    assert (caught.value.table, caught.value.column, caught.value.row) == ("x.bad", "v", 7)


def test_digests_follow_code_profile_scale_and_earlier_seeds(tmp_path: Path) -> None:
    from devdb.seeds import seeds_digest
    from devdb.seeds.project import discover, with_digests
    from tests.conftest import make_project

    settings = make_project(tmp_path / "proj")
    settings.seeds_dir.mkdir()
    (settings.seeds_dir / "010_a.py").write_text("A = 1\n")
    (settings.seeds_dir / "020_b.sql").write_text("SELECT 1;\n")

    def digests() -> dict[str, str]:
        return {f.name: f.digest for f in with_digests(settings, discover(settings), "dev", 1)}

    first = digests()
    assert first == digests() and set(first) == {"a", "b"}
    assert seeds_digest(settings, "dev", 1) == first["b"]
    assert seeds_digest(settings, "demo", 1) != first["b"]
    assert seeds_digest(settings, "dev", 2) != first["b"]
    (settings.seeds_dir / "020_b.sql").write_text("SELECT 2;\n")
    changed_last = digests()
    assert changed_last["a"] == first["a"] and changed_last["b"] != first["b"]
    (settings.seeds_dir / "010_a.py").write_text("A = 2\n")
    assert digests()["b"] != changed_last["b"]  # a later seed may read an earlier one's rows
    (settings.seeds_dir / "_helpers.py").write_text("X = 1\n")
    assert digests()["a"] != changed_last["a"]


def test_pools_are_kept_on_disk_and_reused_without_faker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devdb.seeds import pools

    spec = fake("city", pool=32)
    monkeypatch.setattr(pools, "_POOLS", {})
    monkeypatch.setattr(pools, "CACHE_DIR", tmp_path)
    made = pools.get_pool(spec)
    assert len(list(tmp_path.glob("*.json"))) == 1

    def no_faker(locale: str) -> None:
        raise AssertionError("Faker was used although the pool is on disk")

    monkeypatch.setattr(pools, "_POOLS", {})
    monkeypatch.setattr(pools, "faker_for", no_faker)
    assert pools.get_pool(spec) == made
    (next(tmp_path.glob("*.json"))).write_text("not json")
    monkeypatch.setattr(pools, "_POOLS", {})
    with pytest.raises(AssertionError, match="Faker was used"):
        pools.get_pool(spec)  # a damaged file is made again (here: the stub says so)


def test_looked_up_columns_are_kept_compact_and_give_the_same_values() -> None:
    from datetime import timedelta

    from devdb.seeds.api import Context
    from devdb.seeds.compact import Timestamps, compact, join

    start = datetime(2024, 1, 1, tzinfo=UTC)
    t = register(
        table(
            "x.stamped",
            rows=counts(test=120_000),
            columns={"at": derive(lambda r: start + timedelta(seconds=r.hash() % 10**8))},
        )
    )
    looked_up = Context(t, "y", [], "test", 1).column_of("x.stamped", "at")
    assert isinstance(looked_up, Timestamps)  # 8 bytes a row, not a list of datetimes
    built = t.build_columns(range(120_000), "test", 1)["at"]
    assert [looked_up[i] for i in (0, 49_999, 50_000, 119_999)] == [
        built[0],
        built[49_999],
        built[50_000],
        built[119_999],
    ]
    assert list(looked_up) == built and looked_up[5].tzinfo is UTC
    assert list(join([compact([3, 4]), compact([5])])) == [3, 4, 5]
    assert join([compact([1, None]), compact(["a"])]) == [1, None, "a"]


def test_fake_repeats_and_fake_unique_does_not() -> None:
    from devdb.seeds.columns import fake_unique

    t = register(
        table(
            "x.people",
            rows=counts(test=5000),
            columns={
                "email": fake("email"),
                "email_u": fake_unique("email"),
                "name_u": fake_unique("name", pool=16),
            },
        )
    )
    cols = t.build_columns(range(5000), "test", 1)
    assert len(set(cols["email"])) <= 2048  # a pool: a UNIQUE column would collide
    assert len(set(cols["email_u"])) == 5000
    assert len(set(cols["name_u"])) == 5000
    assert all("+" in e.split("@")[0] for e in cols["email_u"])
    assert t.build_columns(range(10, 20), "test", 1)["email_u"] == cols["email_u"][10:20]


def test_the_row_map_gives_each_copy_line_its_row_number() -> None:
    from devdb.seeds.compact import RowMap

    rows = RowMap()
    for chunk in (range(0, 3), [5, 7], [], range(10, 12)):
        rows.add(chunk)
    assert len(rows) == 7
    assert [rows[k] for k in range(7)] == [0, 1, 2, 5, 7, 10, 11]
    with pytest.raises(IndexError):
        rows[7]
