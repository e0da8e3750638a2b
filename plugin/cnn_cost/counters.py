"""What the usual PyTorch counting libraries report per layer: one table of rules.

`as: [thop, ptflops, fvcore, torchinfo, torch]` adds one column per library. For each row the column
holds the number that library reports for that layer, so that the column's total is the library's
total for the whole model. `COUNTERS[tool].rules` maps every layer type of the registry to a rule
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
Bilinear: the input as both inputs). `torch` is the flop counter on CPU with autograd enabled (no
`torch.no_grad()`), as in its documentation.

In short: thop counts products without bias, BN/IN/LN 2 per element (4 when affine), avg pools, and
its own recurrent formulas, and nothing for types it has not registered (GroupNorm, GELU, Bilinear,
MultiheadAttention, ...). ptflops adds the bias once per output element, counts norms and
activations per element, and counts ReLU, ELU, GELU, PReLU and every pool twice (module hook and the
patched `torch.nn.functional` call). fvcore counts the products of traced `aten` ops (no bias),
BatchNorm 2 per element in eval, other norms 5 (4 without affine), and nothing for recurrent layers,
pooling (but 2-D adaptive average) or activations. torchinfo multiplies each leaf's parameter count
by the output positions (`weight`, `bias`: the batch, Conv: batch and spatial size; recurrent
weights: batch and steps). torch counts 2 per MAC of matrix products and convolutions only.

Exactness, and what the rules cannot see:

* ptflops divides its module-hook counts by its batch counter, ``len(model input)``, but not the
  counts of its patched functionals. The rules divide by the first dimension of the layer's own
  input, which is the model's as long as the layers keep dimension 0 (all registry layers do, and a
  seq-first LSTM that starts the model: 13,800 / 5 = 2,760, as ptflops prints). ptflops truncates only
  its total; a row is an integer. So an `Upsample` with a fractional `scale_factor` (whose functional
  count, and at batch > 1 whose hook count, is fractional) makes the rows' sum fall short of ptflops'
  total by less than the number of such rows (checked: 410 against 411 at batch 2). Everything else
  is exact.
* thop's rule for `Softmax(dim=None)` raises in thop itself (``x.size()[None]``); the rule gives 0.
* torch: on CPU an `LSTM` runs as the fused oneDNN kernel (``aten.mkldnn_rnn_layer``), which the
  counter does not see: 0, except with `proj_size`, which oneDNN lacks, so the LSTM decomposes and
  counts 2 x MACs. The CPU attention kernel is not registered either, so `MultiheadAttention` counts
  only its four projections. On the meta device the counter sees both (LSTM 2 x MACs; attention
  adds 2·2·L²·E per batch item), and under `torch.no_grad()` a `batch_first` MultiheadAttention in
  eval mode takes the fused fast path and counts 0. The rules give the CPU, autograd-enabled
  numbers.
* thop and ptflops look modules up by exact type: a subclass of a layer counts 0 there. The rules
  describe the layers as PyTorch defines them (a block's wrapped recurrent and attention layers are
  counted as the real ones).
* fvcore: a convolution with ``padding='same'`` or ``'valid'`` traces as ``aten::_convolution_mode``,
  which fvcore does not support: 0.

Nothing here imports torch: rules read hyper-parameters as plain attributes and shapes as tuples,
and use the registry's `Cost` where the library's rule is ours (fvcore's products, torch's 2 x MACs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cnn_cost.layers.registry import Cost, Shape, tup

Rule = Callable[[Any, Shape, Shape, Cost], int]

CONV = [f"Conv{d}d" for d in (1, 2, 3)]
CONV_T = [f"ConvTranspose{d}d" for d in (1, 2, 3)]
BATCHNORM = [f"BatchNorm{d}d" for d in (1, 2, 3)]
INSTANCENORM = [f"InstanceNorm{d}d" for d in (1, 2, 3)]
MAXPOOL = [f"MaxPool{d}d" for d in (1, 2, 3)]
AVGPOOL = [f"AvgPool{d}d" for d in (1, 2, 3)]
ADAPTIVE_AVG = [f"AdaptiveAvgPool{d}d" for d in (1, 2, 3)]
ADAPTIVE_MAX = [f"AdaptiveMaxPool{d}d" for d in (1, 2, 3)]
RECURRENT = ["RNN", "GRU", "LSTM"]
ZERO_ALWAYS = ["Flatten", "Identity", "Dropout", "Dropout2d", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid"]


@dataclass(frozen=True)
class CounterSpec:
    """One counting library: what it calls its number, and its rule per layer type.

    `rules` lists every registry layer type. `default` is for other leaf modules (a project's own
    layer): thop and ptflops hook known types only (0; ptflops' patched functionals inside such a
    module are not seen by the rule), fvcore and torch count the layer's products (`cost.macs`,
    2 x that), torchinfo applies its parameter rule to any leaf.
    """

    name: str
    unit: str  # the library's own word for its number
    per_mac: int  # how many of its units one multiply-accumulate of a product is
    version: str  # the version the rules were checked against
    call: str  # how the total was obtained
    rules: Mapping[str, Rule] = field(default_factory=dict)
    default: Rule | None = None  # for types not in `rules`; None: 0

    def rule(self, layer_type: str) -> Rule:
        return self.rules.get(layer_type, self.default or zero)


# ------------------------------------------------------------ helpers ----


def numel(shape: Iterable[int]) -> int:
    return math.prod(shape)


def zero(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 0


def macs(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return c.macs


def two_macs(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return 2 * c.macs


def _table(*groups: tuple[Iterable[str], Rule]) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for names, rule in groups:
        for name in names:
            if name in rules:
                raise ValueError(f"{name} listed twice")
            rules[name] = rule
    return rules


def _steps_batch(m: Any, x: Shape) -> tuple[int, int]:
    """(steps, batch) of a recurrent layer's or attention's input, as PyTorch reads it."""
    if len(x) == 2:
        return x[0], 1
    if m.batch_first:
        return x[1], x[0]
    return x[0], x[1]


def _kernel(m: Any, x: Shape) -> int:
    return numel(tup(m.kernel_size, len(x) - 2))


# ------------------------------------------------------------ thop ----
# thop/vision/basic_hooks.py, thop/vision/calc_func.py, thop/rnn_hooks.py; registered types only.


def thop_conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # calculate_conv2d_flops: numel(out) · (input.shape[1] // groups) · kernel volume, no bias
    return numel(y) * (x[1] // m.groups) * _kernel(m, x)


def thop_linear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return int(m.in_features * numel(y))


def thop_norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_normalization: 2 per input element, doubled when affine (BN, IN) or elementwise_affine (LN)
    affine = bool(getattr(m, "affine", False) or getattr(m, "elementwise_affine", False))
    return 2 * numel(x) * (2 if affine else 1)


def thop_prelu(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x)  # count_prelu in eval: one per element


def thop_softmax(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    if m.dim is None:
        return 0  # thop raises TypeError (x.size()[None])
    n = x[m.dim]
    return (numel(x) // n) * (3 * n - 1)  # exp, add, divide per row: n + (n - 1) + n


def thop_avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(y)


def thop_adaptive_avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # (prod(in_spatial / out_spatial) + 1) · numel(out), in float64, truncated by int()
    kernel = 1.0
    for i, o in zip(x[2:], y[2:], strict=False):
        kernel *= float(i) / float(o)
    return int((kernel + 1.0) * numel(y))


THOP_UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35}  # others: 0 (warned)


def thop_upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return THOP_UPSAMPLE.get(m.mode, 0) * numel(y)


def _thop_cell(kind: str, fin: int, h: int, bias: bool) -> int:
    b = 2 * h if bias else 0
    if kind == "RNN":
        return h * (fin + h) + h + b
    state = (h + fin) * h + h + b
    if kind == "GRU":
        return 2 * state + state + h + 3 * h
    return 4 * state + 3 * h + h  # LSTM


def thop_recurrent(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # count_rnn/gru/lstm: batch and steps read as for a batched input; proj_size is ignored
        if m.batch_first:
            batch, steps = x[0], x[1]
        else:
            batch, steps = x[1], x[0]
        dirs = 2 if m.bidirectional else 1
        h = m.hidden_size
        total = _thop_cell(kind, m.input_size, h, bool(m.bias)) * dirs
        for _ in range(m.num_layers - 1):
            total += _thop_cell(kind, h * dirs, h, bool(m.bias)) * dirs
        return total * steps * batch

    return rule


THOP = CounterSpec(
    name="thop",
    unit="MACs",
    per_mac=1,
    version="thop 0.1.1.post2209072238",
    call="thop.profile(model, inputs=(x,))[0]",
    rules=_table(
        ([*CONV, *CONV_T], thop_conv),
        (["Linear"], thop_linear),
        ([*BATCHNORM, *INSTANCENORM, "LayerNorm"], thop_norm),
        (["PReLU"], thop_prelu),
        (["Softmax"], thop_softmax),
        (AVGPOOL, thop_avgpool),
        (ADAPTIVE_AVG, thop_adaptive_avgpool),
        (["Upsample"], thop_upsample),
        (["RNN"], thop_recurrent("RNN")),
        (["GRU"], thop_recurrent("GRU")),
        (["LSTM"], thop_recurrent("LSTM")),
        # registered as zero_ops, count_relu (0) or not registered at all
        (["ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", *MAXPOOL, *ADAPTIVE_MAX, "GroupNorm",
          "Bilinear", "Embedding", "MultiheadAttention", *ZERO_ALWAYS], zero),
    ),
)


# ------------------------------------------------------------ ptflops ----
# ptflops/pytorch_ops.py (module hooks, divided by the batch counter) and the functionals that
# ptflops/pytorch_engine.py patches (F.relu, F.prelu, F.elu, F.relu6, F.gelu, F.silu, F.*pool*,
# F.softmax, F.interpolate: counted once per call, not divided).


def _batch_counter(x: Shape) -> int:
    return x[0] if x and x[0] else 1


def _hook(value: int, x: Shape) -> int:
    """A module-hook count as it ends up in ptflops' total: divided by the batch counter."""
    return value // _batch_counter(x)


def pt_conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    batch = x[0]
    per_position = _kernel(m, x) * m.in_channels * (m.out_channels // m.groups)
    positions = batch * numel(y[2:])
    bias = batch * numel(y[1:]) if m.bias is not None else 0
    return _hook(per_position * positions + bias, x)


def pt_conv_transpose(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    batch = x[0]
    per_position = _kernel(m, x) * m.in_channels * (m.out_channels // m.groups)
    positions = batch * numel(x[2:])  # input positions
    bias = batch * numel(y[1:]) if m.bias is not None else 0
    return _hook(per_position * positions + bias, x)


def pt_linear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    bias = y[-1] if m.bias is not None else 0
    return _hook((x[-1] * y[-1] + bias) * numel(x[:-1]), x)


def pt_norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # bn_flops_counter_hook: numel(in), doubled if the module has a true `affine` (LayerNorm has none)
    return _hook(numel(x) * (2 if getattr(m, "affine", False) else 1), x)


def pt_act_hook(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(y), x)  # relu_flops_counter_hook; functional not patched (ReLU6, LeakyReLU)


def pt_act_twice(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(y), x) + numel(x)  # hook, and the patched F.relu/F.elu/F.gelu/F.prelu again


def pt_functional(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x)  # no module hook; the patched F.silu / F.softmax


def pt_pool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(x), x) + numel(x)  # pool_flops_counter_hook and the patched F.*pool*


def pt_upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # upsample_flops_counter_hook counts output[0], the first sample: numel(out) / batch
    hook = _hook(numel(y[1:]), x)
    dims = len(x) - 2
    size, scale = m.size, m.scale_factor
    if size is not None:  # _interpolate_functional_flops_hook
        if isinstance(size, (tuple, list)):
            functional: float = numel(size) * numel(x[:2])
        else:
            functional = int(size) ** dims * numel(x[:2])
    elif isinstance(scale, (tuple, list)) and len(scale) == dims:
        functional = numel(x) * numel(int(s) for s in scale)  # np.prod(..., dtype=int64) truncates
    else:
        functional = numel(x) * scale**dims
    return hook + int(functional)


_PT_GATE_EXTRA = {"RNN": 1, "GRU": 7, "LSTM": 10}  # per hidden unit: state additions, Hadamard products


def pt_recurrent(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # rnn_flops_counter_hook: W_ih and W_hh numel of the forward direction, gate extras and both
        # biases per layer, times input.shape[0] · input.shape[1] (whatever batch_first says), x2 if
        # bidirectional
        gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
        h = m.hidden_size
        r = getattr(m, "proj_size", 0) or h
        dirs = 2 if m.bidirectional else 1
        flops = 0
        for layer in range(m.num_layers):
            fin = m.input_size if layer == 0 else r * dirs
            flops += gates * h * fin + gates * h * r + _PT_GATE_EXTRA[kind] * h
            if m.bias:
                flops += 2 * gates * h
        flops *= x[0] * x[1] * dirs
        return _hook(flops, x)

    return rule


def pt_attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # multihead_attention_counter_hook with query = key = value = x (need_weights=False: no patched
    # softmax or bmm runs inside)
    length, batch = _steps_batch(m, x)
    e = x[-1]
    heads = m.num_heads
    flops = length * e  # Q scaling
    flops += 3 * length * e * e  # projections
    if m.in_proj_bias is not None:
        flops += 3 * length * e
    head = length * length * (e // heads) + length * length + length * length * (e // heads)
    flops += heads * head
    flops += length * e * (e + 1)  # out projection, bias always counted
    return _hook(flops * batch, x)


PTFLOPS = CounterSpec(
    name="ptflops",
    unit="MACs",
    per_mac=1,
    version="ptflops 0.7.5 (backend pytorch)",
    call='get_model_complexity_info(model, res, as_strings=False, backend="pytorch")[0]',
    rules=_table(
        (CONV, pt_conv),
        (CONV_T, pt_conv_transpose),
        (["Linear"], pt_linear),
        ([*BATCHNORM, *INSTANCENORM, "GroupNorm", "LayerNorm"], pt_norm),
        (["ReLU", "ELU", "GELU", "PReLU"], pt_act_twice),
        (["ReLU6", "LeakyReLU"], pt_act_hook),
        (["SiLU", "Softmax"], pt_functional),
        ([*MAXPOOL, *AVGPOOL, *ADAPTIVE_AVG, *ADAPTIVE_MAX], pt_pool),
        (["Upsample"], pt_upsample),
        (["RNN"], pt_recurrent("RNN")),
        (["GRU"], pt_recurrent("GRU")),
        (["LSTM"], pt_recurrent("LSTM")),
        (["MultiheadAttention"], pt_attention),
        (["Bilinear", "Embedding", *ZERO_ALWAYS], zero),
    ),
)


# ------------------------------------------------------------ fvcore ----
# fvcore/nn/flop_count.py _DEFAULT_SUPPORTED_OPS and fvcore/nn/jit_handles.py; every other aten op is
# unsupported (0) or ignored.


def fv_batchnorm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # batchnorm_flop_jit, eval: 2 per element with affine, 1 without (training would be 5 / 4)
    return numel(x) * (2 if m.affine else 1)


def fv_norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # norm_flop_counter: 5 per element with a weight, 4 without (group, layer, instance norm)
    affine = getattr(m, "affine", None)
    if affine is None:
        affine = m.elementwise_affine
    return numel(x) * (5 if affine else 4)


def fv_adaptive_avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x) if len(x) == 4 else 0  # only aten::adaptive_avg_pool2d is supported


def fv_upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    if len(x) != 4:
        return 0  # upsample_nearest1d/3d, upsample_linear1d, upsample_trilinear3d: unsupported
    return {"nearest": 1, "bilinear": 4}.get(m.mode, 0) * numel(y)


def fv_conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # conv_flop_jit on aten::_convolution; padding='same'/'valid' traces as aten::_convolution_mode,
    # which fvcore does not support
    return 0 if isinstance(m.padding, str) else c.macs


def fv_attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # aten::linear of the packed in-projection and of out_proj; scaled_dot_product_attention unsupported
    tokens = numel(x[:-1])
    e = m.embed_dim
    return tokens * e * 3 * e + tokens * e * e


FVCORE = CounterSpec(
    name="fvcore",
    unit="flops",
    per_mac=1,
    version="fvcore 0.1.5.post20221221",
    call="FlopCountAnalysis(model, x).total()",
    rules=_table(
        (CONV, fv_conv),
        ([*CONV_T, "Linear"], macs),
        (BATCHNORM, fv_batchnorm),
        ([*INSTANCENORM, "GroupNorm", "LayerNorm"], fv_norm),
        (ADAPTIVE_AVG, fv_adaptive_avgpool),
        (["Upsample"], fv_upsample),
        (["MultiheadAttention"], fv_attention),
        # aten::lstm/gru/rnn_tanh, bilinear, embedding, softmax, pools, activations: unsupported/ignored
        (["ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "PReLU", "Softmax", *MAXPOOL, *AVGPOOL,
          *ADAPTIVE_MAX, *RECURRENT, "Bilinear", "Embedding", *ZERO_ALWAYS], zero),
    ),
    default=macs,
)


# ------------------------------------------------------------ torchinfo ----
# torchinfo/layer_info.py LayerInfo.calculate_macs, summed over leaf modules only.


def _named_params(m: Any, c: Cost) -> list[tuple[str, int]]:
    named = getattr(m, "named_parameters", None)
    if named is None:
        return [("weight", c.params)] if c.params else []
    return [(name, p.numel()) for name, p in named()]


def torchinfo_rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
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
    name="torchinfo",
    unit="Mult-Adds",
    per_mac=1,
    version="torchinfo 1.8.0",
    call="summary(model, input_data=x).total_mult_adds",
    rules=_table(
        ([*CONV, *CONV_T, "Linear", "Bilinear", "Embedding", "PReLU", *BATCHNORM, *INSTANCENORM,
          "GroupNorm", "LayerNorm", *RECURRENT], torchinfo_rule),
        (["MultiheadAttention"], zero),  # not a leaf, and out_proj never runs as a module
        (["ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Softmax", "Upsample", *MAXPOOL,
          *AVGPOOL, *ADAPTIVE_AVG, *ADAPTIVE_MAX, *ZERO_ALWAYS], zero),
    ),
    default=torchinfo_rule,
)


# ------------------------------------------------------------ torch ----
# torch/utils/flop_counter.py: mm, addmm, bmm, baddbmm, convolution, attention kernels; 2 per MAC,
# bias never. On CPU with autograd enabled (see the module docstring).


def torch_lstm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # on CPU an LSTM runs as aten.mkldnn_rnn_layer, which the counter does not see (0), except with
    # proj_size, which oneDNN does not support: then it decomposes into counted matmuls
    return 2 * c.macs if getattr(m, "proj_size", 0) else 0


def torch_attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    tokens = numel(x[:-1])
    e = m.embed_dim
    return 2 * (tokens * e * 3 * e + tokens * e * e)  # addmm/mm of the projections; CPU SDPA unseen


TORCH = CounterSpec(
    name="torch",
    unit="FLOPs",
    per_mac=2,
    version="torch 2.13.0 torch.utils.flop_counter.FlopCounterMode (CPU)",
    call="FlopCounterMode(display=False).get_total_flops()",
    rules=_table(
        ([*CONV, *CONV_T, "Linear", "RNN", "GRU"], two_macs),
        (["MultiheadAttention"], torch_attention),
        (["LSTM"], torch_lstm),
        (["Bilinear", "Embedding", "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "PReLU", "Softmax",
          "Upsample", *BATCHNORM, *INSTANCENORM, "GroupNorm", "LayerNorm", *MAXPOOL, *AVGPOOL,
          *ADAPTIVE_AVG, *ADAPTIVE_MAX, *ZERO_ALWAYS], zero),
    ),
    default=two_macs,
)


COUNTERS: dict[str, CounterSpec] = {spec.name: spec for spec in (THOP, PTFLOPS, FVCORE, TORCHINFO, TORCH)}


def count(tool: str, layer_type: str, module: Any, x: Shape, y: Shape, cost: Cost) -> int:
    """The number `tool` reports for one call of a layer of `layer_type`.

    `x` and `y` are the shapes of the layer's (first) input and output, `cost` the registry's cost.
    """
    spec = COUNTERS.get(tool)
    if spec is None:
        raise KeyError(f"unknown counter {tool!r}; known: {', '.join(COUNTERS)}")
    return int(spec.rule(layer_type)(module, tuple(x), tuple(y), cost))


__all__ = ["COUNTERS", "CounterSpec", "Rule", "count"]
