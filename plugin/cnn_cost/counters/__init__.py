"""What the usual PyTorch counting libraries report per layer: the `as:` presets.

`as: [thop, ptflops, fvcore, torchinfo, torch, torchsummary, torchstat, ultralytics-thop]` adds one
column per library (headed with the release its rules follow, `thop 0.1.1`: the `VERSION` constant of
its module, never the installed one). For each row the column holds the number that library reports for
that layer, so that the column's total is the library's total for the whole model.
`COUNTERS[tool].rule(layer_type)` is a rule `(module, input shape, output shape, cost) -> int`;
`count(tool, layer_type, module, x, y, cost)` applies it. The rules are written from each library's
source and checked, exactly, against the library itself (tests/test_counters.py: every layer type in
several configurations, a small CNN, the CIFAR net, AlexNet; batch 1, and batch 2 for a subset):

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
ultralyt…  ultralytics-thop 2.2.3       MACs ("ops") its `thop.profile(model, inputs=(x,))[0]`
torchsum…  torchsummary 1.5.1           Param #      its printout (test_counters_printed.py)
torchstat  torchstat 0.0.7              Flops        its printout (test_counters_printed.py)
=========  ===========================  ===========  ===============================================

torchsummary and torchstat print several numbers; each is a claim metric and, when it has a value
per layer, a column of its own (`CounterSpec.details`, names in vocabulary.COUNTER_DETAILS):

==========================  =================================  ========  =============================
claim metric                the library prints                 unit      per layer
==========================  =================================  ========  =============================
`torchsummary`              Param #, Total params              count     yes (the main column)
`torchsummary-pass`         Forward/backward pass size (MB)    bytes     yes
`torchsummary-input`        Input size (MB)                    bytes     no: the whole model only
`torchsummary-params-size`  Params size (MB)                   bytes     no
`torchsummary-total`        Estimated Total Size (MB)          bytes     no
`torchstat`                 Flops, Total Flops                 count     yes (the main column)
`torchstat-madd`            MAdd, Total MAdd                   count     yes
`torchstat-memory`          memory(MB), Total memory           bytes     yes
`torchstat-memrw`           MemR+W(B), Total MemR+W            bytes     yes
==========================  =================================  ========  =============================

The sizes are claims of kind memory: both libraries' "MB" are MiB (1024² bytes), so what they print
holds when written with a MiB: `torchsummary-pass: 9.96 MiB`, `torchstat-memrw: 244.14 MiB`. The
table's notes repeat their summary lines as they print them (`printed`).

The merge rows of the package's containers (type `Residual`, `Add`, `Mul`: `a + b` or `a * b` in the
container's forward; `Concat`: `torch.cat`) count 0 in every library: none of them counts an
elementwise `+`, `*` or `torch.cat` in the forward of a module it does not know (thop and
ultralytics-thop hook known types, and the latter's function counter only matrix products; ptflops
patches `torch.add`/`Tensor.add`/`torch.mul`/`Tensor.mul`, not the operators; fvcore leaves
`aten::add`/`aten::mul` unsupported and ignores `aten::cat`; torchinfo counts leaves; torch's counter
counts products). torchsummary hooks the container itself: its merge row counts the container's
output in `torchsummary-pass` (base.MERGES, `CounterSpec.merge`).

All with torch 2.13.0 on CPU, the model in eval mode (and in training mode, a block's `mode: train`,
which only fvcore's BatchNorm rule reads: `module.training`), each layer called as a block calls it
(recurrent layers: the first output; MultiheadAttention: self-attention with `need_weights=False`;
Bilinear: the input as both inputs).

One module per library, each with its rules and, in its docstring, what it counts and where the
rules cannot be exact: thop.py, ptflops.py, fvcore.py, torchinfo.py, flop_counter.py (`torch`),
torchsummary.py, torchstat.py, ultralytics_thop.py.
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

from collections.abc import Iterable, Sequence
from typing import Any

from cnn_cost.counters.base import FAMILIES, MERGES, CounterSpec, Rule, family
from cnn_cost.counters.flop_counter import TORCH
from cnn_cost.counters.fvcore import FVCORE
from cnn_cost.counters.ptflops import PTFLOPS
from cnn_cost.counters.thop import THOP
from cnn_cost.counters.torchinfo import TORCHINFO
from cnn_cost.counters.torchstat import TORCHSTAT
from cnn_cost.counters.torchsummary import TORCHSUMMARY
from cnn_cost.counters.ultralytics_thop import ULTRALYTICS_THOP
from cnn_cost.layers.registry import Cost, Shape
from cnn_cost.vocabulary import COUNTER_DETAILS, COUNTER_NAMES

COUNTERS: dict[str, CounterSpec] = {spec.name: spec for spec in (
    THOP, PTFLOPS, FVCORE, TORCHINFO, TORCH, TORCHSUMMARY, TORCHSTAT, ULTRALYTICS_THOP)}
METRICS: dict[str, CounterSpec] = {
    name: spec for main in COUNTERS.values() for spec in (main, *main.details) for name in (spec.name,)}
"""Every number with a column: each library's main number and its details (`torchstat-madd`)."""
if tuple(COUNTERS) != COUNTER_NAMES:  # pragma: no cover - one list of libraries, in vocabulary.py
    raise ImportError(f"counters {tuple(COUNTERS)} differ from vocabulary.COUNTER_NAMES {COUNTER_NAMES}")
if not set(METRICS) - set(COUNTER_NAMES) <= set(COUNTER_DETAILS):  # pragma: no cover - names in vocabulary.py
    raise ImportError(f"counter details {sorted(set(METRICS) - set(COUNTER_NAMES))} missing in COUNTER_DETAILS")
CONTAINERS_MODULE = "cnn_cost.containers"  # where the package's containers are defined


def _spec(metric: str) -> CounterSpec:
    spec = METRICS.get(metric)
    if spec is None:
        raise KeyError(f"unknown counter {metric!r}; known: {', '.join(COUNTERS)}")
    return spec


def count(tool: str, layer_type: str, module: Any, x: Shape, y: Shape, cost: Cost) -> int:
    """The number `tool` reports for one call of a layer of `layer_type` (`tool`: a library, or one of
    its details such as `torchstat-madd`).

    `x` and `y` are the shapes of the layer's (first) input and output, `cost` the registry's cost (of a
    merge row: the container's merge formula). A merge type (`Residual`, `Add`, `Mul`, `Concat`) takes
    the library's merge rule only for the package's own containers; a project's module of that name is
    a type outside the registry.
    """
    spec = _spec(tool)
    if layer_type in MERGES and type(module).__module__ != CONTAINERS_MODULE:
        rule = spec.default
    else:
        rule = spec.rule(layer_type)
    return int(rule(module, tuple(x), tuple(y), cost))


def counts(tools: Iterable[str], layer_type: str, module: Any, x: Shape, y: Shape,
           cost: Cost) -> tuple[tuple[str, int], ...]:
    """A row's numbers for `as: tools`: each library's main number, then its details."""
    return tuple((spec.name, count(spec.name, layer_type, module, x, y, cost))
                 for tool in tools for spec in (COUNTERS[tool], *COUNTERS[tool].details))


def totals(tools: Iterable[str], rows: Iterable[Iterable[tuple[str, int]]],
           inputs: Sequence[Shape]) -> tuple[tuple[str, int], ...]:
    """The block's numbers for `as: tools`: every row number summed, then each library's numbers of the
    whole model only (torchsummary's input size), from those sums and the model's input shapes."""
    sums: dict[str, int] = {}
    for row in rows:
        for metric, value in row:
            sums[metric] = sums.get(metric, 0) + value
    out: dict[str, int] = {}
    for tool in tools:
        spec = COUNTERS[tool]
        for part in (spec, *spec.details):
            out[part.name] = sums.get(part.name, 0)
        if spec.totals is not None:
            out.update(spec.totals(out, [tuple(s) for s in inputs]))
    return tuple(out.items())


def is_column(metric: str) -> bool:
    """A number a table shows per row (a library's, or a detail); not a number of the whole model only."""
    return metric in METRICS


def column(metric: str) -> tuple[str, str, str]:
    """(`torchstat 0.0.7`, `MAdd`, how it is obtained): a column's header, its unit and its tooltip."""
    spec = _spec(metric)
    return spec.header, spec.unit, spec.call


def printed(values: Iterable[tuple[str, int]]) -> list[str]:
    """The summary lines the libraries print for the whole model (torchsummary's sizes, torchstat's
    totals), as they print them, for the libraries in `values` (a `Result.counters`)."""
    known = dict(values)
    return [f"{spec.header}: {spec.printed(known)}" for spec in COUNTERS.values()
            if spec.printed is not None and spec.name in known]


__all__ = ["COUNTERS", "FAMILIES", "MERGES", "METRICS", "CounterSpec", "Rule", "column", "count", "counts", "family",
           "is_column", "printed", "totals"]
