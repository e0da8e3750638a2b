"""The one registry of per-layer formulas.

An entry sees only the module's hyper-parameters (read as plain attributes), its input
shape and its output shape, and returns a `Cost`: parameters by formula, MACs, the extra
FLOPs the `detailed` convention adds, and the formulas with the layer's numbers put in.
Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Cost:
    """What one call of a layer costs."""

    params: int = 0
    macs: int = 0
    extra: int = 0  # FLOPs that `flops: detailed` adds to 2 x MACs
    params_formula: str = ""
    macs_formula: str = ""
    extra_formula: str = ""
    shape: Shape | None = None  # output shape by formula (checked against PyTorch's), if the entry gives one
    shape_formula: str = ""

    def flops(self, convention: str) -> int:
        if convention == "mac":
            return self.macs
        if convention == "detailed":
            return 2 * self.macs + self.extra
        return 2 * self.macs

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


CostFn = Callable[[Any, Shape, Shape], Cost]


@dataclass(frozen=True)
class LayerSpec:
    """One layer type in the registry."""

    name: str
    cost: CostFn | None  # None for containers (Sequential)
    input_rank: int | None = None  # rank of a batched input, if fixed (Conv2d: 4)
    keywords: tuple[str, ...] | None = None  # constructor arguments, where torch's signature is *args
    atomic: bool = False  # has child modules but is one row (MultiheadAttention)
    wrap: str | None = None  # how a block calls it: "first-output" or "self-attention"


REGISTRY: dict[str, LayerSpec] = {}


def register(
    *names: str,
    input_rank: int | Sequence[int | None] | None = None,
    keywords: tuple[str, ...] | None = None,
    atomic: bool = False,
    wrap: str | None = None,
) -> Callable[[CostFn], CostFn]:
    """Register one cost function for one or more layer names (a family).

    `input_rank` may be one rank for all names or one per name.
    """

    def decorator(fn: CostFn) -> CostFn:
        ranks: list[int | None] = (
            [input_rank] * len(names) if input_rank is None or isinstance(input_rank, int) else list(input_rank)
        )
        for name, rank in zip(names, ranks, strict=True):
            if name in REGISTRY:
                raise ValueError(f"layer {name!r} registered twice")
            REGISTRY[name] = LayerSpec(name, fn, rank, keywords, atomic, wrap)
        return fn

    return decorator


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


def equation(expr: str, result: int) -> str:
    """'expr = result', leaving out the expression when it says nothing more."""
    if expr == str(result) or expr == n(result):
        return n(result)
    return f"{expr} = {n(result)}"


def zero(kind: str) -> CostFn:
    """A cost function for layers that cost nothing (Flatten, Dropout, Identity)."""

    def cost(module: Any, x: Shape, y: Shape) -> Cost:
        return Cost(params_formula="", macs_formula=f"0 ({kind})")

    return cost


def elementwise(per_element: int, what: str) -> CostFn:
    """Activations: no parameters, no MACs, `per_element` FLOPs per output element (detailed)."""

    def cost(module: Any, x: Shape, y: Shape) -> Cost:
        count = prod(y)
        expr = dot(*y) if per_element == 1 else dot(per_element, *y)
        return Cost(extra=per_element * count, extra_formula=f"{equation(expr, per_element * count)} ({what})")

    return cost
