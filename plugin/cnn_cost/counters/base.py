"""What every counter module shares: the `CounterSpec` type, the registry's families, small helpers.

A library's rules come in two layers. `names` holds the layer types the library itself singles out
(thop and ptflops look modules up by exact type; fvcore has a handler for `aten::batch_norm` but not
for other norms). `families` holds, for every family of the registry, what the library reports for a
member it does not single out: every activation counts 0 in thop, ptflops, fvcore and torch's flop
counter, and torchinfo applies its one parameter rule to every leaf. A layer type that joins the
registry in an existing family so gets each library's family rule with no edit here.

A layer's family is the registry module that defines it: `conv`, `linear`, `norm`, `pool`,
`activation`, `recurrent`, `attention` (the last part of `spec.cost.__module__`). Entries made by the
registry's own factories (`elementwise`, `zero` in layers/registry.py) are activation.py's:
the elementwise activations, Dropout and Identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cnn_cost.layers import REGISTRY
from cnn_cost.layers.registry import Cost, Shape, tup

Rule = Callable[[Any, Shape, Shape, Cost], int]

FAMILIES = ("conv", "linear", "norm", "pool", "activation", "recurrent", "attention")
REGISTRY_MODULE = "cnn_cost.layers.registry"
FACTORY_FAMILIES = {"elementwise": "activation", "zero": "activation"}  # registry factory -> family


def family(layer_type: str) -> str | None:
    """The registry family of `layer_type`; None for a type outside the registry (or a container).

    A family no counter knows (a new module in layers/) comes back as its module's name, or as
    'registry.<factory>' for a new factory: the rules then fall back to each library's `default`,
    and tests/test_counters.py names the type.
    """
    spec = REGISTRY.get(layer_type)
    if spec is None or spec.cost is None:
        return None
    module = getattr(spec.cost, "__module__", "") or ""
    if module == REGISTRY_MODULE:
        factory = str(getattr(spec.cost, "__qualname__", "")).split(".")[0]
        return FACTORY_FAMILIES.get(factory, f"registry.{factory}")
    return module.rpartition(".")[2]


@dataclass(frozen=True)
class CounterSpec:
    """One counting library: what it calls its number, and its rule per layer type.

    `rule(layer_type)` looks in `names`, then in `families` by the type's registry family, then takes
    `default`: for other leaf modules (a project's own layer) thop and ptflops count 0 (they hook
    known types only; ptflops' patched functionals inside such a module are not seen by the rule),
    fvcore and torch count the layer's products (`cost.macs`, 2 x that), torchinfo applies its
    parameter rule to any leaf.
    """

    name: str
    unit: str  # the library's own word for its number
    per_mac: int  # how many of its units one multiply-accumulate of a product is
    version: str  # the version the rules were checked against
    call: str  # how the total was obtained
    names: Mapping[str, Rule]  # the layer types the library singles out
    families: Mapping[str, Rule]  # registry family -> the rule for its other members
    default: Rule  # a type outside the registry

    def rule(self, layer_type: str) -> Rule:
        named = self.names.get(layer_type)
        if named is not None:
            return named
        return self.families.get(family(layer_type) or "", self.default)

    @property
    def rules(self) -> dict[str, Rule]:
        """The rule of every layer type of the registry, resolved."""
        return {name: self.rule(name) for name, spec in REGISTRY.items() if spec.cost is not None}


def named(*groups: tuple[Iterable[str], Rule]) -> dict[str, Rule]:
    """`names` of a CounterSpec from (layer types, rule) groups; a type listed twice is an error."""
    rules: dict[str, Rule] = {}
    for layer_types, rule in groups:
        for layer_type in layer_types:
            if layer_type in rules:
                raise ValueError(f"{layer_type} listed twice")
            rules[layer_type] = rule
    return rules


def by_family(rule: Rule, **exceptions: Rule) -> dict[str, Rule]:
    """`families` of a CounterSpec: `rule` for every family but the ones given by keyword."""
    unknown = set(exceptions) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    return {name: exceptions.get(name, rule) for name in FAMILIES}


def dims(*patterns: str) -> list[str]:
    """'Conv{}d' -> Conv1d, Conv2d, Conv3d."""
    return [pattern.format(d) for pattern in patterns for d in (1, 2, 3)]


# ------------------------------------------------------------ rules and helpers ----


def numel(shape: Iterable[int]) -> int:
    return math.prod(shape)


def zero(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 0


def macs(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return c.macs


def two_macs(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 2 * c.macs


def kernel(m: Any, x: Shape) -> int:
    """The kernel volume of a convolution or pool over the spatial dimensions of `x`."""
    return numel(tup(m.kernel_size, len(x) - 2))



def projections(m: Any, x: Shape) -> int:
    """MultiheadAttention's projection MACs for self-attention on `x`: the packed in-projection and out_proj."""
    tokens = numel(x[:-1])
    e = m.embed_dim
    return tokens * e * 3 * e + tokens * e * e
