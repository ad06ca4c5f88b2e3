"""A small SQL lexer: where top-level statements end, knowing strings, quoted identifiers,
dollar quotes, and line and (nested) block comments, the way psql splits a script."""

from __future__ import annotations

import re

SPECIAL = re.compile(r"[;'\"$]|--|/\*")
DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")
IDENT_CHAR = re.compile(r"[\w$]")


def skip_leading_noise(text: str, begin: int, end: int) -> int:
    """The offset of the first character of ``text[begin:end]`` that is not a comment or space."""
    pos = begin
    while pos < end:
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            nl = text.find("\n", pos)
            pos = end if nl < 0 else nl
        elif text.startswith("/*", pos):
            closed = _skip_block_comment(text, pos)
            pos = end if closed < 0 else closed
        else:
            break
    return min(pos, end)


def split_sql(text: str) -> tuple[list[tuple[int, int]], int, tuple[str, int] | None]:
    """Top-level statements of ``text`` as ``(begin, end)`` spans (end includes the ``;``).

    Returns the spans, the offset where unterminated text starts, and an unclosed construct
    (a description and its offset) if the text ends inside a string, identifier, dollar quote or
    block comment. Spans holding only whitespace and comments are left out.
    """
    spans: list[tuple[int, int]] = []
    start = pos = 0
    n = len(text)
    while pos < n:
        match = SPECIAL.search(text, pos)
        if match is None:
            break
        lexeme, at = match.group(), match.start()
        if lexeme == ";":
            if has_code(text[start:at]):
                spans.append((start, at + 1))
            start = pos = at + 1
            continue
        end, what = _skip(text, at, lexeme)
        if end < 0:
            return spans, start, (what, at)
        pos = end
    return spans, start, None


def _skip(text: str, at: int, lexeme: str) -> tuple[int, str]:
    """The offset after the construct starting at ``at``, or -1 and what was left open."""
    if lexeme == "--":
        nl = text.find("\n", at)
        return (len(text) if nl < 0 else nl), "comment"
    if lexeme == "/*":
        return _skip_block_comment(text, at), "block comment /* ... */"
    if lexeme in ("'", '"'):
        escaped = lexeme == "'" and at > 0 and text[at - 1] in "eE"
        escaped = escaped and (at < 2 or not _ident(text[at - 2]))
        what = "string literal '...'" if lexeme == "'" else 'quoted identifier "..."'
        return _skip_quoted(text, at, lexeme, backslash=escaped), what
    return _skip_dollar(text, at)


def _skip_dollar(text: str, at: int) -> tuple[int, str]:
    tag = DOLLAR_TAG.match(text, at)
    if tag is None or (at > 0 and _ident(text[at - 1])):
        return at + 1, ""  # $1, or a $ inside an identifier
    close = text.find(tag.group(), tag.end())
    if close < 0:
        return -1, f"dollar quote {tag.group()}"
    return close + len(tag.group()), ""


def _ident(ch: str) -> bool:
    return bool(IDENT_CHAR.match(ch))


def _skip_quoted(text: str, at: int, quote: str, *, backslash: bool) -> int:
    pos = at + 1
    while True:
        close = text.find(quote, pos)
        if close < 0:
            return -1
        if backslash:
            run = 0
            while text[close - 1 - run] == "\\" and close - 1 - run > at:
                run += 1
            if run % 2:
                pos = close + 1
                continue
        if text.startswith(quote * 2, close):
            pos = close + 2
            continue
        return close + 1


def _skip_block_comment(text: str, at: int) -> int:
    depth, pos = 1, at + 2
    while depth:
        opening = text.find("/*", pos)
        closing = text.find("*/", pos)
        if closing < 0:
            return -1
        if 0 <= opening < closing:
            depth, pos = depth + 1, opening + 2
        else:
            depth, pos = depth - 1, closing + 2
    return pos


def has_code(text: str) -> bool:
    """Whether ``text`` holds anything but comments and whitespace (something that would run)."""
    return skip_leading_noise(text, 0, len(text)) < len(text)
