"""What every counter module shares: the `CounterSpec` type, the registry's families, small helpers.

A library's rules come in two layers. `names` holds the layer types the library itself singles out
(thop and ptflops look modules up by exact type; fvcore has a handler for `aten::batch_norm` but not
for other norms). `families` holds, for every family of the registry, what the library reports for a
member it does not single out: every activation counts 0 in thop, ptflops, fvcore and torch's flop
counter, and torchinfo applies its one parameter rule to every leaf. A layer type that joins the
registry in an existing family so gets each library's family rule with no edit here.

The merge rows of the package's containers (`cnn.Residual`, `cnn.Add`, `cnn.Mul`: `a + b` or `a * b`
in the container's forward; `cnn.Concat`: `torch.cat`) are no registry layers: their types are in
`MERGES`, and each library's `merge` rule says what it reports for them (what it sees of an elementwise
sum, product or concatenation in the forward of a module it does not know).

A layer's family is the registry module that defines it: `conv`, `linear`, `norm`, `pool`,
`activation`, `recurrent`, `attention` (the last part of `spec.cost.__module__`). Entries made by the
registry's own factories (`elementwise`, `zero` in layers/registry.py) are activation.py's:
the elementwise activations, Dropout and Identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cnn_cost.layers import REGISTRY
from cnn_cost.layers.registry import Cost, Shape, tup

Rule = Callable[[Any, Shape, Shape, Cost], int]

Totals = Callable[[Mapping[str, int], Sequence[Shape]], dict[str, int]]

FAMILIES = ("conv", "linear", "norm", "pool", "activation", "recurrent", "attention")
MERGES = ("Residual", "Add", "Mul", "Concat")  # the row types of the containers' merges (containers.MERGING)
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

    `rule(layer_type)` looks in `names`, then takes `merge` for a container's merge row (`MERGES`, 0 when
    not given), then looks in `families` by the type's registry family, then takes `default`: for other
    leaf modules (a project's own layer) thop and ptflops count 0 (they hook known types only; ptflops'
    patched functionals inside such a module are not seen by the rule),
    fvcore and torch count the layer's products (`cost.macs`, 2 x that), torchinfo applies its
    parameter rule to any leaf.

    A library that prints several numbers per layer has one spec per number: the main one (its column,
    claimed as `<name>`) and its `details`, each a spec named `<name>-<what>` (torchstat's `torchstat-madd`),
    a column and a claim of its own. `totals` gives the numbers the library prints for the whole model
    only (torchsummary's input size), from the summed rows and the model's input shapes, and `printed`
    the library's own summary lines from all of them.
    """

    name: str
    unit: str  # the library's own word for its number
    per_mac: int  # how many of its units one multiply-accumulate of a product is (0: not a count of operations)
    version: str  # the version the rules were checked against, in words (the column's tooltip)
    call: str  # how the total was obtained
    names: Mapping[str, Rule]  # the layer types the library singles out
    families: Mapping[str, Rule]  # registry family -> the rule for its other members
    default: Rule  # a type outside the registry
    merge: Rule | None = None  # the merge row of a container (MERGES); None: 0
    tool: str = ""  # a detail's library (`torchstat` for `torchstat-madd`); "" for a library's main number
    package: str = ""  # the distribution the rules were written for (tests compare the installed version)
    release: str = ""  # its version: `version` in short, for the column header
    details: tuple[CounterSpec, ...] = ()  # the library's other numbers per layer
    totals: Totals | None = None  # its numbers of the whole model only
    printed: Callable[[Mapping[str, int]], str] | None = None  # its summary lines, as it prints them

    def rule(self, layer_type: str) -> Rule:
        named = self.names.get(layer_type)
        if named is not None:
            return named
        if layer_type in MERGES:
            return self.merge or zero
        return self.families.get(family(layer_type) or "", self.default)

    @property
    def header(self) -> str:
        """`thop 0.1.1`: the library and the version its rules follow (a `.post` build suffix left out)."""
        return f"{self.tool or self.name} {self.release.split('.post')[0]}".strip()

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


TRANSFORMERS = ["TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer"]  # atomic, with `parts`


def parts(tool: str) -> Rule:
    """A layer of one row whose child modules the library hooks or traces one by one (a Transformer layer's
    MultiheadAttention, Linear, LayerNorm and Dropout: `LayerSpec.parts`): the sum of `tool`'s rules for
    those calls. (Its other inputs are not seen here: a decoder's memory is taken to be its input.)"""

    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        from cnn_cost.counters import COUNTERS  # the library's spec, made after its rules

        spec = COUNTERS[tool]
        layer = REGISTRY[type(m).__name__]
        assert layer.parts is not None, layer.name
        return sum(spec.rule(p.name)(p.module, p.x, p.y, p.cost) for p in layer.parts(m, x, ()))

    return rule
