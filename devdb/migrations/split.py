"""Where statements end, decided by PostgreSQL's own grammar and scanner (pglast, libpg_query).

The whole text is first split by PostgreSQL's parser: exact for everything the server accepts,
including ``BEGIN ATOMIC ... END`` bodies and ``CREATE RULE ... DO ALSO (a; b)``. When the parser
rejects the text (a syntax error the server will report anyway, or psql-only syntax), the
scanner's tokens are split the way psql splits a script: at a ``;`` outside parentheses and
outside a ``BEGIN ... END`` of ``CREATE [OR REPLACE] FUNCTION|PROCEDURE``.

Offsets are character offsets into the text. A statement runs from its first token (leading
whitespace and comments are not part of it, as in psql) to its ``;`` inclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STD_STRINGS = re.compile(
    r"^[ \t]*(?:SET\s+(?:SESSION\s+|LOCAL\s+)?standard_conforming_strings\s*(?:=|\bTO\b)\s*"
    r"'?(\w+)'?|(RESET)\s+standard_conforming_strings)\s*;",
    re.IGNORECASE | re.MULTILINE,
)
OFF_VALUES = {"off", "false", "no", "0"}
BACKSLASH_PAIR = re.compile(r"\\(.)", re.DOTALL)
CREATE_ROUTINE = (("create", "function"), ("create", "procedure"))
CREATE_OR_REPLACE = tuple(("create", "or", "replace", kind) for kind in ("function", "procedure"))


class Unclosed(Exception):
    """The text ends inside a string, quoted identifier, dollar quote or block comment."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(what)
        self.what = what
        self.offset = offset


@dataclass(frozen=True)
class Split:
    """Statement spans ``(begin, end)``; ``tail`` is a last statement without its ``;``."""

    spans: list[tuple[int, int]]
    tail: tuple[int, int] | None


def split(text: str, *, std_strings: bool = True) -> Split:
    """The statements of ``text``; raises ``Unclosed`` for an unterminated construct."""
    view = text if std_strings else escaped_view(text)
    from pglast import parser

    try:
        slices = parser.split(view, with_parser=True, only_slices=True)
    except parser.ParseError:
        return _scanner_split(view)
    spans: list[tuple[int, int]] = []
    previous = 0
    for piece in slices:
        start = psql_start(view, previous, piece.start)
        end = terminator(view, piece.stop)
        if end is None:  # only the last statement can lack its semicolon
            return Split(spans, (start, piece.stop))
        spans.append((start, end))
        previous = end
    return Split(spans, None)


def psql_start(text: str, begin: int, first_token: int) -> int:
    """Where psql starts sending the statement whose first token is at ``first_token``: leading
    whitespace and ``--`` comments are not sent, a leading ``/* */`` comment is (unless an empty
    statement's ``;`` lies between)."""
    pos = begin
    while True:
        pos = skip_noise(text, pos, first_token, blocks=False)
        if pos < first_token and text[pos] == ";":
            pos += 1
            continue
        break
    return pos if ";" not in text[pos:first_token] else first_token


def escaped_view(text: str) -> str:
    """``text`` as the scanner would see it with standard_conforming_strings off: ``\\'`` inside
    a plain string is a quote. Rewritten as ``''`` (same length, same token boundaries)."""
    return BACKSLASH_PAIR.sub(lambda m: "''" if m.group(1) == "'" else m.group(0), text)


def split_all(text: str, std_strings: bool = True) -> tuple[list[tuple[int, int]], Split]:
    """Like ``split``, following ``SET standard_conforming_strings`` statements on their own
    line: the text after one is split as the server will read it. Returns the spans of every
    chunk but the last, and the last chunk's split (offsets all relative to ``text``)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    if "standard_conforming_strings" in text.lower():
        for match in STD_STRINGS.finditer(text):
            if match.start() < pos:
                continue
            try:
                chunk = split(text[pos : match.end()], std_strings=std_strings)
            except Unclosed:
                continue  # the match is inside a string or comment: not a statement
            if chunk.tail is not None or not chunk.spans:
                continue
            spans.extend((pos + a, pos + b) for a, b in chunk.spans)
            pos = match.end()
            std_strings = bool(match.group(2)) or match.group(1).lower() not in OFF_VALUES
    try:
        last = split(text[pos:], std_strings=std_strings)
    except Unclosed as exc:
        raise Unclosed(exc.what, pos + exc.offset) from exc
    tail = None if last.tail is None else (pos + last.tail[0], pos + last.tail[1])
    return spans, Split([(pos + a, pos + b) for a, b in last.spans], tail)


def terminator(text: str, pos: int) -> int | None:
    """The offset after the ``;`` that follows ``pos`` past whitespace and comments."""
    pos = skip_noise(text, pos)
    return pos + 1 if pos < len(text) and text[pos] == ";" else None


def skip_noise(text: str, pos: int, end: int | None = None, *, blocks: bool = True) -> int:
    """The first offset from ``pos`` (before ``end``) that is not whitespace or a comment (a
    ``--`` comment only, without ``blocks``)."""
    n = len(text) if end is None else end
    while pos < n:
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl + 1
        elif blocks and text.startswith("/*", pos):
            pos = _block_comment_end(text, pos)
        else:
            break
    return min(pos, n)


def _block_comment_end(text: str, pos: int) -> int:
    depth, pos = 1, pos + 2
    while depth and pos < len(text):
        if text.startswith("/*", pos):
            depth, pos = depth + 1, pos + 2
        elif text.startswith("*/", pos):
            depth, pos = depth - 1, pos + 2
        else:
            pos += 1
    return pos


@dataclass
class _PsqlState:
    """psql's statement-end rules (psqlscan.l): parentheses and routine ``BEGIN ... END``."""

    parens: int = 0
    begins: int = 0
    words: tuple[str, ...] = ()

    def word(self, word: str) -> None:
        lowered = word.lower()
        if len(self.words) < 4:
            self.words = (*self.words, lowered)
        routine = self.words[:2] in CREATE_ROUTINE or self.words[:4] in CREATE_OR_REPLACE
        if not routine or self.parens:
            return
        if lowered == "begin" or (lowered == "case" and self.begins):
            self.begins += 1
        elif lowered == "end" and self.begins:
            self.begins -= 1


def _scanner_split(text: str) -> Split:
    from pglast import parser

    try:
        tokens = parser.scan(text)
    except parser.ParseError as exc:
        raise _unclosed(exc) from exc
    spans: list[tuple[int, int]] = []
    start: int | None = None
    state = _PsqlState()
    last = 0
    code = False
    for tok in tokens:
        if tok.name == "SQL_COMMENT":
            continue
        if start is None:  # psql sends a leading /* */ comment with its statement
            start, state, code = tok.start, _PsqlState(), False
        if tok.name == "C_COMMENT":
            continue
        last, code = tok.end + 1, True
        if tok.name == "ASCII_59" and not state.parens and not state.begins:
            spans.append((start, last))
            start = None
        elif tok.name == "ASCII_40":
            state.parens += 1
        elif tok.name == "ASCII_41":
            state.parens = max(state.parens - 1, 0)
        elif text[tok.start].isalpha() or text[tok.start] == "_":
            state.word(text[tok.start : last])
    return Split(spans, (start, last) if start is not None and code else None)


def _unclosed(exc: Exception) -> Unclosed:
    message = str(exc.args[0]) if exc.args else str(exc)
    offset = int(exc.args[1]) if len(exc.args) > 1 else 0
    for needle, what in (
        ("dollar-quoted", "dollar quote"),
        ("quoted string", "string literal '...'"),
        ("quoted identifier", 'quoted identifier "..."'),
        ("/* comment", "block comment /* ... */"),
    ):
        if needle in message:
            return Unclosed(what, offset)
    return Unclosed(message, offset)
