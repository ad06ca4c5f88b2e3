"""Hide passwords in any text devdb prints: URLs (well-formed or not) and ``password=`` pairs.

The rule is to mask too much rather than too little: everything between the first ``:`` of a
URL's user part and the *last* ``@`` on its line becomes ``****``, so an unencoded ``@`` or ``/``
in a password, a ``jdbc:`` prefix or a missing slash never lets a character of it through.
No imports from devdb: errors and output use this.
"""

from __future__ import annotations

import re

MASK = "****"

# A scheme-like word right before a non-space (``postgresql:``, ``jdbc:``, ``https:``); "Error: "
# (a colon then a space) is prose, not a scheme.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?=\S)")
_PAIR = re.compile(r"(?P<key>password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|\S+)", re.IGNORECASE)


def mask_text(text: str) -> str:
    """``text`` with every password in it replaced by ``****``."""
    if not text:
        return text
    return "\n".join(_mask_line(line) for line in text.split("\n"))


def _mask_line(line: str) -> str:
    line = _PAIR.sub(lambda m: m.group("key") + MASK, line)
    at = line.rfind("@")
    if at < 0:
        return line
    for match in _SCHEME.finditer(line, 0, at):
        head = line[match.start() : at]
        if "//" in head:
            keep = head.index("//") + 2
            user, sep, _ = head[keep:].partition(":")
            if not sep:
                return line  # a user name and no password
            return line[: match.start() + keep] + user + ":" + MASK + line[at:]
        if ":" in head[len(match.group()) :]:
            # No "//": which colon ends the user name is anyone's guess, so mask it all.
            return line[: match.end()] + MASK + line[at:]
    return line
