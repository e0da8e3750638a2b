"""Layer expressions: `nn.Conv2d(3, 64, 3, padding=1)` read with `ast.parse` and folded by hand into `Call`
trees, under limits. Nothing is ever evaluated as Python: this is the security-critical part of the parser
(its tests: tests/test_hostile.py and tests/test_block.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

from cnn_cost.errors import MAX_PROBLEMS, CnnCostError, suggest
from cnn_cost.layers import REGISTRY
from cnn_cost.vocabulary import CONTAINERS

MAX_EXPR_DEPTH = 40
MAX_AST_NODES = 50_000
MAX_INT = 2**40
MAX_SEQUENCE = 10_000
MAX_LAYERS = 10_000
MAX_STRING = 200
MAX_VALUES = 100_000  # literal values in one expression, after list repetition

_DIGITS_RE = re.compile(r"^[0-9]+$")

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


def not_layers() -> Mapping[str, str]:
    """torch.nn class name -> why a block cannot count it (losses, ...): `cnn_cost.layers.NOT_LAYERS`
    (layers/unsupported.py), or {} while the registry does not have it. Read from the package already
    imported: parsing imports nothing."""
    from cnn_cost import layers

    found = getattr(layers, "NOT_LAYERS", None)
    return found if isinstance(found, Mapping) else {}


def unknown_layer(written: str, name: str, imports: Sequence[str]) -> str:
    """The message for a layer name the registry does not have: what it is instead, the closest layer's
    name, or (neither) where a model of the author's own goes."""
    reason = not_layers().get(name)
    if isinstance(reason, str):  # a torch.nn class, but no layer (a loss, say): why, rather than a near name
        return f"{written if '.' in written else 'nn.' + name} is not a layer a block can count: {reason}"
    hint = suggest(name, REGISTRY)
    if hint:
        return f"unknown layer {written!r}{hint}"
    module = imports[0] if imports else "mymodule"
    listed = f" (listed now: {', '.join(imports)})" if imports else ""
    return (f"unknown layer {written!r}; a model of your own? list its module under the plugin's `imports:`{listed} "
            f"and write `{module}.{name}(...)`")


# ----------------------------------------------------------- expressions ----


@dataclass
class Source:
    """Where an expression's text starts in the Markdown file."""

    text: str
    line: int  # line of the text's first line
    column: int  # 1-based column of the text's first character
    indent_rest: bool  # True: later lines keep their own columns (raw slice)
    indent: int = 0  # for block scalars: indentation removed from every line
    fallback: Source | None = None  # YAML's folded value, tried when the raw text is not Python

    def locate(self, node: ast.AST) -> tuple[int, int]:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        if lineno == 1:
            return self.line, self.column + col
        return self.line + lineno - 1, (col + 1 if self.indent_rest else self.indent + col + 1)


class ExprParser:
    """Fold a Python expression AST into `Call` trees and literal values.

    A name that is no layer (an unknown layer or container, a module not under `imports:`) does not
    stop the parser: it is noted in `unknown`, its arguments are read on, and `top` raises one error
    listing every such name (and the error that stopped the parser, if any), each at its own place.
    Nothing else changes: every other error stops at once, and every limit holds as before.
    """

    def __init__(self, src: Source, imports: tuple[str, ...]) -> None:
        self.src = src
        self.imports = imports
        self.unknown: list[CnnCostError] = []  # names that are no layer, in the order read
        self.unlisted = 0  # unknown names beyond MAX_PROBLEMS: counted, no message made (no suggestion sought)
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
        try:
            value = self.value(node, depth=0)
            if not isinstance(value, Call):
                raise self.fail("expected a layer call such as `nn.Conv2d(3, 64, 3)`", node)
        except CnnCostError as exc:
            if self.unknown:  # the names read before the error are problems too
                raise CnnCostError.of([*self.noted(), exc]) from None
            raise
        if self.unknown:
            raise CnnCostError.of(self.noted())
        return value

    def note(self, message: Callable[[], str], node: ast.AST) -> None:
        """An unknown name: noted, and the parser reads on (`top` raises them all). A message is made only for
        the first names (up to MAX_PROBLEMS in all): thousands of unknown names cost hardly more than one."""
        if len(self.unknown) < MAX_PROBLEMS - 2:  # room for the "more" line and the error that stops the parser
            self.unknown.append(self.fail(message(), node))
        else:
            self.unlisted += 1

    def noted(self) -> list[CnnCostError]:
        if not self.unlisted:
            return self.unknown
        last = self.unknown[-1]
        more = CnnCostError(f"… and {self.unlisted} more unknown names, not listed", last.line, last.column)
        return [*self.unknown, more]

    # names ---------------------------------------------------------------

    def callee(self, func: ast.expr) -> tuple[str | None, str]:
        """Return (module, class name) for an allowed callee, or raise; a name that is no layer is noted
        (the `Call` made of it is never evaluated: `top` raises)."""
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
        if prefix == "cnn":  # the package's own containers (contract 2b): never confused with nn.X
            if name not in CONTAINERS:
                self.note(lambda: (
                    f"unknown container 'cnn.{name}'{suggest(name, CONTAINERS)}; the package's containers are: "
                    f"{', '.join('cnn.' + c for c in CONTAINERS)}"), func)
            return None, "cnn." + name
        if prefix in ("", "nn", "torch.nn"):
            if name not in REGISTRY:
                self.note(lambda: unknown_layer(".".join(parts), name, self.imports), func)
            return None, name
        if prefix in self.imports:
            return prefix, name
        if parts[0] in ("nn", "torch"):
            raise self.fail(f"only `nn.X` and `torch.nn.X` attributes are allowed, not {'.'.join(parts)!r}", func)
        allowed = ", ".join(self.imports) if self.imports else "none configured"
        self.note(lambda: f"{'.'.join(parts)!r}: module {prefix!r} is not in the plugin's `imports` list ({allowed})",
                  func)
        return prefix, name

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
            hint = suggest(node.id, REGISTRY)
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
