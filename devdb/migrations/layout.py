"""From marker lines to sections: which text regions make up the Up and the Down of a file.

A region is ``("plain", begin, end)`` (text split into statements) or ``("block", begin, end)``
(a StatementBegin/StatementEnd block: one statement as written). Each format's own rules decide
what may follow what.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devdb.migrations.formats import Marker, MarkerError

Region = tuple[str, int, int]


@dataclass
class Plan:
    """One direction of a file: its first marker's line, transaction mode and regions."""

    direction: str
    line: int
    transactional: bool = True
    regions: list[Region] = field(default_factory=list)


def layout(text: str, fmt: str, found: list[Marker]) -> dict[str, Plan]:
    """``{"up": Plan, "down": Plan}`` (down may be absent); raises ``MarkerError`` with the line
    in ``args[1]``."""
    if fmt == "dbmate":
        return _dbmate(text, found)
    plans = _walk(text, found, multiple=fmt == "sql-migrate")
    if fmt == "goose" and any(m.kind == "notx" for m in found):
        for plan in plans.values():
            plan.transactional = False
    return plans


def fail(line: int, message: str, hint: str) -> MarkerError:
    error = MarkerError(message, hint)
    error.args = (message, line)
    return error


def _walk(text: str, found: list[Marker], *, multiple: bool) -> dict[str, Plan]:
    plans: dict[str, Plan] = {}
    current: Plan | None = None
    block: Marker | None = None
    pos = len(text)
    for m in found:
        if m.kind == "notx":
            _plain(current, pos, m.start)
            pos = m.end
            continue
        if block is not None and m.kind != "end":
            raise fail(
                block.line,
                "StatementBegin is never closed",
                "Add a StatementEnd line after the statement.",
            )
        if m.kind in ("up", "down"):
            _plain(current, pos, m.start)
            current = _section(plans, m, multiple=multiple)
        elif m.kind == "begin":
            if current is None:
                raise fail(
                    m.line,
                    "StatementBegin before any Up or Down section",
                    "Put the block after the Up or Down marker.",
                )
            _plain(current, pos, m.start)
            block = m
        elif block is None or current is None:
            raise fail(
                m.line,
                "StatementEnd without a StatementBegin",
                "Add a StatementBegin line before the statement, or remove this line.",
            )
        else:
            current.regions.append(("block", block.end, m.start))
            block = None
        pos = m.end
    if block is not None:
        raise fail(
            block.line, "StatementBegin is never closed", "Add a StatementEnd line after it."
        )
    _plain(current, pos, len(text))
    return plans


def _plain(current: Plan | None, begin: int, end: int) -> None:
    if current is not None and begin < end:
        current.regions.append(("plain", begin, end))


def _section(plans: dict[str, Plan], m: Marker, *, multiple: bool) -> Plan:
    if m.kind == "down" and "up" not in plans and not multiple:
        raise fail(m.line, "a Down section before the Up section", "Put the Up section first.")
    existing = plans.get(m.kind)
    if existing is None:
        plans[m.kind] = Plan(m.kind, m.line, m.transactional)
        return plans[m.kind]
    if not multiple:
        raise fail(
            m.line,
            f"a second {m.kind.capitalize()} section",
            "Keep one Up and one Down section per file (goose and dbmate read only one).",
        )
    existing.transactional = existing.transactional and m.transactional
    return existing


def _dbmate(text: str, found: list[Marker]) -> dict[str, Plan]:
    ups = [m for m in found if m.kind == "up"]
    downs = [m for m in found if m.kind == "down"]
    if len(ups) > 1 or len(downs) > 1:
        extra = (ups[1:] or downs[1:])[0]
        raise fail(
            extra.line,
            f"a second migrate:{extra.kind} directive",
            "dbmate reads only the first one: keep one `-- migrate:up` and one "
            "`-- migrate:down` per file.",
        )
    if not ups:
        raise fail(
            downs[0].line,
            "the file has no `-- migrate:up` block",
            "Start the migration with a line `-- migrate:up`.",
        )
    if not downs:
        raise fail(
            ups[0].line,
            "no `-- migrate:down` block (dbmate requires one)",
            "Add `-- migrate:down` after the up block (it may stay empty).",
        )
    up, down = ups[0], downs[0]
    if down.start < up.start:
        raise fail(down.line, "`-- migrate:down` before `-- migrate:up`", "Put the up block first.")
    return {
        "up": Plan("up", up.line, up.transactional, [("plain", up.end, down.start)]),
        "down": Plan("down", down.line, down.transactional, [("plain", down.end, len(text))]),
    }
