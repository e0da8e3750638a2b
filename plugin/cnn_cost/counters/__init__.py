"""What the usual PyTorch counting libraries report per layer: the `as:` presets.

`as: [thop, ptflops, fvcore, torchinfo, torch]` adds one column per library. For each row the column
holds the number that library reports for that layer, so that the column's total is the library's
total for the whole model. `COUNTERS[tool].rule(layer_type)` is a rule
`(module, input shape, output shape, cost) -> int`; `count(tool, layer_type, module, x, y, cost)`
applies it. The rules are written from each library's source and checked, exactly, against the
library itself (tests/test_counters.py: every layer type in several configurations, a small CNN, the
CIFAR net, AlexNet; batch 1, and batch 2 for a subset):

=========  ===========================  ===========  ===============================================
tool       checked against              unit         total compared with
=========  ===========================  ===========  ===============================================
thop       thop 0.1.1.post2209072238    MACs ("ops") `thop.profile(model, inputs=(x,))[0]`
ptflops    ptflops 0.7.5                MACs         `get_model_complexity_info(model, res,
                                                     as_strings=False, backend="pytorch")[0]`
fvcore     fvcore 0.1.5.post20221221    flop (1 MAC) `FlopCountAnalysis(model, x).total()`
torchinfo  torchinfo 1.8.0              Mult-Adds    `summary(model, input_data=x).total_mult_adds`
torch      torch 2.13.0                 FLOPs        `FlopCounterMode(display=False)` around
                                                     `model(x)`, then `get_total_flops()`
=========  ===========================  ===========  ===============================================

All with torch 2.13.0 on CPU, the model in eval mode, each layer called as a block calls it
(recurrent layers: the first output; MultiheadAttention: self-attention with `need_weights=False`;
Bilinear: the input as both inputs).

One module per library, each with its rules and, in its docstring, what it counts and where the
rules cannot be exact: thop.py, ptflops.py, fvcore.py, torchinfo.py, flop_counter.py (`torch`).
base.py holds the `CounterSpec` type, the registry families and the shared helpers. A library's
rules are its `names` (the layer types it singles out) and its `families` (what it reports for any
other member of a registry family, see base.py), so a new registry layer in an existing family needs
no edit here; tests/test_counters.py checks it against the libraries, or names what it lacks.

In short: thop counts products without bias, BN/IN/LN 2 per element (4 when affine), avg pools, and
its own recurrent formulas, and nothing for types it has not registered (GroupNorm, GELU, Bilinear,
MultiheadAttention, ...). ptflops adds the bias once per output element, counts norms and
activations per element, and counts ReLU, ELU, GELU, PReLU and every pool twice (module hook and the
patched `torch.nn.functional` call). fvcore counts the products of traced `aten` ops (no bias),
BatchNorm 2 per element in eval, other norms 5 (4 without affine), and nothing for recurrent layers,
pooling (but 2-D adaptive average) or activations. torchinfo multiplies each leaf's parameter count
by the output positions (`weight`, `bias`: the batch, Conv: batch and spatial size; recurrent
weights: batch and steps). torch counts 2 per MAC of matrix products and convolutions only.

thop and ptflops look modules up by exact type: a subclass of a layer counts 0 there. The rules
describe the layers as PyTorch defines them (a block's wrapped recurrent and attention layers are
counted as the real ones).

Nothing here imports torch: rules read hyper-parameters as plain attributes and shapes as tuples,
and use the registry's `Cost` where the library's rule is ours (fvcore's products, torch's 2 x MACs).
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import FAMILIES, CounterSpec, Rule, family
from cnn_cost.counters.flop_counter import TORCH
from cnn_cost.counters.fvcore import FVCORE
from cnn_cost.counters.ptflops import PTFLOPS
from cnn_cost.counters.thop import THOP
from cnn_cost.counters.torchinfo import TORCHINFO
from cnn_cost.layers.registry import Cost, Shape
from cnn_cost.vocabulary import COUNTER_NAMES

COUNTERS: dict[str, CounterSpec] = {spec.name: spec for spec in (THOP, PTFLOPS, FVCORE, TORCHINFO, TORCH)}
if tuple(COUNTERS) != COUNTER_NAMES:  # pragma: no cover - one list of libraries, in vocabulary.py
    raise ImportError(f"counters {tuple(COUNTERS)} differ from vocabulary.COUNTER_NAMES {COUNTER_NAMES}")


def count(tool: str, layer_type: str, module: Any, x: Shape, y: Shape, cost: Cost) -> int:
    """The number `tool` reports for one call of a layer of `layer_type`.

    `x` and `y` are the shapes of the layer's (first) input and output, `cost` the registry's cost.
    """
    spec = COUNTERS.get(tool)
    if spec is None:
        raise KeyError(f"unknown counter {tool!r}; known: {', '.join(COUNTERS)}")
    return int(spec.rule(layer_type)(module, tuple(x), tuple(y), cost))


__all__ = ["COUNTERS", "FAMILIES", "CounterSpec", "Rule", "count", "family"]
