"""Named queries: one ``.sql`` file per query in the queries folder, with a comment header.

A header is the run of ``--`` comment lines at the top of the file::

    -- description: Look up a user by email, as the login form does.
    -- param: email = (SELECT email FROM "user".users ORDER BY id LIMIT 1)
    -- param: page_size = 50
    -- buffers-budget: +30%
    -- parallel: on

Parameters are psql variables in the body: ``:'email'`` is a quoted literal, ``:page_size`` is
inserted as written, so the same file runs in ``psql -v email=... -f file.sql``. A value in
parentheses is a query run before EXPLAIN (outside the measured statement); its first column of
its first row is the value. ``buffers-budget`` overrides the default +20 % a check tolerates;
``parallel: on`` lets the planner use parallel workers for this query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from devdb.errors import ExplainError
from devdb.explain.sqlscan import (
    TRANSACTION_CONTROL,
    ScanError,
    first_word,
    statements,
    tokens,
)

DEFAULT_BUFFERS_BUDGET = 0.20
_HEADER = re.compile(r"^--\s*([A-Za-z][\w-]*)\s*:\s*(.*?)\s*$")
_PARAM = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.+)$")
_NAME = re.compile(r"^[A-Za-z0-9_][\w.-]*$")


@dataclass(frozen=True)
class NamedQuery:
    """One query file: its name, SQL body, and what the header says."""

    name: str
    path: Path
    sql: str
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)
    buffers_budget: float = DEFAULT_BUFFERS_BUDGET
    parallel: bool = False

    def variables(self) -> list[str]:
        """Names of the psql variables the body uses, in order of first use."""
        seen = {t.name: None for t in tokens(self.sql) if t.kind == "variable"}
        return list(seen)


def load_queries(folder: Path, only: str | None = None) -> list[NamedQuery]:
    """Every ``*.sql`` in ``folder`` sorted by name, or just the one called ``only``."""
    if not folder.is_dir():
        raise ExplainError(
            f"no queries folder at {folder}",
            "Create it with one .sql file per query, or set DEVDB_QUERIES_DIR.",
        )
    queries = [parse_query(p) for p in sorted(folder.glob("*.sql"))]
    if only is None:
        if not queries:
            raise ExplainError(f"no .sql files in {folder}", "Add one .sql file per query.")
        return queries
    chosen = [q for q in queries if q.name == only]
    if not chosen:
        names = ", ".join(q.name for q in queries) or "none"
        raise ExplainError(f"no query named {only!r} in {folder}", f"Known queries: {names}.")
    return chosen


def parse_query(path: Path) -> NamedQuery:
    """Read one query file; a malformed header is an ``ExplainError`` naming the line."""
    text = path.read_text()
    meta: dict[str, str] = {}
    params: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        match = _HEADER.match(stripped)
        if not match:
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key == "param":
            pm = _PARAM.match(value)
            if not pm:
                raise ExplainError(
                    f"{path.name}:{lineno}: bad param line {value!r}",
                    "Write `-- param: name = value` (a literal, or a query in parentheses).",
                )
            params[pm.group(1)] = pm.group(2).strip()
        else:
            meta[key] = value
    name = path.stem
    if not _NAME.match(name):
        raise ExplainError(f"query file name {path.name!r} is not a plain name")
    query = NamedQuery(
        name=name,
        path=path,
        sql=text.strip(),
        description=meta.get("description", ""),
        params=params,
        buffers_budget=_budget(meta.get("buffers-budget"), path),
        parallel=meta.get("parallel", "off").lower() in {"on", "true", "yes", "1"},
    )
    check_one_statement(path.name, query.sql)
    for name, value in params.items():
        if is_query_param(value):
            check_one_statement(f"{path.name} (param {name})", value[1:-1])
    missing = [v for v in query.variables() if v not in params]
    if missing:
        raise ExplainError(
            f"{path.name}: variable(s) {', '.join(missing)} have no `-- param:` line",
            "Add `-- param: name = value` to the header for each :name / :'name' in the body.",
        )
    return query


def _budget(value: str | None, path: Path) -> float:
    if value is None:
        return DEFAULT_BUFFERS_BUDGET
    match = re.fullmatch(r"\+?\s*(\d+(?:\.\d+)?)\s*%", value.strip())
    if not match:
        raise ExplainError(
            f"{path.name}: buffers-budget {value!r} is not a percentage",
            "Write e.g. `-- buffers-budget: +30%`.",
        )
    return float(match.group(1)) / 100


def check_one_statement(where: str, sql: str) -> None:
    """Refuse anything that could end db.explain's rolled-back transaction: transaction control
    (COMMIT, ROLLBACK, BEGIN, SAVEPOINT, END, ABORT, PREPARE TRANSACTION, ...) and more than one
    statement (counted as the server splits them: not inside literals, dollar quotes or
    comments)."""
    try:
        found = statements(sql)
    except ScanError as exc:
        raise ExplainError(
            f"{where}: cannot read the SQL: {exc}",
            "Close the string, quoted identifier, dollar quote or comment it leaves open.",
        ) from exc
    for statement in found:
        word = first_word(statement)
        if word in TRANSACTION_CONTROL:
            raise ExplainError(
                f"{where}: {word} is transaction control; db.explain runs every query in a "
                "transaction it rolls back, and a query file may not end it",
                "Remove the statement: the query file holds just the query to EXPLAIN.",
            )
    if len(found) > 1:
        raise ExplainError(
            f"{where} holds {len(found)} statements; a query file holds exactly one",
            "Put each query in its own .sql file in the queries folder.",
        )


def render_sql(query: NamedQuery, values: dict[str, str | None]) -> str:
    """The body without ``--`` comments, psql variables replaced where psql replaces them
    (``:'x'`` by a quoted literal, ``:x`` as written); string literals, quoted identifiers,
    dollar-quoted bodies and ``/* */`` comments are never touched."""
    parts = []
    for token in tokens(query.sql):
        if token.kind == "variable":
            value = values[token.name]
            parts.append(_substitute(value, token.quote))
        elif not (token.kind == "comment" and token.text.startswith("--")):
            parts.append(token.text)
    return "".join(parts).strip().rstrip(";").strip()


def _substitute(value: str | None, quote: str) -> str:
    if value is None:
        return "NULL"
    if quote == "literal":
        return quote_literal(value)
    if quote == "identifier":
        return '"' + value.replace('"', '""') + '"'
    return value


def quote_literal(value: str) -> str:
    """A standard-conforming SQL string literal (E'' when it holds a backslash)."""
    escaped = value.replace("'", "''")
    if "\\" in value:
        return "E'" + escaped.replace("\\", "\\\\") + "'"
    return "'" + escaped + "'"


def is_query_param(value: str) -> bool:
    """True for a value given as a query in parentheses."""
    return value.startswith("(") and value.endswith(")")


def literal_param(value: str) -> str:
    """A literal param value without surrounding quotes (``'a'`` and ``a`` are the same)."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value
