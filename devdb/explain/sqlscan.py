"""A query file as psql reads it: literals, comments, psql variables and statement ends.

psql substitutes ``:name`` and ``:'name'`` only in plain SQL text: never inside string literals
(``'...'``, ``E'...'``), quoted identifiers, dollar-quoted bodies (``$$...$$``, ``$tag$...$tag$``)
or comments (``-- ...`` and nested ``/* ... */``); a ``;`` ends a statement only in plain text
too. ``tokens`` splits a file along those lines so ``queries.py`` substitutes variables where
psql would and ``statements`` counts statements the way the server will.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_SIMPLE = re.compile(
    r"""(?P<literal>[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*")"""
    r"|(?P<dollar>\$(?P<tag>[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$)"
    r"|(?P<line>--[^\n]*)"
    r"|(?P<block>/\*)"
    r"|(?P<cast>::)"
    r"|(?<![\w$]):(?:'(?P<quoted>[A-Za-z_]\w*)'|(?P<raw>[A-Za-z_]\w*))"
    r"|(?P<semi>;)",
    re.DOTALL,
)
TRANSACTION_CONTROL = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"}
)


@dataclass(frozen=True)
class Token:
    """A piece of the file: ``text`` (plain SQL), ``literal`` (strings, quoted identifiers,
    dollar quotes), ``comment``, ``variable`` (``name`` set; ``quoted`` for ``:'name'``) or
    ``semicolon``."""

    kind: str
    text: str
    name: str = ""
    quoted: bool = False


def tokens(sql: str) -> Iterator[Token]:
    """The file cut into tokens; joining every token's text gives the file back."""
    pos = 0
    while pos < len(sql):
        match = _SIMPLE.search(sql, pos)
        if match is None:
            yield Token("text", sql[pos:])
            return
        if match.start() > pos:
            yield Token("text", sql[pos : match.start()])
        end = _token_end(sql, match)
        yield _classify(match, sql[match.start() : end])
        pos = end


def _token_end(sql: str, match: re.Match[str]) -> int:
    if match.group("dollar"):
        close = sql.find(match.group("dollar"), match.end())
        return len(sql) if close < 0 else close + len(match.group("dollar"))
    if match.group("block"):
        return _block_comment_end(sql, match.start())
    return match.end()


def _block_comment_end(sql: str, start: int) -> int:
    """Where a (possibly nested) ``/* */`` comment ends; the file's end when it never does."""
    depth, pos = 0, start
    while pos < len(sql):
        pair = sql[pos : pos + 2]
        if pair == "/*":
            depth, pos = depth + 1, pos + 2
        elif pair == "*/":
            depth, pos = depth - 1, pos + 2
            if depth == 0:
                return pos
        else:
            pos += 1
    return len(sql)


def _classify(match: re.Match[str], text: str) -> Token:
    if match.group("literal") or match.group("dollar"):
        return Token("literal", text)
    if match.group("line") or match.group("block"):
        return Token("comment", text)
    if match.group("semi"):
        return Token("semicolon", text)
    if match.group("quoted"):
        return Token("variable", text, match.group("quoted"), quoted=True)
    if match.group("raw"):
        return Token("variable", text, match.group("raw"))
    return Token("text", text)  # a :: cast


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
    match = re.match(r"\(*\s*([A-Za-z_]+)", statement)
    return match.group(1).upper() if match else ""
