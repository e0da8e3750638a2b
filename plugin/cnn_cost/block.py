"""Parse a `cnn-cost` block: YAML body plus layer expressions, into frozen dataclasses.

Nothing here imports torch and nothing is ever evaluated as Python: layer expressions are
read with `ast.parse` and folded by hand, under limits, into `Call` trees.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Union

import yaml

from cnn_cost.claims import Claim, parse_claim
from cnn_cost.errors import CnnCostError
from cnn_cost.layers import REGISTRY

MAX_BODY_CHARS = 100_000
MAX_YAML_DEPTH = 8
MAX_EXPR_DEPTH = 40
MAX_AST_NODES = 50_000
MAX_INT = 2**40
MAX_SEQUENCE = 10_000
MAX_LAYERS = 10_000
MAX_STRING = 200
MAX_DIMS = 6
MAX_VALUES = 100_000  # literal values in one expression, after list repetition

_DIGITS_RE = re.compile(r"^[0-9]+$")

BLOCK_KEYS = ("id", "title", "input", "model", "layers", "dtype", "flops", "columns", "as", "xfail", "expect")
COUNTER_NAMES = ("thop", "ptflops", "fvcore", "torchinfo", "torch")
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
CONVENTIONS = ("2mac", "mac", "detailed")
COLUMNS = ("layer", "type", "output", "params", "macs", "flops", "formula", "params_share", "flops_share")
DEFAULT_COLUMNS = ("layer", "type", "output", "params", "macs", "flops", "formula")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHAPE_RE = re.compile(r"^\s*[0-9]+(\s*[x×]\s*[0-9]+)*\s*$")

Value = Union[int, float, bool, None, str, tuple["Value", ...], "Call"]


@dataclass(frozen=True)
class Call:
    """One layer constructor call, as written: `nn.Conv2d(3, 64, 3, padding=1)`."""

    name: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    line: int
    column: int
    module: str | None = None  # set for a model imported from a configured module
    # (line, column) of each keyword argument, in the order of `kwargs`
    kwarg_at: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name

    def count_layers(self) -> int:
        """This call and every layer call among its arguments, counted through repetitions.

        Memoised per object: `[nn.Sequential(...)] * 100` shares one object a hundred times.
        """
        cached = self.__dict__.get("_layer_count")
        if cached is None:
            cached = 1 + sum(v.count_layers() for v in self.args if isinstance(v, Call))
            object.__setattr__(self, "_layer_count", cached)
        return cached  # type: ignore[no-any-return]

    def keyword_at(self, key: str) -> tuple[int, int]:
        """(line, column) of keyword argument `key`, or of the call when unknown."""
        for (name, _), where in zip(self.kwargs, self.kwarg_at, strict=False):
            if name == key:
                return where
        return self.line, self.column


@dataclass(frozen=True)
class Block:
    """A parsed `cnn-cost` block."""

    source: str
    line: int  # line of the first body line in the Markdown file (1-based)
    id: str | None = None
    title: str | None = None
    input: tuple[int, ...] | None = None
    input_has_batch: bool = False
    model: Call | None = None
    layers: tuple[tuple[str, Call], ...] | None = None
    dtype: str = "float32"
    flops: str | None = None
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    counters: tuple[str, ...] = ()  # `as:`: counting libraries to show a column for
    xfail: bool = False
    expect: tuple[Claim, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"cnn-cost block '{self.id}'" if self.id else "cnn-cost block"


# ---------------------------------------------------------------- YAML ----


class _Where:
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


class _Replay(yaml.composer.Composer, yaml.resolver.Resolver):
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


def _check_events(body: str, where: _Where) -> list[yaml.Event]:
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


def _compose(body: str, where: _Where) -> yaml.MappingNode:
    events = _check_events(body, where)
    try:
        node = _Replay(events).get_single_node()
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


def _pairs(node: yaml.MappingNode, where: _Where, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
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


def _scalar(node: yaml.Node, where: _Where, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise CnnCostError(f"`{what}` must be a single value", *where.at(node))
    return str(node.value)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


# ----------------------------------------------------------- expressions ----


@dataclass
class _Source:
    """Where an expression's text starts in the Markdown file."""

    text: str
    line: int  # line of the text's first line
    column: int  # 1-based column of the text's first character
    indent_rest: bool  # True: later lines keep their own columns (raw slice)
    indent: int = 0  # for block scalars: indentation removed from every line
    fallback: _Source | None = None  # YAML's folded value, tried when the raw text is not Python

    def locate(self, node: ast.AST) -> tuple[int, int]:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        if lineno == 1:
            return self.line, self.column + col
        return self.line + lineno - 1, (col + 1 if self.indent_rest else self.indent + col + 1)


def _expression_source(node: yaml.Node, body: str, where: _Where, what: str) -> _Source:
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
        folded = _Source(node.value.strip("\n"), where.line(start) + 1, indent + 1, indent_rest=False,
                         indent=indent)
        return _Source(raw, where.line(start) + 1, indent + 1, indent_rest=False, indent=indent,
                       fallback=folded)
    if node.style in ("'", '"'):
        folded = _Source(node.value, where.line(start), where.column(start) + 1, indent_rest=False)
        inner = body[start.index + 1 : end.index - 1]
        if "\n" in inner and "\\" not in inner and "''" not in inner:
            # a quoted scalar over several lines: parse the raw text so lines and columns are right
            # (escapes, \\ or a doubled '', mean something else in Python: then YAML's value)
            return _Source(inner, where.line(start), where.column(start) + 1, indent_rest=True,
                           fallback=folded)
        return folded
    folded = _Source(node.value, where.line(start), where.column(start), indent_rest=False)
    return _Source(body[start.index : end.index], where.line(start), where.column(start), indent_rest=True,
                   fallback=folded)


class _ExprParser:
    """Fold a Python expression AST into `Call` trees and literal values."""

    def __init__(self, src: _Source, imports: tuple[str, ...]) -> None:
        self.src = src
        self.imports = imports
        self.layers = 0
        self.nodes = 0
        self._weights: dict[int, int] = {}
        self._keep: list[object] = []  # keeps memoised objects alive, so their ids stay theirs

    def fail(self, message: str, node: ast.AST) -> CnnCostError:
        line, column = self.src.locate(node)
        return CnnCostError(message, line, column)

    def parse(self) -> ast.expr:
        text = self.src.text
        depth = max_depth = 0
        for ch in text:
            if ch in "([{":
                depth += 1
                max_depth = max(max_depth, depth)
            elif ch in ")]}":
                depth -= 1
        if max_depth > MAX_EXPR_DEPTH:
            raise CnnCostError(
                f"layer expression nested too deeply (more than {MAX_EXPR_DEPTH} brackets)",
                self.src.line, self.src.column,
            )
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            if self.src.fallback is not None:
                raw, self.src = self.src, self.src.fallback
                try:
                    return self.parse()
                except CnnCostError:
                    self.src = raw  # report the error as the author wrote it
            lineno = exc.lineno or 1
            col = (exc.offset or 1) - 1
            fake = ast.Constant(value=None, lineno=lineno, col_offset=col)
            raise self.fail(f"invalid layer expression: {exc.msg}", fake) from None
        except (RecursionError, MemoryError, ValueError) as exc:
            raise CnnCostError(
                f"invalid layer expression: {type(exc).__name__}", self.src.line, self.src.column
            ) from None
        return tree.body

    def top(self) -> Call:
        node = self.parse()
        value = self.value(node, depth=0)
        if not isinstance(value, Call):
            raise self.fail("expected a layer call such as `nn.Conv2d(3, 64, 3)`", node)
        return value

    # names ---------------------------------------------------------------

    def callee(self, func: ast.expr) -> tuple[str | None, str]:
        """Return (module, class name) for an allowed callee, or raise."""
        parts: list[str] = []
        node: ast.expr = func
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            raise self.fail("only layer classes can be called (for example `nn.Conv2d(...)`)", func)
        parts.append(node.id)
        parts.reverse()
        for part in parts:
            if part.startswith("_"):
                raise self.fail(f"names starting with '_' are not allowed: {part!r}", func)
        name = parts[-1]
        prefix = ".".join(parts[:-1])
        if prefix in ("", "nn", "torch.nn"):
            if name not in REGISTRY:
                hint = _suggest(name, REGISTRY)
                raise self.fail(f"unknown layer {'.'.join(parts)!r}{hint}", func)
            return None, name
        if prefix in self.imports:
            return prefix, name
        if parts[0] in ("nn", "torch"):
            raise self.fail(f"only `nn.X` and `torch.nn.X` attributes are allowed, not {'.'.join(parts)!r}", func)
        allowed = ", ".join(self.imports) if self.imports else "none configured"
        raise self.fail(
            f"{'.'.join(parts)!r}: module {prefix!r} is not in the plugin's `imports` list ({allowed})", func
        )

    # values --------------------------------------------------------------

    def value(self, node: ast.expr, depth: int) -> Value:
        if depth > MAX_EXPR_DEPTH:
            raise self.fail("layer expression nested too deeply", node)
        self.nodes += 1
        if self.nodes > MAX_AST_NODES:
            raise CnnCostError(
                f"layer expression too large (more than {MAX_AST_NODES} syntax nodes)", self.src.line, self.src.column
            )
        if isinstance(node, ast.Constant):
            v = node.value
            if v is None or isinstance(v, (bool, int, float)):
                return self.bounded(v, node)
            if isinstance(v, str):
                if len(v) > MAX_STRING:
                    raise self.fail(f"string longer than {MAX_STRING} characters", node)
                if v.startswith("__"):
                    raise self.fail("dunder strings are not allowed", node)
                return v
            raise self.fail(f"literal of type {type(v).__name__} is not allowed", node)
        if isinstance(node, (ast.Tuple, ast.List)):
            items: list[Value] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    raise self.fail("`*` unpacking is only allowed in a call's arguments", elt)
                items.append(self.value(elt, depth + 1))
            return tuple(items)
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
            symbol = "not" if isinstance(node.op, ast.Not) else "~"
            raise self.fail(f"operator {symbol!r} is not allowed (use + - * / // **)", node)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, depth + 1)
            if not _is_number(operand):
                raise self.fail("unary minus applies to numbers only", node)
            return self.bounded(-operand if isinstance(node.op, ast.USub) else operand, node)  # type: ignore[operator]
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Name):
            if node.id in ("True", "False", "None"):  # pragma: no cover - constants in py3.8+
                return {"True": True, "False": False, "None": None}[node.id]
            hint = _suggest(node.id, REGISTRY)
            raise self.fail(f"name {node.id!r} is not allowed here (only literals and layer calls){hint}", node)
        if isinstance(node, ast.Attribute):
            raise self.fail("attribute access is not allowed (layer classes must be called)", node)
        kinds = {
            ast.Lambda: "lambdas", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
            ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
            ast.Subscript: "subscripts", ast.Dict: "dicts", ast.Set: "sets",
            ast.JoinedStr: "f-strings", ast.NamedExpr: "assignment expressions",
            ast.IfExp: "conditional expressions", ast.Compare: "comparisons", ast.BoolOp: "boolean operators",
            ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
        }
        what = kinds.get(type(node), type(node).__name__)
        raise self.fail(f"{what} are not allowed in a layer expression", node)

    def bounded(self, v: Value, node: ast.AST) -> Value:
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int) and abs(v) > MAX_INT:
            raise self.fail(f"integer {_short(v)} is too large (at most 2**40)", node)
        if isinstance(v, float) and not (abs(v) <= MAX_INT):
            raise self.fail("number is too large or not finite", node)
        return v

    def binop(self, node: ast.BinOp, depth: int) -> Value:
        left = self.value(node.left, depth + 1)
        right = self.value(node.right, depth + 1)
        op = node.op
        if isinstance(op, ast.Mult) and isinstance(left, tuple) != isinstance(right, tuple):
            seq, times = (left, right) if isinstance(left, tuple) else (right, left)
            if not isinstance(seq, tuple) or not isinstance(times, int) or isinstance(times, bool):
                raise self.fail("a list can only be repeated by an integer", node)
            times = max(times, 0)
            if len(seq) * times > MAX_SEQUENCE:
                raise self.fail(f"list repetition gives more than {MAX_SEQUENCE} items", node)
            self.check_size(self.weight(seq) * times, self.layer_count(seq) * times, node)
            return self.remember(seq * times)
        if isinstance(op, ast.Add) and isinstance(left, tuple) and isinstance(right, tuple):
            if len(left) + len(right) > MAX_SEQUENCE:
                raise self.fail(f"list gives more than {MAX_SEQUENCE} items", node)
            self.check_size(self.weight(left) + self.weight(right),
                            self.layer_count(left) + self.layer_count(right), node)
            return self.remember(left + right)
        if not (_is_number(left) and _is_number(right)):
            raise self.fail("arithmetic applies to numbers only", node)
        a, b = left, right
        try:
            if isinstance(op, ast.Add):
                result = a + b  # type: ignore[operator]
            elif isinstance(op, ast.Sub):
                result = a - b  # type: ignore[operator]
            elif isinstance(op, ast.Mult):
                result = a * b  # type: ignore[operator]
            elif isinstance(op, ast.FloorDiv):
                result = a // b  # type: ignore[operator]
            elif isinstance(op, ast.Div):
                result = a / b  # type: ignore[operator]
            elif isinstance(op, ast.Pow):
                result = self.power(a, b, node)  # type: ignore[arg-type]
            else:
                raise self.fail(f"operator {type(op).__name__} is not allowed (use + - * / // **)", node)
        except ZeroDivisionError:
            raise self.fail("division by zero", node) from None
        except OverflowError:
            raise self.fail("number is too large", node) from None
        return self.bounded(result, node)

    # sizes ---------------------------------------------------------------

    def remember(self, value: tuple[Value, ...]) -> tuple[Value, ...]:
        self.weight(value)
        return value

    def weight(self, value: Value) -> int:
        """How many values a value holds, counting shared parts as often as they occur."""
        if isinstance(value, tuple):
            items: Iterable[Value] = value
        elif isinstance(value, Call):
            items = value.args + tuple(v for _, v in value.kwargs)
        else:
            return 1
        if id(value) in self._weights:
            return self._weights[id(value)]
        total = 1 + sum(self.weight(v) for v in items)
        self._weights[id(value)] = total
        self._keep.append(value)
        return total

    @staticmethod
    def layer_count(seq: tuple[Value, ...]) -> int:
        return sum(v.count_layers() for v in seq if isinstance(v, Call))

    def check_size(self, values: int, layers: int, node: ast.AST) -> None:
        if layers > MAX_LAYERS:
            raise self.fail(f"more than {MAX_LAYERS} layers in one block", node)
        if values > MAX_VALUES:
            raise self.fail(f"list repetition gives more than {MAX_VALUES} values in all", node)

    def power(self, a: float, b: float, node: ast.AST) -> float:
        if isinstance(a, float) or isinstance(b, float) or b < 0:
            if abs(a) > MAX_INT or abs(b) > 64:
                raise self.fail("power too large", node)
            result = float(a) ** b  # at most (2**40)**64: an OverflowError, never a long computation
            if isinstance(result, complex):
                raise self.fail("power gives a complex number", node)
            return result
        if abs(a) <= 1:  # 0, 1 or -1: exponentiation by squaring of a one-word number
            return a**b
        # |a| >= 2**(bit_length - 1): this keeps the result below 2**41 before computing it
        if b > 64 or (abs(a).bit_length() - 1) * b > 40:
            raise self.fail("power too large (results are limited to 2**40)", node)
        return a**b

    def call(self, node: ast.Call, depth: int) -> Call:
        module, name = self.callee(node.func)
        self.layers += 1
        if self.layers > MAX_LAYERS:
            raise self.fail(f"more than {MAX_LAYERS} layers in one block", node)
        args: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                seq = self.value(arg.value, depth + 1)
                if not isinstance(seq, tuple):
                    raise self.fail("`*` unpacks lists only", arg)
                args.extend(seq)
            else:
                args.append(self.value(arg, depth + 1))
        kwargs: list[tuple[str, Value]] = []
        kwarg_at: list[tuple[int, int]] = []
        for kw in node.keywords:
            if kw.arg is None:
                raise self.fail("`**` unpacking is not allowed", kw)
            if kw.arg.startswith("_") or kw.arg in ("device", "dtype"):
                raise self.fail(f"keyword {kw.arg!r} is not allowed", kw)
            kwargs.append((kw.arg, self.value(kw.value, depth + 1)))
            kwarg_at.append(self.src.locate(kw))
        if self.layer_count(tuple(args)) >= MAX_LAYERS:  # with this call, more than MAX_LAYERS
            raise self.fail(f"more than {MAX_LAYERS} layers in one block", node)
        line, column = self.src.locate(node)
        call = Call(name, tuple(args), tuple(kwargs), line, column, module, tuple(kwarg_at))
        self.weight(call)
        return call


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _short(v: int) -> str:
    text = str(v) if v.bit_length() < 200 else f"with {v.bit_length()} bits"
    return text if len(text) < 40 else text[:20] + "…"


# ---------------------------------------------------------------- block ----


def parse_shape(text: str) -> tuple[int, ...] | None:
    """`3x32x32`, `3×32×32` or `[1, 3, 32, 32]` -> a tuple, or None if not a shape."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = [p.strip() for p in text[1:-1].split(",") if p.strip()]
        if inner and all(_DIGITS_RE.match(p) for p in inner):
            return tuple(int(p) for p in inner)
        return None
    if _SHAPE_RE.match(text):
        return tuple(int(p) for p in re.split(r"\s*[x×]\s*", text))
    return None


def _input(node: yaml.Node, where: _Where) -> tuple[tuple[int, ...], bool]:
    if isinstance(node, yaml.SequenceNode):
        dims = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or not _DIGITS_RE.match(item.value):
                raise CnnCostError("`input` dimensions must be positive integers", *where.at(item))
            dims.append(int(item.value))
        shape, has_batch = tuple(dims), True
    else:
        text = _scalar(node, where, "input")
        parsed = parse_shape(text)
        if parsed is None:
            raise CnnCostError(
                f"`input` must be a shape such as `3x32x32` or `[1, 3, 32, 32]`, not {text[:40]!r}",
                *where.at(node),
            )
        shape, has_batch = parsed, text.strip().startswith("[")
    if not shape or len(shape) > MAX_DIMS or any(d < 1 or d > MAX_INT for d in shape):
        raise CnnCostError(
            f"`input` needs 1 to {MAX_DIMS} dimensions, each at least 1 and at most 2**40",
            *where.at(node),
        )
    numel = 1
    for d in shape:
        numel *= d
    if numel > MAX_INT:
        raise CnnCostError("`input` has more than 2**40 elements", *where.at(node))
    return shape, has_batch


def parse_block(body: str, first_line: int = 1, imports: Iterable[str] = ()) -> Block:
    """Parse a block body (the text between the fences).

    `first_line` is the Markdown line of the body's first line; every error carries the
    Markdown line (and column where it makes sense).
    """
    if len(body) > MAX_BODY_CHARS:
        raise CnnCostError(f"cnn-cost block longer than {MAX_BODY_CHARS} characters", first_line)
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    where = _Where(body, first_line)
    root = _compose(body, where)
    imports = tuple(imports)
    fields: dict[str, object] = {}
    keys: dict[str, yaml.ScalarNode] = {}
    for key, value in _pairs(root, where, "cnn-cost block"):
        name = key.value
        keys[name] = key
        if name not in BLOCK_KEYS:
            raise CnnCostError(
                f"unknown key {name[:40]!r}{_suggest(name, BLOCK_KEYS)}; allowed keys: {', '.join(BLOCK_KEYS)}",
                where.line(key.start_mark), where.column(key.start_mark),
            )
        if name == "id":
            text = _scalar(value, where, "id")
            if not _ID_RE.match(text):
                raise CnnCostError(
                    f"`id` {text[:40]!r} may hold only letters, digits, '-' and '_'", *where.at(value)
                )
            fields["id"] = text
        elif name == "title":
            fields["title"] = _scalar(value, where, "title")[:300]
        elif name == "input":
            fields["input"], fields["input_has_batch"] = _input(value, where)
        elif name == "model":
            fields["model"] = _ExprParser(_expression_source(value, body, where, "model"), imports).top()
        elif name == "layers":
            fields["layers"] = _layers(value, body, where, imports)
        elif name == "dtype":
            text = _scalar(value, where, "dtype")
            if text not in DTYPES:
                raise CnnCostError(
                    f"unknown dtype {text[:40]!r}{_suggest(text, DTYPES)}; allowed: {', '.join(DTYPES)}",
                    *where.at(value),
                )
            fields["dtype"] = text
        elif name == "flops":
            text = _scalar(value, where, "flops")
            if text not in CONVENTIONS:
                raise CnnCostError(
                    f"unknown FLOPs convention {text[:40]!r}; allowed: {', '.join(CONVENTIONS)}",
                    *where.at(value),
                )
            fields["flops"] = text
        elif name == "columns":
            fields["columns"] = _columns(value, where)
        elif name == "as":
            fields["counters"] = _counters(value, where)
        elif name == "xfail":
            text = _scalar(value, where, "xfail").lower()
            if text not in ("true", "false"):
                raise CnnCostError("`xfail` must be true or false", *where.at(value))
            fields["xfail"] = text == "true"
        elif name == "expect":
            fields["expect"] = _expect(value, where)
    if ("model" in fields) == ("layers" in fields):
        if "model" in fields:  # both: point at the second of the two
            second = max(keys["model"], keys["layers"], key=lambda k: k.start_mark.index)
            raise CnnCostError("a cnn-cost block needs exactly one of `model:` and `layers:`, not both",
                               *where.at(second))
        raise CnnCostError("a cnn-cost block needs exactly one of `model:` and `layers:`", first_line)
    return Block(source=body, line=first_line, **fields)  # type: ignore[arg-type]


def _layers(node: yaml.Node, body: str, where: _Where, imports: tuple[str, ...]) -> tuple[tuple[str, Call], ...]:
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "`layers` must be a mapping of name to layer, e.g. `conv1: Conv2d(3, 32, 3)`",
            *where.at(node),
        )
    out = []
    count = 0
    for key, value in _pairs(node, where, "layers"):
        name = key.value
        if not re.match(r"^[A-Za-z0-9_-]{1,64}$", name):
            raise CnnCostError(
                f"layer name {name[:40]!r} may hold only letters, digits, '-' and '_'", *where.at(key)
            )
        call = _ExprParser(_expression_source(value, body, where, name), imports).top()
        count += call.count_layers()
        if count > MAX_LAYERS:
            raise CnnCostError(f"more than {MAX_LAYERS} layers in one block", *where.at(key))
        out.append((name, call))
    if not out:
        raise CnnCostError("`layers` is empty", *where.at(node))
    return tuple(out)


def _columns(node: yaml.Node, where: _Where) -> tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        items = [(_scalar(v, where, "columns"), v) for v in node.value]
    else:
        items = [(p.strip(), node) for p in _scalar(node, where, "columns").split(",")]
    for item, at in items:
        if item not in COLUMNS:
            raise CnnCostError(
                f"unknown column {item[:40]!r}{_suggest(item, COLUMNS)}; allowed: {', '.join(COLUMNS)}",
                *where.at(at),
            )
    if not items:
        raise CnnCostError("`columns` is empty", *where.at(node))
    return tuple(item for item, _ in items)


def _counters(node: yaml.Node, where: _Where) -> tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        items = [_scalar(v, where, "as") for v in node.value]
    else:
        items = [p.strip() for p in _scalar(node, where, "as").split(",")]
    for item in items:
        if item not in COUNTER_NAMES:
            raise CnnCostError(
                f"unknown counting library {item!r}{_suggest(item, COUNTER_NAMES)}; "
                f"allowed: {', '.join(COUNTER_NAMES)}",
                where.line(node.start_mark),
            )
    return tuple(dict.fromkeys(items))


def _expect(node: yaml.Node, where: _Where) -> tuple[Claim, ...]:
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "`expect` must map paths to values, e.g. `params: 545,098`", *where.at(node)
        )
    claims = []
    for key, value in _pairs(node, where, "expect"):
        line = where.line(key.start_mark)
        if isinstance(value, yaml.SequenceNode):
            parts = []
            for item in value.value:
                if not isinstance(item, yaml.ScalarNode):
                    raise CnnCostError(f"{key.value}: a shape holds integers only", line)
                parts.append(item.value)
            raw = "[" + ", ".join(parts) + "]"
        elif isinstance(value, yaml.ScalarNode):
            raw = value.value
        else:
            raise CnnCostError(f"{key.value}: expected a number, a memory size or a shape", line)
        claims.append(parse_claim(key.value, raw, line))
    return tuple(claims)
