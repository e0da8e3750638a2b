"""Parse a `cnn-cost` block: YAML body plus layer expressions, into frozen dataclasses.

Nothing here imports torch and nothing is ever evaluated as Python: layer expressions are
read with `ast.parse` and folded by hand, under limits, into `Call` trees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from cnn_cost.claims import Claim, expect_claim
from cnn_cost.errors import CnnCostError
from cnn_cost.expressions import (  # noqa: F401 - re-exported: the block's public names
    MAX_AST_NODES,
    MAX_EXPR_DEPTH,
    MAX_INT,
    MAX_LAYERS,
    MAX_SEQUENCE,
    MAX_STRING,
    MAX_VALUES,
    Call,
    ExprParser,
    Source,
    Value,
    suggest,
)
from cnn_cost.vocabulary import CONVENTIONS, COUNTER_NAMES, DTYPE_BYTES, ID_PATTERN, MODES
from cnn_cost.yamlsafe import MAX_YAML_DEPTH, Where, compose, expression_source, pairs, scalar  # noqa: F401

MAX_BODY_CHARS = 100_000
MAX_DIMS = 6

_DIGITS_RE = re.compile(r"^[0-9]+$")

BLOCK_KEYS = ("id", "title", "input", "inputs", "model", "layers", "dtype", "flops", "mode", "columns", "as",
              "uncounted", "xfail", "expect")
DTYPES = DTYPE_BYTES
COLUMNS = ("layer", "type", "output", "params", "macs", "flops", "formula", "params_share", "flops_share")
DEFAULT_COLUMNS = ("layer", "type", "output", "params", "macs", "flops", "formula")
_ID_RE = ID_PATTERN
_SHAPE_RE = re.compile(r"^\s*[0-9]+(\s*[x×]\s*[0-9]+)*\s*$")

@dataclass(frozen=True)
class Block:
    """A parsed `cnn-cost` block."""

    source: str
    line: int  # line of the first body line in the Markdown file (1-based)
    id: str | None = None
    title: str | None = None
    input: tuple[int, ...] | None = None
    input_has_batch: bool = False
    # `inputs:` (layers with several inputs): the shapes after the first, which is `input`
    more_inputs: tuple[tuple[tuple[int, ...], bool], ...] = ()  # (shape, written with its batch dimension)
    model: Call | None = None
    layers: tuple[tuple[str, Call], ...] | None = None
    dtype: str = "float32"
    flops: str | None = None
    mode: str = "eval"  # the mode the model runs in: BatchNorm on running or batch statistics, Dropout off or on
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    counters: tuple[str, ...] = ()  # `as:`: counting libraries to show a column for
    uncounted_ok: bool = False  # `uncounted: ok`: an imported model may run operations nobody counts
    xfail: bool = False
    expect: tuple[Claim, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"cnn-cost block '{self.id}'" if self.id else "cnn-cost block"


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


def _input(node: yaml.Node, where: Where) -> tuple[tuple[int, ...], bool]:
    if isinstance(node, yaml.SequenceNode):
        dims = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or not _DIGITS_RE.match(item.value):
                raise CnnCostError("`input` dimensions must be positive integers", *where.at(item))
            dims.append(int(item.value))
        shape, has_batch = tuple(dims), True
    else:
        text = scalar(node, where, "input")
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


MAX_INPUTS = 8


def _inputs(node: yaml.Node, where: Where) -> dict[str, object]:
    """`inputs: [8x64, 12x32]` or a YAML list of shapes: the first is the block's `input`."""
    if isinstance(node, yaml.SequenceNode) and node.value and all(
        isinstance(v, yaml.ScalarNode) and _DIGITS_RE.match(v.value) for v in node.value
    ):
        raise CnnCostError(
            "`inputs` is a list of shapes, e.g. `[8x64, 12x32]`; for one input write `input: [1, 8, 64]`",
            *where.at(node),
        )
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise CnnCostError("`inputs` must be a list of shapes, e.g. `[8x64, 12x32]`", *where.at(node))
    if len(node.value) > MAX_INPUTS:
        raise CnnCostError(f"`inputs` gives more than {MAX_INPUTS} shapes", *where.at(node))
    shapes = [_input(item, where) for item in node.value]
    (first, has_batch), rest = shapes[0], tuple(shapes[1:])
    return {"input": first, "input_has_batch": has_batch, "more_inputs": rest}


def parse_block(body: str, first_line: int = 1, imports: Iterable[str] = ()) -> Block:
    """Parse a block body (the text between the fences).

    `first_line` is the Markdown line of the body's first line; every error carries the
    Markdown line (and column where it makes sense).
    """
    if len(body) > MAX_BODY_CHARS:
        raise CnnCostError(f"cnn-cost block longer than {MAX_BODY_CHARS} characters", first_line)
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    where = Where(body, first_line)
    root = compose(body, where)
    imports = tuple(imports)
    fields: dict[str, object] = {}
    keys: dict[str, yaml.ScalarNode] = {}
    problems: list[CnnCostError] = []  # every key's problem is listed, not only the first
    for key, value in pairs(root, where, "cnn-cost block"):
        name = key.value
        keys[name] = key
        try:
            if name not in BLOCK_KEYS:
                raise CnnCostError(
                    f"unknown key {name[:40]!r}{suggest(name, BLOCK_KEYS)}; allowed keys: {', '.join(BLOCK_KEYS)}",
                    where.line(key.start_mark), where.column(key.start_mark),
                )
            fields.update(_read_key(name, value, body, where, imports))
        except CnnCostError as exc:
            problems.append(exc)
    if problems:
        raise CnnCostError.of(problems)
    if "input" in keys and "more_inputs" in fields:
        second = max(keys["input"], keys["inputs"], key=lambda k: k.start_mark.index)
        raise CnnCostError("give `input:` (one shape) or `inputs:` (a list of shapes), not both", *where.at(second))
    if ("model" in fields) == ("layers" in fields):
        if "model" in fields:  # both: point at the second of the two
            second = max(keys["model"], keys["layers"], key=lambda k: k.start_mark.index)
            raise CnnCostError("a cnn-cost block needs exactly one of `model:` and `layers:`, not both",
                               *where.at(second))
        raise CnnCostError("a cnn-cost block needs exactly one of `model:` and `layers:`", first_line)
    return Block(source=body, line=first_line, **fields)  # type: ignore[arg-type]


def _choice(value: yaml.Node, where: Where, what: str, allowed: Iterable[str], label: str) -> str:
    text = scalar(value, where, what)
    if text not in allowed:
        raise CnnCostError(f"unknown {label} {text[:40]!r}{suggest(text, allowed)}; allowed: {', '.join(allowed)}",
                           *where.at(value))
    return text


def _read_key(name: str, value: yaml.Node, body: str, where: Where, imports: tuple[str, ...]) -> dict[str, object]:
    """The `Block` fields one key of the body gives."""
    if name == "id":
        text = scalar(value, where, "id")
        if not _ID_RE.match(text):
            raise CnnCostError(f"`id` {text[:40]!r} may hold only letters, digits, '-' and '_'", *where.at(value))
        return {"id": text}
    if name == "title":
        return {"title": scalar(value, where, "title")[:300]}
    if name == "input":
        shape, has_batch = _input(value, where)
        return {"input": shape, "input_has_batch": has_batch}
    if name == "inputs":
        return _inputs(value, where)
    if name == "mode":
        return {"mode": _choice(value, where, "mode", MODES, "mode")}
    if name == "uncounted":
        text = scalar(value, where, "uncounted").lower()
        if text not in ("ok", "true", "false"):
            raise CnnCostError("`uncounted` must be `ok` (operations nobody counts are allowed) or false",
                               *where.at(value))
        return {"uncounted_ok": text in ("ok", "true")}
    if name == "model":
        return {"model": ExprParser(expression_source(value, body, where, "model"), imports).top()}
    if name == "layers":
        return {"layers": _layers(value, body, where, imports)}
    if name == "dtype":
        return {"dtype": _choice(value, where, "dtype", DTYPES, "dtype")}
    if name == "flops":
        return {"flops": _choice(value, where, "flops", CONVENTIONS, "FLOPs convention")}
    if name == "columns":
        return {"columns": _columns(value, where)}
    if name == "as":
        return {"counters": _counters(value, where)}
    if name == "xfail":
        text = scalar(value, where, "xfail").lower()
        if text not in ("true", "false"):
            raise CnnCostError("`xfail` must be true or false", *where.at(value))
        return {"xfail": text == "true"}
    return {"expect": _expect(value, where)}  # the last of BLOCK_KEYS


def _layers(node: yaml.Node, body: str, where: Where, imports: tuple[str, ...]) -> tuple[tuple[str, Call], ...]:
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "`layers` must be a mapping of name to layer, e.g. `conv1: Conv2d(3, 32, 3)`",
            *where.at(node),
        )
    out = []
    count = 0
    problems: list[CnnCostError] = []  # every entry's problems are listed, not only the first entry's
    for key, value in pairs(node, where, "layers"):
        name = key.value
        try:
            if not ID_PATTERN.match(name):
                raise CnnCostError(
                    f"layer name {name[:40]!r} may hold only letters, digits, '-' and '_'", *where.at(key)
                )
            call = ExprParser(expression_source(value, body, where, name), imports).top()
        except CnnCostError as exc:
            problems.append(exc)
            continue
        count += call.count_layers()
        if count > MAX_LAYERS:
            raise CnnCostError.of([*problems, CnnCostError(f"more than {MAX_LAYERS} layers in one block",
                                                           *where.at(key))])
        out.append((name, call))
    if problems:
        raise CnnCostError.of(problems)
    if not out:
        raise CnnCostError("`layers` is empty", *where.at(node))
    return tuple(out)


def _columns(node: yaml.Node, where: Where) -> tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        items = [(scalar(v, where, "columns"), v) for v in node.value]
    else:
        items = [(p.strip(), node) for p in scalar(node, where, "columns").split(",")]
    for item, at in items:
        if item not in COLUMNS:
            raise CnnCostError(
                f"unknown column {item[:40]!r}{suggest(item, COLUMNS)}; allowed: {', '.join(COLUMNS)}",
                *where.at(at),
            )
    if not items:
        raise CnnCostError("`columns` is empty", *where.at(node))
    return tuple(item for item, _ in items)


def _counters(node: yaml.Node, where: Where) -> tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        items = [scalar(v, where, "as") for v in node.value]
    else:
        items = [p.strip() for p in scalar(node, where, "as").split(",")]
    for item in items:
        if item not in COUNTER_NAMES:
            raise CnnCostError(
                f"unknown counting library {item!r}{suggest(item, COUNTER_NAMES)}; "
                f"allowed: {', '.join(COUNTER_NAMES)}",
                where.line(node.start_mark),
            )
    return tuple(dict.fromkeys(items))


def _expect(node: yaml.Node, where: Where) -> tuple[Claim, ...]:
    if not isinstance(node, yaml.MappingNode):
        raise CnnCostError(
            "`expect` must map paths to values, e.g. `params: 545,098`", *where.at(node)
        )
    claims = []
    problems: list[CnnCostError] = []  # every claim's problem is listed, not only the first
    for key, value in pairs(node, where, "expect"):
        line = where.line(key.start_mark)
        try:
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
            # a path that names nothing is checked with the block's layers (`check`, with "did you mean")
            claims.append(expect_claim(key.value, raw, line))
        except CnnCostError as exc:
            problems.append(exc)
    if problems:
        raise CnnCostError.of(problems)
    return tuple(claims)
