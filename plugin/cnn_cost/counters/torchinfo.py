"""torchinfo 1.8.0: `summary(model, input_data=x).total_mult_adds`, in Mult-Adds.

One rule for every leaf module (`LayerInfo.calculate_macs` in torchinfo/layer_info.py), summed over
the leaves only: each parameter's count times the output positions. `weight` and `bias`: the batch
(Conv*: the batch and the output's spatial size); other parameters with 'weight' or 'bias' in their
name (a recurrent layer's `weight_ih_l0`, ...): the output's first two dimensions (batch and steps).
So every family takes the same rule (a layer without parameters counts 0), but attention:
MultiheadAttention has a child module (`out_proj`), so it is not a leaf, and `out_proj` never runs
as a module: 0.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import TRANSFORMERS, CounterSpec, by_family, named, numel, parts, zero
from cnn_cost.layers.registry import Cost, Shape

VERSION = "1.8.0"  # the release these rules follow


def _named_params(m: Any, c: Cost) -> list[tuple[str, int]]:
    named = getattr(m, "named_parameters", None)
    if named is None:
        return [("weight", c.params)] if c.params else []
    return [(name, p.numel()) for name, p in named()]


def leaf(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    """`weight`/`bias`: numel · output[0] (Conv*: · output[0] · output spatial); other parameters
    whose name has 'weight' or 'bias' in it (weight_ih_l0, ...): numel · output[0] · output[1]."""
    if hasattr(m, "children") and any(True for _ in m.children()):
        return 0  # not a leaf: torchinfo counts leaves only (MultiheadAttention)
    conv = "Conv" in type(m).__name__
    total = 0
    for name, count in _named_params(m, c):
        if name in ("weight", "bias"):
            total += count * (numel((y[0], *y[2:])) if conv else y[0])
        elif "weight" in name or "bias" in name:
            total += count * numel(y[:2])
    return total


TORCHINFO = CounterSpec(
    "torchinfo", unit="Mult-Adds", per_mac=1, version=f"torchinfo {VERSION}", package="torchinfo", release=VERSION,
    call="summary(model, input_data=x).total_mult_adds",
    names=named((TRANSFORMERS, parts("torchinfo"))),  # not leaves: their parts are
    families=by_family(leaf, attention=zero),  # attention: not a leaf, and out_proj never runs as a module
    default=leaf,
)
