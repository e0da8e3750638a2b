"""The registry's own Python, translated to JavaScript at build time, for the in-page calculator.

`translate(module, names)` reads the source of the named top-level functions and constants of a
registry module and writes them as JavaScript with Python's meaning: every int is a BigInt (no count
loses a digit), `//` and `%` floor, `+` and `*` join and repeat tuples and strings, `==` compares tuples
by value, truthiness is Python's (an empty tuple is false), f-strings format as Python does (`{x:,}`,
`{x!r}`). The subset is what the registry's arithmetic uses; anything else is refused with its line,
so a registry change that the translation cannot follow fails the calculator's test and the build of
the asset, never the numbers. The `RUNTIME` helpers are Python's built-ins, not layer formulas.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
from collections.abc import Iterable
from types import ModuleType


class Untranslatable(Exception):
    """A construct outside the subset, with the module and line where it is."""


RUNTIME = r"""
  function ShapeMismatch(message) { this.message = message; }
  function py_truthy(x) {
    if (x === null || x === undefined || x === false) return false;
    if (typeof x === "bigint") return x !== 0n;
    if (typeof x === "string" || Array.isArray(x)) return x.length > 0;
    if (x instanceof Set) return x.size > 0;
    return true;
  }
  function py_and(a, rest) { return py_truthy(a) ? rest() : a; }
  function py_or(a, rest) { return py_truthy(a) ? a : rest(); }
  function py_eq(a, b) {
    if (Array.isArray(a) && Array.isArray(b))
      return a.length === b.length && a.every(function (v, i) { return py_eq(v, b[i]); });
    return a === b;
  }
  function py_len(x) { return BigInt(x instanceof Set ? x.size : x.length); }
  function py_add(a, b) { return Array.isArray(a) ? a.concat(b) : a + b; }
  function py_mul(a, b) {
    if (Array.isArray(a) || typeof a === "string") { var out = Array.isArray(a) ? [] : "";
      for (var i = 0n; i < b; i++) out = out.concat(a); return out; }
    return a * b;
  }
  function py_fdiv(a, b) {
    if (b === 0n) throw new Error("integer division by zero");
    var q = a / b; return (a % b !== 0n && ((a < 0n) !== (b < 0n))) ? q - 1n : q;
  }
  function py_mod(a, b) { return a - b * py_fdiv(a, b); }
  function py_str(x) {
    if (x === null || x === undefined) return "None";
    if (x === true) return "True";
    if (x === false) return "False";
    if (Array.isArray(x)) return "(" + x.map(py_repr).join(", ") + (x.length === 1 ? ",)" : ")");
    return String(x);
  }
  function py_repr(x) {
    if (typeof x !== "string") return py_str(x);
    var body = x.replace(/\\/g, "\\\\"), quote = x.indexOf("'") >= 0 && x.indexOf('"') < 0 ? '"' : "'";
    return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote;
  }
  function py_format(x, spec) {
    if (spec === "") return py_str(x);
    if (spec === ",") { var s = (x < 0n ? -x : x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      return (x < 0n ? "-" : "") + s; }
    throw new Error("format spec " + spec);
  }
  function py_iter(x) { return x instanceof Set ? Array.from(x) : typeof x === "string" ? x.split("") : x; }
  function py_range(a, b) { var lo = b === undefined ? 0n : a, hi = b === undefined ? a : b, out = [];
    for (var i = lo; i < hi; i++) out.push(i); return out; }
  function py_zip() { var lists = Array.prototype.map.call(arguments, py_iter), out = [];
    var size = Math.min.apply(null, lists.map(function (l) { return l.length; }));
    for (var i = 0; i < size; i++) out.push(lists.map(function (l) { return l[i]; })); return out; }
  function py_min(x) { var v = arguments.length > 1 ? Array.from(arguments) : py_iter(x);
    return v.reduce(function (a, b) { return b < a ? b : a; }); }
  function py_max(x) { var v = arguments.length > 1 ? Array.from(arguments) : py_iter(x);
    return v.reduce(function (a, b) { return b > a ? b : a; }); }
  function py_prod(x) { return py_iter(x).reduce(function (a, b) { return a * b; }, 1n); }
  function py_all(x) { return py_iter(x).every(py_truthy); }
  function py_any(x) { return py_iter(x).some(py_truthy); }
  function py_in(item, box) {
    if (typeof box === "string") return box.indexOf(item) >= 0;
    if (Array.isArray(box) || box instanceof Set) return py_iter(box).some(function (v) { return py_eq(v, item); });
    return Object.prototype.hasOwnProperty.call(box, String(item));
  }
  function py_index(x, i) { return x[i < 0n ? BigInt(x.length) + i : i]; }
  function py_slice(x, lo, hi) {
    var n = x.length;
    function at(i, d) {
      if (i === null || i === undefined) return d;
      i = Number(i);
      return i < 0 ? Math.max(n + i, 0) : Math.min(i, n);
    }
    return x.slice(at(lo, 0), at(hi, n));
  }
  function py_get(box, key, d) { return py_in(key, box) ? box[String(key)] : (d === undefined ? null : d); }
  function py_getattr(x, name, d) { return x[name] === undefined ? d : x[name]; }
  function py_join(sep, items) { return py_iter(items).join(sep); }
  function py_isinstance(x, types) {
    return types.some(function (t) {
      if (t === "tuple" || t === "list") return Array.isArray(x);
      if (t === "str") return typeof x === "string";
      if (t === "int") return typeof x === "bigint" || typeof x === "boolean";
      if (t === "bool") return typeof x === "boolean";
      return false;
    });
  }
"""

_BINOPS = {ast.Add: "py_add", ast.Mult: "py_mul", ast.FloorDiv: "py_fdiv", ast.Mod: "py_mod"}
_PLAIN = {ast.Sub: "-"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_BUILTINS = {"len": "py_len", "min": "py_min", "max": "py_max", "range": "py_range", "zip": "py_zip",
             "all": "py_all", "any": "py_any", "str": "py_str", "repr": "py_repr", "getattr": "py_getattr",
             "tuple": "Array.from", "list": "Array.from", "set": "new Set"}


@dataclasses.dataclass
class _Function:
    """What one function scope needs: the names it assigns (declared with `let` at its top)."""

    assigned: set[str] = dataclasses.field(default_factory=set)
    params: set[str] = dataclasses.field(default_factory=set)


class _Writer:
    def __init__(self, where: str, classes: Iterable[str]) -> None:
        self.where = where
        self.classes = set(classes)

    def fail(self, node: ast.AST, what: str) -> Untranslatable:
        return Untranslatable(f"{self.where}:{getattr(node, 'lineno', '?')}: {what} is outside the subset "
                              "cnn_cost.jsgen translates")

    # ------------------------------------------------------------ statements ----

    def function(self, node: ast.FunctionDef | ast.Lambda, name: str, indent: str) -> str:
        args = node.args
        if args.kwonlyargs or args.kwarg or (args.posonlyargs and args.args):
            raise self.fail(node, "keyword-only or ** parameters")
        names = [a.arg for a in [*args.posonlyargs, *args.args]]
        defaults = [None] * (len(names) - len(args.defaults)) + list(args.defaults)
        params = [n if d is None else f"{n} = {self.expr(d)}" for n, d in zip(names, defaults, strict=True)]
        if args.vararg:
            params.append("..." + args.vararg.arg)
        if isinstance(node, ast.Lambda):
            return f"function ({', '.join(params)}) {{ return {self.expr(node.body)}; }}"
        scope = _Function(params={*names, *([args.vararg.arg] if args.vararg else [])})
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        for sub in body:
            self._assigned(sub, scope)
        lines = [f"{indent}function {name}({', '.join(params)}) {{"]
        declared = sorted(scope.assigned - scope.params)
        if declared:
            lines.append(f"{indent}  let {', '.join(declared)};")
        lines += [self.statement(sub, indent + "  ") for sub in body]
        lines.append(f"{indent}}}")
        return "\n".join(lines)

    def _assigned(self, node: ast.AST, scope: _Function) -> None:
        """Every name a function body assigns, not looking into nested functions (their own scopes)."""
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            return  # a nested `function name()` declares itself
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return  # their targets are the arrow functions' parameters
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            scope.assigned.add(node.id)
        for child in ast.iter_child_nodes(node):
            self._assigned(child, scope)

    def statement(self, node: ast.stmt, indent: str) -> str:
        if isinstance(node, ast.FunctionDef):
            return self.function(node, node.name, indent)
        if isinstance(node, ast.Return):
            return f"{indent}return {'null' if node.value is None else self.expr(node.value)};"
        if isinstance(node, ast.Raise) and node.exc is not None:
            return f"{indent}throw {self.expr(node.exc)};"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is None:
                return ""
            value = self.expr(node.value)
            return "".join(f"{indent}{self.target(t)} = {value};" if i == 0 else
                           f"\n{indent}{self.target(t)} = {self.target(targets[0])};" for i, t in enumerate(targets))
        if isinstance(node, ast.AugAssign):
            target = self.target(node.target)
            return f"{indent}{target} = {self.binary(node, node.op, target, self.expr(node.value))};"
        if isinstance(node, ast.If):
            out = f"{indent}if (py_truthy({self.expr(node.test)})) {{\n{self.block(node.body, indent)}\n{indent}}}"
            if node.orelse:
                out += f" else {{\n{self.block(node.orelse, indent)}\n{indent}}}"
            return out
        if isinstance(node, ast.For) and not node.orelse:
            target = self.target(node.target)
            return (f"{indent}for (const $item of py_iter({self.expr(node.iter)})) {{\n{indent}  {target} = $item;\n"
                    f"{self.block(node.body, indent)}\n{indent}}}")
        if isinstance(node, ast.Expr):
            return f"{indent}{self.expr(node.value)};"
        if isinstance(node, ast.Continue):
            return f"{indent}continue;"
        if isinstance(node, ast.Break):
            return f"{indent}break;"
        if isinstance(node, ast.Pass):
            return ""
        raise self.fail(node, type(node).__name__)

    def block(self, body: list[ast.stmt], indent: str) -> str:
        return "\n".join(self.statement(sub, indent + "  ") for sub in body)

    def target(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Tuple, ast.List)):
            return "[" + ", ".join(self.target(e) for e in node.elts) + "]"
        if isinstance(node, ast.Attribute):
            return f"{self.expr(node.value)}.{node.attr}"
        if isinstance(node, ast.Starred):
            return "..." + self.target(node.value)
        raise self.fail(node, f"assignment to {type(node).__name__}")

    # ----------------------------------------------------------- expressions ----

    def expr(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return f"{self.expr(node.value)}.{node.attr}"
        if isinstance(node, (ast.Tuple, ast.List)):
            return "[" + ", ".join(self.expr(e) for e in node.elts) + "]"
        if isinstance(node, ast.Starred):
            return "..." + self.expr(node.value)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self.fail(node, "** in a dict")
            items = []
            for key, item in zip(node.keys, node.values, strict=True):
                if not isinstance(key, ast.Constant):
                    raise self.fail(node, "a computed key")
                items.append(f"{json.dumps(str(key.value), ensure_ascii=False)}: {self.expr(item)}")
            return "{" + ", ".join(items) + "}"
        if isinstance(node, ast.BinOp):
            return self.binary(node, node.op, self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return f"(-{self.expr(node.operand)})"
            if isinstance(node.op, ast.Not):
                return f"!py_truthy({self.expr(node.operand)})"
            raise self.fail(node, f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.BoolOp):  # the operand itself, as in Python (`seen or [0]`), the rest unevaluated
            helper = "py_and" if isinstance(node.op, ast.And) else "py_or"
            out = self.expr(node.values[-1])
            for operand in reversed(node.values[:-1]):
                out = f"{helper}({self.expr(operand)}, function () {{ return {out}; }})"
            return out
        if isinstance(node, ast.Compare):
            parts, left = [], node.left
            for cmp, right in zip(node.ops, node.comparators, strict=True):
                a, b = self.expr(left), self.expr(right)
                if isinstance(cmp, ast.Eq):
                    parts.append(f"py_eq({a}, {b})")
                elif isinstance(cmp, ast.NotEq):
                    parts.append(f"!py_eq({a}, {b})")
                elif isinstance(cmp, ast.Is) and _is_none(right):
                    parts.append(f"({a} == null)")
                elif isinstance(cmp, ast.IsNot) and _is_none(right):
                    parts.append(f"({a} != null)")
                elif isinstance(cmp, ast.In):
                    parts.append(f"py_in({a}, {b})")
                elif isinstance(cmp, ast.NotIn):
                    parts.append(f"!py_in({a}, {b})")
                elif type(cmp) in _COMPARE:
                    parts.append(f"({a} {_COMPARE[type(cmp)]} {b})")
                else:
                    raise self.fail(node, f"the comparison {type(cmp).__name__}")
                left = right
            return "(" + " && ".join(parts) + ")"
        if isinstance(node, ast.IfExp):
            return f"(py_truthy({self.expr(node.test)}) ? {self.expr(node.body)} : {self.expr(node.orelse)})"
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                if node.slice.step is not None:
                    raise self.fail(node, "a slice with a step")
                lo = "null" if node.slice.lower is None else self.expr(node.slice.lower)
                hi = "null" if node.slice.upper is None else self.expr(node.slice.upper)
                return f"py_slice({self.expr(node.value)}, {lo}, {hi})"
            return f"py_index({self.expr(node.value)}, {self.expr(node.slice)})"
        if isinstance(node, ast.JoinedStr):
            pieces = []
            for piece in node.values:
                if isinstance(piece, ast.Constant):
                    pieces.append(json.dumps(piece.value, ensure_ascii=False))
                elif isinstance(piece, ast.FormattedValue):
                    pieces.append(self.formatted(piece))
                else:
                    raise self.fail(node, "an f-string part")
            return "(" + " + ".join(pieces or ['""']) + ")"
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.comprehension(node)
        if isinstance(node, ast.Lambda):
            return self.function(node, "", "")
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, type(node).__name__)

    def binary(self, node: ast.AST, op: ast.operator, left: str, right: str) -> str:
        """`left op right` (or `left op= right`) with Python's meaning of the operator."""
        kind = type(op)
        if kind in _BINOPS:
            return f"{_BINOPS[kind]}({left}, {right})"
        if kind in _PLAIN:
            return f"({left} {_PLAIN[kind]} {right})"
        raise self.fail(node, f"the operator {kind.__name__}")

    def constant(self, node: ast.Constant) -> str:
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return f"{value}n"
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        raise self.fail(node, f"the constant {value!r}")

    def formatted(self, node: ast.FormattedValue) -> str:
        value = self.expr(node.value)
        if node.conversion == ord("r"):
            value = f"py_repr({value})"
        elif node.conversion not in (-1, ord("s")):
            raise self.fail(node, "an f-string conversion")
        spec = ""
        if node.format_spec is not None:
            parts = node.format_spec.values if isinstance(node.format_spec, ast.JoinedStr) else []
            if not all(isinstance(p, ast.Constant) for p in parts):
                raise self.fail(node, "a computed format spec")
            spec = "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))
        return f"py_format({value}, {json.dumps(spec)})"

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp) -> str:
        def nest(index: int) -> str:
            gen = node.generators[index]
            if gen.is_async:
                raise self.fail(node, "async comprehension")
            target = self.target(gen.target)
            items = f"py_iter({self.expr(gen.iter)})"
            for cond in gen.ifs:
                items += f".filter(function ({target}) {{ return py_truthy({self.expr(cond)}); }})"
            if index == len(node.generators) - 1:
                return f"{items}.map(function ({target}) {{ return {self.expr(node.elt)}; }})"
            return f"{items}.flatMap(function ({target}) {{ return {nest(index + 1)}; }})"

        return nest(0)

    def call(self, node: ast.Call) -> str:
        func = node.func
        args = [self.expr(a) for a in node.args]
        keywords = {k.arg: k.value for k in node.keywords}
        if None in keywords:
            raise self.fail(node, "a ** argument")
        if isinstance(func, ast.Name) and func.id == "isinstance":
            types = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            names = [t.id for t in types if isinstance(t, ast.Name)]
            return f"py_isinstance({args[0]}, {json.dumps(names)})"
        if isinstance(func, ast.Name) and func.id == "zip":
            keywords.pop("strict", None)
        if isinstance(func, ast.Name) and func.id in self.classes:  # a dataclass or exception: keywords by name
            fields = ", ".join(f"{name}: {self.expr(value)}" for name, value in keywords.items())
            given = [*args, *(["{" + fields + "}"] if fields else [])]
            return f"new {func.id}({', '.join(given)})"
        if keywords:
            raise self.fail(node, "keyword arguments")
        if isinstance(func, ast.Attribute):
            owner = self.expr(func.value)
            if func.attr == "join":
                return f"py_join({owner}, {args[0]})"
            if func.attr == "append":
                return f"{owner}.push({args[0]})"
            if func.attr == "get":
                return f"py_get({owner}, {', '.join(args)})"
            if owner == "math" and func.attr == "prod":
                return f"py_prod({args[0]})"
            raise self.fail(node, f"the method .{func.attr}()")
        if isinstance(func, ast.Name) and func.id in _BUILTINS:
            return f"{_BUILTINS[func.id]}({', '.join(args)})"
        return f"{self.expr(func)}({', '.join(args)})"


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def dataclass_js(cls: type) -> str:
    """A JavaScript constructor for a dataclass of ints, strings and None: its fields and defaults."""
    defaults = []
    for field in dataclasses.fields(cls):
        value = field.default
        js = "null" if value is None else f"{value}n" if isinstance(value, int) else json.dumps(value)
        defaults.append(f"    this.{field.name} = kw && kw.{field.name} !== undefined ? kw.{field.name} : {js};")
    return f"  function {cls.__name__}(kw) {{\n" + "\n".join(defaults) + "\n  }"


def translate(module: ModuleType, names: Iterable[str], classes: Iterable[str] = ("Cost", "ShapeMismatch")) -> str:
    """The named top-level functions and constants of `module`, in JavaScript, in source order."""
    wanted = set(names)
    tree = ast.parse(inspect.getsource(module))
    writer = _Writer(module.__name__, classes)
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in wanted:
            out.append(writer.function(node, node.name, "  "))
            wanted.discard(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in wanted and node.value is not None:
                    out.append(f"  const {target.id} = {writer.expr(node.value)};")
                    wanted.discard(target.id)
    if wanted:
        raise Untranslatable(f"{module.__name__}: no top-level {', '.join(sorted(wanted))}")
    return "\n".join(out)


def keyword_of(module: ModuleType, function: str, decorator: str, keyword: str) -> str:
    """The JavaScript of one keyword argument of a function's decorator call (`@register(..., params=...)`)."""
    tree = ast.parse(inspect.getsource(module))
    writer = _Writer(module.__name__, ())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Name) and deco.func.id == decorator:
                    for kw in deco.keywords:
                        if kw.arg == keyword:
                            return writer.expr(kw.value)
    raise Untranslatable(f"{module.__name__}: no @{decorator}(..., {keyword}=...) on {function}")


__all__ = ["RUNTIME", "Untranslatable", "dataclass_js", "keyword_of", "translate"]
