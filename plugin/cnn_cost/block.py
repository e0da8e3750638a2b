"""Parse a `cnn-cost` block: YAML body plus layer expressions, into frozen dataclasses.

Nothing here imports torch and nothing is ever evaluated as Python: layer expressions are
read with `ast.parse` and folded by hand, under limits, into `Call` trees.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union

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

BLOCK_KEYS = ("id", "title", "input", "model", "layers", "dtype", "flops", "columns", "xfail", "expect")
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
CONVENTIONS = ("2mac", "mac", "detailed")
COLUMNS = ("layer", "type", "output", "params", "macs", "flops", "formula", "params_share", "flops_share")
DEFAULT_COLUMNS = ("layer", "type", "output", "params", "macs", "flops", "formula")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHAPE_RE = re.compile(r"^\s*\d+(\s*[x×]\s*\d+)*\s*$")

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

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name

    def count_layers(self) -> int:
        nested = [v for v in self.args if isinstance(v, Call)]
        return 1 + sum(c.count_layers() for c in nested)


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
    xfail: bool = False
    expect: tuple[Claim, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"cnn-cost block '{self.id}'" if self.id else "cnn-cost block"


# ---------------------------------------------------------------- YAML ----


class _Where:
    """Map YAML marks (0-based, relative to the body) to Markdown lines (1-based)."""

    def __init__(self, body: str, first_line: int) -> None:
        self.lines = body.split("\n")
        self.first_line = first_line

    def line(self, mark: yaml.Mark | None) -> int:
        return self.first_line + (mark.line if mark else 0)

    def column(self, mark: yaml.Mark | None) -> int:
        return (mark.column if mark else 0) + 1


def _check_events(body: str, where: _Where) -> None:
    """Reject anchors, aliases, tags and deep nesting before anything is composed."""
    depth = 0
    try:
        for event in yaml.parse(body, Loader=yaml.SafeLoader):
            mark = event.start_mark
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise CnnCostError(
                    "YAML anchors and aliases are not allowed in a cnn-cost block",
                    where.line(mark), where.column(mark),
                )
            tag = getattr(event, "tag", None)
            if tag and not getattr(event, "implicit", (True,))[0] and tag != "!":
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
    except yaml.YAMLError as exc:
        raise CnnCostError(f"invalid YAML: {exc}", where.first_line) from None


def _compose(body: str, where: _Where) -> yaml.MappingNode:
    _check_events(body, where)
    try:
        node = yaml.compose(body, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:  # pragma: no cover - caught by _check_events
        mark = exc.problem_mark
        raise CnnCostError(f"invalid YAML: {exc.problem}", where.line(mark), where.column(mark)) from None
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
            raise CnnCostError(f"{what}: keys must be plain names", where.line(key.start_mark))
        if key.value in seen:
            raise CnnCostError(f"{what}: duplicate key {key.value!r}", where.line(key.start_mark))
        seen.add(key.value)
        out.append((key, value))
    return out


def _scalar(node: yaml.Node, where: _Where, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise CnnCostError(f"`{what}` must be a single value", where.line(node.start_mark))
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
        lines = body.split("\n")[start.line + 1 :]
        indent = next((len(s) - len(s.lstrip(" ")) for s in lines if s.strip()), 0)
        return _Source(node.value, where.line(start) + 1, indent + 1, indent_rest=False, indent=indent)
    if node.style in ("'", '"'):
        return _Source(node.value, where.line(start), start.column + 2, indent_rest=False)
    return _Source(body[start.index : end.index], where.line(start), start.column + 1, indent_rest=True)


class _ExprParser:
    """Fold a Python expression AST into `Call` trees and literal values."""

    def __init__(self, src: _Source, imports: tuple[str, ...]) -> None:
        self.src = src
        self.imports = imports
        self.layers = 0

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
            tree = ast.parse(text.strip("\n") if not self.src.indent_rest else text, mode="eval")
        except SyntaxError as exc:
            lineno = exc.lineno or 1
            col = (exc.offset or 1) - 1
            fake = ast.Constant(value=None, lineno=lineno, col_offset=col)
            raise self.fail(f"invalid layer expression: {exc.msg}", fake) from None
        except (RecursionError, MemoryError, ValueError) as exc:
            raise CnnCostError(
                f"invalid layer expression: {type(exc).__name__}", self.src.line, self.src.column
            ) from None
        count = sum(1 for _ in ast.walk(tree))
        if count > MAX_AST_NODES:
            raise CnnCostError(
                f"layer expression too large ({count} syntax nodes, at most {MAX_AST_NODES})",
                self.src.line, self.src.column,
            )
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
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
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
            if not isinstance(times, int) or isinstance(times, bool):
                raise self.fail("a list can only be repeated by an integer", node)
            if len(seq) * max(times, 0) > MAX_SEQUENCE:
                raise self.fail(f"list repetition gives more than {MAX_SEQUENCE} items", node)
            return tuple(seq) * times  # type: ignore[operator]
        if isinstance(op, ast.Add) and isinstance(left, tuple) and isinstance(right, tuple):
            if len(left) + len(right) > MAX_SEQUENCE:
                raise self.fail(f"list gives more than {MAX_SEQUENCE} items", node)
            return left + right
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

    def power(self, a: float, b: float, node: ast.AST) -> float:
        if isinstance(b, float) or b < 0:
            if abs(a) > MAX_INT or abs(b) > 64:
                raise self.fail("power too large", node)
            result = float(a) ** b
            if isinstance(result, complex):
                raise self.fail("power gives a complex number", node)
            return result
        if b > 64 or (abs(a) > 1 and abs(a).bit_length() * b > 41):  # type: ignore[union-attr]
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
        for kw in node.keywords:
            if kw.arg is None:
                raise self.fail("`**` unpacking is not allowed", kw.value)
            if kw.arg.startswith("_") or kw.arg in ("device", "dtype"):
                raise self.fail(f"keyword {kw.arg!r} is not allowed", kw.value)
            kwargs.append((kw.arg, self.value(kw.value, depth + 1)))
        total = sum(v.count_layers() for v in args if isinstance(v, Call))
        if total > MAX_LAYERS:
            raise self.fail(f"more than {MAX_LAYERS} layers in one block", node)
        line, column = self.src.locate(node)
        return Call(name, tuple(args), tuple(kwargs), line, column, module)


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
        if inner and all(p.isdigit() for p in inner):
            return tuple(int(p) for p in inner)
        return None
    if _SHAPE_RE.match(text):
        return tuple(int(p) for p in re.split(r"\s*[x×]\s*", text))
    return None


def _input(node: yaml.Node, where: _Where) -> tuple[tuple[int, ...], bool]:
    if isinstance(node, yaml.SequenceNode):
        dims = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or not item.value.isdigit():
                raise CnnCostError("`input` dimensions must be positive integers", where.line(item.start_mark))
            dims.append(int(item.value))
        shape, has_batch = tuple(dims), True
    else:
        text = _scalar(node, where, "input")
        parsed = parse_shape(text)
        if parsed is None:
            raise CnnCostError(
                f"`input` must be a shape such as `3x32x32` or `[1, 3, 32, 32]`, not {text[:40]!r}",
                where.line(node.start_mark),
            )
        shape, has_batch = parsed, text.strip().startswith("[")
    if not shape or len(shape) > MAX_DIMS or any(d < 1 or d > MAX_INT for d in shape):
        raise CnnCostError(
            f"`input` needs 1 to {MAX_DIMS} dimensions, each at least 1 and at most 2**40",
            where.line(node.start_mark),
        )
    numel = 1
    for d in shape:
        numel *= d
    if numel > MAX_INT:
        raise CnnCostError("`input` has more than 2**40 elements", where.line(node.start_mark))
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
                f"unknown key {name!r}{_suggest(name, BLOCK_KEYS)}; allowed keys: {', '.join(BLOCK_KEYS)}",
                where.line(key.start_mark), where.column(key.start_mark),
            )
        if name == "id":
            text = _scalar(value, where, "id")
            if not _ID_RE.match(text):
                raise CnnCostError(
                    f"`id` {text[:40]!r} may hold only letters, digits, '-' and '_'", where.line(value.start_mark)
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
                    f"unknown dtype {text!r}{_suggest(text, DTYPES)}; allowed: {', '.join(DTYPES)}",
                    where.line(value.start_mark),
                )
            fields["dtype"] = text
        elif name == "flops":
            text = _scalar(value, where, "flops")
            if text not in CONVENTIONS:
                raise CnnCostError(
                    f"unknown FLOPs convention {text!r}; allowed: {', '.join(CONVENTIONS)}",
                    where.line(value.start_mark),
                )
            fields["flops"] = text
        elif name == "columns":
            fields["columns"] = _columns(value, where)
        elif name == "xfail":
            text = _scalar(value, where, "xfail").lower()
            if text not in ("true", "false"):
                raise CnnCostError("`xfail` must be true or false", where.line(value.start_mark))
            fields["xfail"] = text == "true"
        elif name == "expect":
            fields["expect"] = _expect(value, where)
    if ("model" in fields) == ("layers" in fields):
        raise CnnCostError(
            "a cnn-cost block needs exactly one of `model:` and `layers:`",
            where.line(keys["layers"].start_mark) if "layers" in fields and "model" in fields else first_line,
        )
    return Block(source=body, line=first_line, **fields)  # type: ignore[arg-type]


def _layers(node: yaml.Node, body: str, where: _Where, imports: tuple[str, ...]) -> tuple[tuple[str, Call], ...]:
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "`layers` must be a mapping of name to layer, e.g. `conv1: Conv2d(3, 32, 3)`",
            where.line(node.start_mark),
        )
    out = []
    count = 0
    for key, value in _pairs(node, where, "layers"):
        name = key.value
        if not re.match(r"^[A-Za-z0-9_-]{1,64}$", name):
            raise CnnCostError(
                f"layer name {name[:40]!r} may hold only letters, digits, '-' and '_'", where.line(key.start_mark)
            )
        call = _ExprParser(_expression_source(value, body, where, name), imports).top()
        count += call.count_layers()
        if count > MAX_LAYERS:
            raise CnnCostError(f"more than {MAX_LAYERS} layers in one block", where.line(key.start_mark))
        out.append((name, call))
    if not out:
        raise CnnCostError("`layers` is empty", where.line(node.start_mark))
    return tuple(out)


def _columns(node: yaml.Node, where: _Where) -> tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        items = [_scalar(v, where, "columns") for v in node.value]
    else:
        items = [p.strip() for p in _scalar(node, where, "columns").split(",")]
    for item in items:
        if item not in COLUMNS:
            raise CnnCostError(
                f"unknown column {item!r}{_suggest(item, COLUMNS)}; allowed: {', '.join(COLUMNS)}",
                where.line(node.start_mark),
            )
    if not items:
        raise CnnCostError("`columns` is empty", where.line(node.start_mark))
    return tuple(items)


def _expect(node: yaml.Node, where: _Where) -> tuple[Claim, ...]:
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "`expect` must map paths to values, e.g. `params: 545,098`", where.line(node.start_mark)
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
