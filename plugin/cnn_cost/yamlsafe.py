"""The YAML of a block, read safely: parse events checked before anything is composed (no anchors,
aliases or tags, bounded nesting), one mapping composed from them, and every node's place in the
Markdown file (`Where`) for error messages.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

import yaml

from cnn_cost.errors import CnnCostError
from cnn_cost.expressions import Source

MAX_YAML_DEPTH = 8


class Where:
    """Map YAML marks (0-based, relative to the body) to Markdown lines (1-based).

    Lines are counted from the mark's character index, at "\n" only: YAML also breaks lines at
    U+0085, U+2028 and U+2029, Markdown (and an editor's line numbers) do not.
    """

    def __init__(self, body: str, first_line: int) -> None:
        self.lines = body.split("\n")
        self.first_line = first_line
        self.starts = [0] + [m.end() for m in re.finditer("\n", body)]

    def row(self, mark: Any) -> int:
        """0-based line of a mark in the body."""
        return bisect.bisect_right(self.starts, mark.index) - 1 if mark else 0

    def line(self, mark: Any) -> int:
        return self.first_line + self.row(mark)

    def column(self, mark: Any) -> int:
        return (mark.index - self.starts[self.row(mark)] if mark else 0) + 1

    def at(self, node: yaml.Node) -> tuple[int, int]:
        """(line, column) of a node's start."""
        return self.line(node.start_mark), self.column(node.start_mark)

    def position(self, index: int) -> tuple[int, int]:
        """(line, column) of a character index into the body."""
        row = bisect.bisect_right(self.starts, index) - 1
        return self.first_line + row, index - self.starts[row] + 1


class Replay(yaml.composer.Composer, yaml.resolver.Resolver):
    """A composer fed with events already parsed (and checked): the body is scanned once."""

    def __init__(self, events: list[yaml.Event]) -> None:
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.events = events
        self.position = 0

    def check_event(self, *choices: type) -> bool:
        if self.position >= len(self.events):
            return False
        return not choices or isinstance(self.events[self.position], choices)

    def peek_event(self) -> yaml.Event:
        return self.events[self.position]

    def get_event(self) -> yaml.Event:
        event = self.events[self.position]
        self.position += 1
        return event


def check_events(body: str, where: Where) -> list[yaml.Event]:
    """Reject anchors, aliases, tags and deep nesting before anything is composed."""
    depth = 0
    events: list[yaml.Event] = []
    try:
        for event in yaml.parse(body, Loader=yaml.SafeLoader):
            events.append(event)
            mark = event.start_mark
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise CnnCostError(
                    "YAML anchors and aliases are not allowed in a cnn-cost block",
                    where.line(mark), where.column(mark),
                )
            tag = getattr(event, "tag", None)
            implicit = getattr(event, "implicit", True)
            # scalars carry (plain, quoted) flags; collection starts carry one bool
            plain = implicit[0] if isinstance(implicit, tuple) else bool(implicit)
            if tag and not plain and tag != "!":
                raise CnnCostError(
                    f"YAML tags such as {tag!r} are not allowed in a cnn-cost block",
                    where.line(mark), where.column(mark),
                )
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise CnnCostError("YAML nested too deeply", where.line(mark), where.column(mark))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise CnnCostError(f"invalid YAML: {problem}", where.line(mark), where.column(mark)) from None
    except yaml.reader.ReaderError as exc:
        line, column = where.position(exc.position)
        raise CnnCostError(
            f"invalid YAML: character {exc.character!r} is not allowed ({exc.reason})", line, column
        ) from None
    except yaml.YAMLError as exc:
        raise CnnCostError(f"invalid YAML: {str(exc)[:200]}", where.first_line) from None
    return events


def compose(body: str, where: Where) -> yaml.MappingNode:
    events = check_events(body, where)
    try:
        node = Replay(events).get_single_node()
    except yaml.MarkedYAMLError as exc:  # a second document
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise CnnCostError(f"invalid YAML: {problem}", where.line(mark), where.column(mark)) from None
    if node is None:
        raise CnnCostError("empty cnn-cost block: it needs `model:` or `layers:`", where.first_line)
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "a cnn-cost block holds one YAML mapping (keys such as `input:`, `model:`, `expect:`)",
            where.line(node.start_mark), where.column(node.start_mark),
        )
    return node


def pairs(node: yaml.MappingNode, where: Where, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    seen: set[str] = set()
    out = []
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise CnnCostError(f"{what}: keys must be plain names", *where.at(key))
        if key.value in seen:
            raise CnnCostError(f"{what}: duplicate key {key.value[:40]!r}", *where.at(key))
        seen.add(key.value)
        out.append((key, value))
    return out


def scalar(node: yaml.Node, where: Where, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise CnnCostError(f"`{what}` must be a single value", *where.at(node))
    return str(node.value)


def expression_source(node: yaml.Node, body: str, where: Where, what: str) -> Source:
    if not isinstance(node, yaml.ScalarNode):
        raise CnnCostError(
            f"`{what}` must be a layer expression such as `nn.Conv2d(3, 64, 3)`",
            where.line(node.start_mark), where.column(node.start_mark),
        )
    start, end = node.start_mark, node.end_mark
    if node.style in ("|", ">"):
        # the raw lines, dedented: line numbers survive folding, leading blank lines and chomping
        last = where.row(end)
        lines = where.lines[where.row(start) + 1 : last + (1 if end.index > where.starts[last] else 0)]
        indent = next((len(s) - len(s.lstrip(" ")) for s in lines if s.strip()), 0)
        raw = "\n".join(s[indent:] for s in lines)
        folded = Source(node.value.strip("\n"), where.line(start) + 1, indent + 1, indent_rest=False,
                         indent=indent)
        return Source(raw, where.line(start) + 1, indent + 1, indent_rest=False, indent=indent,
                       fallback=folded)
    if node.style in ("'", '"'):
        folded = Source(node.value, where.line(start), where.column(start) + 1, indent_rest=False)
        inner = body[start.index + 1 : end.index - 1]
        if "\n" in inner and "\\" not in inner and "''" not in inner:
            # a quoted scalar over several lines: parse the raw text so lines and columns are right
            # (escapes, \\ or a doubled '', mean something else in Python: then YAML's value)
            return Source(inner, where.line(start), where.column(start) + 1, indent_rest=True,
                           fallback=folded)
        return folded
    folded = Source(node.value, where.line(start), where.column(start), indent_rest=False)
    return Source(body[start.index : end.index], where.line(start), where.column(start), indent_rest=True,
                   fallback=folded)
