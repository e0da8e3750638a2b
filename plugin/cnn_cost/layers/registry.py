"""The one registry of per-layer formulas.

An entry sees only the module's hyper-parameters (read as plain attributes), its input
shape and, optionally, its output shape, and returns a `Cost`: parameters by formula, MACs,
the extra FLOPs the `detailed` convention adds, the output shape, and the formulas with the
layer's numbers put in. Nothing here imports torch.

Every entry has two functions, `LayerSpec.params` and `LayerSpec.cost`:

- `params(module) -> (count, formula)` needs no shape: the parameters by formula and its text
  ('(3·3·3/1)·64 + 64 = 1,792'), from the module's attributes alone (in_channels, num_features, ...),
  for any module PyTorch builds. A family gives it as `register(..., params=fn)`; a family
  without parameters gives nothing and gets `no_params`, (0, "").
- `Cost.params` and `Cost.params_formula` are that function's, put in by the registry: a cost
  function leaves them out, so the table's formula and the shape-free one cannot differ.

The contract of every entry, `cost(module, x, y=None, rest=(), /)`:

- With `y=None` the entry works out the output shape from `x` and the module's attributes
  alone (for the wrapped layers: the shape of what the block's wrapper returns), sets
  `Cost.shape` to it and computes everything else from it. Given PyTorch's real output shape
  `y` for a valid input, the result is the same `Cost`, field by field.
- An input the layer cannot take (wrong rank, channel or feature count, an output size below
  1, hyper-parameters PyTorch rejects at call time) raises `ShapeMismatch` with a short reason.
- `Cost.shape` is None only where an entry cannot give a formula: PyTorch then decides.
  (No entry does so today.)
- `rest` holds the shapes of the layer's other inputs, in PyTorch's order, for the layers that take
  several (`LayerSpec.inputs` > 1, a block's `inputs:`): MultiheadAttention's key and value,
  Bilinear's second input, a decoder's memory, a cell's state. A missing input is the first input
  itself, as a block calls the layer inside a model (self-attention, Bilinear(x, x)); attention's
  missing value is its key, a cell's missing state zeros. More inputs
  than the layer takes raise `ShapeMismatch` ('takes one input, got 2'). A family with
  `inputs` > 1 is written `fn(m, x, y, rest)`, any other `fn(m, x, y)`.
- Given `y` without `rest`, an entry trusts `y` where a block's wrapper is not the only caller
  (an imported model's call, whose other inputs the hooks may not see): ConvTranspose takes the
  spatial size of `y` (forward's `output_size`), Bilinear and MultiheadAttention do not require
  their other inputs to fit the first (they are costed as if of its length).
- Shapes do not tell dtypes: `LayerSpec.index_input` marks the layers that take integer indices.
- `LayerSpec.work` is what building one costs, in modules (the per-block budget): a number, or a
  function of the call's bound arguments (a Transformer's layer counts).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

Shape = tuple[int, ...]


class ShapeMismatch(ValueError):
    """The input shape does not fit the layer: 'expects 3 input channels, got 4'."""


@dataclass(frozen=True)
class Cost:
    """What one call of a layer costs."""

    params: int = 0  # params and params_formula: the entry's `LayerSpec.params`, put in by the registry
    macs: int = 0
    extra: int = 0  # FLOPs that `flops: detailed` adds to 2 x MACs
    params_formula: str = ""
    macs_formula: str = ""
    extra_formula: str = ""
    shape: Shape | None = None  # output shape by formula (checked against PyTorch's); None: PyTorch decides
    shape_formula: str = ""

    def flops(self, convention: str) -> int:
        """FLOPs under a convention of `cnn_cost.vocabulary.CONVENTIONS`; any other name is an error."""
        if convention == "mac":
            return self.macs
        if convention == "detailed":
            return 2 * self.macs + self.extra
        if convention == "2mac":
            return 2 * self.macs
        raise ValueError(f"unknown FLOPs convention {convention!r}")

    def formula_lines(self, convention: str) -> list[str]:
        """Formula text for the table's last column."""
        lines = []
        if self.shape_formula:
            lines.append(f"out: {self.shape_formula}")
        if self.params_formula:
            lines.append(f"params: {self.params_formula}")
        if self.macs_formula:
            lines.append(f"MACs: {self.macs_formula}")
        if convention == "detailed" and self.extra_formula:
            lines.append(f"+FLOPs: {self.extra_formula}")
        return lines


CostFn = Callable[[Any, Shape, Shape | None], Cost]
MultiCostFn = Callable[[Any, Shape, Shape | None, tuple[Shape, ...]], Cost]  # a family with `inputs` > 1
ParamsFn = Callable[[Any], tuple[int, str]]  # module -> (parameters by formula, the formula's text)
WorkFn = Callable[[Mapping[str, Any]], int]  # a call's bound arguments -> modules to build
FamilyFn = TypeVar("FamilyFn", bound=Callable[..., Cost])  # a CostFn, or a MultiCostFn


class Part(NamedTuple):
    """One call of a child module inside an atomic layer, as a forward hook sees it: the layer type, the
    module, its input and output shapes, its cost by its own entry, and its other inputs."""

    name: str
    module: Any
    x: Shape
    y: Shape
    cost: Cost
    rest: tuple[Shape, ...] = ()


PartsFn = Callable[[Any, Shape, tuple[Shape, ...]], list[Part]]  # (module, x, rest) -> its parts' calls


def no_params(module: Any) -> tuple[int, str]:
    """The parameter function of every family without parameters."""
    return 0, ""


class EntryFn(Protocol):
    """A registered cost function: `cost(module, x)`, `cost(module, x, y)` or `cost(module, x, y, rest)`."""

    def __call__(self, module: Any, x: Shape, y: Shape | None = None, rest: Sequence[Shape] = (), /) -> Cost: ...


@dataclass(frozen=True)
class LayerSpec:
    """One layer type in the registry."""

    name: str
    cost: EntryFn | None  # None for containers (Sequential)
    input_rank: int | None = None  # rank of a batched input, if fixed (Conv2d: 4)
    keywords: tuple[str, ...] | None = None  # constructor arguments, where torch's signature is *args
    atomic: bool = False  # has child modules but is one row (MultiheadAttention)
    # how a block calls it, `forward(x, *rest)` (cnn_cost.builder.wrapped_class): "first-output"
    # (a recurrent layer's output tensor), "attention" (query x; key rest[0] or x; value rest[1] or
    # the key), "both-inputs" (x and rest[0] or x), "hidden-state" (a cell: x and its state rest)
    wrap: str | None = None
    # takes integer indices (Embedding): shapes cannot tell, so after a layer with a float output the
    # formula's shape stands for an input PyTorch refuses; only the block's own input can be integers
    index_input: bool = False
    params: ParamsFn = no_params  # (count, formula) without a shape; `cost` gives the same two
    inputs: int = 1  # how many tensor inputs a block may give it (`inputs:`): x, then `rest`
    work: int | WorkFn = 1  # modules built per call (see the module docstring)
    # an atomic layer's child-module calls (a Transformer layer's Linear, LayerNorm, ...): the counting
    # libraries that hook modules one by one count these (cnn_cost.counters.base.parts)
    parts: PartsFn | None = None

    def work_of(self, arguments: Mapping[str, Any]) -> int:
        """Modules built for a call with these bound arguments."""
        return self.work(arguments) if callable(self.work) else self.work


REGISTRY: dict[str, LayerSpec] = {}


def register(
    *names: str,
    input_rank: int | Sequence[int | None] | None = None,
    keywords: tuple[str, ...] | None = None,
    atomic: bool = False,
    wrap: str | None = None,
    index_input: bool = False,
    params: ParamsFn = no_params,
    inputs: int = 1,
    work: int | WorkFn = 1,
    parts: PartsFn | None = None,
) -> Callable[[FamilyFn], FamilyFn]:
    """Register one cost function for one or more layer names (a family), with its parameter function.

    `input_rank` may be one rank for all names or one per name. With `inputs` > 1 the function is
    `fn(m, x, y, rest)`, else `fn(m, x, y)`.
    """

    def decorator(fn: FamilyFn) -> FamilyFn:
        ranks: list[int | None] = (
            [input_rank] * len(names) if input_rank is None or isinstance(input_rank, int) else list(input_rank)
        )
        if inputs < 1:
            raise ValueError(f"inputs={inputs}: a layer takes at least one input")
        for name, rank in zip(names, ranks, strict=True):
            if name in REGISTRY:
                raise ValueError(f"layer {name!r} registered twice")
            REGISTRY[name] = LayerSpec(name, _checked(fn, params, inputs), rank, keywords, atomic, wrap,
                                       index_input, params, inputs, work, parts)
        return fn

    return decorator


def _count_text(count: int) -> str:
    return "one input" if count == 1 else f"up to {count} inputs"


def _checked(fn: Callable[..., Cost], params: ParamsFn, inputs: int = 1) -> EntryFn:
    """The entry as stored: shapes as tuples, `y` optional, `rest` passed on only to a family that takes
    several inputs (and no more than it takes), an empty input refused for every layer, and the
    parameters and their formula from `params`, the one source of both."""

    @functools.wraps(fn)
    def cost(module: Any, x: Shape, y: Shape | None = None, rest: Sequence[Shape] = (), /) -> Cost:
        x = tuple(x)
        others = tuple(tuple(shape) for shape in rest)
        if 1 + len(others) > inputs:
            raise ShapeMismatch(f"takes {_count_text(inputs)}, got {1 + len(others)}")
        for shape in (x, *others):
            refuse_empty(shape)
        given = None if y is None else tuple(y)
        result = fn(module, x, given, others) if inputs > 1 else fn(module, x, given)
        if result.params or result.params_formula:
            raise TypeError(f"{fn.__qualname__} writes parameters: they come from the entry's params function")
        count, text = params(module)
        return dataclasses.replace(result, params=count, params_formula=text)

    return cost


def refuse_empty(shape: Shape) -> None:
    """Every layer refuses an input with a dimension of size 0."""
    if any(d < 1 for d in shape):
        raise ShapeMismatch(f"the input {fmt(shape)} has an empty dimension")


def register_container(name: str) -> None:
    if name in REGISTRY:
        raise ValueError(f"layer {name!r} registered twice")
    REGISTRY[name] = LayerSpec(name, None)


# ------------------------------------------------------------ helpers ----


def prod(values: Iterable[int]) -> int:
    return math.prod(values)


def n(value: int) -> str:
    """A number as written in formulas and tables: 1792 -> '1,792'."""
    return f"{value:,}"


def dot(*factors: int | str) -> str:
    """'3·3·64'."""
    return "·".join(str(f) for f in factors)


def tup(value: Any, dims: int) -> tuple[Any, ...]:
    """Expand an int hyper-parameter to a tuple of `dims` values (as torch does)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * dims


def fmt(shape: Sequence[int]) -> str:
    """A shape as written in messages: '[1, 3, 32, 32]'."""
    return "[" + ", ".join(str(d) for d in shape) + "]"


def knobs(value: Any, dims: int, what: str) -> tuple[int, ...]:
    """A per-dimension hyper-parameter as `dims` ints: one int, one per dimension, or one for all.

    Raises ShapeMismatch when the value cannot be read so (a tuple of the wrong length).
    """
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) == 1:
        values = values * dims
    if len(values) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ShapeMismatch(f"{what} {value!r} is not one int or {dims} ints")
    return values


def rank_text(*ranks: int) -> str:
    """'a 3-D or 4-D input'."""
    return "a " + " or ".join(f"{r}-D" for r in ranks) + " input"


def expect_rank(x: Shape, dims: int) -> bool:
    """For layers over `dims` spatial dimensions: True if `x` is batched, False if unbatched."""
    if len(x) not in (dims + 1, dims + 2):
        raise ShapeMismatch(
            f"expects a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input, got {len(x)}-D {fmt(x)}"
        )
    return len(x) == dims + 2


def dim_index(dim: int, rank: int, what: str) -> int:
    """A dimension argument wrapped as PyTorch does (a 0-D tensor counts as 1-D here)."""
    size = max(rank, 1)
    if not -size <= dim < size:
        raise ShapeMismatch(f"{what} {dim} is out of range for a {rank}-D input")
    return dim % size


def sequence_dims(x: Shape, batch_first: bool) -> tuple[int, int]:
    """(steps, batch) of a sequence input: unbatched (L, F), batch-first (N, L, F) or sequence-first (L, N, F)."""
    if len(x) == 2:
        return x[0], 1
    return (x[1], x[0]) if batch_first else (x[0], x[1])


def equation(expr: str, result: int) -> str:
    """'expr = result', leaving out the expression when it says nothing more."""
    if expr == str(result) or expr == n(result):
        return n(result)
    return f"{expr} = {n(result)}"


def zero(kind: str) -> CostFn:
    """A cost function for shape-preserving layers that cost nothing (Dropout, Identity)."""

    def cost(module: Any, x: Shape, y: Shape | None) -> Cost:
        return Cost(macs_formula=f"0 ({kind})", shape=x)

    return cost


def elementwise(per_element: int, what: str) -> CostFn:
    """Activations: no parameters, no MACs, `per_element` FLOPs per output element (detailed).

    The output has the input's shape, whatever its rank.
    """

    def cost(module: Any, x: Shape, y: Shape | None) -> Cost:
        count = prod(x)
        expr = dot(per_element, *x) if per_element != 1 else dot(*x) if x else "1"
        return Cost(extra=per_element * count, extra_formula=f"{equation(expr, per_element * count)} ({what})",
                    shape=x)

    return cost
