"""ptflops 0.7.5, backend pytorch: `get_model_complexity_info(model, res, as_strings=False, backend="pytorch")[0]`.

Two mechanisms, both by name. Module hooks (`MODULES_MAPPING` in ptflops/pytorch_ops.py), by exact
type, whose counts are divided by the batch counter; and the functionals that
ptflops/pytorch_engine.py patches (`FUNCTIONAL_MAPPING`: F.relu, F.prelu, F.elu, F.relu6, F.gelu,
F.silu, F.*pool*, F.softmax, F.interpolate), counted once per call and not divided. So ReLU, ELU,
GELU, PReLU and every pool count twice (hook and functional), ReLU6 and LeakyReLU once (hook only),
SiLU, Softmax and Softmax2d once (functional only: `F.softmax` in Softmax2d's forward). Products add
the bias once per output element. A type that is neither hooked nor calls a patched functional counts
0 (Sigmoid, Tanh, Mish, ...): every family falls back to 0. Functionals inside other functionals count
too: `F.lp_pool*d` runs the patched average pool, `F.relu` and `Tensor.mul` (LPPool: numel(in) + 2 ·
numel(out)), `F.local_response_norm` `Tensor.mul`, `Tensor.add` and an average pool over the squares
(LocalResponseNorm); UpsamplingNearest2d and UpsamplingBilinear2d have no hook, only F.interpolate.
The recurrent cells count one step of their layer's formula.

ptflops divides its module-hook counts by its batch counter, ``len(model input)``, but not the counts
of its patched functionals. The rules divide by the first dimension of the layer's own input, which
is the model's as long as the layers keep dimension 0 (all registry layers do, and a seq-first LSTM
that starts the model: 13,800 / 5 = 2,760, as ptflops prints). ptflops truncates only its total; a
row is an integer. So an `Upsample` with a fractional `scale_factor` (whose functional count, and at
batch > 1 whose hook count, is fractional) makes the rows' sum fall short of ptflops' total by less
than the number of such rows (checked: 410 against 411 at batch 2). Everything else is exact.
"""

from __future__ import annotations

from typing import Any

from cnn_cost.counters.base import TRANSFORMERS, CounterSpec, Rule, by_family, dims, kernel, named, numel, parts, zero
from cnn_cost.layers.registry import Cost, Shape

VERSION = "0.7.5"  # the release these rules follow


def _hook(value: int, x: Shape) -> int:
    """A module-hook count as it ends up in ptflops' total: divided by the batch counter."""
    return value // (x[0] if x and x[0] else 1)


def _conv(m: Any, x: Shape, y: Shape, positions: Shape) -> int:
    # conv_flops_counter_hook: kernel · in_channels · filters per group at each position, bias per output
    batch = x[0]
    products = kernel(m, x) * m.in_channels * (m.out_channels // m.groups) * batch * numel(positions)
    bias = batch * numel(y[1:]) if m.bias is not None else 0
    return _hook(products + bias, x)


def conv(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _conv(m, x, y, y[2:])  # output positions


def conv_transpose(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _conv(m, x, y, x[2:])  # input positions


def linear(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    bias = y[-1] if m.bias is not None else 0
    return _hook((x[-1] * y[-1] + bias) * numel(x[:-1]), x)


def norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # bn_flops_counter_hook: numel(in), doubled if the module has a true `affine` (LayerNorm has none)
    return _hook(numel(x) * (2 if getattr(m, "affine", False) else 1), x)


def hook_only(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(y), x)  # relu_flops_counter_hook; functional not patched (ReLU6, LeakyReLU)


def hook_and_functional(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(y), x) + numel(x)  # hook, and the patched F.relu/F.elu/F.gelu/F.prelu again


def functional(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return numel(x)  # no module hook; the patched F.silu / F.softmax


def pool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return _hook(numel(x), x) + numel(x)  # pool_flops_counter_hook and the patched F.*pool*


def _interpolate(m: Any, x: Shape) -> float:
    """_interpolate_functional_flops_hook for F.interpolate(x, size, scale_factor)."""
    spatial = len(x) - 2
    size, scale = m.size, m.scale_factor
    if size is not None:
        if isinstance(size, (tuple, list)):
            return numel(size) * numel(x[:2])
        return int(size) ** spatial * numel(x[:2])
    if isinstance(scale, (tuple, list)) and len(scale) == spatial:
        return numel(x) * numel(int(s) for s in scale)  # np.prod(..., dtype=int64) truncates
    return numel(x) * scale**spatial  # a float for a fractional scale


def upsample(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # upsample_flops_counter_hook counts output[0], the first sample: numel(out) / batch
    return _hook(numel(y[1:]), x) + int(_interpolate(m, x))


def interpolate_only(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    return int(_interpolate(m, x))  # UpsamplingNearest2d, UpsamplingBilinear2d: no hook, the patched F.interpolate


def lp_pool(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # no hook; F.lp_pool*d calls the patched F.avg_pool*d (numel(in)), then F.relu and Tensor.mul on the
    # output (numel(out) each); with norm_type inf the patched F.max_pool*d only
    if m.norm_type in (float("inf"), -float("inf")):
        return numel(x)
    return numel(x) + 2 * numel(y)


def local_response_norm(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # no hook; F.local_response_norm: Tensor.mul (x·x), the patched F.avg_pool2d/3d over the squares padded
    # along the channels by size - 1, then Tensor.mul and Tensor.add on them: 3 · numel(in) + the padded
    padded = numel(x) // x[1] * (x[1] + m.size - 1)
    return 3 * numel(x) + padded


GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
GATE_EXTRA = {"RNN": 1, "GRU": 7, "LSTM": 10}  # per hidden unit: state additions, Hadamard products


def recurrent(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # rnn_flops_counter_hook: W_ih and W_hh numel of the forward direction, gate extras and both
        # biases per layer, times input.shape[0] · input.shape[1] (whatever batch_first says), x2 if
        # bidirectional
        gates, h = GATES[kind], m.hidden_size
        r = getattr(m, "proj_size", 0) or h
        directions = 2 if m.bidirectional else 1
        flops = 0
        for layer in range(m.num_layers):
            fin = m.input_size if layer == 0 else r * directions
            flops += gates * h * fin + gates * h * r + GATE_EXTRA[kind] * h
            if m.bias:
                flops += 2 * gates * h
        return _hook(flops * x[0] * x[1] * directions, x)

    return rule


def cell(kind: str) -> Rule:
    def rule(m: Any, x: Shape, y: Shape, c: Cost) -> int:
        # rnn_cell_flops_counter_hook: one step of the layer's formula, times the batch (then divided by it)
        gates, h = GATES[kind], m.hidden_size
        flops = gates * h * m.input_size + gates * h * h + GATE_EXTRA[kind] * h + (2 * gates * h if m.bias else 0)
        return _hook(flops * x[0], x) if len(x) == 2 else flops

    return rule


def _steps_batch(m: Any, x: Shape) -> tuple[int, int]:
    """(steps, batch) of attention's input, as PyTorch reads it."""
    if len(x) == 2:
        return x[0], 1
    if m.batch_first:
        return x[1], x[0]
    return x[0], x[1]


def attention(m: Any, x: Shape, y: Shape, c: Cost) -> int:
    # multihead_attention_counter_hook with query = key = value = x (need_weights=False: no patched
    # softmax or bmm runs inside)
    length, batch = _steps_batch(m, x)
    e = x[-1]
    flops = length * e  # Q scaling
    flops += 3 * length * e * e  # projections
    if m.in_proj_bias is not None:
        flops += 3 * length * e
    head = e // m.num_heads
    flops += m.num_heads * (length * length * head + length * length + length * length * head)  # QK, softmax, AV
    flops += length * e * (e + 1)  # out projection, bias always counted
    return _hook(flops * batch, x)


PTFLOPS = CounterSpec(
    "ptflops", unit="MACs", per_mac=1, version=f"ptflops {VERSION} (backend pytorch)", package="ptflops",
    release=VERSION,
    call='get_model_complexity_info(model, res, as_strings=False, backend="pytorch")[0]',
    names=named(
        (dims("Conv{}d"), conv),
        (dims("ConvTranspose{}d"), conv_transpose),
        (["Linear"], linear),
        ([*dims("BatchNorm{}d", "InstanceNorm{}d"), "GroupNorm", "LayerNorm"], norm),
        (["ReLU", "ELU", "GELU", "PReLU"], hook_and_functional),
        (["ReLU6", "LeakyReLU"], hook_only),
        (["SiLU", "Softmax", "Softmax2d"], functional),  # Softmax2d: F.softmax(x, -3), patched
        (dims("MaxPool{}d", "AvgPool{}d", "AdaptiveAvgPool{}d", "AdaptiveMaxPool{}d"), pool),
        (["Upsample"], upsample),
        (["UpsamplingNearest2d", "UpsamplingBilinear2d"], interpolate_only),
        (dims("LPPool{}d"), lp_pool),
        (["LocalResponseNorm"], local_response_norm),
        *(([kind], recurrent(kind)) for kind in GATES),
        *(([f"{kind}Cell"], cell(kind)) for kind in GATES),
        (["MultiheadAttention"], attention),
        (TRANSFORMERS, parts("ptflops")),  # not hooked: its children are (the activation function is not patched)
    ),
    families=by_family(zero),  # neither hooked nor calling a patched functional
    default=zero,
)
