"""`cnn-cost update`: claimed numbers that do not hold, rewritten to the computed ones, touching only them.

For one file: each block `cnn-cost check` reads (`cnn_cost.pages`) is parsed and evaluated as the check
does; each claim of its `expect:` that is a `WrongNumber` gets the computed value written in the claim's own
style (`claims.rewritten`) over the exact characters of the value, and so does the value of each
`#!cnn path = N` reference. Comments, key order, quoting and the rest of the file stay as they are.

Left alone, each with a message at its line: a block that cannot be parsed or evaluated, an `xfail: true`
block (wrong on purpose), a claim whose path names nothing or whose value the block does not compute, and a
value written in a form that cannot be rewritten in place (a YAML block scalar, escapes, a value over
several lines, a block-style list of another length). A rewritten block is parsed again and its claims
checked against the same result before its new text is kept.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import yaml

from cnn_cost.block import Block, parse_block
from cnn_cost.claims import Claim, check, parse_claim, rewritten
from cnn_cost.errors import CnnCostError
from cnn_cost.lines import Fence, Span
from cnn_cost.markdown import _lookup, _loose_id, _split_ratio, _value
from cnn_cost.pages import places
from cnn_cost.result import Result
from cnn_cost.session import PageState, Problem, Session
from cnn_cost.yamlsafe import Where, compose


@dataclass(frozen=True)
class Edit:
    """New text for the characters `start:end` of one line of the file."""

    line: int  # 0-based
    start: int
    end: int
    text: str


@dataclass
class FileUpdate:
    """One file: its text before and after, the claims rewritten, and what was left alone and why."""

    display: str  # the file's path as messages show it
    old: str
    new: str = ""
    fixed: int = 0  # claims rewritten
    problems: list[str] = field(default_factory=list)  # `path:line: message (not updated)`
    notes: list[str] = field(default_factory=list)  # xfail blocks, left alone on purpose

    @property
    def changed(self) -> bool:
        return self.new != self.old

    def diff(self) -> str:
        """A unified diff from `a/<path>` to `b/<path>`, as `git apply` and `patch -p1` read it."""
        out = []
        for line in difflib.unified_diff(_lines(self.old), _lines(self.new), f"a/{self.display}",
                                         f"b/{self.display}"):
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)

    def problem(self, line: int | None, message: str, column: int | None = None) -> None:
        self.problems.append(str(Problem(self.display, line, column, message)))


def _lines(text: str) -> list[str]:
    """Lines with their endings, split at "\\n" only (as the file's lines are counted)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def update_text(text: str, display: str, session: Session) -> FileUpdate:
    """The file's text with every wrong claim rewritten (`FileUpdate.new`); nothing is written here."""
    out = FileUpdate(display, text)
    lines = text.split("\n")
    page = PageState(session, display)
    found = places(text)
    edits: list[Edit] = []
    for fence in found.blocks:
        edits += _block_edits(fence, lines, page, out)
    for span in found.references:  # after every block: a reference may name a block further down
        edit = _reference_edit(span, page, out)
        if edit is not None:
            edits.append(edit)
            out.fixed += 1
    out.new = "\n".join(apply(lines, edits))
    return out


def apply(lines: Sequence[str], edits: Sequence[Edit], first: int = 0) -> list[str]:
    """`lines` (the file's from line `first` on) with the edits made."""
    out = list(lines)
    for edit in sorted(edits, key=lambda e: (e.line, e.start), reverse=True):
        at = edit.line - first
        out[at] = out[at][: edit.start] + edit.text + out[at][edit.end :]
    return out


def _block_edits(fence: Fence, lines: list[str], page: PageState, out: FileUpdate) -> list[Edit]:
    session = page.session
    block: Block | None = None
    try:
        block = parse_block(fence.body, fence.first_line, session.imports)
        if block.id and page.has(block.id):
            raise CnnCostError(f"duplicate block id {block.id!r} on this page", fence.first_line)
        result = session.compute(block)
    except CnnCostError as exc:
        failed_id = block.id if block is not None else _loose_id(fence.body)
        if failed_id:  # a reference to it says the block has a problem
            page.failed.add(failed_id)
        label = f"cnn-cost block '{failed_id}'" if failed_id else "cnn-cost block"
        for p in exc.problems:
            out.problem(p.line, f"{label}: {p.message} (block not updated)", p.column)
        return []
    if block.id:
        page.results[block.id] = result
    if block.xfail:
        out.notes.append(str(Problem(out.display, fence.opening + 1, None,
                                     f"{block.label}: xfail: true, wrong on purpose (block not updated)")))
        return []
    checked = check(block.expect, result)
    for failure in checked.unverifiable:
        out.problem(failure.claim.line, f"{block.label}: {failure.message} (claim not updated)")
    if not checked.wrong:
        return []
    expect = _expect(fence)
    edits: list[Edit] = []
    fixed: set[str] = set()
    for wrong in checked.wrong:
        made = _claim_edits(expect, wrong.claim, result.value(wrong.claim.path))
        if isinstance(made, str):
            out.problem(wrong.claim.line, f"{block.label}: {wrong.claim.path}: {made} (claim not updated)")
        else:
            edits += made
            fixed.add(wrong.claim.path)
    if edits and not _holds_after(fence, lines, edits, result, fixed, session):  # pragma: no cover - a safeguard
        out.problem(fence.first_line, f"{block.label}: the rewritten block does not check: please report it "
                                      "(block not updated)")
        return []
    out.fixed += len(fixed)
    return edits


@dataclass(frozen=True)
class _Expect:
    """A block's body as YAML reads it, and the node of each claim's value in its `expect:`."""

    fence: Fence
    body: str
    where: Where
    values: dict[str, yaml.Node]


def _expect(fence: Fence) -> _Expect:
    body = fence.body.replace("\r\n", "\n").replace("\r", "\n")  # as parse_block reads it
    where = Where(body, fence.first_line)
    values: dict[str, yaml.Node] = {}
    for key, value in compose(body, where).value:
        if key.value == "expect" and isinstance(value, yaml.MappingNode):
            values = {k.value: v for k, v in value.value}
    return _Expect(fence, body, where, values)


def _claim_edits(expect: _Expect, claim: Claim, computed: int | tuple[int, ...]) -> list[Edit] | str:
    """The edits that write `computed` over the claim's value, or why it cannot be rewritten in place."""
    node = expect.values[claim.path]
    if isinstance(node, yaml.SequenceNode) and not node.flow_style:  # a block-style list: item by item
        items = node.value
        plain = all(isinstance(i, yaml.ScalarNode) and not i.style for i in items)
        if not isinstance(computed, tuple) or len(items) != len(computed) or not plain:
            return "a block-style list of another length: write the shape as [1, 10] to have it updated"
        return [_at(expect, item.start_mark.index, item.end_mark.index, str(d))
                for item, d in zip(items, computed, strict=True)]
    start, end = node.start_mark.index, node.end_mark.index
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("|", ">"):
            return "written as a YAML block scalar"
        if node.style in ("'", '"'):
            start, end = start + 1, end - 1
    written = expect.body[start:end]
    if "\n" in written or (isinstance(node, yaml.ScalarNode) and written != node.value):
        return "written over several lines or with YAML escapes"
    return [_at(expect, start, end, rewritten(claim, computed, written))]


def _at(expect: _Expect, start: int, end: int, text: str) -> Edit:
    """An edit of the body's characters `start:end`, placed in the file's line and columns."""
    line, column = expect.where.position(start)
    cut = expect.fence.prefixes[line - expect.fence.first_line]
    return Edit(line - 1, cut + column - 1, cut + column - 1 + end - start, text)


def _holds_after(fence: Fence, lines: list[str], edits: list[Edit], result: Result, fixed: set[str],
                 session: Session) -> bool:
    """The block, with the edits made, parses, and every claim rewritten (`fixed`, their paths) holds."""
    region = apply(lines[fence.opening + 1 : fence.closing], edits, fence.opening + 1)
    body = "\n".join(line[cut:] for line, cut in zip(region, fence.prefixes, strict=True))
    try:
        block = parse_block(body, fence.first_line, session.imports)
    except CnnCostError:
        return False
    return not any(wrong.claim.path in fixed for wrong in check(block.expect, result).wrong)


def _reference_edit(span: Span, page: PageState, out: FileUpdate) -> Edit | None:
    """The edit of a `#!cnn path = N` reference whose claim does not hold, or None."""
    left, eq, claimed = span.text.partition("=")
    if not eq:
        return None
    try:
        claim, value = _reference_claim(page, left.strip(), claimed.strip())
    except CnnCostError as exc:
        out.problem(span.line, f"`#!cnn {span.expr}`: {exc.message} (not updated)")
        return None
    if claim.holds(value):
        return None
    start = span.start + len(left) + 1 + len(claimed) - len(claimed.lstrip())
    return Edit(span.line - 1, start, start + len(claimed.strip()), rewritten(claim, value))


def _reference_claim(page: PageState, expr: str, claimed: str) -> tuple[Claim, int | Fraction | tuple[int, ...]]:
    """The claim of a reference and the value it names, looked up as the page's inline formatter does."""
    ratio = _split_ratio(expr)
    if ratio is None:
        result, path = _lookup(page, expr)
        value = _value(result, path)
        return parse_claim(path, claimed), value
    a, b = (_value(*_lookup(page, side)) for side in ratio)
    if not isinstance(a, int) or not isinstance(b, int) or b == 0:
        raise CnnCostError(f"`{expr}`: a ratio needs two non-zero counts")
    return parse_claim(expr, claimed, kind="ratio"), Fraction(a, b)
