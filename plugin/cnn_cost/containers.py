"""The package's containers for networks that branch (contract 2b): `cnn.Residual`, `cnn.Add`,
`cnn.Concat`, `cnn.Mul` and `cnn.Repeat`.

Two halves:

- `merge(kind, shapes, ...)`: the torch-free formula of a container's own operation (the sum, the
  product or the concatenation of its branches' outputs): output shape, FLOPs, formula text, and a
  `ShapeMismatch` naming both branches when their outputs do not fit. It is the one source of the
  merge rows' numbers, whether shapes come from formulas or from PyTorch.
- `classes(torch)`: the real `torch.nn.Module` subclasses, made on first use (this module does not
  import torch), so that a block's parameters are still `numel()` of real modules.

Rows: a container's branches are its children (`N.body…`, `N.shortcut…`, `N.0…`, `N.1…`; `cnn.Repeat`:
`N.0.0`, `N.0.1`, `N.1.0`, …) and the merge is one more row named `N`, after the branches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from cnn_cost.layers import Cost, ShapeMismatch
from cnn_cost.layers.registry import dot, equation, fmt, n, prod
from cnn_cost.vocabulary import ContainerName

Shape = tuple[int, ...]

MAX_REPEAT = 1_000  # copies one cnn.Repeat may make (the block's module budget applies too)
MERGING: tuple[ContainerName, ...] = ("Residual", "Add", "Concat", "Mul")  # containers with a merge row


@dataclass(frozen=True)
class Merge:
    """How a container combines its branches."""

    symbol: str  # "+", "·", or "cat"
    verb: str  # for messages: "add", "multiply", "concatenate"


MERGES: dict[str, Merge] = {
    "Residual": Merge("+", "add"),
    "Add": Merge("+", "add"),
    "Mul": Merge("·", "multiply"),
    "Concat": Merge("cat", "concatenate"),
}


def broadcast(a: Shape, b: Shape) -> Shape | None:
    """The broadcast shape of two shapes (PyTorch's rules), or None when they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and 1 not in (da, db):
            return None
        out.append(max(da, db) if 1 not in (da, db) else da * db)
    return tuple(reversed(out))


def merge(kind: str, shapes: Sequence[Shape], names: Sequence[str], dim: int = 1) -> Cost:
    """The merge row of container `kind` whose branches (named `names`) gave `shapes`.

    Sums and products: 0 MACs, one FLOP per output element and operation under `detailed`
    (as in every counter: no MACs). A concatenation costs nothing.
    """
    how = MERGES[kind]
    shapes = [tuple(s) for s in shapes]
    if how.symbol == "cat":
        return _concat(shapes, names, dim)
    out = shapes[0]
    for i, shape in enumerate(shapes[1:], start=1):
        joined = broadcast(out, shape)
        if joined is None:
            first = names[0] if i == 1 else f"{' + '.join(names[:i])}"
            raise ShapeMismatch(
                f"cannot {how.verb} its branches: {first} gives {fmt(out)}, {names[i]} gives {fmt(shape)}"
            )
        out = joined
    ops = len(shapes) - 1
    count = ops * prod(out)
    sign = f" {how.symbol} "
    return Cost(
        extra=count,
        macs_formula=f"0 (elementwise {'sum' if how.symbol == '+' else 'product'})",
        extra_formula=f"{equation(dot(*(((ops,) if ops > 1 else ()) + out)), count)} "
                      f"(one {'add' if how.symbol == '+' else 'multiply'} per element)",
        shape=out,
        shape_formula=sign.join(fmt(s) for s in shapes),
    )


def _concat(shapes: list[Shape], names: Sequence[str], dim: int) -> Cost:
    rank = len(shapes[0])
    if not -rank <= dim < rank:
        raise ShapeMismatch(f"dim {dim} is out of range for {rank}-D branch outputs")
    d = dim % rank
    for name, shape in zip(names[1:], shapes[1:], strict=True):
        if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, shapes[0], strict=True)) if i != d):
            raise ShapeMismatch(
                f"cannot concatenate its branches along dim {dim}: {names[0]} gives {fmt(shapes[0])}, "
                f"{name} gives {fmt(shape)} (all other dimensions must agree)"
            )
    total = sum(s[d] for s in shapes)
    out = (*shapes[0][:d], total, *shapes[0][d + 1 :])
    return Cost(macs_formula="0 (a concatenation)", shape=out,
                shape_formula=f"dim {dim}: {equation(' + '.join(n(s[d]) for s in shapes), total)}")


def branch_names(kind: str, module: Any, prefix: str) -> list[str]:
    """The row-name prefixes of a container's branches, in order, as messages name them."""
    def at(child: str) -> str:
        return f"{prefix}.{child}" if prefix else child

    if kind == "Residual":
        return [at("body"), at("shortcut") if module.shortcut is not None else "the shortcut (its input)"]
    return [at(key) for key in module._modules]


@cache
def classes(torch: Any) -> dict[str, type]:
    """The containers as real modules, made once per process after torch is imported."""
    nn = torch.nn

    class Residual(nn.Module):  # type: ignore[name-defined]
        """`body(x) + shortcut(x)`; without a shortcut, `body(x) + x`."""

        def __init__(self, body: Any, shortcut: Any = None) -> None:
            super().__init__()
            self.body = body
            self.shortcut = shortcut

        def forward(self, x: Any) -> Any:
            out = self.body(x)  # the body first, as its rows come first
            identity = x if self.shortcut is None else self.shortcut(x)
            check(self, [tuple(out.shape), tuple(identity.shape)])
            return out + identity

    class Branches(nn.Module):  # type: ignore[name-defined]
        """Branches applied to the same input, each a child named 0, 1, …"""

        def __init__(self, *branches: Any) -> None:
            super().__init__()
            for i, branch in enumerate(branches):
                self.add_module(str(i), branch)

        def outputs(self, x: Any) -> list[Any]:
            outs = [branch(x) for branch in self._modules.values()]
            check(self, [tuple(o.shape) for o in outs])
            return outs

    class Add(Branches):
        """The sum of the branches' outputs."""

        def forward(self, x: Any) -> Any:
            outs = self.outputs(x)
            total = outs[0]
            for out in outs[1:]:
                total = total + out
            return total

    class Mul(Branches):
        """The elementwise product of the branches' outputs (broadcasting, as in squeeze-and-excitation)."""

        def forward(self, x: Any) -> Any:
            outs = self.outputs(x)
            total = outs[0]
            for out in outs[1:]:
                total = total * out
            return total

    class Concat(Branches):
        """The branches' outputs concatenated along `dim` (channels by default)."""

        def __init__(self, *branches: Any, dim: int = 1) -> None:
            super().__init__(*branches)
            self.dim = dim

        def forward(self, x: Any) -> Any:
            return torch.cat(self.outputs(x), dim=self.dim)

    class Repeat(nn.Sequential):  # type: ignore[name-defined]
        """`n` independent copies of a sequence of layers, each copy a child nn.Sequential."""

    made: dict[str, type] = {"Residual": Residual, "Add": Add, "Mul": Mul, "Concat": Concat, "Repeat": Repeat}
    for cls in made.values():
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
    return made


class BranchMismatch(ValueError):
    """A container's branches gave outputs its merge cannot combine (raised in its forward)."""


def check(module: Any, shapes: list[Shape]) -> None:
    """A container's branch outputs checked by the merge formula (raises BranchMismatch naming both branches)."""
    kind = type(module).__name__
    try:
        merge(kind, shapes, branch_names(kind, module, ""), getattr(module, "dim", 1))
    except ShapeMismatch as exc:
        raise BranchMismatch(str(exc)) from None


def merge_of(module: Any, shapes: Sequence[Shape], prefix: str) -> Cost:
    """The merge row's cost of a built container whose branches gave `shapes`."""
    kind = type(module).__name__
    return merge(kind, shapes, branch_names(kind, module, prefix), getattr(module, "dim", 1))


def merges(module: Any) -> bool:
    """A container with a merge row of its own (not cnn.Repeat)."""
    return is_container(module) and type(module).__name__ in MERGING


def branches(module: Any) -> list[Any]:
    """The modules of a merging container's branches, in order (None: Residual's identity shortcut)."""
    if type(module).__name__ == "Residual":
        return [module.body, module.shortcut]
    return list(module._modules.values())


def is_container(module: Any) -> bool:
    return type(module).__module__ == __name__
