"""A query file as psql reads it: comments, psql variables and statement ends.

The file is cut by PostgreSQL's own scanner (pglast's ``scan``), so string literals (``'...'``,
``E'...'``, ``U&'...'``), quoted identifiers, dollar-quoted bodies (``$$...$$``,
``$tag$...$tag$``) and comments (``-- ...``, nested ``/* ... */``) are exactly what the server
will see. psql substitutes ``:name``, ``:'name'`` and ``:"name"`` only in plain SQL text, which
here means a ``:`` token followed directly by a name or a quoted name token (``::`` is one
token, a cast); a ``;`` ends a statement only in plain text too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TRANSACTION_CONTROL = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"}
)
_NAME = re.compile(r"[A-Za-z_]\w*")
_QUOTED = {"'": "literal", '"': "identifier"}


class ScanError(ValueError):
    """The text ends inside a string, quoted identifier, dollar quote or comment."""


@dataclass(frozen=True)
class Token:
    """A piece of the file: ``text`` (SQL), ``comment``, ``semicolon`` or ``variable`` (``name``
    set; ``quote`` is ``literal`` for ``:'name'``, ``identifier`` for ``:"name"``, else ``""``).
    """

    kind: str
    text: str
    name: str = ""
    quote: str = ""


def tokens(sql: str) -> Iterator[Token]:
    """The file cut into tokens; joining every token's text gives the file back."""
    from pglast import parser

    try:
        scanned = list(parser.scan(sql))
    except parser.ParseError as exc:
        raise ScanError(str(exc)) from exc
    pos, i = 0, 0
    while i < len(scanned):
        tok = scanned[i]
        if tok.start > pos:
            yield Token("text", sql[pos : tok.start])
        variable = _variable(sql, scanned, i)
        if variable is not None:
            yield variable
            i += 2
        else:
            yield _classify(tok.name, sql[tok.start : tok.end + 1])
            i += 1
        pos = scanned[i - 1].end + 1
    if pos < len(sql):
        yield Token("text", sql[pos:])


def _variable(sql: str, scanned: list[Any], i: int) -> Token | None:
    """``:name``, ``:'name'`` or ``:"name"`` starting at token ``i`` (psql's variable forms;
    a ``:`` right after a word character, as in ``a[1:n]``, is left alone)."""
    colon = scanned[i]
    if colon.name != "ASCII_58" or i + 1 >= len(scanned):
        return None
    after = scanned[i + 1]
    if after.start != colon.end + 1 or (colon.start and sql[colon.start - 1].isalnum()):
        return None
    text = sql[after.start : after.end + 1]
    whole = sql[colon.start : after.end + 1]
    if text[:1] in _QUOTED and text[-1:] == text[:1] and _NAME.fullmatch(text[1:-1]):
        return Token("variable", whole, text[1:-1], _QUOTED[text[:1]])
    if _NAME.fullmatch(text):
        return Token("variable", whole, text)
    return None


def _classify(name: str, text: str) -> Token:
    if name in {"SQL_COMMENT", "C_COMMENT"}:
        return Token("comment", text)
    if name == "ASCII_59":
        return Token("semicolon", text)
    return Token("text", text)


def statements(sql: str) -> list[str]:
    """The file's statements without comments, as the server would split them (empty ones
    between two semicolons left out)."""
    out: list[str] = []
    current: list[str] = []
    for token in tokens(sql):
        if token.kind == "semicolon":
            out.append("".join(current).strip())
            current = []
        elif token.kind != "comment":
            current.append(token.text)
    out.append("".join(current).strip())
    return [s for s in out if s]


def first_word(statement: str) -> str:
    """The statement's first keyword, upper case (``""`` when it starts with a parenthesis)."""
    match = re.match(r"[(\s]*([A-Za-z_]+)", statement)
    return match.group(1).upper() if match else ""
