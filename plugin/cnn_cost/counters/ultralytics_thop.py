"""ultralytics-thop 2.2.3 (PyPI `ultralytics-thop`, the maintained thop; it installs as module `thop`):
`thop.profile(model, inputs=(x,))[0]`, in MACs ("ops").

Rules in thop/profile.py (`register_hooks`), thop/vision/basic_hooks.py, thop/vision/calc_func.py and
thop/rnn_hooks.py. What changed since thop 0.1.1 (thop.py):

* a module's rule is looked up along its class's MRO, so a subclass of a registered type is counted
  by that type's rule, and families are registered through their private bases (every norm through
  `_NormBase`, every dropout, padding);
* a transposed convolution counts its input positions: in · (Cout/g) · K (thop 0.1.1: the output's);
* GroupNorm counts like the other norms (2 per element, 4 when affine); PReLU one per element;
* Softmax, LogSoftmax (+1 per row), Softmin (+1 per element), Softmax2d: rows · (3n − 1), and
  `Softmax(dim=None)` takes PyTorch's implicit dimension instead of raising;
* average pooling counts one add per input element in each window (the windows clipped as the
  layer clips them) and one division per output; adaptive average pooling likewise, with the
  windows `AdaptiveAvgPool` really slices;
* nearest upsampling is free (0), trilinear 31 per output element, bicubic 259; Bilinear counts
  (in1 + 1) · in2 per output element; MultiheadAttention has a rule (projections, both attention
  products, the softmax), and an LSTM's `proj_size` is counted;
* recurrent layers count `input.size(0) · input.size(1)` cell evaluations;
* products a module's forward runs functionally (`torch.matmul`, `@`, `bmm`, `einsum`, `F.linear`,
  `scaled_dot_product_attention`) are counted by a TorchFunctionMode, except inside a module whose
  own rule counts them. Elementwise `+`, `*` and `torch.cat` are not: the merge rows of the package's
  containers count 0.

ReLU, ReLU6, LeakyReLU, the max pools, Dropout, Identity, Flatten, Embedding and padding are
registered as zero ops; the other activations (GELU, SiLU, ELU, Hardswish, Mish, ...) have no rule
and count 0, as does a module whose type nothing in its MRO registers. For a project's own leaf
module (outside the registry) the rule takes the products torch's flop counter measured
(`cost.macs`): what ultralytics-thop's function counter sees of matrix products, but not of a
functional convolution, which it does not count.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import (
    TRANSFORMERS,
    CounterSpec,
    Rule,
    by_family,
    dims,
    kernel,
    macs,
    named,
    numel,
    parts,
    zero,
)
from cnn_cost.counters.thop import cell  # count_*_cell as thop 0.1.1 counts them (a cell has no proj_size)
from cnn_cost.layers.registry import Cost, Shape, tup

VERSION = "2.2.3"  # the release these rules follow


def conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # calculate_conv2d_flops: output volume · (input channels // groups) · kernel volume, no bias
    return numel(y) * (x[1] // m.groups) * kernel(m, x)


def conv_transpose(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # transpose=True: the input volume · (output channels // groups) · kernel volume
    return numel(x) * (y[1] // m.groups) * kernel(m, x)


def norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_normalization (every _NormBase, LayerNorm, GroupNorm): 2 per element, 4 when affine
    affine = bool(getattr(m, "affine", False) or getattr(m, "elementwise_affine", False))
    return 2 * numel(x) * (2 if affine else 1)


def prelu(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x)  # count_prelu in eval (profile() puts the model in eval mode)


def _softmax(rows: int, n: int) -> int:
    return rows * (n + max(n - 1, 0) + n)  # calculate_softmax: exp, add, divide


def softmax(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_softmax: Softmax2d normalises dim -3; dim=None is PyTorch's implicit choice
    kind = type(m).__name__
    dim = -3 if kind == "Softmax2d" else m.dim
    if dim is None:
        dim = 0 if len(x) in (0, 1, 3) else 1
    n = x[dim] if x else 1
    rows = numel(x) // n if n else 0
    ops = _softmax(rows, n)
    if kind == "Softmin":
        ops += numel(x)
    elif kind == "LogSoftmax":
        ops += rows
    return ops


def avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_avgpool: the input elements of every window, clipped to the padded (count_include_pad) or
    # the real input, plus one division per output element
    k = tup(m.kernel_size, len(x) - 2)
    d = len(k)
    stride, padding = tup(m.stride, d), tup(m.padding, d)
    windows = 1
    for size, out, kk, s, p in zip(x[-d:], y[-d:], k, stride, padding, strict=True):
        lower, upper = (-p, size + p) if m.count_include_pad else (0, size)
        windows *= sum(max(min(i * s - p + kk, upper) - max(i * s - p, lower), 0) for i in range(out))
    return numel(x[:-d]) * windows + numel(y)


def adaptive_avgpool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_adap_avgpool: per axis, the sizes of the windows the layer slices ([j·I//O, ceil((j+1)·I/O)))
    total = 1
    for i, o in zip(x, y, strict=True):
        total *= o if i == o else sum(-(-(j + 1) * i // o) - j * i // o for j in range(o))
    return total + numel(y)


UPSAMPLE = {"nearest": 0, "nearest-exact": 0, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}


def upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return UPSAMPLE.get(m.mode, 0) * numel(y)


def linear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return int(m.in_features * numel(y))


def bilinear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return (m.in1_features + 1) * m.in2_features * numel(y)


def _cell(kind: str, fin: int, h: int, bias: bool, proj: int = 0) -> int:
    b = 2 * h if bias else 0
    if kind == "RNN":
        return h * (fin + h) + h + b
    if kind == "GRU":
        state = (h + fin) * h + h + b
        return 2 * state + state + h + 3 * h
    state = (fin + (proj or h)) * h + h + b  # LSTM: the recurrent products read the projected state
    return 4 * state + 3 * h + h + h * proj


def recurrent(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # count_rnn/gru/lstm: cell evaluations = input.size(0) · input.size(1) (batched input)
        evaluations = x[0] if len(x) == 2 else x[0] * x[1]
        directions = 2 if m.bidirectional else 1
        h, proj = m.hidden_size, getattr(m, "proj_size", 0) or 0
        stacked = proj or h
        total = _cell(kind, m.input_size, h, bool(m.bias), proj) * directions
        for _ in range(m.num_layers - 1):
            total += _cell(kind, stacked * directions, h, bool(m.bias), proj) * directions
        return total * evaluations

    return rule


def attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # count_multihead_attention, self-attention with need_weights=False (the key is the query)
    first = m.batch_first or len(y) == 2
    tgt = y[-2] if first else y[0]
    batch = 1 if len(y) == 2 else y[0 if m.batch_first else 1]
    appended = (m.bias_k is not None) + bool(m.add_zero_attn)
    attended = (x[-2] if first else x[0]) + appended
    e = m.embed_dim
    projections = e * (2 * tgt * e + (attended - appended) * (m.kdim + m.vdim))
    products = 2 * tgt * attended * e
    return batch * (projections + products) + _softmax(batch * m.num_heads * tgt, attended)


ULTRALYTICS_THOP = CounterSpec(
    "ultralytics-thop", unit="MACs", per_mac=1, version=f"ultralytics-thop {VERSION}",
    call="thop.profile(model, inputs=(x,))[0] (ultralytics-thop)", package="ultralytics-thop", release=VERSION,
    names=named(
        (dims("Conv{}d"), conv),
        (dims("ConvTranspose{}d"), conv_transpose),
        (["Linear"], linear),
        (["Bilinear"], bilinear),
        ([*dims("BatchNorm{}d", "InstanceNorm{}d"), "LayerNorm", "GroupNorm", "RMSNorm", "SyncBatchNorm"], norm),
        (["PReLU"], prelu),
        (["Softmax", "LogSoftmax", "Softmin", "Softmax2d"], softmax),
        (dims("AvgPool{}d"), avgpool),
        (dims("AdaptiveAvgPool{}d"), adaptive_avgpool),
        (["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"], upsample),
        *(([kind], recurrent(kind)) for kind in ("RNN", "GRU", "LSTM")),
        *(([f"{kind}Cell"], cell(kind)) for kind in ("RNN", "GRU", "LSTM")),
        (["MultiheadAttention"], attention),
        (TRANSFORMERS, parts("ultralytics-thop")),  # not registered: its children are hooked
    ),
    families=by_family(zero),  # registered as zero ops, or no rule at all
    default=macs,  # functional products in a project's own module (see above)
    merge=zero,  # `+`, `*`, torch.cat: no rule, no counted function
)
