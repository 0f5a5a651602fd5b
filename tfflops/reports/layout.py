"""Text for a terminal: lines that fit its width, names shortened alike, colour, grids.

Every text report lays out through here, so that every command fits the terminal it runs
in, shortens a long name the same way, says what a shortened table left out, and colours
verdicts only where colour was asked for. Pure functions: the CLI measures the terminal
and decides on colour (``Screen``); nothing here does I/O.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ELLIPSIS = "…"
MIN_WIDTH = 40  # narrower terminals get 40-column lines: a table needs some room
_NARROWEST = 4  # a grid column shortened below this would say nothing

# SGR codes of the roles text can be painted in.
_PAINT = {
    "pass": "32",  # green
    "fail": "1;31",  # bold red
    "mismatch": "1;31",
    "unsupported": "33",  # yellow
    "match": "32",
}


# What Screen.paint writes, and nothing else (a name's own SGR code could hide text).
_OWN_PAINT = re.compile("|".join(re.escape(f"\033[{c}m") for c in sorted({*_PAINT.values(), "0"})))


@dataclass(frozen=True)
class Screen:
    """Where text goes: its width in columns, and whether to colour it."""

    width: int = 80
    color: bool = False

    def paint(self, text: str, role: str) -> str:
        """``text`` in the colour of ``role`` (pass, fail, mismatch, unsupported, match);
        other roles stay plain."""
        code = _PAINT.get(role)
        if not self.color or not text or code is None:
            return text
        return f"\033[{code}m{text}\033[0m"


PLAIN = Screen()


def printable(text: str) -> str:
    """``text`` with each character a terminal, a CI log or a Markdown renderer would act
    on instead of showing written as its escape (``\\n``, ``\\x1b``, ``\\u202e``).

    Names come from the model and the file system, and may hold any character: a newline
    starts a line of the name's own (``::error::`` is a command to a CI log), an escape
    sequence moves a terminal's cursor, a bidi override reverses what follows. Every
    layout function here shows text through it; JSON and CSV keep names exact.
    """
    if text.isprintable():
        return text
    pieces = _OWN_PAINT.split(text)  # our own colours, already painted, stay
    escaped = ["".join(c if c.isprintable() else repr(c)[1:-1] for c in p) for p in pieces]
    return "".join(p + paint for p, paint in zip(escaped, [*_OWN_PAINT.findall(text), ""]))


def markdown_code(text: str) -> str:
    """``text`` for a Markdown code span in a table cell: ``printable``, ``|`` escaped,
    a backtick (which would end the span) shown as a quote."""
    return printable(text).replace("|", "\\|").replace("`", "'")


def markdown_text(text: str) -> str:
    """``text`` (a model's names inside) for Markdown prose: ``markdown_code``'s escapes,
    and ``[``, ``]``, ``<``, ``>`` escaped, so that no name becomes a link, an image or
    HTML in a pull request's comment."""
    escaped = printable(text).replace("\\", "\\\\")
    for c in "[]<>|":
        escaped = escaped.replace(c, "\\" + c)
    return escaped.replace("`", "'")


def shorten_middle(text: str, width: int) -> str:
    """A name too long for ``width`` keeps both ends: 'model/…1/conv/Conv2D' (20).

    The end gets two thirds of the room (it tells sibling nodes apart, and holds a
    path's file name), the start one third (the scope, the folder). (``printable``.)
    """
    text = printable(text)
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = (width - 1) // 3
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + text[len(text) - tail :]


def fit_pair(first: str, second: str, room: int) -> tuple[str, str]:
    """Two names in ``room`` columns together: a short one whole, the other shortened
    (in the middle) to what is left; two long ones share the room."""
    first, second = printable(first), printable(second)
    if len(first) + len(second) <= room:
        return first, second
    half = room // 2
    if len(first) <= half:
        return first, shorten_middle(second, room - len(first))
    if len(second) <= room - half:
        return shorten_middle(first, room - len(second)), second
    return shorten_middle(first, half), shorten_middle(second, room - half)


def wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width``, broken at spaces only (never inside a word
    or at a hyphen); a word longer than a line is shortened in the middle. Text that fits
    is left as it is, its spacing included. (``printable``.)"""
    text = printable(text)
    if len(first) + len(text) <= width:
        return [(first + text).rstrip()]
    rest = " " * len(first) if rest is None else rest
    room = max(width - max(len(first), len(rest)), 1)
    words = [shorten_middle(word, room) for word in text.split()]
    lines = textwrap.wrap(
        " ".join(words),
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return lines or [first.rstrip()]


def wrap_items(
    items: Sequence[str], width: int, first: str = "", rest: str | None = None, sep: str = ", "
) -> list[str]:
    """Items joined by ``sep`` in lines of at most ``width``, each item whole on one line
    ('450.56 K FLOPs · 224 params'), shortened in the middle if longer than a line.

    ``first`` may be a heading ('op types: '): an item that does not fit after it goes
    to the next line."""
    rest = " " * len(first) if rest is None else rest
    items = [printable(item) for item in items]
    glue = sep.rstrip()  # ends an item that has a next one: "," or " ·"
    gap = sep[len(glue) :]  # then, on the same line: " "
    lines, line, fresh = [], first, True
    for k, item in enumerate(items):
        text = item + (glue if k < len(items) - 1 else "")
        if line.strip() and len(line) + len(gap) * (not fresh) + len(text) > width:
            lines.append(line)
            line, fresh = rest, True
        if not fresh:
            line += gap
        line += shorten_middle(text, max(width - len(line), 1))
        fresh = False
    lines.append(line)
    return [x.rstrip() for x in lines]


@dataclass(frozen=True)
class Column:
    """A grid column: its heading, how a row becomes its cell, and how it gives way.

    A ``shrink`` column gives way when the grid is too wide, its cells shortened in the
    middle; the others keep their width. ``least`` is the narrowest it gets before
    every shrinkable column has given that much.
    """

    head: str
    cell: Callable[[Any], str]
    align: str = "r"  # "l" or "r"
    shrink: bool = False
    least: int = 12


def grid(columns: Sequence[Column], rows: Sequence, width: int, indent: str = "") -> list[str]:
    """A table (heading, rule, one line per row) no wider than ``width``.

    Shrinkable columns give way in their order, each down to its ``least``; if the grid
    still does not fit, the widest of them gives a column at a time (down to 4).
    """
    cells = [[printable(c.cell(r)) for c in columns] for r in rows]
    widths = [max([len(c.head), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    excess = len(indent) + sum(widths) + 2 * (len(widths) - 1) - width
    shrinkable = [i for i, c in enumerate(columns) if c.shrink]
    for i in shrinkable:
        cut = max(min(excess, widths[i] - columns[i].least), 0)
        widths[i] -= cut
        excess -= cut
    while excess > 0 and shrinkable:
        widest = max(shrinkable, key=lambda i: widths[i])
        if widths[widest] <= _NARROWEST:
            break
        widths[widest] -= 1
        excess -= 1

    def line(texts: Sequence[str]) -> str:
        padded = []
        for text, w, c in zip(texts, widths, columns, strict=True):
            text = shorten_middle(text, w)
            padded.append(text.ljust(w) if c.align == "l" else text.rjust(w))
        return (indent + "  ".join(padded)).rstrip()

    rule = indent + "  ".join("-" * w for w in widths)
    return [line([c.head for c in columns]), rule, *(line(row) for row in cells)]


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` in percent, one decimal; never 0.0% or 100.0% when it is not."""
    if not whole:
        return "-"
    pct = 100 * part / whole
    if part and abs(pct) < 0.05:
        return "<0.1%"
    if part != whole and abs(pct) > 99.95:
        return ">99.9%"
    return f"{pct:.1f}%"


def more_line(
    hidden: Sequence[Mapping],
    rows: Sequence[Mapping],
    noun: tuple[str, str],
    figures: Sequence[tuple[str, str]],
    hint: str,
) -> str:
    """What a shortened table left out: '… 14 more op types, 12.0% of FLOPs; --top 0 for all'.

    ``figures`` are (key, label) of the figures whose hidden share is told when it is
    not zero; ``noun`` the row's (singular, plural).
    """
    shares = []
    for key, label in figures:
        part = sum(r[key] or 0 for r in hidden)
        if part:
            shares.append(f"{share(part, sum(r[key] or 0 for r in rows))} of {label}")
    what = (
        ", " + ", ".join(shares) if shares else " with no " + " or ".join(lb for _, lb in figures)
    )
    name = noun[0] if len(hidden) == 1 else noun[1]
    return f"{ELLIPSIS} {len(hidden)} more {name}{what}; {hint}"
