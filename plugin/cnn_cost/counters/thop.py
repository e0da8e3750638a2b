"""thop 0.1.1.post2209072238: `thop.profile(model, inputs=(x,))[0]`, in MACs ("ops").

thop hooks modules by exact type (`register_hooks` in thop/profile.py; the counts in
thop/vision/basic_hooks.py, thop/vision/calc_func.py, thop/rnn_hooks.py). Products are counted
without bias; BatchNorm, InstanceNorm and LayerNorm 2 per element (4 when affine); average pools;
its own recurrent formulas. It registers ReLU, ReLU6, LeakyReLU, the max pools and Dropout as zero
ops, and a type it has not registered (GroupNorm, GELU, Bilinear, MultiheadAttention, a new
activation, a subclass of a registered type) counts 0 too: every family falls back to 0.

UpsamplingNearest2d and UpsamplingBilinear2d count as Upsample; the recurrent cells one step of their
layer's formula, times the batch.

`Softmax(dim=None)` raises in thop itself (``x.size()[None]``); the rule gives 0.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import TRANSFORMERS, CounterSpec, Rule, by_family, dims, kernel, named, numel, parts, zero
from cnn_cost.layers.registry import Cost, Shape

VERSION = "0.1.1.post2209072238"  # the release these rules follow (PyPI `thop`)


def conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # calculate_conv2d_flops: numel(out) · (input.shape[1] // groups) · kernel volume, no bias
    return numel(y) * (x[1] // m.groups) * kernel(m, x)


def linear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return int(m.in_features * numel(y))


def norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_normalization: 2 per input element, doubled when affine (BN, IN) or elementwise_affine (LN)
    affine = bool(getattr(m, "affine", False) or getattr(m, "elementwise_affine", False))
    return 2 * numel(x) * (2 if affine else 1)


def prelu(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x)  # count_prelu in eval: one per element


def softmax(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    if m.dim is None:
        return 0  # thop raises TypeError (x.size()[None])
    n = x[m.dim]
    return (numel(x) // n) * (3 * n - 1)  # exp, add, divide per row: n + (n - 1) + n


def avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(y)


def adaptive_avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # (prod(in_spatial / out_spatial) + 1) · numel(out), in float64, truncated by int()
    window = 1.0
    for i, o in zip(x[2:], y[2:], strict=False):
        window *= float(i) / float(o)
    return int((window + 1.0) * numel(y))


UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35}  # others: 0 (warned)


def upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return UPSAMPLE.get(m.mode, 0) * numel(y)


def _cell(kind: str, fin: int, h: int, bias: bool) -> int:
    b = 2 * h if bias else 0
    if kind == "RNN":
        return h * (fin + h) + h + b
    state = (h + fin) * h + h + b
    if kind == "GRU":
        return 2 * state + state + h + 3 * h
    return 4 * state + 3 * h + h  # LSTM


def cell(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        return _cell(kind, m.input_size, m.hidden_size, bool(m.bias)) * (x[0] if len(x) == 2 else 1)

    return rule


def recurrent(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # count_rnn/gru/lstm: batch and steps read as for a batched input; proj_size is ignored
        if m.batch_first:
            batch, steps = x[0], x[1]
        else:
            batch, steps = x[1], x[0]
        directions = 2 if m.bidirectional else 1
        h = m.hidden_size
        total = _cell(kind, m.input_size, h, bool(m.bias)) * directions
        for _ in range(m.num_layers - 1):
            total += _cell(kind, h * directions, h, bool(m.bias)) * directions
        return total * steps * batch

    return rule


THOP = CounterSpec(
    "thop", unit="MACs", per_mac=1, version=f"thop {VERSION}", call="thop.profile(model, inputs=(x,))[0]",
    package="thop", release=VERSION,
    names=named(
        (dims("Conv{}d", "ConvTranspose{}d"), conv),
        (["Linear"], linear),
        ([*dims("BatchNorm{}d", "InstanceNorm{}d"), "LayerNorm", "SyncBatchNorm"], norm),
        (["PReLU"], prelu),
        (["Softmax"], softmax),
        (dims("AvgPool{}d"), avgpool),
        (dims("AdaptiveAvgPool{}d"), adaptive_avgpool),
        (["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"], upsample),
        *(([kind], recurrent(kind)) for kind in ("RNN", "GRU", "LSTM")),
        *(([f"{kind}Cell"], cell(kind)) for kind in ("RNN", "GRU", "LSTM")),  # count_*_cell: one step, · batch
        (TRANSFORMERS, parts("thop")),  # not registered: its Linear and LayerNorm are hooked
    ),
    families=by_family(zero),  # registered as zero ops, or not registered at all
    default=zero,
)
