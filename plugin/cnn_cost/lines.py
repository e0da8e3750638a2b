"""Where each `cnn-cost` fence and each `#!cnn` reference is in a Markdown file, read from its text.

Nothing here changes the text a page is rendered from (an earlier edition tagged lines in the
Markdown, which showed inside literal text and could be forged). Instead the file is scanned
once, and each formatter looks its block up by content, in order:

- every line that opens a `cnn-cost` fence, in any form pymdown-extensions accepts
  (```` ```cnn-cost ````, ```` ``` cnn-cost ````, ```` ```{.cnn-cost} ````, with options, indented,
  quoted), is a candidate, and its body is read up to its own closing fence;
- every `#!cnn` code span outside fenced code is recorded with its expression.

A candidate that is not a real fence (a fence shown in indented code, say) only adds a body that
no formatter asks for. All scans are linear in the text.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

FENCE_NAME = "cnn-cost"

# a fence opening: a prefix of blockquote marks and whitespace, three or more ` or ~, then an info string
_OPEN = re.compile(r"^(?P<lead>(?:[ \t]*>)*[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")
# the language, as superfences reads it: a word (optionally after a dot), or the first class in braces
_LANG = re.compile(r"^[ \t]*(?:\{[ \t]*\.(?P<brace>[\w#.+-]+)|\.?(?P<word>[\w#.+-]+))")


@dataclass(frozen=True)
class Opening:
    """One line that opens a fence."""

    index: int  # 0-based line index
    lead: str
    fence: str
    info: str

    @property
    def lang(self) -> str:
        m = _LANG.match(self.info)
        if not m:
            return ""
        return m["brace"] or m["word"] or ""


def opening(line: str) -> Opening | None:
    m = _OPEN.match(line)
    if m is None:
        return None
    fence, info = m["fence"], m["info"]
    if fence[0] == "`" and "`" in info:  # CommonMark: a backtick fence's info string has no backtick
        return None
    return Opening(-1, m["lead"], fence, info)


def closes(line: str, open_: Opening) -> bool:
    """Whether `line` closes the fence `open_` (the same character, at least as many, nothing else)."""
    body = line.strip().lstrip(">").strip() if ">" in open_.lead else line.strip()
    char = open_.fence[0]
    return len(body) >= len(open_.fence) and body == char * len(body)


def _dedent(line: str, lead: str) -> str:
    """A body line without the fence's own prefix (indentation, blockquote marks)."""
    if line.startswith(lead):
        return line[len(lead):]
    if ">" in lead:  # a quoted body line may carry fewer spaces after its marks
        stripped = line.lstrip(" \t")
        while stripped.startswith(">"):
            stripped = stripped[1:]
            if stripped.startswith(" "):
                stripped = stripped[1:]
        return stripped
    return line.lstrip(" \t") if not line[: len(lead)].strip() else line


class Fence(NamedTuple):
    """One candidate `cnn-cost` fence: its lines, its body, and what was cut from each body line."""

    opening: int  # 0-based index of the opening line
    closing: int  # 0-based index of the closing line (the number of lines when the fence is never closed)
    body: str  # the body, each line without the fence's own prefix
    prefixes: tuple[int, ...]  # characters cut from the front of each body line (indentation, `>` marks)
    nested: bool  # inside another fenced block (an example in a ````markdown fence, say)

    @property
    def first_line(self) -> int:
        """The 1-based line of the body's first line."""
        return self.opening + 2


def fence_places(text: str) -> list[Fence]:
    """Every candidate `cnn-cost` fence, in order, each with whether it lies inside another fenced block."""
    return _fences(text, nesting=True)


def fence_bodies(text: str) -> list[tuple[int, str]]:
    """(first body line, 1-based; body) of every candidate `cnn-cost` fence, in order."""
    return [(fence.first_line, fence.body) for fence in _fences(text, nesting=False)]


def _fences(text: str, nesting: bool) -> list[Fence]:
    """The candidates; `nesting`: with what was cut from each body line and whether they lie inside another
    fence (a second scan of the text), else without (`prefixes` empty, `nested` False)."""
    lines = text.split("\n")
    states: list[int] | None = None
    out = []
    for i, line in enumerate(lines):
        if "cnn-cost" not in line:
            continue
        found = opening(line)
        if found is None or found.lang != FENCE_NAME:
            continue
        found = Opening(i, found.lead, found.fence, found.info)
        j = i + 1
        while j < len(lines) and not closes(lines[j], found):
            j += 1
        body = [_dedent(text, found.lead) for text in lines[i + 1 : j]]
        if not nesting:  # the build's line map: the body is all it needs
            out.append(Fence(i, j, "\n".join(body), (), False))
            continue
        if states is None:
            states = _fenced_lines(lines)
        cut = tuple(len(a) - len(b) for a, b in zip(lines[i + 1 : j], body, strict=True))
        out.append(Fence(i, j, "\n".join(body), cut, states[i] == INSIDE))
    return out


OUTSIDE, OPENS, INSIDE = 0, 1, 2  # a line's place with respect to fenced code


def _fenced_lines(lines: list[str]) -> list[int]:
    """Each line's place: OPENS a fenced code block, INSIDE one (its body or closing line), or OUTSIDE."""
    states = [OUTSIDE] * len(lines)
    current: Opening | None = None
    for i, line in enumerate(lines):
        if current is not None:
            states[i] = INSIDE
            if closes(line, current):
                current = None
            continue
        found = opening(line)
        if found is not None:
            current = found
            states[i] = OPENS
    return states


class Span(NamedTuple):
    """One `#!cnn` code span: its line and the columns of its text (after `#!cnn`, before the closing ticks)."""

    line: int  # 1-based
    start: int  # 0-based column of the first character after `#!cnn`
    end: int  # 0-based column of the closing backticks
    text: str  # the line's text between the two

    @property
    def expr(self) -> str:
        return self.text.strip()


def inline_places(text: str) -> list[Span]:
    """Every `#!cnn` code span outside fenced code, in order."""
    if "#!cnn" not in text:
        return []
    lines = text.split("\n")
    fenced = _fenced_lines(lines)
    out = []
    for i, line in enumerate(lines):
        if fenced[i] or "#!cnn" not in line:
            continue
        at = 0
        while True:
            start = line.find("#!cnn", at)
            if start < 0:
                break
            ticks = len(line[:start]) - len(line[:start].rstrip("`"))
            at = start + 5
            if ticks == 0 or (start - ticks > 0 and line[start - ticks - 1] == "`"):
                continue
            end = line.find("`" * ticks, at)
            if end < 0:
                break
            if line[at : at + 1] in (" ", "\t"):
                out.append(Span(i + 1, at, end, line[at:end]))
            at = end + ticks
    return out


def inline_spans(text: str) -> list[tuple[int, str]]:
    """(line, expression) of every `#!cnn` code span outside fenced code, in order."""
    return [(span.line, span.expr) for span in inline_places(text)]


@dataclass
class LineMap:
    """The lines of one page's blocks and references, handed out in document order."""

    offset: int = 0  # lines of the file before the text that was scanned (front matter)
    fences: dict[str, deque[int]] = field(default_factory=dict)
    inline: dict[str, deque[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str, offset: int = 0) -> LineMap:
        found = cls(offset)
        for line, body in fence_bodies(text):
            found.fences.setdefault(normalize_body(body), deque()).append(line + offset)
        for line, expr in inline_spans(text):
            found.inline.setdefault(expr, deque()).append(line + offset)
        return found

    def fence(self, body: str) -> int | None:
        """The first body line of the next fence with this body, or None if it is not in the file."""
        lines = self.fences.get(normalize_body(body))
        return lines.popleft() if lines else None

    def reference(self, expr: str) -> int | None:
        lines = self.inline.get(expr.strip())
        return lines.popleft() if lines else None


def normalize_body(body: str) -> str:
    """Bodies compared without trailing whitespace (superfences may drop a last empty line)."""
    return "\n".join(line.rstrip() for line in body.rstrip("\n").split("\n"))


# pymdownx.snippets: `--8<-- "file.md"` on a line, or a block of file names between two `--8<--` lines
_SNIPPET_LINE = re.compile(r"""^[ \t]*-{1,}8<-{1,}[ \t]+["']([^"'\n]{1,300})["'][ \t]*$""")
_SNIPPET_BLOCK = re.compile(r"^[ \t]*-{1,}8<-{1,}[ \t]*$")


def snippet_names(text: str) -> list[str]:
    """The files a page includes with pymdownx.snippets, as written (sections and line ranges cut off)."""
    if "8<-" not in text:
        return []
    names, in_block = [], False
    for line in text.split("\n"):
        if _SNIPPET_BLOCK.match(line):
            in_block = not in_block
            continue
        m = _SNIPPET_LINE.match(line)
        name = m.group(1) if m else (line.strip() if in_block and line.strip() else None)
        if name and not name.startswith(("http://", "https://", ";")):
            names.append(re.sub(r"(:[\w-]*)+$", "", name))  # `file.md:section`, `file.md:3:5`
    return list(dict.fromkeys(names))
